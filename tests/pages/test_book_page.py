"""The booking page on a phone and the kiosk's check-in step, in real Chromium (docs/bookings.md).

A citizen books on a 360 px phone, sees the code with its QR code, cancels from the booking's own
page; takes a number for today; is refused a second number politely; then checks in at the kiosk
by typing the booking code on its keys, and by a USB scanner's keystroke burst of the ID card's QR
text, and gets a ticket marked as booked.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from book_page_helpers import no_sideways_scroll  # noqa: E402
from config_helpers import WEEKDAYS, closed_now, site_today  # noqa: E402
from faked_clock import FakedClock, next_working_morning  # noqa: E402
from kiosk_helpers import scanner_burst, taking_taps, type_on_keys  # noqa: E402
from morning_helpers import morning_date  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

CARD = "001099012345|123456789|Nguyễn Văn An|01011990|Nam|Số 7 ngõ 12 phố Phúc La, Hà Đông, Hà Nội|15082021"


def book_first_free_slot(tab, name: str, phone: str, id_number: str = "") -> None:
    tab.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    tab.locator("#days button").first.click()
    tab.locator("#slots button:enabled").first.click()
    tab.fill("#name", name)
    tab.fill("#phone", phone)
    if id_number:
        tab.fill("#id_number", id_number)
    tab.get_by_role("button", name="Xác nhận").click()


def test_a_whole_booking_on_a_phone_then_cancelling_it(server, phone):
    phone.goto(server.url + "/book")
    assert phone.locator("h1:visible").inner_text() == "Ông/Bà cần làm thủ tục gì?"
    no_sideways_scroll(phone)
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    first_day = phone.locator("#days button").first
    assert first_day.inner_text().startswith("Thứ") or first_day.inner_text().startswith("Chủ nhật")
    first_day.click()
    slot = phone.locator("#slots button:enabled").first
    assert "còn 2 chỗ" in slot.inner_text()
    slot.click()
    phone.fill("#name", "Nguyễn Văn An")
    phone.fill("#phone", "0912 345 678")
    phone.locator("#id_number").press_sequentially("0010 9901 2345")  # typed in groups, as on the card
    no_sideways_scroll(phone)
    phone.get_by_role("button", name="Xác nhận").click()

    code = phone.locator("#code")
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")
    assert phone.locator("#done-title").inner_text() == "Đã đặt lịch"
    phone.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")  # the QR code loaded
    booking = server.api("GET", f"/bookings/{code.inner_text()}").json()
    assert booking["status"] == "booked" and booking["id_number"] == "0010******45"
    assert phone.locator("#ics").get_attribute("href").endswith(".ics")
    no_sideways_scroll(phone)

    phone.get_by_role("button", name="English").click()
    assert phone.locator("#done-title").inner_text() == "Booked"
    phone.get_by_role("button", name="Tiếng Việt").click()

    phone.locator("#manage").click()  # the booking's own page, where the manage link leads
    phone.wait_for_url(f"**/book/{booking['code']}")
    phone.get_by_role("button", name="Hủy lịch hẹn").click()
    phone.get_by_role("button", name="Chạm lần nữa để xác nhận hủy").click()
    phone.wait_for_function("() => document.body.dataset.state === 'cancelled'")
    assert phone.locator("#done-status").inner_text() == "Lịch hẹn đã được hủy"
    for told_to_come in ("#qr", "#done-hint", "#when"):  # nothing left to scan or come for
        expect(phone.locator(told_to_come)).to_be_hidden()
    assert server.api("GET", f"/bookings/{booking['code']}").json()["status"] == "cancelled"


def test_a_number_for_today_and_a_second_one_refused_politely(server, phone):
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Trần Thị Bình")
    phone.fill("#phone", "0987654321")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('number').textContent !== ''")
    assert phone.locator("#done-title").inner_text() == "Đã lấy số"
    number = phone.locator("#number").inner_text()
    assert "trước" in phone.locator("#when").inner_text()  # come and scan at the kiosk before HH:MM

    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Trần Thị Bình")
    phone.fill("#phone", "0987 654 321")
    phone.get_by_role("button", name="Xác nhận").click()
    refusal = phone.locator("#form-error")
    refusal.wait_for()
    assert f"Ông/Bà đã có số {number}" in refusal.inner_text()


def test_check_in_at_the_kiosk_by_typed_code_and_by_scanning_the_id_card(
    start_server_on_a_working_morning, phone, page
):
    # the server's clock on the session's working morning (libfaketime): today has slots left, whatever the real time
    srv = start_server_on_a_working_morning()
    today = morning_date(srv)
    http = srv.session()
    phone.goto(srv.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Trần Thị Bình")
    phone.fill("#phone", "0987654321")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")
    code, number = phone.locator("#code").inner_text(), phone.locator("#number").inner_text()

    page.goto(srv.url + "/kiosk/kiosk-1")
    type_on_keys(page, code)
    page.locator("#result").wait_for()
    assert page.locator("#result-number").inner_text() == number
    assert page.locator("#result-booked").inner_text() == "Số lấy từ xa — đã xác nhận có mặt"
    page.locator("#result .done").click()

    # a booking for 11:00 today, found by the ID card's QR code
    booked = http.post(
        "/api/v1/bookings",
        json={
            "service": "HT",
            "date": today.isoformat(),
            "start": "11:00",
            "name": "Nguyễn Văn An",
            "phone": "0912345678",
            "id_number": "001099012345",
        },
    )
    assert booked.status_code == 201, booked.text
    taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
    scanner_burst(page, CARD)  # at the first screen, without tapping anything first
    expect(page.locator("#result-booked")).to_have_text("Đã đặt lịch — Ông/Bà được gọi từ 11:00")
    ticket_id = page.evaluate("document.getElementById('result').dataset.ticket")
    assert http.get(f"/api/v1/tickets/{ticket_id}/print-jobs").json()["jobs"], "the ticket prints as usual"
    page.locator("#result .done").click()

    # a card with no booking today: the citizen chooses the service, and the number is the card's
    other_card = CARD.replace("001099012345", "079203004567")
    taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
    scanner_burst(page, other_card)
    page.locator(".card-note").wait_for()
    page.click('#service-grid button[data-service="CT"]')
    expect(page.locator("#screen-priority")).to_be_visible()  # asked as any walk-in is
    page.locator("button.priority", has_text="Người cao tuổi").click()
    page.locator("#result").wait_for()
    assert page.locator("#result-booked").is_hidden()
    ticket = page.locator("#result-number").inner_text()
    card_ticket = page.evaluate("document.getElementById('result').dataset.ticket")
    assert http.get(f"/api/v1/tickets/{card_ticket}").json()["priority"] == "elderly"
    page.locator("#result .done").click()
    taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
    scanner_burst(page, other_card)  # the same card again: one number per person and service
    page.locator(".card-note").wait_for()
    expect(page.locator(".card-note")).to_contain_text(f"thẻ căn cước này đang giữ số {ticket}")  # said at once
    page.click('#service-grid button[data-service="CT"]')
    page.locator("button.no-priority").click()
    page.locator("#problem").wait_for()
    assert ticket in page.locator("#problem-text").inner_text()


def test_a_scan_the_kiosk_cannot_use_is_explained_and_issues_nothing(module_server, page):
    """A damaged card, a hostile QR code and someone else's QR code, scanned at the kiosk: a
    sentence for the citizen, shown as text, and no number."""
    server = module_server
    page.goto(server.url + "/kiosk/kiosk-1")
    page.locator("#service-grid button").first.wait_for()
    waiting = {code: server.waiting(code) for code in ("HT", "CT")}
    for scanned, said in (
        ("001099012345|123456789|Nguyễn Văn An|31021990", "Không đọc được mã QR của thẻ căn cước"),
        ('<img src=x onerror="window.hacked=1">|1|2|3|4|5|6', "Không đọc được mã QR của thẻ căn cước"),
        ("https://shop.example/<b>sale</b>", "Không tìm thấy lịch hẹn"),
    ):
        taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
        scanner_burst(page, scanned)
        expect(page.locator("#problem-text")).to_contain_text(said)
        assert page.locator("#problem img, #problem b").count() == 0, "the scan was shown as HTML"
        page.locator("#problem .done").click()
    assert page.evaluate("window.hacked") is None
    assert {code: server.waiting(code) for code in ("HT", "CT")} == waiting, "a refused scan issued a number"


def test_the_clerk_and_the_lobby_see_which_number_is_a_booking(server, page, new_tab):
    password = server.add_clerk("lan", counter=1)
    taken = server.api(
        "POST", "/bookings", json={"service": "HT", "remote": True, "name": "Bình", "phone": "0987654321"}
    ).json()
    assert server.api("POST", "/check-in", json={"code": taken["code"]}).status_code == 201
    walk_in = server.api("POST", "/tickets", json={"service": "HT"}).json()
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(server.url + "/display/lobby")

    page.goto(server.url + "/counter")
    page.fill("#username", "lan")
    page.fill("#password", password)
    page.click("#login-button")
    rows = page.locator("#queue-list li")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Số từ xa")  # the remote number came first, and is here now
    assert "Số từ xa" not in rows.nth(1).inner_text() and rows.nth(1).get_attribute("data-number") == str(
        walk_in["number"]
    )
    page.click('button[data-action="next"]')
    expect(lobby.locator("#callout-number")).to_have_text(str(taken["number"]))
    expect(lobby.locator("#callout-booked")).to_contain_text("Số lấy từ xa")
    expect(page.locator("#current-details")).to_contain_text("Số từ xa")


def test_the_booking_page_and_the_kiosk_check_in_meet_wcag_22_aa(server, browser):
    from accessibility_helpers import AXE, RUN_AXE, TOUCH_SCREENS_WITHOUT_ZOOM, WCAG_22_AA

    found = {}

    def check(tab, name, skip=()):
        if not tab.evaluate("typeof axe !== 'undefined'"):
            tab.add_script_tag(content=AXE)
        found[name] = tab.evaluate(RUN_AXE, [WCAG_22_AA, list(skip)])

    # the pages forbid inline scripts (CSP): axe is put in by the test browser, not the page
    context = browser.new_context(viewport={"width": 360, "height": 740}, bypass_csp=True, locale="vi-VN")
    try:
        tab = context.new_page()
        tab.goto(server.url + "/book")
        check(tab, "book: services")
        tab.get_by_role("button", name="Tư pháp - Hộ tịch").click()
        check(tab, "book: days")
        tab.locator("#days button").first.click()
        tab.locator("#slots button").first.wait_for()
        check(tab, "book: slots")
        tab.locator("#slots button:enabled").first.click()
        check(tab, "book: details")
        tab.fill("#name", "Nguyễn Văn An")
        tab.fill("#phone", "0912345678")
        tab.get_by_role("button", name="Xác nhận").click()
        tab.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
        check(tab, "book: booked")

        kiosk = tab  # the same tab, turned to the kiosk's size (a new tab cost ~0.1 s of CPU: its renderer)
        kiosk.set_viewport_size({"width": 1080, "height": 1920})
        kiosk.goto(server.url + "/kiosk/kiosk-1")
        kiosk.locator(".checkin-open:visible").click()
        kiosk.locator("#checkin-code").wait_for()
        taking_taps(kiosk)  # the screen ignores taps for a moment (its buttons dimmed): audited as it then is
        check(kiosk, "kiosk: check-in", TOUCH_SCREENS_WITHOUT_ZOOM)
    finally:
        context.close()
    found = {page: problems for page, problems in found.items() if problems}
    assert not found, found


def test_the_phone_confirms_with_the_code_sent_by_sms_and_asks_anew_once_it_is_void(start_server, phone):
    """A corrected phone drops the code sent and "Xác nhận" sends one to it. A wrong code is said; the
    fifth voids the code: the page says so and how to get a new one (in English too, switched), drops
    the code's box, puts the focus on "Xác nhận", which then has a new code sent."""
    import json
    from pathlib import Path

    import yaml
    from webhook_receiver import Receiver

    gateway = Receiver()
    try:
        config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yaml").read_text("utf-8"))
        config["services"][0]["booking"]["sms_code"] = True  # HT
        config["notifications"] = {"sms": {"url": gateway.url, "timeout_seconds": 2}}
        srv = start_server(config)
        phone.goto(srv.url + "/book")
        book_first_free_slot(phone, "Lê Thị Cúc", "0912000776")  # a mistyped phone: the code went there
        expect(phone.locator("#sms-sent")).to_contain_text("091****776")
        phone.fill("#phone", "0912000777")  # corrected: the code sent is for the request as it was
        expect(phone.locator("#sms-box")).to_be_hidden()
        phone.get_by_role("button", name="Xác nhận").click()
        expect(phone.locator("#sms-sent")).to_contain_text("091****777")
        assert [json.loads(sms.body)["to"][-3:] for sms in gateway.received] == ["776", "777"]
        code = json.loads(gateway.received[-1].body)["text"].split(": ")[1][:6]
        error = phone.locator("#form-error")
        for tries in range(1, 6):
            phone.fill("#sms_code", "000000" if code != "000000" else "111111")
            phone.get_by_role("button", name="Xác nhận").click()
            expect(phone.locator("#submit")).to_be_enabled()  # answered (disabled while it is asked)
            if tries < 5:  # under the code's box
                expect(phone.locator("#sms_code-error")).to_contain_text("Mã xác nhận không đúng")
        expect(error).to_contain_text("Mã xác nhận đã bị nhập sai 5 lần nên không còn hiệu lực")
        expect(error).to_contain_text("bấm “Xác nhận” lần nữa (không cần nhập mã)")
        expect(phone.locator("#sms-box")).to_be_hidden()
        expect(phone.locator("#submit")).to_be_focused()  # where to go next, not the page's body
        phone.click("#lang")
        expect(error).to_contain_text("typed wrong 5 times and is no longer valid")
        phone.click("#lang")
        phone.get_by_role("button", name="Xác nhận").click()  # as the refusal says
        expect(phone.locator("#sms-box")).to_be_visible()
        assert len(gateway.received) == 3, "a new code was sent"
        code = json.loads(gateway.received[-1].body)["text"].split(": ")[1][:6]
        phone.fill("#sms_code", code)
        phone.get_by_role("button", name="Xác nhận").click()
        expect(phone.locator("#done-title")).to_have_text("Đã đặt lịch")
    finally:
        gateway.close()


