"""A tracking address on the server's own loopback (ticket.tracking_url unset, the server on
127.0.0.1): no citizen's phone can open the ticket's QR code. Not only the log says so: /admin shows
it above the setting to change, and the supervisor's dashboard lists it among the alerts; both go
away once the address phones reach is set. Real server, real Chromium."""

from __future__ import annotations

from admin_helpers import _field, _login, _save, _saved
from dashboard_helpers import open_dashboard
from playwright.sync_api import expect

LAN_ADDRESS = "http://192.168.1.10:8000"


def test_a_loopback_tracking_address_is_shown_on_admin_and_the_dashboard_until_it_is_set(
    new_tab, server_on_a_working_morning, shot
):
    server = server_on_a_working_morning  # one day whatever the hour (the site's midnight is 17:00 UTC)
    dashboard = new_tab(viewport={"width": 1366, "height": 900})
    open_dashboard(dashboard, server)
    alert = dashboard.locator('#alerts li[data-alert="setup:tracking_url"]')
    expect(alert).to_contain_text(f"Mã QR trên phiếu đang trỏ tới {server.url}")
    expect(alert).to_contain_text("ticket.tracking_url")
    expect(dashboard.locator("#no-alerts")).to_be_hidden()
    shot(dashboard, "dashboard-tracking-loopback")

    admin = new_tab(viewport={"width": 1366, "height": 900})
    _login(admin, server)
    admin.click("#tab-hours")
    warning = admin.locator("#panel-hours #tracking-loopback")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(server.url)
    expect(warning).to_contain_text("Địa chỉ điện thoại mở được")  # the field's own label, just below
    expect(_field(admin, "hours", "ticket.tracking_url")).to_be_visible()
    shot(admin, "admin-tracking-loopback")

    _field(admin, "hours", "ticket.tracking_url").locator("input").fill(LAN_ADDRESS)
    _save(admin, "hours")
    _saved(admin, "hours")
    expect(warning).to_be_hidden()
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["tracking"] == {
        "address": LAN_ADDRESS,
        "unreachable": None,
    }
    # the dashboard's next snapshot (a ticket issued) no longer has it
    assert server.api("POST", "/tickets", json={"service": "HT"}).status_code == 201
    expect(dashboard.locator("#today-issued")).to_have_text("1")
    expect(alert).to_have_count(0)
    expect(dashboard.locator("#no-alerts")).to_be_visible()
