"""/admin in a real Chromium: a display's mode (lobby, zone, counter-top) is chosen in its form;
an unknown counter is explained next to its field; the open display redraws itself."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, _field, _fill, _login, _save, _saved
from playwright.sync_api import expect


def test_an_admin_turns_a_display_into_a_counter_top_one(new_tab, server, shot):
    screen = new_tab(viewport={"width": 1920, "height": 1080})
    screen.goto(server.url + "/display/lobby")
    expect(screen.locator("body")).to_have_attribute("data-live", "live")
    expect(screen.locator("#counter-top")).to_be_hidden()

    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-displays")
    expect(_field(admin, "displays", "mode").locator("select")).to_have_value("lobby")
    _fill(admin, "displays", {"mode": "counter", "counter": "9"})
    _save(admin, "displays")
    error = _field(admin, "displays", "counter").locator(".field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("9")
    shot(admin, "admin-display-mode-refused")

    _fill(admin, "displays", {"counter": "2"})
    _save(admin, "displays")
    _saved(admin, "displays")
    saved = server.api("GET", "/admin/displays", token=server.token("admin")).json()[0]
    assert (saved["mode"], saved["counter"]) == ("counter", 2)
    expect(screen.locator("#counter-top")).to_be_visible(timeout=5000)
    expect(screen.locator("#ct-badge")).to_have_text("2")
