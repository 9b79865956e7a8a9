"""The clerk console's page tests (tests/pages/test_counter_console.py, test_console_*.py): the clerk,
a desktop tab, signing in at /counter."""

from __future__ import annotations

CLERK = "lan"


def desktop_tab(new_tab):
    """The ``tab`` fixture: ``tab(viewport=None, **options)`` -> a tab in a context of its own (own
    cookies), 1366 x 768 unless told; JavaScript errors fail the test."""
    return lambda viewport=None, **options: new_tab(viewport=viewport or {"width": 1366, "height": 768}, **options)


def log_in(page, server, password: str, counter: int | None = None):
    """``CLERK`` signed in at /counter (at ``counter``, else the one of the account), the console live."""
    from playwright.sync_api import expect  # late: without Playwright the browser fixture skips

    page.goto(server.url + "/counter")
    page.fill("#username", CLERK)
    page.fill("#password", password)
    if counter is not None:
        page.fill("#counter", str(counter))
    page.click("#login-button")
    expect(page.locator("#work")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
