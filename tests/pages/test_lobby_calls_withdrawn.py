"""What the lobby and the dashboard say of a call nobody is to answer any more, in Chromium: a number sent
back to wait (transferred back to its queue, or requeued when its counter closed) leaves the latest calls
("Số vừa gọi") of the lobby screen and of the dashboard, and the big callout, and is not said again, live
and after a reload; called again, it shows with its new counter. The newest call stays amber while other
lines leave, and the screen keeps as many lines as one loaded now. And the dashboard says who is at a
closed counter ("Chưa mở (cán bộ … đã đăng nhập)": an admin signed in there), and not a clerk whose
counter was closed under them (the close ends their hold there, docs/admin.md)."""

from __future__ import annotations

import re

import requests
from dashboard_helpers import PASSWORD, open_dashboard
from playwright.sync_api import expect


def history_numbers(page) -> list[tuple[str, str]]:
    """(number, counter) of each line of the lobby's latest calls, newest first (the screen says "Quầy 1" and
    "Counter 1" in turn)."""
    lines = page.locator("#history li").all()
    return [(line.locator(".number").text_content(), line.locator(".where").text_content()[-1]) for line in lines]


def act(server, counter: int, action: str, token: str, **body) -> dict:
    answer = server.api("POST", f"/counters/{counter}/{action}", token=token, json=body or None)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_lobby_drops_a_call_sent_back_to_wait_and_shows_it_again_where_it_is_called(
    page, server_on_a_working_morning, shot
):
    server = server_on_a_working_morning  # one day's calls, whatever the hour (the site's midnight: 17:00 UTC)
    admin = server.token("admin")
    for _ in range(2):
        assert server.api("POST", "/tickets", json={"service": "HT"}).status_code == 201
    page.goto(server.url + "/display/lobby")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    history = page.locator("#history")

    assert act(server, 1, "next", admin)["number"] == 1001
    act(server, 1, "finish", admin)  # served: its call stays
    assert act(server, 2, "next", admin)["number"] == 1002
    expect(history.locator("li").first).to_contain_text("1002")
    expect(page.locator("#callout-number")).to_have_text("1002")

    # counter 2's clerk sends 1002 back to the queue (a transfer to its own service)
    act(server, 2, "transfer", admin, service="HT")
    expect(history).not_to_contain_text("1002", timeout=2000)
    expect(page.locator("#callout")).to_be_hidden()
    assert all(call["number"] != 1002 for call in page.evaluate("window.QKDisplay.queued()")), "not said again"
    assert history_numbers(page) == [("1001", "1")]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(history.locator("li")).to_have_count(1)
    assert history_numbers(page) == [("1001", "1")]

    # called again at counter 1: shown there, never at counter 2
    assert act(server, 1, "next", admin)["number"] == 1002
    expect(history.locator("li")).to_have_count(2)
    assert history_numbers(page) == [("1002", "1"), ("1001", "1")]

    # counter 1 closes under it, sending it back to wait: it leaves the list, live and after a reload
    act(server, 1, "close", admin, requeue=1002)
    expect(page.locator('.counter-row[data-counter="1"]')).to_have_class(re.compile(r"\bclosed\b"))
    expect(history.locator("li")).to_have_count(1)
    assert history_numbers(page) == [("1001", "1")]
    expect(page.locator("#callout")).to_be_hidden()
    assert all(call["number"] != 1002 for call in page.evaluate("window.QKDisplay.queued()")), "not said again"
    shot(page, "display-call-withdrawn")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(history.locator("li")).to_have_count(1)
    assert history_numbers(page) == [("1001", "1")]