def test_the_dashboard_lists_today_s_bookings_and_who_came(server, page):
    server.add_user("giamsat", "mat-khau-giam-sat", "supervisor")
    taken = server.api(
        "POST", "/bookings", json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0987654321"}
    ).json()
    page.goto(server.url + "/dashboard")
    page.fill("#username", "giamsat")
    page.fill("#password", "mat-khau-giam-sat")
    page.click("#login-button")
    row = page.locator(f'#bookings tr[data-code="{taken["code"]}"]')
    expect(row).to_contain_text("Trần Thị Bình")
    expect(row).to_contain_text("Chưa đến")
    assert server.api("POST", "/check-in", json={"code": taken["code"]}).status_code == 201
    page.reload()
    expect(row).to_contain_text(f"Đã đến — số {taken['number']}")


def test_an_admin_turns_bookings_on_and_off_for_a_service_at_admin(server, page):
    server.add_user("quantri", "quan-tri-2026", "admin")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(server.url + "/admin")
    page.fill("#username", "quantri")
    page.fill("#password", "quan-tri-2026")
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-ready", "1")
    page.click('#panel-services tr.item[data-key="CT"]')
    form = page.locator('form[data-form="services"]')

    def field(path):
        return form.locator(f'.field[data-field="{path}"] input')

    field("booking.slot_minutes").fill("30")
    field("booking.per_slot").fill("1")
    form.locator("button.save").click()
    expect(form.locator(".saved")).to_have_text("Đã lưu")
    day = next(d for d in (site_today() + dt.timedelta(days=n) for n in range(1, 8)) if d.weekday() < 6)
    slots = server.api("GET", "/services/CT/slots", params={"date": day.isoformat()}).json()
    assert slots[0]["free"] == 1 and len(slots) == 19  # 07:30 to 17:00 in half hours, one place each

    for path in ("slot_minutes", "per_slot", "days_ahead", "grace_minutes", "remote_checkin_minutes"):
        field("booking." + path).fill("")  # all five empty: no bookings
    form.locator("button.save").click()
    expect(form.locator(".saved")).to_have_text("Đã lưu")
    assert server.api("GET", "/services/CT/slots", params={"date": day.isoformat()}).status_code == 409


