"""Counter actions through the REST API of a real server (SPEC "REST API", "Ticket lifecycle").

What a clerk or a keypad does (next, recall, start, finish, no-show, transfer, pause,
resume), who may do it (counter tokens, admin tokens, a logged-in clerk) and every refusal.

Each test starts from a drained centre: nobody waiting, no counter holding a ticket, all open.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from api_helpers import assert_error, drain, issue

COUNTERS = (1, 2, 3, 4, 5, 6)
VN = ZoneInfo("Asia/Ho_Chi_Minh")  # the test site's time zone
CLERK = ("clerk2", "mật-khẩu-quầy-2")  # a clerk bound to counter 2
FLOATER = ("floater", "mật-khẩu-dự-phòng")  # a clerk who chooses the counter at login
VIETNAMESE_LETTERS = re.compile("[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)


@pytest.fixture(scope="module")
def tokens(server) -> dict:
    made = server.tokens(
        ("admin", None), ("supervisor", None), ("kiosk", None), ("display", None), ("counter", 1), ("counter", 4)
    )
    return {
        ("admin" if role == "admin" else role if counter is None else counter): value
        for (role, counter), value in made.items()
    }


@pytest.fixture(scope="module")
def clerk(server):
    server.add_user(*CLERK, role="clerk", counter=2)
    return CLERK


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def drained(server, tokens):
    """Call every counter's queue empty: next finishes the held ticket and resumes a paused counter."""
    drain(server, tokens["admin"], COUNTERS)
    yield


def act(http, counter: int, action: str, token: str | None = None, json=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers.update(bearer(token))
    return http.post(f"/api/v1/counters/{counter}/{action}", headers=headers, json=json, **kwargs)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def ticket(http, ticket_id: str) -> dict:
    response = http.get(f"/api/v1/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return response.json()


def counter_state(http, number: int) -> dict:
    return next(c for c in http.get("/api/v1/queue").json()["counters"] if c["number"] == number)


# --- the clerk's day ----------------------------------------------------------------------------


def test_next_recall_start_finish(http, tokens):
    t = issue(http, "HT")
    token = tokens[1]

    called = ok(act(http, 1, "next", token))
    assert (called["id"], called["number"], called["status"], called["counter"]) == (t["id"], t["number"], "called", 1)
    assert ticket(http, t["id"])["status"] == "called"
    assert counter_state(http, 1)["ticket"]["id"] == t["id"]

    recalled = ok(act(http, 1, "recall", token))
    assert (recalled["id"], recalled["status"]) == (t["id"], "called")

    started = ok(act(http, 1, "start", token))
    assert (started["id"], started["status"]) == (t["id"], "serving")
    assert ticket(http, t["id"])["status"] == "serving"

    finished = ok(act(http, 1, "finish", token))
    assert (finished["id"], finished["status"]) == (t["id"], "done")
    assert ticket(http, t["id"])["status"] == "done"
    assert counter_state(http, 1)["ticket"] is None


def test_next_is_204_when_nobody_waits_and_finishes_the_current_ticket(http, tokens):
    response = act(http, 4, "next", tokens[4])
    assert response.status_code == 204
    assert response.content == b""

    t = issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    ok(act(http, 4, "start", tokens[4]))
    response = act(http, 4, "next", tokens[4])
    assert response.status_code == 204
    assert ticket(http, t["id"])["status"] == "done"
    assert counter_state(http, 4)["ticket"] is None


def test_next_serves_first_come_first_served(http, tokens):
    first, second = issue(http, "DC"), issue(http, "DC")
    assert ok(act(http, 4, "next", tokens[4]))["id"] == first["id"]
    ok(act(http, 4, "start", tokens[4]))
    assert ok(act(http, 4, "next", tokens[4]))["id"] == second["id"]
    assert ticket(http, first["id"])["status"] == "done"


def test_next_with_a_number_calls_that_ticket(http, tokens):
    tickets = [issue(http, "DC") for _ in range(3)]
    called = ok(act(http, 4, "next", tokens[4], json={"number": tickets[2]["number"]}))
    assert called["id"] == tickets[2]["id"]
    assert ticket(http, tickets[0]["id"])["status"] == "waiting"

    error = assert_error(act(http, 4, "next", tokens[4], json={"number": 3999}), 409, "ticket_not_waiting")
    assert "3999" in error["message"]
    # a number of another service is not this counter's to call
    other = issue(http, "LD")
    assert_error(act(http, 4, "next", tokens[4], json={"number": other["number"]}), 409, "ticket_not_waiting")
    assert ticket(http, other["id"])["status"] == "waiting"
    # the refused call left the counter's current ticket alone
    assert counter_state(http, 4)["ticket"]["id"] == tickets[2]["id"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"number": "abc"}, "number"),
        ({"number": 0}, "number"),
        ({"count": 2}, "count"),
        ([1], "(body)"),
    ],
)
def test_next_refuses_a_bad_body(http, tokens, body, field):
    t = issue(http, "DC")
    assert_error(act(http, 4, "next", tokens[4], json=body), 422, "invalid_field", field)
    assert ticket(http, t["id"])["status"] == "waiting"


