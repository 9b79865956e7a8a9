"""What the page tests of /dashboard share: a supervisor (or another role) signed in there, the page live."""

from __future__ import annotations

from playwright.sync_api import expect

PASSWORD = "giam-sat-2026"


def open_dashboard(page, server, name: str = "giamsat", role: str = "supervisor", password: str = PASSWORD) -> None:
    """Add the user ``name`` (``role``), sign in on /dashboard, and wait until the page is live."""
    server.add_user(name, password, role)
    page.goto(server.url + "/dashboard")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
