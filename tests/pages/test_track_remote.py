"""The tracking page of a number taken from a phone ("lấy số từ xa") before its citizen has come:
what to do and by when, then the usual waiting view once checked in at the kiosk. Real server,
real Chromium on a phone-sized screen.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from faked_clock import FakedClock, next_working_morning  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_remote_number_says_where_to_go_and_by_when_until_checked_in(server, phone, new_tab, shot):
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Phạm Văn Dũng")
    phone.fill("#phone", "0912000501")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")
    number = server.api("GET", "/bookings/" + phone.locator("#code").inner_text()).json()
    assert number["track_url"].startswith(f"{server.url}/t/"), number

    phone.get_by_role("link", name="Theo dõi số thứ tự").click()  # from the booking to its number's page
    phone.wait_for_url(number["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(phone.locator("#number")).to_have_text(str(number["number"]))
    status, where = phone.locator("#status"), phone.locator("#where")
    expect(status).to_contain_text("Số lấy từ xa: chưa xác nhận có mặt")
    expect(status).to_contain_text("Number taken remotely: not checked in yet")
    expect(where).to_be_visible()
    expect(where).to_contain_text(f"tại máy lấy số (mục “Tôi đã đặt lịch”) trước {number['deadline']}")
    expect(where).to_contain_text(f"before {number['deadline']}")
    expect(phone.locator("#facts")).to_be_hidden()  # no place in the queue before the check-in
    expect(phone.locator("#call")).to_be_hidden()
    assert not re.search(r"\bremote\b", phone.locator("main").inner_text()), "no raw status word on the page"
    shot(phone, "track-remote")

    booking = new_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    booking.goto(f"{server.url}/book/{number['code']}")  # the booking's page, left open on another tab
    expect(booking.locator("#cancel")).to_be_visible()

    checked = server.api("POST", "/check-in", json={"code": number["code"], "kiosk": "kiosk-1"})
    assert checked.status_code == 201, checked.text
    expect(status).to_contain_text("Đang chờ đến lượt")  # live, without reloading
    expect(booking.locator("#done-status")).to_contain_text(f"Đã xác nhận có mặt — số thứ tự {number['number']}")
    expect(booking.locator("#cancel")).to_be_hidden()  # a number checked in is not cancelled from the phone
    expect(where).to_be_hidden()
    expect(phone.locator("#facts")).to_be_visible()
    expect(phone.locator("#ahead")).to_contain_text("Số người đang chờ trước Ông/Bà")


VOID_LOOK = """() => {
  const number = getComputedStyle(document.getElementById('number'));
  const stamp = document.getElementById('void');
  return {struck: number.textDecorationLine.includes('line-through'), numberPx: parseFloat(number.fontSize),
          numberColor: number.color, stampPx: stamp.hidden ? 0 : parseFloat(getComputedStyle(stamp).fontSize),
          stampTop: stamp.getBoundingClientRect().top, inView: stamp.getBoundingClientRect().bottom <= innerHeight};
}"""


def test_a_cancelled_remote_number_says_it_was_cancelled_not_that_it_lapsed(server, phone, new_tab, shot):
    """Cancelled by its citizen before the deadline, the number's page says so (both end as "expired"),
    and its number no longer looks valid: struck through and grey under a large "Số đã hủy", on the page
    left open (at once, in the foreground), shown again (the phone switched back from the booking's tab)
    and opened again, so nobody shows it at a counter. The booking's page left open elsewhere says it too."""
    made = server.api(
        "POST", "/bookings", json={"service": "HT", "remote": True, "name": "Lê Văn C", "phone": "0933333333"}
    )
    assert made.status_code == 201, made.text
    booking = new_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    booking.goto(f"{server.url}/book/{made.json()['code']}")
    expect(booking.locator("#cancel")).to_be_visible()
    phone.goto(made.json()["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    valid = phone.evaluate(VOID_LOOK)
    assert not valid["struck"] and valid["stampPx"] == 0, valid
    expect(phone.locator("#void")).to_be_hidden()

    assert server.api("DELETE", f"/bookings/{made.json()['code']}").status_code == 200
    expect(booking.locator("#done-status")).to_contain_text("Lịch hẹn đã được hủy")
    expect(booking.locator("#cancel")).to_be_hidden()
    for opened in ("left open", "shown again", "opened again"):
        if opened == "shown again":
            phone.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        elif opened == "opened again":
            phone.reload()
        status, stamp = phone.locator("#status"), phone.locator("#void")
        expect(status).to_contain_text("Số lấy từ xa này đã được hủy.")
        expect(status).not_to_contain_text("chưa xác nhận có mặt trước hạn")
        expect(stamp).to_be_visible()
        expect(stamp).to_contain_text("Số đã hủy")
        expect(stamp).to_contain_text("Number cancelled")
        looks = phone.evaluate(VOID_LOOK)
        assert looks["struck"], f"{opened}: the number is struck through: {looks}"
        assert looks["numberColor"] != valid["numberColor"], f"{opened}: the number is greyed: {looks}"
        assert looks["numberPx"] < valid["numberPx"] * 0.7, f"{opened}: no longer shown large: {looks}"
        assert looks["stampPx"] >= 28 and looks["inView"], f"{opened}: the stamp is prominent: {looks}"
        shot(phone, f"track-remote-cancelled-{opened.replace(' ', '-')}")


def test_a_lapsed_remote_number_says_it_was_not_checked_in_in_time(start_server, tmp_path, phone, new_tab, shot):
    """Its tracking page and its booking page, left open on the phone, say that the number lapsed once
    the server lapses it (the pages say they update by themselves), as they do for a cancellation; and so
    does each page opened again."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    srv = start_server(env={**clock.env(), "QUEUEKIOSK_LAPSE_SECONDS": "1"})
    http = srv.session()
    made = http.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Lê Văn D", "phone": "0933333334"}
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    booking = new_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    booking.goto(f"{srv.url}/book/{code}")
    booking_status = booking.locator("#done-status")
    expect(booking.locator("#cancel")).to_be_visible()  # drawn: the number still holds
    expect(booking_status).to_be_hidden()
    phone.goto(made.json()["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    status, stamp = phone.locator("#status"), phone.locator("#void")
    expect(status).to_contain_text("Số lấy từ xa: chưa xác nhận có mặt")
    expect(stamp).to_be_hidden()

    clock.set(clock.start + dt.timedelta(hours=3))  # past its deadline: it lapses by itself
    for _ in range(60):
        if http.get(f"/api/v1/bookings/{code}").json()["status"] == "lapsed":
            break
        time.sleep(0.5)
    else:
        pytest.fail("the remote number did not lapse by itself")
    for opened in ("left open", "opened again"):
        if opened == "opened again":
            phone.reload()
            booking.reload()
        expect(status).to_contain_text("chưa xác nhận có mặt trước hạn")  # told as it is committed
        expect(status).to_contain_text("it was not checked in before its deadline")
        expect(stamp).to_be_visible()
        expect(stamp).to_contain_text("Số đã hết hiệu lực")
        expect(booking_status).to_be_visible()
        expect(booking_status).to_contain_text("Số đã hết hạn vì chưa xác nhận có mặt")
        expect(booking.locator("#cancel")).to_be_hidden()  # nothing left to cancel
        expect(booking.locator("#track")).to_be_hidden()
        shot(phone, f"track-remote-lapsed-{opened.replace(' ', '-')}")


def test_a_checked_in_remote_number_left_open_across_midnight_says_it_expired_as_any_number(
    start_server, tmp_path, phone, shot
):
    """Its page open on the phone when the day ends (the number checked in, still waiting): it says
    what any number's page says then, not that the remote number "no longer holds"."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("23:59:40"))
    srv = start_server(env={**clock.env(), "QUEUEKIOSK_DAY_END_SECONDS": "0.5"})
    http = srv.session()
    made = http.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Lê Văn E", "phone": "0933333335"}
    )
    assert made.status_code == 201, made.text
    phone.goto(made.json()["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    checked = http.post("/api/v1/check-in", json={"code": made.json()["code"], "kiosk": "kiosk-1"})
    assert checked.status_code == 201, checked.text
    status = phone.locator("#status")
    expect(status).to_contain_text("Đang chờ đến lượt")
    assert checked.json()["business_day"] == clock.start.date().isoformat(), (
        "checked in before midnight (a slow start?)"
    )

    # the server's day ends half a second after midnight: the page hears it live
    expect(status).to_contain_text(
        "Số này đã hết hiệu lực vì hết ngày làm việc. Xin Ông/Bà lấy số mới.", timeout=60_000
    )
    expect(status).to_contain_text("This number expired when the working day ended.")
    expect(status).not_to_contain_text("không còn hiệu lực")
    shot(phone, "track-remote-day-end")
    # and so does the page opened again, and a snapshot after a reconnect
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(status).to_contain_text("Số này đã hết hiệu lực vì hết ngày làm việc.")


def test_a_booking_page_that_connects_after_its_check_in_shows_it_checked_in(server, phone):
    """The booking's page read its number as booked, then the citizen checked in at the kiosk before the
    page's live connection was up (a phone on a slow network): once connected it shows the check-in, not a
    number still waiting to be checked in (it heard of no change: it was in no room yet)."""
    booked = server.api(
        "POST", "/bookings", json={"service": "HT", "remote": True, "name": "Lê Thị Hoa", "phone": "0912000502"}
    )
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]
    phone.route("**/socket.io/**", lambda route: route.abort())  # no live connection yet
    phone.goto(f"{server.url}/book/{code}")
    expect(phone.locator("#cancel")).to_be_visible()
    checked = server.api("POST", "/check-in", json={"code": code, "kiosk": "kiosk-1"})
    assert checked.status_code == 201, checked.text
    phone.unroute("**/socket.io/**")  # the page's Socket.IO client connects at its next try
    expect(phone.locator("body")).to_have_attribute("data-live", "live", timeout=20_000)
    expect(phone.locator("#done-status")).to_contain_text(f"Đã xác nhận có mặt — số thứ tự {checked.json()['number']}")
    expect(phone.locator("#cancel")).to_be_hidden()