@pytest.mark.parametrize("body", [{"number": "abc"}, {"number": 0}, {"number": 1.5}, {"number": [1]}])
def test_a_refused_field_is_explained_in_vietnamese_by_default(http, tokens, body):
    """The clerk reads Vietnamese: the explanation after "Trường “number”:" must be Vietnamese too."""
    error = assert_error(act(http, 4, "next", tokens[4], json=body), 422, "invalid_field", "number")
    problem = error["message"].split(":", 1)[1]
    assert VIETNAMESE_LETTERS.search(problem), error["message"]
    assert "Input should" not in problem, error["message"]


def test_next_refuses_malformed_json(http, tokens):
    response = act(http, 4, "next", tokens[4], data="{number: 1", headers={"Content-Type": "application/json"})
    assert_error(response, 422, "bad_json")


def test_no_show(http, tokens):
    t = issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    absent = ok(act(http, 4, "no-show", tokens[4]))
    assert (absent["id"], absent["status"]) == (t["id"], "no_show")
    assert ticket(http, t["id"])["status"] == "no_show"
    assert counter_state(http, 4)["ticket"] is None
    assert_error(act(http, 4, "recall", tokens[4]), 409, "no_current_ticket")
    # the citizen comes back and the clerk calls the number by hand: told why it is not in the queue
    marked = dt.datetime.fromisoformat(absent["finished_at"].replace("Z", "+00:00")).astimezone(VN)
    again = assert_error(act(http, 4, "next", tokens[4], json={"number": t["number"]}), 409, "ticket_not_waiting")
    assert again["message"] == (
        f"Số {t['number']} không có trong hàng chờ của quầy 4: số này đã được đánh dấu vắng mặt lúc {marked:%H:%M}."
    )
    assert again["translations"]["en"]["message"].endswith(f"it was marked a no-show at {marked:%H:%M}.")


def test_no_show_and_recall_refused_once_serving(http, tokens):
    issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    ok(act(http, 4, "start", tokens[4]))
    assert_error(act(http, 4, "no-show", tokens[4]), 409, "ticket_not_called")
    assert_error(act(http, 4, "recall", tokens[4]), 409, "ticket_not_called")
    assert_error(act(http, 4, "start", tokens[4]), 409, "already_serving")
    assert counter_state(http, 4)["ticket"]["status"] == "serving"


def test_transfer_to_another_service(http, tokens):
    t = issue(http, "HT")
    ok(act(http, 1, "next", tokens[1]))
    moved = ok(act(http, 1, "transfer", tokens[1], json={"service": "DC"}))
    assert (moved["id"], moved["number"], moved["status"], moved["service"]) == (t["id"], t["number"], "waiting", "DC")
    assert counter_state(http, 1)["ticket"] is None

    # counter 4 (land affairs) now gets the citizen, with the same number
    called = ok(act(http, 4, "next", tokens[4]))
    assert (called["id"], called["number"], called["service"]) == (t["id"], t["number"], "DC")


def test_transfer_to_another_counter(http, tokens):
    t = issue(http, "HT")
    ok(act(http, 1, "next", tokens[1]))
    moved = ok(act(http, 1, "transfer", tokens[1], json={"counter": 5}))
    assert (moved["id"], moved["status"], moved["target_counter"]) == (t["id"], "waiting", 5)

    # counter 2 also serves HT, but the ticket was sent to counter 5
    assert act(http, 2, "next", tokens["admin"]).status_code == 204
    called = ok(act(http, 5, "next", tokens["admin"]))
    assert (called["id"], called["number"], called["counter"]) == (t["id"], t["number"], 5)


