"""A citizen booked today at one commune centre comes to another centre's kiosk of the same installation
(docs/bookings.md), in real Chromium: the ID card scanned, the screen says at which centre and at what
time the booking is, and so does the booking's QR code; its number typed on the keys (it can be anyone's:
Decree 13/2023), what a number with no booking is told, and to scan the card or the booking's QR code.
The services stay offered below the card's, for a number here. The kiosk is paired (opened with its kiosk
token): only a kiosk of the installation is told where else a card is booked."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from kiosk_helpers import TYPED_NO_BOOKING, booked_today_at_the_first_site, scanner_burst, type_on_keys  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

BOOKED_AT = "UBND phường Phúc La - Bộ phận Một cửa"  # the repo's config.yaml: the first site
OTHER = "xa-ben-kia"
ID = "079203004567"  # born 2003 in Hồ Chí Minh City
CARD = f"{ID}||Lê Văn Cường|01012003|Nam|Số 3 đường Bến Kia, Hồ Chí Minh|15082021"


def test_the_kiosk_of_another_centre_says_where_today_s_booking_is(server_on_a_working_morning, page):
    server = server_on_a_working_morning  # today has slots left, whatever the real time
    booked, start = booked_today_at_the_first_site(server, OTHER, ID)

    page.goto(server.url + f"/s/{OTHER}/kiosk/kiosk-1#token={server.token('kiosk')}")  # kept for the reloads
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    scanner_burst(page, CARD)
    expect(page.locator(".card-note")).to_have_text(
        f"Ông/Bà có lịch hẹn hôm nay tại {BOOKED_AT} lúc {start}. Mời Ông/Bà đến đó để được phục vụ theo lịch"
        " hẹn; nếu cần làm thủ tục tại đây, mời chọn dịch vụ để lấy số."
    )
    expect(page.locator('#service-grid button[data-service="HT"]')).to_be_visible()

    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    type_on_keys(page, ID)
    note = page.locator(".card-note")
    expect(note).to_have_text(TYPED_NO_BOOKING)
    assert "Phúc La" not in note.inner_text() and start not in note.inner_text()
    expect(page.locator('#service-grid button[data-service="HT"]')).to_be_visible()

    # the booking's QR code (its link) scanned there: the centre and the time (its holder has the code)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    scanner_burst(page, booked.json()["manage_url"])
    expect(page.locator("#problem-text")).to_contain_text(f"Ông/Bà có lịch hẹn hôm nay tại {BOOKED_AT} lúc {start}.")