def test_an_answer_lost_on_the_way_gives_the_same_booking_when_tapped_again(server, phone):
    """The phone's connection drops after the server booked: the citizen taps "Xác nhận" again and sees
    that booking's code (the same Idempotency-Key), not a refusal for booking twice."""
    keys, lost = [], []

    def drop_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().json())  # the server booked it ...
        route.abort("connectionreset")  # ... and the answer never reached the phone

    phone.route("**/api/v1/bookings", drop_the_first_answer)  # (before the page loads: see test_kiosk_page)
    phone.goto(server.url + "/book")
    book_first_free_slot(phone, "Trịnh Văn Quân", "0922111333")
    expect(phone.locator("#form-error")).to_contain_text("Mất kết nối")
    phone.get_by_role("button", name="Xác nhận").click()
    expect(phone.locator("#code")).to_have_text(lost[0]["code"])
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    booked = server.api("GET", f"/bookings/{lost[0]['code']}").json()
    assert booked["status"] == "booked"


def test_a_slot_taken_while_the_form_is_filled_is_said_on_the_slot_list(server, phone):
    """Two others take the chosen slot's places while the citizen types: "Xác nhận" goes back to the
    slot list, which says why and shows that slot full."""
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    first_day = phone.locator("#days button").first
    day = first_day.get_attribute("data-day")
    first_day.click()
    slot = phone.locator("#slots button:enabled").first
    start = slot.get_attribute("data-start")
    slot.click()
    phone.fill("#name", "Nguyễn Văn An")
    phone.fill("#phone", "0912345678")
    for n, number in enumerate(("0911000001", "0911000002")):  # its two places
        taken = server.api(
            "POST",
            "/bookings",
            json={"service": "HT", "date": day, "start": start, "name": f"Người {n}", "phone": number},
        )
        assert taken.status_code == 201, taken.text
    phone.get_by_role("button", name="Xác nhận").click()
    expect(phone.locator("#step-slot")).to_be_visible()
    expect(phone.locator("#slot-error")).to_contain_text("hết chỗ")
    expect(phone.locator(f'#slots button[data-start="{start}"]')).to_be_disabled()


