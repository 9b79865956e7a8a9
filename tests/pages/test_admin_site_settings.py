"""The web admin (/admin) in a real Chromium: an admin edits the site's issuing and booking limits in
their own tab and finds them saved after a reload; a limit that is not one is explained next to its
field; the site's sounds have their tab too, where a recordings folder that is not on the server is
refused next to its field."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, _login
from playwright.sync_api import expect


def _input(tab, form, path):
    return tab.locator(f'form[data-form="{form}"] .field[data-field="{path}"] input').first


def _error(tab, form, path):
    return tab.locator(f'form[data-form="{form}"] .field[data-field="{path}"] .field-error')


def _save(tab, form):
    tab.locator(f'form[data-form="{form}"] button.save').click()


def test_an_admin_edits_a_limit_and_finds_it_saved_after_a_reload(new_tab, server, shot):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-limits")
    expect(admin.locator("#tab-limits")).to_have_text("Giới hạn lấy số, đặt lịch")
    bookings = _input(admin, "limits", "limits.bookings_per_address")
    expect(bookings).to_have_value("5/minute;20/day")  # the default

    _input(admin, "limits", "limits.tickets_per_address").fill("nhiều")
    _save(admin, "limits")
    expect(_error(admin, "limits", "limits.tickets_per_address")).to_contain_text("“Số lấy từ một máy (địa chỉ mạng)”")
    _input(admin, "limits", "limits.tickets_per_address").fill("40/minute")
    bookings.fill("3/minute;12/day")
    _input(admin, "limits", "limits.tickets_per_kiosk").fill("off")  # switched off
    _save(admin, "limits")
    expect(admin.locator('form[data-form="limits"] .saved')).to_have_text("Đã lưu")
    shot(admin, "admin-limits")

    admin.reload()
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    admin.click("#tab-limits")
    expect(_input(admin, "limits", "limits.bookings_per_address")).to_have_value("3/minute;12/day")
    expect(_input(admin, "limits", "limits.tickets_per_address")).to_have_value("40/minute")
    expect(_input(admin, "limits", "limits.tickets_per_kiosk")).to_have_value("off")
    expect(_input(admin, "limits", "limits.lookups_per_address")).to_have_value("60/minute")  # untouched
    limits = server.api("GET", "/admin/site", token=server.token("admin")).json()["limits"]
    assert (limits["bookings_per_address"], limits["tickets_per_address"]) == ("3/minute;12/day", "40/minute")
    assert limits["tickets_per_kiosk"] == "off"

    # the sounds: an admin of the whole installation may type a folder, but only one that is there
    admin.click("#tab-sounds")
    recordings = _input(admin, "sounds", "sounds.recordings")
    expect(recordings).to_be_enabled()
    recordings.fill("/khong-co-thu-muc-nay")
    _save(admin, "sounds")
    expect(_error(admin, "sounds", "sounds.recordings")).to_contain_text("không có thư mục này trên máy chủ")
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["sounds"]["recordings"] == "recordings"
    shot(admin, "admin-sounds-refused")


def test_an_admin_turns_english_off_on_the_citizens_pages(new_tab, server):
    kiosk = new_tab(viewport={"width": 1080, "height": 1920})
    kiosk.goto(server.url + "/kiosk/kiosk-1")
    expect(kiosk.locator("#lang-switch")).to_be_visible()
    expect(kiosk.locator("body")).to_have_attribute("data-live", "live")
    kiosk.click("#lang-switch")  # a citizen reading in English when English is turned off
    expect(kiosk.locator("html")).to_have_attribute("lang", "en")
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-hours")
    english = _input(admin, "hours", "languages")
    expect(english).to_be_checked()
    english.uncheck()
    _save(admin, "hours")
    expect(admin.locator('form[data-form="hours"] .saved')).to_have_text("Đã lưu")
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["languages"] == ["vi"]
    # the open kiosk follows at its start screen, without a reload: Vietnamese only now
    expect(kiosk.locator("#lang-switch")).to_be_hidden(timeout=5_000)
    expect(kiosk.locator("html")).to_have_attribute("lang", "vi")
    kiosk.reload()
    expect(kiosk.locator("#lang-switch")).to_be_hidden()

    admin.reload()
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    admin.click("#tab-hours")
    expect(_input(admin, "hours", "languages")).not_to_be_checked()
    _input(admin, "hours", "languages").check()
    _save(admin, "hours")
    expect(admin.locator('form[data-form="hours"] .saved')).to_have_text("Đã lưu")
    expect(kiosk.locator("#lang-switch")).to_be_visible(timeout=5_000)  # offered again, live
