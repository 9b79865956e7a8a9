"""Signing out of the clerk console closes the counter, unless the clerk says a colleague still works
there; a supervisor closes a counter left open from the dashboard, one holding a number too.

A real `queuekiosk serve` and Chromium: the console, the lobby display and the dashboard each in a tab.
What is checked is what people see (the dialog, the lobby's "Đã đóng", the dashboard's row, the
server's words for a number still held) and the counter's state the API gives.
"""

from __future__ import annotations

import re
import time

from console_helpers import CLERK, log_in
from dashboard_helpers import open_dashboard
from playwright.sync_api import expect

ENGLISH_CALLED = "start serving it, mark it a no-show or transfer it first."
SUPERVISOR, SUPERVISOR_PASSWORD = "giamsat", "giam-sat-2026"


def state_of(server, counter: int) -> str:
    return server.api("GET", f"/counters/{counter}", token=server.token("admin")).json()["state"]


def lobby_row(tab, server, counter: int):
    display = tab()
    display.goto(server.url + "/display/lobby")
    expect(display.locator("body")).to_have_attribute("data-live", "live")
    return display.locator(f'.counter-row[data-counter="{counter}"]')


def hold(page, url: str, send):
    """Call ``send`` and hold back the request it makes to ``url``: returns its route, to continue later.
    A request that never comes fails the test within 10 s (it used to wait for it for ever)."""
    held = []
    page.route(url, lambda route: held.append(route))
    send()
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, f"the page sent no request to {url}"
        page.wait_for_timeout(20)
    return held[0]


def sign_out_dialog(page):
    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    expect(page.locator("#dialog-logout")).to_be_visible()
    return page.locator("#logout-said")


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
    expect(page.locator("#logout")).to_be_focused()  # back where the clerk was

    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    page.keyboard.press("Enter")
    expect(page.locator("#login")).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bclosed\b"))
    expect(row.locator(".state")).to_have_text("Đã đóng")
    assert state_of(server, 1) == "closed"
    # and a new HT ticket gets no promised wait: no open counter serves HT now (counter 2 was never opened)
    assert server.api("POST", "/tickets", json={"service": "HT"}).json()["eta_minutes"] is None


