"""/admin in a real Chromium when one of its script's parts, or admin.js (the page's own file, after
them), does not arrive (here the server answers 404 for it): the page names the file in Vietnamese and
English in its error box, and starts nothing: no login, no tabs, no request to the API, rather than
tabs that open blank later, or a blank page (docs/architecture.md, "A page").

One server for the file (``module_server``): the pages ask it for nothing but themselves and their files."""

from __future__ import annotations

import pytest
from parts_missing_helpers import NOT_FOUND, asked_the_server_nothing, in_own_context, open_with_part
from playwright.sync_api import expect


def _without(tab, server, part: str) -> list[str]:
    """Open /admin with ``part`` answered 404; the addresses the page then asked for."""
    return open_with_part(tab, server.url + "/admin", f"**/static/{part}", NOT_FOUND)


def _says_which_part_and_starts_nothing(tab, part: str, asked: list[str]) -> None:
    box = tab.locator("#load-error")
    expect(box).to_be_visible()
    asked_the_server_nothing(tab, asked)
    # (what the box says once the page has loaded: the file named first is not named over)
    expect(box.locator(".vi")).to_contain_text(f"/static/{part}")
    expect(box.locator(".vi")).to_contain_text("Trang quản trị")
    expect(box.locator(".en")).to_contain_text(f"/static/{part}")
    expect(box.locator(".en")).to_contain_text("admin page")
    expect(tab.locator("#tabs")).to_be_hidden()
    expect(tab.locator("#login")).to_be_hidden()
    expect(tab.locator("#who")).to_be_hidden()
    assert tab.locator("body").get_attribute("data-ready") is None


@pytest.mark.parametrize("part", ["admin_controls.js", "admin_webhooks.js", "admin.js"])
def test_a_part_that_does_not_load_is_named_and_the_page_does_not_start(page, module_server, shot, part):
    asked = _without(page, module_server, part)
    _says_which_part_and_starts_nothing(page, part, asked)
    shot(page, f"admin-without-{part}")


def test_without_its_first_part_the_page_names_that_one(browser, module_server):
    """admin_fields.js makes QK.admin, which the other parts build on: they fail as they load (those
    errors are expected here), and the page names the one file that is missing."""

    def use(tab):
        _says_which_part_and_starts_nothing(tab, "admin_fields.js", _without(tab, module_server, "admin_fields.js"))
        return tab.locator("#load-error .en").text_content()

    shown, errors = in_own_context(browser, use)
    for other in ("admin_controls.js", "admin_forms.js", "admin_panels.js", "admin_tokens.js", "admin_webhooks.js"):
        assert other not in shown
    # only the parts that need QK.admin failed, each as it loaded; admin.js itself did not
    assert errors and not [error for error in errors if "/static/admin.js" in error], errors
