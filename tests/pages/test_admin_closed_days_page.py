"""A holiday saved at /admin on a day citizens have booked, in a real Chromium (docs/admin.md, "Hours and
holidays"): the page asks first with the server's own sentence (how many bookings, which day); "Cancel"
saves nothing and says why under the holidays; "OK" saves it, and the citizen's booking page says the
centre cancelled the booking, why, and offers to book again."""

from __future__ import annotations

import datetime as dt
import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from admin_helpers import ADMIN_SCREEN, _field, _login, _save, _saved, answering  # noqa: E402
from morning_helpers import morning_date  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_holiday_on_a_booked_day_asks_then_the_citizen_sees_the_centre_cancelled(
    new_tab, phone, server_on_a_working_morning
):
    server = server_on_a_working_morning
    day = morning_date(server) + dt.timedelta(days=2)
    if day.weekday() == 6:  # (Sunday: closed already)
        day += dt.timedelta(days=1)
    body = {"service": "HT", "date": day.isoformat(), "start": "09:00", "name": "Nguyễn Văn An", "phone": "0912000031"}
    booked = server.api("POST", "/bookings", json=body)
    assert booked.status_code == 201, booked.text
    code = booked.json()["code"]
    shown = f"{day.day:02d}/{day.month:02d}/{day.year}"

    supervisor = new_tab(viewport=ADMIN_SCREEN)
    _login(supervisor, server, "giamsat", "supervisor")
    supervisor.click("#tab-hours")
    holidays = _field(supervisor, "holidays", "holidays")
    holidays.locator("input.date-entry").fill(shown)
    holidays.locator("button.add-date").click()
    asked = []
    supervisor.once("dialog", answering(asked, False))
    _save(supervisor, "holidays")
    # "Cancel": nothing saved, and why said under the holidays
    expect(holidays.locator(".field-error[role=alert]")).to_contain_text(f"1 lịch vào ngày {shown}, nay là ngày nghỉ")
    assert len(asked) == 1 and asked[0].startswith("Chưa lưu “Ngày nghỉ”: thay đổi này làm 1 lịch hẹn"), asked
    assert "Vẫn lưu thay đổi này?" in asked[0] and "trung tâm sẽ hủy 1 lịch hẹn đó" in asked[0], asked
    token = server.token("admin")
    assert day.isoformat() not in server.api("GET", "/admin/site", token=token).json()["holidays"]
    assert server.api("GET", f"/bookings/{code}").json()["status"] == "booked"

    supervisor.once("dialog", answering(asked, True))
    _save(supervisor, "holidays")
    _saved(supervisor, "holidays")
    assert len(asked) == 2
    assert day.isoformat() in server.api("GET", "/admin/site", token=token).json()["holidays"]

    phone.goto(server.url + f"/book/{code}")
    phone.wait_for_function("() => document.body.dataset.state === 'cancelled'")
    expect(phone.locator("#done-status")).to_have_text(
        f"Trung tâm đã hủy lịch hẹn này vì ngày {shown} trung tâm nghỉ (ngày lễ, hoặc không còn là ngày làm việc)."
        " Mời Ông/Bà đặt lịch khác."
    )
    for told_to_come in ("#qr", "#done-hint", "#when", "#cancel"):  # nothing left to scan, come for or cancel
        expect(phone.locator(told_to_come)).to_be_hidden()
    expect(phone.get_by_role("link", name="Đặt lịch khác")).to_be_visible()
    phone.get_by_role("button", name="English").click()
    expect(phone.locator("#done-status")).to_have_text(
        f"The centre cancelled this booking: it is closed on {shown} (a holiday, or no longer a working day)."
        " Please make another booking."
    )


def test_a_closing_time_already_past_ends_today_s_remote_number_and_its_page_says_so(
    phone, server_on_a_working_morning
):
    """Today's remote number, due an hour after it was taken (past nine), and a closing time of 09:00 saved
    (confirmed): nothing more can come of it, so the centre cancels it, and its page says why without a
    slot's times it never had."""
    server = server_on_a_working_morning
    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912000032"}
    taken = server.api("POST", "/bookings", json=body)
    assert taken.status_code == 201, taken.text
    code, token = taken.json()["code"], server.token("admin")
    change = {"hours": {"close": "09:00"}, "confirm": True}
    assert server.api("PATCH", "/admin/site", json=change, token=token).status_code == 200
    assert server.api("GET", f"/bookings/{code}").json()["cancel_reason"] == "hours_changed"
    phone.goto(server.url + f"/book/{code}")
    phone.wait_for_function("() => document.body.dataset.state === 'cancelled'")
    expect(phone.locator("#done-status")).to_have_text(
        "Trung tâm đã hủy số này vì hôm nay trung tâm đóng cửa sớm hơn, trước hạn xác nhận của số."
        " Mời Ông/Bà lấy số hoặc đặt lịch vào ngày khác."
    )