def test_only_signing_out_leaves_the_counter_open(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    log_in(page, server, password)
    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    page.get_by_role("button", name=re.compile("^Chỉ đăng xuất, quầy vẫn mở")).click()
    expect(page.locator("#login")).to_be_visible()
    assert state_of(server, 1) == "open"  # a colleague goes on working there
    # so a new HT ticket is still promised a wait: counter 1 serves HT
    assert server.api("POST", "/tickets", json={"service": "HT"}).json()["eta_minutes"] is not None
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
    # only called, not served yet: said so (a clerk reads what to do with it)
    expect(said).to_contain_text(
        f"Quầy 1 đang gọi số {ticket['number']} (chưa phục vụ): hãy bắt đầu phục vụ, đánh dấu vắng mặt hoặc "
        "chuyển số này trước."
    )
    expect(said).to_contain_text(ENGLISH_CALLED)  # the English below it
    assert state_of(server, 1) == "open"
    assert server.api("GET", f"/tickets/{ticket['id']}").json()["status"] == "called"

    finish = page.locator("#logout-finish")
    expect(finish).to_contain_text(f"Kết thúc số {ticket['display']}, đóng quầy và đăng xuất")
    expect(finish).to_be_focused()  # the keyboard is where the clerk goes next: Enter finishes it
    shot(page, "console-sign-out-held")
    page.keyboard.press("Enter")
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
    page.reload()  # signed out for good, not just shown the form
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#work")).to_be_hidden()


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
    expect(rows[2].locator("button.close")).to_have_count(1)  # calling a number: offered too (the test below)
    expect(rows[5].locator("button.close")).to_have_count(0)  # closed already

    # each button says its counter to a screen reader, and keeps the focus while the table is drawn afresh
    close_1 = page.get_by_role("button", name="Đóng quầy 1", exact=True)
    close_1.focus()
    issued = page.locator("#today-issued").inner_text()
    server.api("POST", "/tickets", json={"service": "DC"})  # a change elsewhere: a new snapshot
    expect(page.locator("#today-issued")).not_to_have_text(issued)
    expect(close_1).to_be_focused()

    # asked first; Tab stays in the dialog; Esc leaves it open and the focus goes back to the row
    page.keyboard.press("Enter")
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#close-title")).to_have_text("Đóng Quầy 1 - Hộ tịch?")
    expect(dialog.locator("#close-confirm")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.locator("#close-cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.locator("#close-confirm")).to_be_focused()
    shot(page, "dashboard-close-counter")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(close_1).to_be_focused()
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
    held = hold(page, "**/api/v1/counters/3/close", lambda: dialog.locator("#close-confirm").click())
    page.keyboard.press("Escape")  # while the close is on its way: the dialog waits for the answer
    expect(dialog).to_be_visible()
    expect(dialog.locator("#close-cancel")).to_be_disabled()
    held.continue_()
    expect(dialog.locator("#close-said")).to_be_visible()
    expect(dialog.locator("#close-said")).to_have_text(
        f"Quầy 3 đang gọi số {called['number']} (chưa phục vụ): hãy bắt đầu phục vụ, đánh dấu vắng mặt hoặc "
        "chuyển số này trước."
    )
    assert state_of(server, 3) == "open"


def test_a_supervisor_closes_a_counter_holding_a_number_and_the_number_waits_again(
    server_on_a_working_morning, page, new_tab, shot
):
    """The clerk went home with a number called: the dashboard says which number, and that it goes back to
    the waiting list; the lobby, the console left open and the dashboard's counts follow at once."""
    server = server_on_a_working_morning
    server.add_user(SUPERVISOR, SUPERVISOR_PASSWORD, "supervisor")
    password = server.add_clerk(CLERK, counter=1)
    ticket = server.api("POST", "/tickets", json={"service": "HT"}).json()
    console = new_tab()
    log_in(console, server, password)
    console.keyboard.press("g")
    expect(console.locator("#current-number")).to_have_text(ticket["display"])
    lobby = lobby_row(new_tab, server, 1)

    page.goto(server.url + "/dashboard")
    page.fill("#username", SUPERVISOR)
    page.fill("#password", SUPERVISOR_PASSWORD)
    page.click("#login-button")
    row = page.locator('tr.counter[data-counter="1"]')
    expect(row).to_have_attribute("data-activity", "called", timeout=15_000)
    waiting = page.locator('.service-card[data-service="HT"] .count')
    expect(waiting).to_have_text("0")

    page.get_by_role("button", name="Đóng quầy 1", exact=True).click()
    dialog = page.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#close-title")).to_have_text("Đóng Quầy 1 - Hộ tịch?")
    number = ticket["number"]
    expect(dialog.locator("#close-hint")).to_have_text(
        f"Quầy đang giữ số {number}. Khi đóng quầy, số {number} trở lại danh sách chờ ở đúng vị trí cũ "
        "(theo giờ lấy số) để quầy khác gọi; công dân giữ nguyên số của mình. Màn hình sảnh sẽ hiện quầy "
        "“Đã đóng” và thời gian chờ dự kiến không tính quầy này nữa."
    )
    confirm = dialog.locator("#close-confirm")
    expect(confirm).to_have_text(f"Đóng quầy, đưa số {number} về hàng chờ")
    expect(dialog.locator("#close-cancel")).to_be_focused()  # one Enter moves no citizen's number
    shot(page, "dashboard-close-counter-held")
    confirm.click()

    expect(dialog).to_be_hidden()
    expect(row).to_have_attribute("data-activity", "closed", timeout=5_000)
    expect(waiting).to_have_text("1")  # the number is waiting again
    expect(lobby).to_have_class(re.compile(r"\bclosed\b"))
    expect(lobby.locator(".state")).to_have_text("Đã đóng")
    expect(console.locator("#who-state")).to_contain_text("Quầy đang đóng")
    expect(console.locator("#current-number")).not_to_have_text(ticket["display"])
    expect(console.locator("#queue-list")).to_contain_text(ticket["display"])  # its waiting list has it back
    assert server.api("GET", f"/tickets/{ticket['id']}").json()["status"] == "waiting"
    assert state_of(server, 1) == "closed"

    # an idle counter's dialog says what it said before: nothing is held
    assert server.api("POST", "/counters/3/open", token=server.counter_token(3)).status_code == 200
    page.get_by_role("button", name="Đóng quầy 3", exact=True).click()
    expect(dialog.locator("#close-hint")).to_contain_text("Màn hình sảnh sẽ hiện quầy “Đã đóng”")
    expect(dialog.locator("#close-hint")).not_to_contain_text("đang giữ số")
    expect(confirm).to_have_text("Đóng quầy")


def test_a_sign_out_that_fails_keeps_the_console_and_says_so(server_on_a_working_morning, page):
    """Never the login form while still signed in: anyone at that PC could reload and work as the clerk."""
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    log_in(page, server, password)
    page.route("**/api/v1/auth/logout", lambda route: route.abort())

    # a closed counter signs out at once: no dialog, the console's notice says it
    assert server.api("POST", "/counters/1/close", token=server.counter_token(1)).status_code == 200
    expect(page.locator("#who-state")).to_contain_text("Quầy đang đóng")
    page.get_by_role("button", name=re.compile("^Đăng xuất")).click()
    expect(page.locator("#notice")).to_contain_text("Chưa đăng xuất được")
    expect(page.locator("#login")).to_be_hidden()

    # an open one: closed, then the sign-out fails; the dialog says both and Enter tries again
    assert server.api("POST", "/counters/1/open", token=server.counter_token(1)).status_code == 200
    expect(page.locator("#who-state")).to_contain_text("Quầy đang mở")
    said = sign_out_dialog(page)
    page.keyboard.press("Enter")
    expect(said).to_contain_text("Quầy đã đóng nhưng chưa đăng xuất được")
    expect(said).to_contain_text("this screen is still logged in")
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#logout-close")).to_be_focused()
    assert state_of(server, 1) == "closed"

    page.unroute("**/api/v1/auth/logout")
    page.keyboard.press("Enter")
    expect(page.locator("#login")).to_be_visible()
    page.reload()
    expect(page.locator("#login")).to_be_visible()


def test_an_expired_session_says_the_counter_may_still_be_open(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    log_in(page, server, password)
    # the session ends under the console (here: an admin sets a new password; disabling the account would
    # close the counter this clerk alone works at, tests/api/test_counters_left_open.py)
    answer = server.api(
        "PATCH", f"/admin/users/{CLERK}", token=server.token("admin"), json={"password": "mat-khau-moi-1"}
    )
    assert answer.status_code == 200, answer.text
    sign_out_dialog(page)
    page.keyboard.press("Enter")
    error = page.locator("#login-error")
    expect(error).to_contain_text(
        "Phiên đăng nhập đã hết nên quầy có thể vẫn mở. Hãy đăng nhập lại rồi bấm “Đăng xuất” để đóng quầy."
    )
    expect(error).to_contain_text("the counter may still be open")
    expect(error).not_to_contain_text("Authorization")
    assert state_of(server, 1) == "open"


def test_esc_while_the_close_is_on_its_way_does_not_hide_it(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    log_in(page, server, password)
    sign_out_dialog(page)
    held = hold(page, "**/api/v1/counters/1/close", lambda: page.keyboard.press("Enter"))
    page.keyboard.press("Escape")
    dialog = page.locator("#dialog-logout")
    expect(dialog).to_be_visible()  # still asked, still saying what happens
    expect(dialog.locator("button.cancel")).to_be_disabled()
    held.continue_()
    expect(page.locator("#login")).to_be_visible()
    assert state_of(server, 1) == "closed"


def test_finishing_on_the_way_out_names_the_number_held_and_says_what_was_done(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    password = server.add_clerk(CLERK, counter=1)
    first, second = (server.api("POST", "/tickets", json={"service": "HT"}).json() for _ in range(2))
    log_in(page, server, password)
    page.keyboard.press("g")
    expect(page.locator("#current-number")).to_have_text(first["display"])
    said = sign_out_dialog(page)
    page.keyboard.press("Enter")
    finish = page.locator("#logout-finish")
    expect(finish).to_contain_text(f"Kết thúc số {first['display']}")

    # meanwhile the counter's keypad finishes that number and calls the next: not finished unseen
    assert server.api("POST", "/counters/1/next", token=server.counter_token(1)).json()["id"] == second["id"]
    page.keyboard.press("Enter")
    expect(said).to_contain_text(f"Quầy đang giữ số khác: {second['display']}.")
    expect(finish).to_contain_text(f"Kết thúc số {second['display']}")
    expect(finish).to_be_focused()
    assert server.api("GET", f"/tickets/{second['id']}").json()["status"] == "called"

    # the number is finished, then the close is lost on its way: said as it is, and only the close is offered
    page.route("**/api/v1/counters/1/close", lambda route: route.abort())
    page.keyboard.press("Enter")
    expect(said).to_contain_text(f"Số {second['display']} đã kết thúc, nhưng quầy chưa đóng.", timeout=10_000)
    expect(said).to_contain_text("Mất kết nối với máy chủ")
    expect(finish).to_be_hidden()
    expect(page.locator("#logout-close")).to_be_focused()
    assert server.api("GET", f"/tickets/{second['id']}").json()["status"] == "done"
    assert state_of(server, 1) == "open"

    page.unroute("**/api/v1/counters/1/close")
    page.keyboard.press("Enter")
    expect(page.locator("#login")).to_be_visible()
    assert state_of(server, 1) == "closed"


def test_the_province_is_not_offered_to_close_a_counter(server_on_a_working_morning, page):
    server = server_on_a_working_morning
    server.add_user("tinh", "tinh-2026", "province")
    assert server.api("POST", "/counters/1/open", token=server.counter_token(1)).status_code == 200
    page.goto(server.url + "/dashboard")
    page.fill("#username", "tinh")
    page.fill("#password", "tinh-2026")
    page.click("#login-button")
    row = page.locator('tr.counter[data-counter="1"]')
    expect(row).to_have_attribute("data-activity", "idle", timeout=15_000)
    expect(row.locator("button.close")).to_have_count(0)  # drawn with its row: absent, not yet to come


def test_a_number_being_served_is_finished_at_the_close_and_one_only_called_goes_back(
    server_on_a_working_morning, page
):
    """The clerk went home with a number "đang phục vụ": the citizen was most likely served, so the dialog
    proposes to finish it, and offers to put it back in the queue; a number only called goes back."""
    server = server_on_a_working_morning
    served = server.api("POST", "/tickets", json={"service": "HT"}).json()
    called = server.api("POST", "/tickets", json={"service": "HT"}).json()
    for counter, step in ((1, "next"), (1, "start"), (2, "next")):
        answer = server.api("POST", f"/counters/{counter}/{step}", token=server.counter_token(counter))
        assert answer.status_code == 200, answer.text
    open_dashboard(page, server)
    dialog, confirm, other = page.locator("#close-dialog"), page.locator("#close-confirm"), page.locator("#close-other")
    expect(page.locator('tr.counter[data-counter="1"]')).to_have_attribute("data-activity", "serving")

    page.get_by_role("button", name="Đóng quầy 1", exact=True).click()
    number = served["number"]
    expect(dialog.locator("#close-hint")).to_contain_text(
        f"Quầy đang phục vụ số {number}: công dân này rất có thể đã được phục vụ xong."
    )
    expect(confirm).to_have_text(f"Đóng quầy, kết thúc số {number}")
    expect(other).to_be_visible()
    expect(other).to_have_text(f"Đóng quầy, đưa số {number} về hàng chờ")
    confirm.click()
    expect(dialog).to_be_hidden()
    expect(page.locator('tr.counter[data-counter="1"]')).to_have_attribute("data-activity", "closed")
    assert server.api("GET", f"/tickets/{served['id']}").json()["status"] == "done"

    page.get_by_role("button", name="Đóng quầy 2", exact=True).click()
    expect(dialog.locator("#close-hint")).to_contain_text(f"Quầy đang giữ số {called['number']}.")
    expect(confirm).to_have_text(f"Đóng quầy, đưa số {called['number']} về hàng chờ")
    expect(other).to_be_hidden()
    confirm.click()
    expect(page.locator('tr.counter[data-counter="2"]')).to_have_attribute("data-activity", "closed")
    assert server.api("GET", f"/tickets/{called['id']}").json()["status"] == "waiting"


def test_a_number_moved_while_asked_redraws_the_dialog_and_enter_cancels(server_on_a_working_morning, page):
    """The clerk pressed "next" while the supervisor was asked about the number: the refusal is said, the
    dialog now asks about the number the counter holds now, and Enter (on "Hủy") repeats nothing."""
    server = server_on_a_working_morning
    first = server.api("POST", "/tickets", json={"service": "HT"}).json()
    second = server.api("POST", "/tickets", json={"service": "HT"}).json()
    keypad = server.counter_token(1)
    assert server.api("POST", "/counters/1/next", token=keypad).status_code == 200
    open_dashboard(page, server)
    expect(page.locator('tr.counter[data-counter="1"]')).to_have_attribute("data-activity", "called")
    page.get_by_role("button", name="Đóng quầy 1", exact=True).click()
    dialog, confirm, cancel = (
        page.locator("#close-dialog"),
        page.locator("#close-confirm"),
        page.locator("#close-cancel"),
    )
    expect(confirm).to_have_text(f"Đóng quầy, đưa số {first['number']} về hàng chờ")
    expect(cancel).to_be_focused()

    assert server.api("POST", "/counters/1/next", token=keypad).json()["id"] == second["id"]
    confirm.click()
    expect(dialog.locator("#close-said")).to_have_text(
        f"Quầy 1 không còn giữ số {first['number']} (số đã được kết thúc hoặc chuyển, hoặc quầy đã gọi số khác): "
        "quầy chưa đóng. Hãy xem lại quầy trên bảng điều khiển rồi mới đóng."
    )
    expect(confirm).to_have_text(f"Đóng quầy, đưa số {second['number']} về hàng chờ")
    expect(dialog.locator("#close-hint")).to_contain_text(f"Quầy đang giữ số {second['number']}.")
    expect(cancel).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    assert state_of(server, 1) == "open"
    assert server.api("GET", f"/tickets/{second['id']}").json()["status"] == "called"
