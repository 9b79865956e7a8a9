"""A booked citizen's morning, on one running server whose clock the test sets (libfaketime,
tests/faked_clock.py), in real Chromium (docs/bookings.md; issue 14's "done when").

At 09:00 on a working day a citizen books 09:30 on a 360 px phone with the ID card's number; a
second booking of the same person is refused politely; another citizen books 09:15 and will come
late. Two walk-ins take numbers. The citizen
arrives, holds the booking's QR code to the kiosk's scanner (a burst of keys ending with Enter)
and gets a printed ticket marked as booked. Before 09:30 the clerk calls in arrival order; at
09:30 the clerk's "next" calls the booked citizen ahead of the walk-in who came earlier, and the
lobby display says it is a booking; the 09:15 citizen, checked in after the grace window, waits
behind the walk-in, marked late. The same card scanned again gets no second number.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from book_page_helpers import no_sideways_scroll  # noqa: E402
from faked_clock import FakedClock, next_working_morning  # noqa: E402
from kiosk_helpers import scanner_burst, taking_taps  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

ID = "001099012345"
CARD = f"{ID}|123456789|Nguyễn Văn An|01011990|Nam|Số 7 ngõ 12 phố Phúc La, Hà Đông, Hà Nội|15082021"
PASSWORD = "quay-mot-2026"


def choose_slot(phone, url: str, day: str, start: str) -> None:
    phone.goto(url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.locator(f'#days button[data-day="{day}"]').click()
    phone.locator(f'#slots button[data-start="{start}"]').click()


def test_a_citizen_books_on_a_phone_checks_in_by_its_qr_code_and_is_called_at_the_slot_time(
    start_server, tmp_path, phone, page, new_tab
):
    from queuekiosk.kiosk.web import qr_svg

    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    day = clock.start.date().isoformat()
    srv = start_server(ignore_hours=False, env=clock.env())  # the site's own hours: 07:30-17:00
    http = srv.session()
    srv.add_user("lan", PASSWORD, "clerk", 1)  # counter 1 serves HT only

    # 09:00, at home: book 09:30 on the phone
    choose_slot(phone, srv.url, day, "09:30")
    phone.fill("#name", "Nguyễn Văn An")
    phone.fill("#phone", "0912 345 678")
    phone.fill("#id_number", ID)
    phone.get_by_role("button", name="Xác nhận").click()
    expect(phone.locator("#done-title")).to_have_text("Đã đặt lịch")
    phone.wait_for_function("() => document.getElementById('qr').naturalWidth > 0")
    no_sideways_scroll(phone)
    code = phone.locator("#code").inner_text()
    booking = http.get(f"/api/v1/bookings/{code}").json()
    assert (booking["date"], booking["start"], booking["status"]) == (day, "09:30", "booked")
    # what the phone shows at the kiosk: the QR code of the booking's own page
    assert http.get(booking["qr_url"]).content == qr_svg(booking["manage_url"])

    # the same person books another time the same day: refused, naming the first
    choose_slot(phone, srv.url, day, "10:00")
    phone.fill("#name", "Nguyễn Văn An")
    phone.fill("#phone", "0987 000 111")
    phone.fill("#id_number", ID)
    phone.get_by_role("button", name="Xác nhận").click()
    refusal = phone.locator("#form-error")
    expect(refusal).to_contain_text("Ông/Bà đã đặt lịch")
    expect(refusal).to_contain_text("09:30")

    # another citizen books 09:15 from the city's app, and will come late
    late = http.post(
        "/api/v1/bookings",
        json={"service": "HT", "date": day, "start": "09:15", "name": "Trần Thị Bình", "phone": "0987654321"},
    )
    assert late.status_code == 201, late.text

    # two walk-ins come first
    first, second = (http.post("/api/v1/tickets", json={"service": "HT"}).json() for _ in range(2))

    # the citizen arrives and scans the booking's QR code at the kiosk, without tapping anything
    page.goto(srv.url + "/kiosk/kiosk-1")
    page.locator("#service-grid button").first.wait_for()
    taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
    scanner_burst(page, booking["manage_url"])
    expect(page.locator("#result-booked")).to_have_text("Đã đặt lịch — Ông/Bà được gọi từ 09:30")
    booked_number = int(page.locator("#result-number").inner_text())
    ticket_id = page.evaluate("document.getElementById('result').dataset.ticket")
    assert http.get(f"/api/v1/tickets/{ticket_id}/print-jobs").json()["jobs"], "the ticket prints as usual"
    assert http.get(f"/api/v1/bookings/{code}").json()["status"] == "checked_in"

    # the clerk's list marks the booking; before 09:30 the clerk calls in arrival order
    page.goto(srv.url + "/counter")
    page.fill("#username", "lan")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    rows = page.locator("#queue-list li")
    expect(rows).to_have_count(3)
    expect(page.locator(f'#queue-list li[data-number="{booked_number}"]')).to_contain_text("Đặt lịch 09:30")
    page.click('button[data-action="next"]')
    expect(page.locator("#current-number")).to_have_text(str(first["number"]))

    # 09:30: the slot begins; "next" calls the booked citizen ahead of the walk-in who came earlier
    clock.set(clock.start + dt.timedelta(minutes=30, seconds=5))
    page.reload()  # a fresh connection on the server's new time
    expect(rows).to_have_count(2)
    # the 09:15 citizen checks in now, after the grace window (10 minutes): a walk-in, marked late
    came_late = http.post("/api/v1/check-in", json={"code": late.json()["code"], "kiosk": "kiosk-1"}).json()
    assert (came_late["origin"], came_late["due_at"]) == ("booked", None)
    expect(page.locator(f'#queue-list li[data-number="{came_late["number"]}"]')).to_contain_text("Đặt lịch, đến muộn")
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(srv.url + "/display/lobby")
    lobby.wait_for_selector("body[data-live='live']")  # subscribed: it hears the next call
    page.click('button[data-action="next"]')
    expect(page.locator("#current-number")).to_have_text(str(booked_number))
    expect(page.locator("#current-details")).to_contain_text("Đặt lịch 09:30")
    expect(lobby.locator("#callout-number")).to_have_text(str(booked_number))
    expect(lobby.locator("#callout-booked")).to_contain_text("Công dân đặt lịch")
    # then arrival order again: the walk-in, then the late citizen
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-number", str(second["number"]))
    expect(rows.nth(1)).to_have_attribute("data-number", str(came_late["number"]))

    # the same card at the kiosk again: no second number, and the screen says which one is held
    kiosk = new_tab(viewport={"width": 1080, "height": 1920})
    kiosk.goto(srv.url + "/kiosk/kiosk-1")
    kiosk.locator("#service-grid button").first.wait_for()
    taking_taps(kiosk)  # the screen as a citizen finds it: settled (keys are taken at once)
    scanner_burst(kiosk, CARD)
    expect(kiosk.locator("#problem-text")).to_contain_text(str(booked_number))
    queue = next(s for s in http.get("/api/v1/queue").json()["services"] if s["code"] == "HT")
    assert queue["waiting"] == 2, "the refused scan issued nothing"