def test_outside_the_hours_a_number_for_today_is_not_offered_and_the_hours_are_said(start_server, config_data, phone):
    """The server refuses a number for today while the centre is closed: the page says so before anything
    is typed (today no working day: the working days named, as the kiosk names them), and still offers
    the days to book."""
    config = closed_now(config_data)
    config["site"]["hours"]["holidays"] = []  # today is not one of the working days, at any hour
    srv = start_server(config, ignore_hours=False)
    phone.goto(srv.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    expect(phone.locator("#take-remote")).to_be_hidden()
    closed = phone.locator("#remote-closed")
    expect(closed).to_contain_text(
        "Hôm nay không phải ngày làm việc, nên không lấy được số cho hôm nay. Ngày làm việc: "
    )
    names = dict(zip(WEEKDAYS, ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]))
    working = config["site"]["hours"]["days"]
    assert names[working[0]] in closed.inner_text() and names[working[-1]] in closed.inner_text()
    assert not any(names[day] in closed.inner_text() for day in WEEKDAYS if day not in working)
    expect(closed).to_contain_text(" (07:30–17:00). Ông/Bà có thể đặt lịch")  # the hours after the days
    expect(phone.locator("#days button").first).to_be_visible()


def test_a_refused_field_is_named_as_the_citizen_sees_it(module_server, phone):
    server = module_server
    # a key the form has no label for (as from a page older than the server): said in its own message
    phone.route(
        "**/api/v1/bookings",
        lambda route: route.continue_(post_data={**json.loads(route.request.post_data), "later": 1}),
    )
    phone.goto(server.url + "/book")
    book_first_free_slot(phone, "", "")  # nothing typed: every empty field named at once, under its box
    expect(phone.locator("#name-error")).to_have_text("Họ và tên: không được để trống")
    expect(phone.locator("#phone-error")).to_have_text("Số điện thoại: không được để trống")
    error = phone.locator("#form-error")  # a field the form has no box for: at the top
    expect(error).to_have_text("Trường “later”: không được nhận (kiểm tra chính tả)")


