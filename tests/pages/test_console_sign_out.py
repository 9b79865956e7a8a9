"""Signing out of the clerk console closes the counter, unless the clerk says a colleague still works
there; a supervisor closes a counter left open from the dashboard.

A real `queuekiosk serve` and Chromium: the console, the lobby display and the dashboard each in a tab.
What is checked is what people see (the dialog, the lobby's "Đã đóng", the dashboard's row, the
server's words for a number still held) and the counter's state the API gives.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

CLERK = "lan"
SUPERVISOR, SUPERVISOR_PASSWORD = "giamsat", "giam-sat-2026"


def log_in(page, server, password: str):
    page.goto(server.url + "/counter")
    page.fill("#username", CLERK)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("#work")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "live")


def state_of(server, counter: int) -> str:
    return server.api("GET", f"/counters/{counter}", token=server.token("admin")).json()["state"]


def lobby_row(tab, server, counter: int):
    display = tab()
    display.goto(server.url + "/display/lobby")
    expect(display.locator("body")).to_have_attribute("data-live", "live")
    return display.locator(f'.counter-row[data-counter="{counter}"]')


def test_signing_out_closes_the_counter_by_default(server_on_a_working_morning, page, new_tab, shot):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    row = lobby_row(new_tab, server, 1)
    log_in(page, server, password)
    expect(row).not_to_have_class(re.compile(r"\bclosed\b"))  # signing in opened it

    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    dialog = page.locator("#dialog-logout")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#logout-close")).to_be_focused()  # the default: Enter closes and signs out
    expect(dialog.locator("#logout-close")).to_contain_text("Đóng quầy và đăng xuất")
    shot(page, "console-sign-out")
    page.keyboard.press("Escape")  # Esc: nothing done, still at work
    expect(dialog).to_be_hidden()
    expect(page.locator("#work")).to_be_visible()

    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    page.keyboard.press("Enter")
    expect(page.locator("#login")).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bclosed\b"), timeout=3_000)
    expect(row.locator(".state")).to_have_text("Đã đóng")
    assert state_of(server, 1) == "closed"
    # and a new HT ticket gets no promised wait: no open counter serves HT now (counter 2 was never opened)
    assert server.api("POST", "/tickets", json={"service": "HT"}).json()["eta_minutes"] is None


def test_only_signing_out_leaves_the_counter_open(server_on_a_working_morning, page, new_tab):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    row = lobby_row(new_tab, server, 1)
    log_in(page, server, password)
    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    page.get_by_role("button", name=re.compile("^Chỉ đăng xuất, quầy vẫn mở")).click()
    expect(page.locator("#login")).to_be_visible()
    assert state_of(server, 1) == "open"  # a colleague goes on working there
    expect(row).not_to_have_class(re.compile(r"\bclosed\b"))
    # its session is over all the same: a reload asks for the login
    page.reload()
    expect(page.locator("#login")).to_be_visible()


def test_a_number_still_held_is_said_and_offered_to_be_finished(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    ticket = server.api("POST", "/tickets", json={"service": "HT"}).json()
    log_in(page, server, password)
    page.keyboard.press("g")
    expect(page.locator("#current-number")).to_have_text(ticket["display"])

    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    page.locator("#logout-close").click()
    said = page.locator("#logout-said")
    expect(said).to_contain_text(f"Quầy 1 đang phục vụ số {ticket['number']}: hãy kết thúc hoặc chuyển số này trước.")
    expect(said).to_contain_text("finish or transfer it first")  # the English below it
    expect(page.locator("#work")).to_be_visible()  # still signed in, nothing closed
    assert state_of(server, 1) == "open"
    assert server.api("GET", f"/tickets/{ticket['id']}").json()["status"] == "called"

    finish = page.locator("#logout-finish")
    expect(finish).to_contain_text(f"Kết thúc số {ticket['display']}, đóng quầy và đăng xuất")
    shot(page, "console-sign-out-held")
    finish.click()
    expect(page.locator("#login")).to_be_visible()
    assert server.api("GET", f"/tickets/{ticket['id']}").json()["status"] == "done"
    assert state_of(server, 1) == "closed"


def test_a_closed_counter_signs_out_at_once(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    log_in(page, server, password)
    assert server.api("POST", "/counters/1/close", token=server.counter_token(1)).status_code == 200
    expect(page.locator("#who-state")).to_contain_text("Quầy đang đóng")
    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#dialog-logout")).to_be_hidden()


def test_a_supervisor_closes_a_counter_left_open_from_the_dashboard(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning
    server.add_user(SUPERVISOR, SUPERVISOR_PASSWORD, "supervisor")
    for counter in (1, 2, 3):  # each opened by its device, then left
        assert server.api("POST", f"/counters/{counter}/open", token=server.counter_token(counter)).status_code == 200
    held = server.api("POST", "/tickets", json={"service": "HT"}).json()
    assert server.api("POST", "/counters/2/next", token=server.counter_token(2)).json()["id"] == held["id"]

    page.goto(server.url + "/dashboard")
    page.fill("#username", SUPERVISOR)
    page.fill("#password", SUPERVISOR_PASSWORD)
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
    rows = {n: page.locator(f'tr.counter[data-counter="{n}"]') for n in (1, 2, 3, 5)}
    expect(rows[1]).to_have_attribute("data-activity", "idle")
    expect(rows[2].locator("button.close")).to_have_count(0)  # calling a number: not offered
    expect(rows[5].locator("button.close")).to_have_count(0)  # closed already

    # asked first; Esc leaves it open
    rows[1].get_by_role("button", name="Đóng quầy").click()
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#close-title")).to_have_text("Đóng quầy: Quầy 1 - Hộ tịch?")
    shot(page, "dashboard-close-counter")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert state_of(server, 1) == "open"

    rows[1].get_by_role("button", name="Đóng quầy").click()
    dialog.locator("#close-confirm").click()
    expect(dialog).to_be_hidden()
    expect(rows[1]).to_have_attribute("data-activity", "closed", timeout=5_000)
    expect(rows[1].locator(".activity")).to_have_text("Đóng (không có cán bộ)")
    assert state_of(server, 1) == "closed"

    # a number called there while the supervisor was asked: the server's words, and nothing closed
    rows[3].get_by_role("button", name="Đóng quầy").click()
    expect(dialog).to_be_visible()
    called = server.api("POST", "/tickets", json={"service": "CT"}).json()
    assert server.api("POST", "/counters/3/next", token=server.counter_token(3)).json()["id"] == called["id"]
    dialog.locator("#close-confirm").click()
    expect(dialog.locator("#close-said")).to_be_visible()
    expect(dialog.locator("#close-said")).to_have_text(
        f"Quầy 3 đang phục vụ số {called['number']}: hãy kết thúc hoặc chuyển số này trước."
    )
    assert state_of(server, 3) == "open"