@pytest.mark.parametrize("body", [{}, {"service": "DC", "counter": 4}, {"service": None, "counter": None}])
def test_transfer_needs_exactly_one_target(http, tokens, body):
    t = issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    assert_error(act(http, 4, "transfer", tokens[4], json=body), 422, "invalid_field")
    assert ticket(http, t["id"])["status"] == "called"


def test_transfer_refusals(http, tokens):
    assert_error(act(http, 4, "transfer", tokens[4], json={"service": "HT"}), 409, "no_current_ticket")
    t = issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    assert_error(act(http, 4, "transfer", tokens[4], json={"service": "XX"}), 404, "unknown_service")
    assert_error(act(http, 4, "transfer", tokens[4], json={"counter": 99}), 404, "unknown_counter")
    assert_error(act(http, 4, "transfer", tokens[4], json={"counter": 4}), 409, "transfer_same_counter")
    assert ticket(http, t["id"])["status"] == "called"


def test_pause_and_resume(http, tokens):
    paused = ok(act(http, 4, "pause", tokens[4], json={"reason": "nghỉ trưa"}))
    assert (paused["number"], paused["state"], paused["pause_reason"]) == (4, "paused", "nghỉ trưa")
    assert counter_state(http, 4)["state"] == "paused"
    assert_error(act(http, 4, "pause", tokens[4]), 409, "counter_paused")

    resumed = ok(act(http, 4, "resume", tokens[4]))
    assert (resumed["number"], resumed["state"]) == (4, "open")
    assert counter_state(http, 4)["state"] == "open"
    assert_error(act(http, 4, "resume", tokens[4]), 409, "counter_not_paused")


def test_pause_while_holding_a_ticket_is_refused(http, tokens):
    t = issue(http, "DC")
    ok(act(http, 4, "next", tokens[4]))
    error = assert_error(act(http, 4, "pause", tokens[4]), 409, "counter_busy")
    assert str(t["number"]) in error["message"]
    assert counter_state(http, 4)["state"] == "open"
    assert ticket(http, t["id"])["status"] == "called"


@pytest.mark.parametrize("action", ["recall", "start", "finish", "no-show"])
def test_actions_on_the_current_ticket_need_one(http, tokens, action):
    error = assert_error(act(http, 4, action, tokens[4]), 409, "no_current_ticket")
    assert "4" in error["message"]


# --- who may act ----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["next", "recall", "start", "finish", "no-show", "pause", "resume", "transfer"])
def test_no_token_is_401(http, action):
    assert_error(act(http, 1, action, json={"service": "DC"} if action == "transfer" else None), 401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer qk_this-is-not-a-token",
        "Bearer ",
        "Bearer",
        "Token qk_abc",
        "Basic Y2xlcms6cGFzc3dvcmQ=",
        "qk_abc",
    ],
)
def test_wrong_or_malformed_token_is_401(http, header):
    t = issue(http, "HT")
    assert_error(act(http, 1, "next", headers={"Authorization": header}), 401, "bad_token")
    assert ticket(http, t["id"])["status"] == "waiting"


def test_counter_token_acts_only_on_its_own_counter(http, tokens):
    t = issue(http, "HT")
    error = assert_error(act(http, 2, "next", tokens[1]), 403, "forbidden_counter")
    assert "1" in error["message"] and "2" in error["message"]
    assert ticket(http, t["id"])["status"] == "waiting"
    assert ok(act(http, 1, "next", tokens[1]))["id"] == t["id"]


@pytest.mark.parametrize("role", ["kiosk", "display", "supervisor"])
def test_devices_and_supervisors_may_not_act_on_counters(http, tokens, role):
    t = issue(http, "HT")
    error = assert_error(act(http, 1, "next", tokens[role]), 403, "forbidden_role")
    named = {"kiosk": "Ki-ốt", "display": "Màn hình sảnh", "supervisor": "Giám sát"}[role]
    assert f"“{named}”" in error["message"], error  # the role as /admin names it
    assert ticket(http, t["id"])["status"] == "waiting"