def test_a_page_left_open_offers_a_number_for_today_from_the_opening_time_until_closing(start_server, tmp_path, phone):
    """The page follows the centre's hours while it stays open (on the server's clock, whatever the
    phone's): opened before the opening time, it offers "Lấy số hôm nay" once the centre opens, and
    the server gives the number; opened before the closing time, it stops offering it at closing."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("07:29:45"))
    srv = start_server(ignore_hours=False, env=clock.env())  # the site's own hours: 07:30-17:00
    # the phone's clock is moved on to the opening and the closing time, not waited for (the page
    # reads the server's time at load and counts on from there: QK.now)
    phone.clock.install()
    phone.goto(srv.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    take = phone.get_by_role("button", name="Lấy số hôm nay")
    expect(take).to_be_hidden()
    expect(phone.locator("#remote-closed")).to_contain_text("(07:30–17:00)")
    clock.set(clock.start.replace(minute=30, second=0))  # the server's clock at 07:30, to give the number
    phone.clock.fast_forward(16_000)  # the page's at 07:30 too (loaded at 07:29:45 or later)
    expect(take).to_be_visible(timeout=40_000)  # at 07:30, without a reload
    expect(phone.locator("#remote-closed")).to_be_hidden()
    take.click()
    phone.fill("#name", "Trần Thị Hoa")
    phone.fill("#phone", "0912000777")
    phone.get_by_role("button", name="Xác nhận").click()
    expect(phone.locator("#number")).to_have_text("1001")

    clock.set(clock.start.replace(hour=16, minute=59, second=40))
    phone.goto(srv.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    expect(take).to_be_visible()
    phone.clock.fast_forward(21_000)  # the page's clock at 17:00 (loaded at 16:59:40 or later)
    expect(take).to_be_hidden(timeout=40_000)  # at 17:00
    expect(phone.locator("#remote-closed")).to_contain_text("chỉ lấy được trong giờ làm việc (07:30–17:00)")
    expect(phone.locator("#days button").first).to_be_visible()  # the days to book stay


def test_a_shown_refusal_follows_a_switch_of_language(server, phone):
    """A refusal already on the screen is said again in the language the citizen switches to (and back):
    a field's, with the label as the citizen sees it, and the server's own sentence."""
    phone.goto(server.url + "/book")
    book_first_free_slot(phone, "", "0912345678")  # no name
    under_name = phone.locator("#name-error")
    expect(under_name).to_have_text("Họ và tên: không được để trống")
    language = phone.locator("#lang")
    language.click()
    expect(phone.locator("#step-form h1")).to_have_text("Your details")  # (the page itself switched)
    expect(under_name).to_have_text("Full name: must not be empty")
    language.click()
    expect(under_name).to_have_text("Họ và tên: không được để trống")
    error = phone.locator("#form-error")

    for attempt in ("taken", "refused"):  # a number for today, then a second one for the same person
        phone.goto(server.url + "/book")
        phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
        phone.get_by_role("button", name="Lấy số hôm nay").click()
        phone.fill("#name", "Trần Văn Cường")
        phone.fill("#phone", "0912345678")
        phone.get_by_role("button", name="Xác nhận").click()
        if attempt == "taken":
            expect(phone.locator("#number")).to_have_text("1001")
    expect(error).to_contain_text("Ông/Bà đã có số 1001 của dịch vụ “Tư pháp - Hộ tịch”")
    language.click()
    expect(error).to_contain_text("You already hold number")
    expect(error).not_to_contain_text("Ông/Bà")
    # the service by its English name in English (config.yaml: "Justice - Civil status")
    expect(error).to_contain_text("for “Justice - Civil status”")
    expect(error).not_to_contain_text("Tư pháp")
    again = server.api(
        "POST",
        "/bookings",
        json={"service": "HT", "remote": True, "name": "Trần Văn Cường", "phone": "0912345678"},
        headers={"Accept-Language": "en"},
    )
    assert again.status_code == 409 and "“Justice - Civil status”" in again.json()["error"]["message"], again.text


def test_an_open_booking_page_follows_english_turned_off_and_on(server, phone):
    """English turned off in /admin reaches a /book page left open, without a reload: the language button
    goes, a citizen reading in English is back in Vietnamese; turned on again, the button comes back."""
    phone.goto(server.url + "/book")
    language = phone.locator("#lang")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    language.click()
    expect(phone.locator("#step-day h1")).to_have_text("Choose a day")
    admin = server.token("admin")

    def languages(chosen):
        changed = server.api("PATCH", "/admin/site", token=admin, json={"languages": chosen})
        assert changed.status_code == 200, changed.text

    languages(["vi"])
    expect(language).to_be_hidden(timeout=5_000)
    expect(phone.locator("html")).to_have_attribute("lang", "vi")
    expect(phone.locator("#step-day h1")).to_have_text("Chọn ngày")  # where the citizen was, in Vietnamese
    phone.reload()
    expect(phone.locator("h1:visible")).to_have_text("Ông/Bà cần làm thủ tục gì?")
    expect(language).to_be_hidden()
    languages(["vi", "en"])
    expect(language).to_be_visible(timeout=5_000)
    language.click()
    expect(phone.locator("h1:visible")).to_have_text("What do you need to do?")


def test_a_form_for_today_s_number_left_open_past_closing_says_so_at_once(start_server, tmp_path, phone):
    """A citizen filling in the form for a number for today when the centre closes learns it then, on the
    server's clock, not when tapping "Xác nhận": the form says so and cannot be sent."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("16:59:45"))
    srv = start_server(ignore_hours=False, env=clock.env())  # the site's own hours: 07:30-17:00
    phone.clock.install()  # the phone's clock is moved on to the closing time, not waited for
    phone.goto(srv.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Trần Thị Hoa")
    phone.fill("#phone", "0912000778")
    closed, send = phone.locator("#form-closed"), phone.get_by_role("button", name="Xác nhận")
    expect(closed).to_be_hidden()
    expect(send).to_be_enabled()
    phone.clock.fast_forward(16_000)  # the page's clock at 17:00 (loaded at 16:59:45 or later)
    expect(closed).to_be_visible(timeout=40_000)  # at 17:00, without a tap
    expect(closed).to_contain_text("Trung tâm đã hết giờ làm việc hôm nay (07:30–17:00)")
    expect(send).to_be_disabled()
    phone.locator("#lang").click()
    expect(closed).to_contain_text("The centre has closed for today (07:30–17:00)")


def test_every_wrong_detail_is_said_in_one_answer(module_server, phone):
    """The province tester's "Lấy số hôm nay" with no name, phone 12345 and CCCD 123456789012 was told the
    name, then the phone, then the CCCD: three round trips on a phone. All three come at once, each
    under its own box, and the phone shows the first."""
    server = module_server
    phone.set_viewport_size({"width": 360, "height": 480})  # a small phone: the name's box scrolls away
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#phone", "12345")
    phone.fill("#id_number", "123456789012")
    phone.get_by_role("button", name="Xác nhận").click()
    # each message under its own box (and its description, for a screen reader); above the button, an
    # alert a screen reader says even when the focus stays where it was (Enter pressed in the name's box)
    expect(phone.locator("#name-error")).to_have_text("Họ và tên: không được để trống")
    expect(phone.locator("#phone-error")).to_contain_text("Số điện thoại không hợp lệ")
    expect(phone.locator("#id_number-error")).to_contain_text("Số căn cước công dân không hợp lệ")
    summary = phone.locator("#form-error")
    expect(summary).to_have_text("Có 3 thông tin chưa đúng: xin xem lời nhắn dưới từng ô được đánh dấu.")
    expect(summary).to_have_attribute("role", "alert")
    labels = {"#name": "#phone", "#phone": "#id_number", "#id_number": ".hint"}  # the box, what comes after it
    for box, after in labels.items():  # each box refused is marked, its message between it and what follows
        expect(phone.locator(box)).to_have_attribute("aria-invalid", "true")
        expect(phone.locator(box)).to_have_attribute("aria-describedby", box[1:] + "-error")
        top = phone.locator(box).bounding_box()
        said = phone.locator(box + "-error").bounding_box()
        below = phone.locator(f"#details {after}").first.bounding_box()
        assert top["y"] + top["height"] <= said["y"] < below["y"], (box, top, said, below)
    # the first wrong box focused, in view on the phone's screen (the form was scrolled to the button)
    expect(phone.locator("#name")).to_be_focused()
    expect(phone.locator("#name")).to_be_in_viewport()
    phone.fill("#phone", "0912345678")  # typed in: unmarked, its message gone; the others stay
    expect(phone.locator("#phone")).not_to_have_attribute("aria-invalid", "true")
    expect(phone.locator("#phone-error")).to_be_hidden()
    expect(phone.locator("#name")).to_have_attribute("aria-invalid", "true")
    expect(summary).to_have_text("Có 2 thông tin chưa đúng: xin xem lời nhắn dưới từng ô được đánh dấu.")
    phone.locator("#lang").click()  # in English when the page is
    expect(phone.locator("#name-error")).to_have_text("Full name: must not be empty")
    expect(phone.locator("#id_number-error")).to_contain_text("This ID card number is not valid")
    expect(summary).to_have_text("2 details are not right: please see the note under each marked box.")


def test_an_open_booking_page_lists_the_slots_again_when_the_hours_change(server, phone):
    """The supervisor moves the closing time in /admin while a citizen has /book open (docs/bookings.md):
    the slot list there shows the new times without a reload; a citizen on the form whose slot has closed
    is back at the list, told why; one whose slot is still open stays on the form with what they typed,
    and books it."""
    admin = server.token("admin")

    def closing(at: str) -> None:
        changed = server.api("PATCH", "/admin/site", token=admin, json={"hours": {"close": at}})
        assert changed.status_code == 200, changed.text

    phone.goto(server.url + "/book")
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.locator("#days button").last.click()  # a day ahead: its slots are all still to come
    last = phone.locator("#slots button").last
    expect(last).to_have_attribute("data-start", "16:45")  # 07:30-17:00 in 15 minutes
    closing("16:00")
    expect(last).to_have_attribute("data-start", "15:45")

    phone.locator('#slots button[data-start="09:00"]').click()
    phone.fill("#name", "Nguyễn Văn An")
    closing("08:30")
    expect(phone.locator("#step-slot")).to_be_visible()
    expect(phone.locator("#slot-error")).to_have_text(
        "Trung tâm vừa đổi giờ làm việc: khung giờ 09:00 Ông/Bà đã chọn không còn nhận lịch. Mời Ông/Bà chọn giờ khác."
    )
    expect(last).to_have_attribute("data-start", "08:15")

    phone.locator('#slots button[data-start="08:00"]').click()
    phone.fill("#name", "Nguyễn Văn An")
    phone.fill("#phone", "0912345678")
    closing("08:45")
    expect(last).to_have_attribute("data-start", "08:30")  # listed again behind the form
    expect(phone.locator("#step-form")).to_be_visible()
    expect(phone.locator("#name")).to_have_value("Nguyễn Văn An")
    phone.get_by_role("button", name="Xác nhận").click()
    expect(phone.locator("#when")).to_contain_text("08:00")
