"""/reports in a real Chromium with a US-English locale: the sites comparison's days are written
and typed dd/mm/yyyy like the rest of the page, never the browser's own mm/dd/yyyy."""

from __future__ import annotations

from admin_helpers import PASSWORD
from playwright.sync_api import expect


def _as_typed(iso_day: str) -> str:
    year, month, day = iso_day.split("-")
    return f"{day}/{month}/{year}"


def test_the_comparison_days_read_day_month_year_in_an_english_browser(browser, server, shot):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="en-US")
    context.set_default_timeout(10_000)
    errors: list[str] = []
    try:
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        _compare_days(tab, server, shot)
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _compare_days(tab, server, shot):
    server.add_user("tinh", PASSWORD, "province")
    assert tab.evaluate("navigator.language") == "en-US"
    tab.goto(server.url + "/reports")
    tab.fill("#username", "tinh")
    tab.fill("#password", PASSWORD)
    tab.click("#login-button")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")

    start, end = tab.locator("#sites-from-vn"), tab.locator("#sites-to-vn")
    expect(start).to_be_visible()
    expect(end).to_be_visible()
    native_start = tab.locator("#sites-from").input_value()
    native_end = tab.locator("#sites-to").input_value()
    assert native_start.endswith("-01"), native_start  # the first of this month by default
    expect(start).to_have_value(_as_typed(native_start))
    expect(end).to_have_value(_as_typed(native_end))
    for native in ("#sites-from", "#sites-to"):  # the browser's own (mm/dd/yyyy) fields are not shown
        width, opacity = tab.locator(native).evaluate(
            "(n) => [n.getBoundingClientRect().width, getComputedStyle(n).opacity]"
        )
        assert width <= 1 and opacity == "0", native

    # typed as a Vietnamese writes them: the comparison is asked for those days
    start.fill("01/11/2026")
    start.dispatch_event("change")
    end.fill("30/11/2026")
    with tab.expect_request(lambda request: "/api/v1/reports/sites?" in request.url) as asked:
        end.press("Enter")
    assert "from=2026-11-01&to=2026-11-30" in asked.value.url, asked.value.url
    expect(start).to_have_value("01/11/2026")

    # a day that does not exist is said, in the dd/mm/yyyy the field asks for, and not sent
    end.fill("31/02/2026")
    end.dispatch_event("change")
    assert tab.evaluate("document.getElementById('sites-to-vn').validity.valid") is False
    assert "dd/mm/yyyy" in tab.evaluate("document.getElementById('sites-to-vn').validationMessage")
    assert tab.locator("#sites-to").input_value() == "2026-11-30"
    shot(tab, "reports-sites-dates")
    tab.wait_for_load_state("networkidle")