def test_admin_token_acts_on_any_counter(http, tokens):
    for counter, service in ((1, "HT"), (4, "DC"), (5, "VH")):
        t = issue(http, service)
        called = ok(act(http, counter, "next", tokens["admin"]))
        assert (called["id"], called["counter"]) == (t["id"], counter)
        assert ok(act(http, counter, "finish", tokens["admin"]))["status"] == "done"


def test_unknown_counter_is_404(http, tokens):
    error = assert_error(act(http, 99, "next", tokens["admin"]), 404, "unknown_counter")
    assert "99" in error["message"]
    assert_error(act(http, 99, "pause", tokens["admin"]), 404, "unknown_counter")


def test_clerk_logs_in_and_acts_only_on_their_counter(server, tokens, clerk):
    http = server.session()
    assert_error(http.get("/api/v1/auth/me"), 401, "unauthorized")
    login = http.post("/api/v1/auth/login", json={"username": clerk[0], "password": clerk[1]})
    assert login.status_code == 200, login.text
    answer = login.json()
    assert answer.pop("csrf_token"), "the login gives the new session's CSRF token"
    assert answer == {"user": clerk[0], "full_name": None, "role": "clerk", "counter": 2, "site": None}
    assert any(c.name for c in http.cookies), "the login sets a session cookie"
    http.headers["X-CSRFToken"] = login.json()["csrf_token"]  # what the console page sends
    assert http.get("/api/v1/auth/me").json()["counter"] == 2

    t = issue(http, "CT")
    called = ok(act(http, 2, "next"))
    assert (called["id"], called["counter"]) == (t["id"], 2)
    assert ok(act(http, 2, "start"))["status"] == "serving"
    assert ok(act(http, 2, "finish"))["status"] == "done"

    waiting = issue(http, "HT")
    assert_error(act(http, 1, "next"), 403, "forbidden_counter")
    assert ticket(http, waiting["id"])["status"] == "waiting"

    assert http.post("/api/v1/auth/logout").status_code == 204
    assert_error(act(http, 2, "next"), 401, "unauthorized")
    assert ticket(http, waiting["id"])["status"] == "waiting"


def test_clerk_without_a_counter_chooses_one_at_login(server):
    server.add_user(*FLOATER, role="clerk")
    http = server.session()
    login = http.post("/api/v1/auth/login", json={"username": FLOATER[0], "password": FLOATER[1], "counter": 4})
    assert login.status_code == 200, login.text
    assert login.json()["counter"] == 4
    http.headers["X-CSRFToken"] = login.json()["csrf_token"]
    t = issue(http, "DC")
    assert ok(act(http, 4, "next"))["id"] == t["id"]
    assert_error(act(http, 1, "next"), 403, "forbidden_counter")


def test_clerk_who_chose_no_counter_is_told_so(server):
    """Logging in without a counter must not end in "you may act only on counter None"."""
    user = ("floater2", "mật-khẩu-dự-phòng")
    server.add_user(*user, role="clerk")
    http = server.session()
    login = http.post("/api/v1/auth/login", json={"username": user[0], "password": user[1]})
    if login.status_code != 200:  # refusing the login until a counter is chosen is fine
        assert_error(login, 422, "invalid_field", "counter")
        return
    http.headers["X-CSRFToken"] = login.json()["csrf_token"]
    error = assert_error(act(http, 1, "next"), 403, "forbidden_counter")
    assert "None" not in error["message"], error["message"]


def test_clerk_cannot_log_in_at_another_counter(server, clerk):
    http = server.session()
    response = http.post("/api/v1/auth/login", json={"username": clerk[0], "password": clerk[1], "counter": 3})
    assert_error(response, 403, "forbidden_counter")
    assert_error(act(http, 3, "next"), 401, "unauthorized")


@pytest.mark.parametrize("username, password", [(CLERK[0], "wrong password"), ("nobody", "mật-khẩu-quầy-2")])
def test_wrong_login_is_401(server, clerk, username, password):
    http = server.session()
    response = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    error = assert_error(response, 401, "bad_login")
    # the same answer whether the user exists or not
    assert error["message"] == "Sai tên đăng nhập hoặc mật khẩu."
    assert_error(act(http, 2, "next"), 401, "unauthorized")


def test_login_refuses_a_bad_body(server):
    http = server.session()
    assert_error(http.post("/api/v1/auth/login", json={"username": "x"}), 422, "invalid_field", "password")
