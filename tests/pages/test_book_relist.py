"""An open /book page follows a setup saved in /admin, or its own reconnect, without telling the citizen
a wrong reason (docs/bookings.md): a chosen slot that others filled meanwhile is said to be full, and one
whose time has begun is said to have begun, not "the centre changed its hours"; a holiday saved on the
chosen day sends the citizen back to the days (and the note goes once it is removed), as does a booking
refused for it; today's last slot begun is said so, and a day dropped otherwise (its weekday no longer a
working day, fewer days ahead) is said to be no longer taken, not "all its times have begun".
Real Chromium on a 360 px phone, the repo's config.yaml (HT: 15-minute slots, 2 places, open to 17:00).
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
from faked_clock import FakedClock, next_working_morning

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

TAKEN = "Khung giờ 09:00 Ông/Bà đã chọn vừa hết chỗ. Mời Ông/Bà chọn giờ khác."


def on_the_form(server, phone) -> str:
    """The citizen on the form for 09:00 on the last day offered (all its slots still to come); that day."""
    phone.goto(server.url + "/book")
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    last_day = phone.locator("#days button").last
    day = last_day.get_attribute("data-day")
    last_day.click()
    phone.locator('#slots button[data-start="09:00"]').click()
    phone.fill("#name", "Nguyễn Văn An")
    return day


def vn(day: str) -> str:
    return f"{day[8:10]}/{day[5:7]}/{day[:4]}"


def fill_the_slot(server, day: str) -> None:
    integration = server.token("integration")
    for n, number in enumerate(("0911000001", "0911000002")):  # its two places
        body = {"service": "HT", "date": day, "start": "09:00", "name": f"Người {n}", "phone": number}
        taken = server.api("POST", "/bookings", token=integration, json=body)
        assert taken.status_code == 201, taken.text


def test_a_slot_filled_meanwhile_is_said_to_be_full_after_any_saved_change(server, phone):
    """Two others fill 09:00 while the citizen types; then /admin only renames the centre: back at the
    list, told the slot is full (the hours did not change), the slot shown full."""
    day = on_the_form(server, phone)
    fill_the_slot(server, day)
    renamed = server.api("PATCH", "/admin/site", token=server.token("admin"), json={"name": "UBND phường Phúc La"})
    assert renamed.status_code == 200, renamed.text
    expect(phone.locator("#step-slot")).to_be_visible()
    expect(phone.locator("#slot-error")).to_have_text(TAKEN)
    expect(phone.locator('#slots button[data-start="09:00"]')).to_be_disabled()


def test_a_slot_filled_while_the_phone_was_offline_is_said_to_be_full_on_reconnecting(server, phone):
    day = on_the_form(server, phone)
    phone.context.set_offline(True)
    expect(phone.locator("body")).to_have_attribute("data-live", "offline", timeout=30_000)
    fill_the_slot(server, day)
    phone.context.set_offline(False)
    expect(phone.locator("#slot-error")).to_have_text(TAKEN, timeout=30_000)  # (its reconnect comes within 10 s)
    expect(phone.locator("#step-slot")).to_be_visible()


def test_a_holiday_saved_on_the_chosen_day_sends_the_citizen_back_to_the_days(start_server, phone):
    """The hours followed (the page knows the holidays, to say it is one; under --ignore-hours it does not,
    and says the centre no longer takes bookings that day)."""
    srv = start_server(ignore_hours=False)
    day = on_the_form(srv, phone)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    saved = srv.session().patch("/api/v1/admin/site", headers=admin, json={"holidays": [day]})
    assert saved.status_code == 200, saved.text
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator("#day-error")).to_have_text(
        f"Ngày {vn(day)} vừa được đặt là ngày nghỉ: Trung tâm không nhận lịch hẹn ngày này. Mời Ông/Bà chọn ngày khác."
    )
    expect(phone.locator(f'#days button[data-day="{day}"]')).to_have_count(0)
    phone.locator("#days button").first.click()  # another day: its slots, the note gone
    expect(phone.locator("#slots button").first).to_be_visible()
    phone.locator(".back:visible").click()
    expect(phone.locator("#day-error")).to_be_hidden()


def test_a_holiday_saved_then_removed_lists_the_day_again_without_the_note(server, phone):
    day = on_the_form(server, phone)
    admin = server.token("admin")
    assert server.api("PATCH", "/admin/site", token=admin, json={"holidays": [day]}).status_code == 200
    expect(phone.locator("#day-error")).to_be_visible()
    assert server.api("PATCH", "/admin/site", token=admin, json={"holidays": []}).status_code == 200  # undone
    expect(phone.locator(f'#days button[data-day="{day}"]')).to_have_count(1)
    expect(phone.locator("#day-error")).to_be_hidden()


def sent_across_a_save(server, phone, path: str, change: dict) -> None:
    """The booking's request held on its way (page.route) until the page has read ``change`` saved at
    /admin's ``path``, then sent on to the server, and answered."""
    phone.fill("#phone", "0912 345 678")
    held = []
    phone.route("**/api/v1/bookings", lambda route: held.append(route))
    with phone.expect_request("**/api/v1/bookings"):
        phone.get_by_role("button", name="Xác nhận").click()
    with phone.expect_response("**/book/page.json"):  # (the page on the form, busy: it stays there)
        saved = server.api("PATCH", path, token=server.token("admin"), json=change)
        assert saved.status_code == 200, saved.text
    while not held:
        phone.wait_for_timeout(50)
    with phone.expect_response("**/api/v1/bookings"):
        held[0].continue_()