def test_the_dashboard_follows_a_call_sent_back_and_a_clerk_at_a_closed_counter(
    page, server_on_a_working_morning, shot
):
    server = server_on_a_working_morning
    server.add_user("canbo2", PASSWORD, "clerk", 2)
    open_dashboard(page, server)
    row = page.locator('tr.counter[data-counter="2"]')
    expect(row.locator(".activity")).to_have_text("Đóng (không có cán bộ)")

    # the clerk signs in at counter 2, as the console does: it opens
    clerk = requests.Session()
    login = clerk.post(
        server.url + "/api/v1/auth/login", json={"username": "canbo2", "password": PASSWORD, "counter": 2}, timeout=10
    )
    assert login.status_code == 200, login.text
    clerk.headers["X-CSRFToken"] = login.json()["csrf_token"]
    expect(row).to_have_attribute("data-activity", "idle")

    # it calls 1001 and sends it back to the queue: the dashboard's latest calls drop it
    assert server.api("POST", "/tickets", json={"service": "HT"}).status_code == 201
    assert clerk.post(server.url + "/api/v1/counters/2/next", timeout=10).json()["number"] == 1001
    latest = page.locator("#history")
    expect(latest).to_contain_text("1001 → Quầy 2")
    moved = clerk.post(server.url + "/api/v1/counters/2/transfer", json={"service": "HT"}, timeout=10)
    assert moved.status_code == 200, moved.text
    expect(latest.locator("li")).to_have_count(0)

    # a supervisor closes counter 2 while its clerk is still signed in there (gone home, console open):
    # the close ends the clerk's hold, so nobody is said to be about to open it
    assert server.api("POST", "/counters/2/close", token=server.token("admin")).status_code == 200
    expect(row).to_have_attribute("data-activity", "closed")
    expect(row.locator(".activity")).to_have_text("Đóng (không có cán bộ)")

    # an admin signs in at counter 2 (only a clerk's sign-in opens it): someone is there to open it
    server.add_user("quantri", PASSWORD, "admin")
    admin = requests.Session()
    login = admin.post(
        server.url + "/api/v1/auth/login", json={"username": "quantri", "password": PASSWORD, "counter": 2}, timeout=10
    )
    assert login.status_code == 200, login.text
    admin.headers["X-CSRFToken"] = login.json()["csrf_token"]
    expect(row.locator(".activity")).to_have_text("Chưa mở (cán bộ quantri đã đăng nhập)")
    shot(page, "dashboard-closed-signed-in")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(row.locator(".activity")).to_have_text("Chưa mở (cán bộ quantri đã đăng nhập)")
    expect(latest.locator("li")).to_have_count(0)

    # signed out: nobody is there any more
    assert admin.post(server.url + "/api/v1/auth/logout", timeout=10).status_code == 204
    expect(row.locator(".activity")).to_have_text("Đóng (không có cán bộ)")


def test_the_newest_call_stays_amber_and_the_list_stays_full_when_calls_leave(page, server_on_a_working_morning):
    """Eight HT numbers called and finished, then 2001, 3001 and 4001 called at counters 3, 4 and 5: the
    screen loads with 10 calls and shows 8. 1009 is called at counter 1 (amber, the newest). Counters 3, 4
    and 5 send their numbers back to wait: they leave, 1009 stays amber, and the screen still shows 8
    lines, as one loaded now does. Then 1009, served at counter 1 and sent on to another service, answered
    its call: it stays."""
    server = server_on_a_working_morning
    admin = server.token("admin")
    for service in ["HT"] * 10 + ["CT", "DC", "LD"]:
        assert server.api("POST", "/tickets", json={"service": service}).status_code == 201
    for number in range(1001, 1009):
        counter = 1 + number % 2
        assert act(server, counter, "next", admin)["number"] == number
        act(server, counter, "finish", admin)
    for counter, number in ((3, 2001), (4, 3001), (5, 4001)):
        assert act(server, counter, "next", admin)["number"] == number
    page.goto(server.url + "/display/lobby")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    lines = page.locator("#history li")
    expect(lines).to_have_count(8)
    assert act(server, 1, "next", admin)["number"] == 1009
    expect(lines.first).to_contain_text("1009")
    expect(lines.first).to_have_class("fresh")

    for counter, service in ((3, "CT"), (4, "DC"), (5, "LD")):  # back to wait, never served
        act(server, counter, "transfer", admin, service=service)
    for number in ("2001", "3001", "4001"):
        expect(page.locator("#history")).not_to_contain_text(number)
    expect(lines).to_have_count(8)
    assert history_numbers(page) == [("1009", "1")] + [(str(n), str(1 + n % 2)) for n in range(1008, 1001, -1)]
    expect(lines.first).to_have_class("fresh")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(lines).to_have_count(8)
    assert history_numbers(page)[0] == ("1009", "1")

    act(server, 1, "start", admin)
    act(server, 1, "transfer", admin, service="LD")  # served, then sent on: its call stays
    assert act(server, 2, "next", admin)["number"] == 1010  # (heard after the transfer)
    expect(lines.first).to_contain_text("1010")
    assert history_numbers(page)[:2] == [("1010", "2"), ("1009", "1")]
