"""/counter in a real Chromium when one of its script's parts, or console.js (the page's own file, after
them), does not arrive (here the server answers 404 for it) or fails as it runs: the page names the
file in Vietnamese and English in its error box, and starts nothing: no login form, no console, no
request to the API or Socket.IO, rather than buttons that half work, or a blank page
(docs/architecture.md, "A page"; docs/counter.md).

One server for the file (``module_server``): the pages ask it for nothing but themselves and their files."""

from __future__ import annotations

import pytest
from parts_missing_helpers import (
    BROKEN,
    NOT_FOUND,
    asked_the_server_nothing,
    in_own_context,
    open_with_part,
    thrown_before,
)
from playwright.sync_api import expect

ASSETS = "/counter/assets/"


def _open(tab, server, part: str, answer) -> list[str]:
    """Open /counter with ``part`` answered by ``answer``; the addresses the page asked for."""
    return open_with_part(tab, server.url + "/counter", f"**{ASSETS}{part}", answer)


def _says_which_part_and_starts_nothing(tab, part: str, asked: list[str]) -> str:
    """The error box names ``part`` in both languages and nothing started; the box's English."""
    box = tab.locator("#load-error")
    expect(box).to_be_visible()
    asked_the_server_nothing(tab, asked)
    tab.wait_for_timeout(300)  # (a login or a console would be drawn by now)
    # (what the box says once the page has loaded: the file named first is not named over)
    expect(box.locator(".vi")).to_contain_text(ASSETS + part)
    expect(box.locator(".vi")).to_contain_text("Bàn gọi số")
    expect(box.locator(".en")).to_contain_text(ASSETS + part)
    expect(box.locator(".en")).to_contain_text("clerk console")
    for hidden in ("#login", "#work", "#who", "#offline"):
        expect(tab.locator(hidden)).to_be_hidden()
    return box.locator(".en").text_content()


@pytest.mark.parametrize("part", ["console_dialogs.js", "console_sign_out.js"])
def test_a_part_that_does_not_load_is_named_and_the_console_does_not_start(page, module_server, shot, part):
    asked = _open(page, module_server, part, NOT_FOUND)
    _says_which_part_and_starts_nothing(page, part, asked)
    shot(page, f"console-without-{part}")


def test_without_its_first_part_the_console_names_that_one(browser, module_server):
    """console_view.js makes QK.console, which the other parts build on: they fail as they load (those
    errors are expected here), and the page names the one file that is missing, not them."""

    def use(tab):
        return _says_which_part_and_starts_nothing(
            tab, "console_view.js", _open(tab, module_server, "console_view.js", NOT_FOUND)
        )

    shown, errors = in_own_context(browser, use)
    for other in (
        "console_dossier.js",
        "console_live.js",
        "console_dialogs.js",
        "console_actions.js",
        "console_sign_out.js",
    ):
        assert other not in shown
    # only the parts that need QK.console failed, each as it loaded; console.js itself did not
    assert errors and not [error for error in errors if ASSETS + "console.js" in error], errors


def test_a_part_that_fails_half_way_is_named_and_what_it_attached_does_nothing(browser, module_server):
    """console_actions.js throws after its buttons have their listeners, before the keyboard's: the
    page names it, and neither those buttons nor the keys (call, Esc, a number) do anything."""

    def use(tab):
        asked = _open(tab, module_server, "console_actions.js", thrown_before("  // --- keyboard shortcuts"))
        _says_which_part_and_starts_nothing(tab, "console_actions.js", asked)
        tab.locator('button[data-action="next"]').dispatch_event("click")
        for key in ("g", "Escape", "5"):
            tab.keyboard.press(key)
        asked_the_server_nothing(tab, asked)
        expect(tab.locator(".dialog-backdrop:visible")).to_have_count(0)

    _, errors = in_own_context(browser, use)
    assert [error for error in errors if BROKEN in error], errors


@pytest.mark.parametrize("answer", [NOT_FOUND, thrown_before("  setInterval(C.tick")], ids=["404", "half-way"])
def test_console_js_itself_not_arriving_or_failing_is_named(browser, module_server, answer):
    """console.js, the page's own file, checks the parts; when it is the one missing (or it throws
    before its end), console_view.js names it once the window has loaded, rather than a blank page."""

    def use(tab):
        _says_which_part_and_starts_nothing(tab, "console.js", _open(tab, module_server, "console.js", answer))

    _, errors = in_own_context(browser, use)
    assert len(errors) == (answer is not NOT_FOUND) and all(BROKEN in error for error in errors), errors
