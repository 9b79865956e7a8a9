"""'Gọi số tiếp theo' over a citizen called and never started: not a service (issue 18).

Against a real server, as the clerk console and the reports page read it: the clerk's figures of
today (GET /api/v1/me/today, the console's "Hôm nay của bạn") and the summary report count only
what was served, and service times come only from services that started ("Bắt đầu", or "Kết thúc"
dated from the call). The site's ``policy.unstarted_at_next`` says what such a "next" means:
``no_show`` (the default) or ``served`` (served, with no service time).
"""

from __future__ import annotations

import pytest
from api_helpers import issue
from faked_clock import on_a_working_morning

CLERK = ("tuan", "mật-khẩu-quầy-1")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def clerk_session(server):
    server.add_user(*CLERK, role="clerk", counter=1)
    http = server.session()
    answer = http.post("/api/v1/auth/login", json={"username": CLERK[0], "password": CLERK[1]})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def press(http, action: str) -> dict | None:
    answer = http.post(f"/api/v1/counters/1/{action}")
    assert answer.status_code in (200, 204), answer.text
    return answer.json() if answer.status_code == 200 else None


def status(http, ticket: dict) -> str:
    return http.get(f"/api/v1/tickets/{ticket['id']}").json()["status"]


def today_report(server, http) -> dict:
    supervisor = bearer(server.token("supervisor"))
    answer = http.get("/api/v1/reports/summary", headers=supervisor, params={"group_by": "service"})
    assert answer.status_code == 200, answer.text
    return next(row for row in answer.json()["rows"] if row["key"] == "HT")


def run_the_counter(server) -> tuple[object, list[dict]]:
    """Three citizens at counter 1: the first called and never started ("next" again), the second
    started then ended by "next", the third ended by "Kết thúc" without "Bắt đầu"."""
    http = server.session()
    clerk = clerk_session(server)
    tickets = [issue(http, "HT") for _ in range(3)]
    assert press(clerk, "next")["id"] == tickets[0]["id"]
    assert press(clerk, "next")["id"] == tickets[1]["id"]  # the first never came to the counter
    press(clerk, "start")
    assert press(clerk, "next")["id"] == tickets[2]["id"]
    press(clerk, "finish")
    return clerk, tickets


def test_next_over_a_citizen_never_started_is_a_no_show_by_default(live_server, tmp_path):
    server = live_server(env=on_a_working_morning(tmp_path))  # today's figures: one day whatever the hour
    clerk, tickets = run_the_counter(server)
    assert [status(clerk, t) for t in tickets] == ["no_show", "done", "done"]

    console = clerk.get("/api/v1/me/today").json()  # what the console shows as "Đã phục vụ"
    assert (console["served"], console["no_shows"], console["calls"]) == (2, 1, 3)
    assert console["average_service_seconds"] is not None

    row = today_report(server, clerk)
    assert (row["served"], row["no_show"], row["called"]) == (2, 1, 3)
    assert row["service_time"]["count"] == 2, "both services that ran have a time"
    assert row["no_show_rate"] == pytest.approx(33.3)


def test_under_the_served_policy_it_is_served_without_a_service_time(live_server, config_variant, tmp_path):
    config = config_variant()
    config["policy"]["unstarted_at_next"] = "served"
    server = live_server(config, env=on_a_working_morning(tmp_path))
    clerk, tickets = run_the_counter(server)
    assert [status(clerk, t) for t in tickets] == ["done", "done", "done"]

    console = clerk.get("/api/v1/me/today").json()
    assert (console["served"], console["no_shows"]) == (3, 0)

    row = today_report(server, clerk)
    assert (row["served"], row["no_show"]) == (3, 0)
    assert row["service_time"]["count"] == 2, "the citizen nobody started has no service time"


def test_the_answer_to_next_says_how_it_ended_a_citizen_never_started(live_server, config_variant):
    """Unstarted-Ended, so that the console and the keypad need not ask the ticket again; a replayed
    answer (the same Idempotency-Key) does not carry it, nor does a "next" over a started ticket."""
    server = live_server()
    clerk = clerk_session(server)
    first, second, third = (issue(server.session(), "HT") for _ in range(3))
    called = clerk.post("/api/v1/counters/1/next")
    assert called.json()["id"] == first["id"] and "Unstarted-Ended" not in called.headers
    key = {"Idempotency-Key": "bam-phim-2"}
    over_first = clerk.post("/api/v1/counters/1/next", headers=key)
    assert over_first.json()["id"] == second["id"]
    assert over_first.headers["Unstarted-Ended"] == f"no_show; ticket={first['id']}"
    replayed = clerk.post("/api/v1/counters/1/next", headers=key)
    assert replayed.headers.get("Idempotent-Replayed") == "true" and "Unstarted-Ended" not in replayed.headers
    press(clerk, "start")
    over_started = clerk.post("/api/v1/counters/1/next")
    assert over_started.json()["id"] == third["id"] and "Unstarted-Ended" not in over_started.headers
    nobody_left = clerk.post("/api/v1/counters/1/next")
    assert nobody_left.status_code == 204
    assert nobody_left.headers["Unstarted-Ended"] == f"no_show; ticket={third['id']}"
    assert status(clerk, third) == "no_show"

    config = config_variant()
    config["policy"]["unstarted_at_next"] = "served"
    served = live_server(config)
    clerk = clerk_session(served)
    first, second = (issue(served.session(), "HT") for _ in range(2))
    press(clerk, "next")
    over_first = clerk.post("/api/v1/counters/1/next")
    assert over_first.headers["Unstarted-Ended"] == f"done; ticket={first['id']}"


def test_an_unknown_policy_is_refused_naming_the_setting(live_server, config_variant):
    config = config_variant()
    config["policy"]["unstarted_at_next"] = "ask"
    server = live_server(config, start=False)
    with pytest.raises(RuntimeError, match=r"policy\.unstarted_at_next"):  # the server refuses to start, saying why
        server.start()
