"""The kiosk's check-in step driven as a citizen does: a USB barcode scanner's burst of keys (a booking's
QR code, an ID card's QR text), or a number typed on the screen's keys."""

from __future__ import annotations

from morning_helpers import morning_date

# what the kiosk says to every ID number typed with no booking here today, booked at another centre or not
# (Decree 13/2023: a typed number can be anyone's)
TYPED_NO_BOOKING = (
    "Hôm nay không có lịch hẹn nào tại đây cho số căn cước này. Nếu Ông/Bà đặt lịch tại trung tâm khác hoặc"
    " vào ngày khác, mời quét thẻ căn cước hoặc mã QR của lịch hẹn, hoặc xem lại đường link, tin nhắn SMS"
    " nhận khi đặt lịch. Mời chọn dịch vụ để lấy số."
)


def scanner_burst(tab, text: str) -> None:
    """What a USB barcode scanner sends: a key for each character within milliseconds, then Enter."""
    # the scanner's own pace, a millisecond a key: the page's clock is read through a counter during the
    # burst, so a renderer that a loaded machine pauses mid-loop does not split it into two "typed" parts
    tab.evaluate(
        """text => {
        const realNow = Date.now;
        const start = realNow.call(Date);
        let ticks = 0;
        Date.now = () => start + ticks++;
        try {
            for (const key of [...text, "Enter"]) {
                const target = document.activeElement || document.body;
                target.dispatchEvent(new KeyboardEvent("keydown", {key: key, bubbles: true, cancelable: true}));
            }
        } finally {
            Date.now = realNow;
        }
    }""",
        text,
    )


def taking_taps(kiosk) -> None:
    """Until the screen just shown takes taps: a new screen ignores them for a moment, its
    buttons dimmed meanwhile (the body's class "arming", kiosk/static/kiosk.js), rather than a fixed
    wait that a loaded machine can outlast."""
    import re

    from playwright.sync_api import expect  # late: without Playwright the browser fixture skips

    expect(kiosk.locator("body")).not_to_have_class(re.compile(r"\barming\b"))


def type_on_keys(kiosk, text: str) -> None:
    """The check-in button, then ``text`` on the screen's keys, then "Nhận số"."""
    kiosk.locator(".checkin-open:visible").click()
    kiosk.locator("#checkin-code").wait_for()
    taking_taps(kiosk)
    for key in text:
        kiosk.click(f'#checkin-keys button[data-key="{key}"]')
    assert kiosk.input_value("#checkin-code") == text
    kiosk.get_by_role("button", name="Nhận số").click()


def booked_today_at_the_first_site(server, other: str, id_number: str):
    """A second centre ``other`` made, and the card ``id_number`` booked today at the first one (HT, its
    first free slot, through the integration API): (the booking's response, that slot's start)."""
    made = server.api("POST", "/admin/sites", token=server.token("admin"), json={"id": other, "name": "Xã Bến Kia"})
    assert made.status_code == 201, made.text
    integration, today = server.token("integration"), morning_date(server).isoformat()
    slots = server.api("GET", "/services/HT/slots", params={"date": today}).json()
    start = next(slot["start"] for slot in slots if slot["free"])
    body = {"service": "HT", "date": today, "start": start, "name": "Lê Văn Cường", "phone": "0912000021"}
    booked = server.api("POST", "/bookings", token=integration, json={**body, "id_number": id_number})
    assert booked.status_code == 201, booked.text
    return booked, start