def test_a_holiday_saved_while_the_booking_is_sent_sends_the_citizen_back_to_the_days(server, phone):
    """Sent across the holiday's save: refused booking_holiday, the citizen is back at the days, told why."""
    day = on_the_form(server, phone)
    sent_across_a_save(server, phone, "/admin/site", {"holidays": [day]})
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator("#day-error")).to_have_text(
        f"Ngày {vn(day)} là ngày nghỉ, Trung tâm không làm việc. Ông/Bà vui lòng chọn một ngày khác."
    )
    expect(phone.locator(f'#days button[data-day="{day}"]')).to_have_count(0)
    expect(phone.locator("#form-error")).to_be_hidden()


def test_today_s_last_slot_begun_is_said_so_not_as_a_holiday(start_server, tmp_path, phone):
    """On the form for today's 16:45, the server's clock passes 16:45, then /admin renames the centre: the
    citizen is back at the days, told today's times have all begun (no holiday was added)."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("16:40"))
    today = clock.start.date().isoformat()
    srv = start_server(ignore_hours=False, env=clock.env())
    phone.goto(srv.url + "/book")
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.locator(f'#days button[data-day="{today}"]').click()
    phone.locator('#slots button[data-start="16:45"]').click()
    phone.fill("#name", "Nguyễn Văn An")
    clock.set(clock.start.replace(minute=46))
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    renamed = srv.session().patch("/api/v1/admin/site", headers=admin, json={"name": "UBND phường Phúc La"})
    assert renamed.status_code == 200, renamed.text
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator("#day-error")).to_have_text(
        f"Đã hết giờ đặt lịch hẹn ngày {vn(today)}: các khung giờ của ngày này đều đã bắt đầu."
        " Mời Ông/Bà chọn ngày khác."
    )
    expect(phone.locator(f'#days button[data-day="{today}"]')).to_have_count(0)


def no_longer_taken(day: str) -> str:
    return f"Trung tâm không còn nhận lịch hẹn ngày {vn(day)}. Mời Ông/Bà chọn ngày khác."


def on_today_s_form(start_server, tmp_path, phone, at: str, start: str):
    """The citizen on the form for today's ``start``, the server's clock at ``at`` on a working day."""
    clock = FakedClock(tmp_path / "clock", next_working_morning(at))
    srv = start_server(ignore_hours=False, env=clock.env())
    today = clock.start.date()
    phone.goto(srv.url + "/book")
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.locator(f'#days button[data-day="{today.isoformat()}"]').click()
    phone.locator(f'#slots button[data-start="{start}"]').click()
    phone.fill("#name", "Nguyễn Văn An")
    return srv, clock, today


def test_today_s_weekday_removed_from_the_working_days_is_not_said_as_all_times_begun(start_server, tmp_path, phone):
    """At 09:00, on the form for today's 10:00, /admin takes today's weekday off the working days: back at
    the days, told the centre no longer takes bookings that day (none of its times has begun)."""
    srv, _, today = on_today_s_form(start_server, tmp_path, phone, "09:00", "10:00")
    days = [d for d in ("mon", "tue", "wed", "thu", "fri", "sat") if d != today.strftime("%a").lower()]
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    saved = srv.session().patch("/api/v1/admin/site", headers=admin, json={"hours": {"days": days}})
    assert saved.status_code == 200, saved.text
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator("#day-error")).to_have_text(no_longer_taken(today.isoformat()))


def test_the_chosen_slot_begun_while_the_form_is_open_is_said_so_not_as_new_hours(start_server, tmp_path, phone):
    """On the form for today's 10:00 at 09:55; the clock passes 10:00, then /admin edits only the ticker:
    back at the list, told that time has begun (the hours did not change)."""
    srv, clock, _ = on_today_s_form(start_server, tmp_path, phone, "09:55", "10:00")
    clock.set(clock.start.replace(hour=10, minute=1))
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    saved = srv.session().patch("/api/v1/admin/site", headers=admin, json={"ticker": "Chào mừng"})
    assert saved.status_code == 200, saved.text
    expect(phone.locator("#step-slot")).to_be_visible()
    expect(phone.locator("#slot-error")).to_have_text(
        "Khung giờ 10:00 Ông/Bà đã chọn đã bắt đầu. Mời Ông/Bà chọn giờ khác."
    )


def test_a_day_dropped_while_the_booking_is_sent_and_refused_otherwise_sends_the_citizen_back(server, phone):
    """The booking for the last day offered sent across a save of HT's days_ahead cut to end the day before:
    refused as out of the booking window (invalid_booking_date), not for a holiday or the hours, after the
    busy page left the day gone to the answer; the citizen is back at the days, told that day is no longer
    taken."""
    day = on_the_form(server, phone)
    ahead = (dt.date.fromisoformat(day) - dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()).days - 1
    sent_across_a_save(server, phone, "/admin/services/HT", {"booking": {"days_ahead": ahead}})
    expect(phone.locator("#step-day")).to_be_visible()
    expect(phone.locator("#day-error")).to_have_text(no_longer_taken(day))
    expect(phone.locator(f'#days button[data-day="{day}"]')).to_have_count(0)
