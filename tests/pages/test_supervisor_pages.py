"""The supervisors' pages in a real Chromium: the live dashboard follows the queue with no polling,
the reports page draws its table and charts (with a screenshot), and a clerk is turned away."""

from __future__ import annotations

import re

from dashboard_helpers import PASSWORD, open_dashboard
from playwright.sync_api import expect


def _login(page, server, path, user="giamsat", role="supervisor", counter=None):
    server.add_user(user, PASSWORD, role, counter)
    page.goto(server.url + path)
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login-button")


def test_the_dashboard_follows_an_issue_and_a_call(page, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # today's figures: one day whatever the hour the test runs at
    _login(page, server, "/dashboard")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
    ht = page.locator('.service-card[data-service="HT"]')
    expect(ht.locator(".count")).to_have_text("0")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    ticket = server.api("POST", "/tickets", json={"service": "HT"}).json()
    expect(ht.locator(".count")).to_have_text("1", timeout=5_000)
    expect(ht.locator(".longest .value")).to_have_text(re.compile(r"^0:0\d$"))
    expect(page.locator("#today-issued")).to_have_text("1")

    token = server.counter_token(1)
    called = server.api("POST", "/counters/1/next", token=token)
    assert called.status_code == 200 and called.json()["id"] == ticket["id"]
    counter = page.locator('tr.counter[data-counter="1"]')
    expect(counter).to_have_attribute("data-activity", "called", timeout=5_000)
    expect(counter.locator(".activity")).to_have_text(f"Đang gọi số {ticket['number']}")
    expect(ht.locator(".count")).to_have_text("0")
    expect(page.locator("#history li").first).to_contain_text(str(ticket["number"]))

    server.api("POST", "/counters/1/pause", token=token, json={"reason": "họp"})  # refused: it holds a ticket
    server.api("POST", "/counters/1/finish", token=token)
    server.api("POST", "/counters/1/pause", token=token, json={"reason": "họp"})
    expect(counter).to_have_attribute("data-activity", "paused", timeout=5_000)
    expect(counter.locator(".activity")).to_have_text("Tạm dừng: họp")
    # none but the test server's QR codes on loopback (tests/pages/test_tracking_loopback.py)
    expect(page.locator('#alerts li:not([data-alert="setup:tracking_url"])')).to_have_count(0)
    printer = page.locator('#printers li[data-printer="kiosk-1"]')
    expect(printer).to_be_visible()
    shot(page, "dashboard")
    # live through Socket.IO: nothing asked the REST API for the figures meanwhile
    assert not [url for url in requests if "/api/v1/reports" in url or "/api/v1/queue" in url], requests


def test_the_reports_page_draws_the_table_and_charts(page, server, shot, tmp_path):
    server.cli("simulate", "--day", "2026-11-16", "--days", "6", "--per-day", "80", "--seed", "4")
    page.set_viewport_size({"width": 1600, "height": 1200})
    _login(page, server, "/reports?period=2026-W47&group_by=service")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    expect(page.locator("#report-period")).to_have_text("Kỳ báo cáo: Tuần 47 năm 2026 (16/11/2026 – 22/11/2026)")
    rows = page.locator("#table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first.locator("th")).to_have_text("Tư pháp - Hộ tịch")
    expect(page.locator("#table tfoot th")).to_have_text("Tổng cộng")
    # tickets no counter acted on, as in the files: never called, then expired at the end of the day
    headers = page.locator("#table thead th").all_text_contents()
    assert headers[6:9] == ["Chuyển quầy", "Chưa được gọi", "Hết hạn cuối ngày"], headers
    expect(page.locator("#summary-text")).to_contain_text("Tuần 47 năm 2026")
    drawn = page.evaluate("""() => ['chart-arrivals', 'chart-waiting', 'chart-groups'].map(id => {
        const canvas = document.getElementById(id);
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
        return {points: chart ? chart.data.datasets[0].data.length : 0, inked: inked};
    })""")
    assert all(c["points"] > 0 and c["inked"] > 1000 for c in drawn), drawn
    assert page.locator("#xlsx").get_attribute("href").endswith("period=2026-W47&group_by=service&format=xlsx")
    path = tmp_path / "reports.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 50_000
    shot(page, "reports")

    page.select_option("#kind", "quarter")
    page.fill("#year", "2026")
    page.select_option("#quarter", "4")
    page.check("#basis")
    page.select_option("#group", "counter")
    page.click("#show")
    expect(page.locator("#report-span")).to_contain_text("Từ 15/09/2026 đến 14/12/2026")
    expect(page.locator("#table thead th").first).to_have_text("Quầy")
    assert "Hết hạn cuối ngày" not in page.locator("#table thead th").all_text_contents()  # no counter did it
    assert "period=2026-Q4" in page.url and "basis=nd09" in page.url

    page.emulate_media(media="print")
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#report")).to_be_visible()


def test_a_clerk_is_turned_away(page, server):
    _login(page, server, "/reports", user="canbo", role="clerk", counter=1)
    expect(page.locator("#forbidden")).to_be_visible()
    expect(page.locator("#forbidden")).to_contain_text("canbo")
    expect(page.locator("#work")).to_be_hidden()


def test_the_dashboard_alerts_when_the_printer_needs_paper(start_server, page, config_data, printer):
    """printer.status is pushed to the dashboard room: the alert appears and goes with the paper."""
    config_data["printers"] = [
        {
            "id": "kiosk-1",
            "driver": "network",
            "host": "127.0.0.1",
            "port": printer.port,
            "retry_seconds": 0.3,
            "check_seconds": 0.3,
            "timeout_seconds": 1,
        }
    ]
    server = start_server(config_data)
    open_dashboard(page, server, "giamsat", "supervisor", PASSWORD)
    item = page.locator('#printers li[data-printer="kiosk-1"]')
    expect(item).to_have_attribute("data-state", "ready", timeout=5_000)

    printer.set_state("paper_out")
    alert = page.locator('#alerts li[data-alert="printer:kiosk-1"]')
    expect(alert).to_have_text("Máy in kiosk-1: Hết giấy.", timeout=5_000)
    expect(item).to_have_attribute("data-state", "paper_out")
    expect(page.locator("#no-alerts")).to_be_hidden()

    printer.set_state("ready")
    expect(alert).to_have_count(0, timeout=5_000)
    # none but the test server's QR codes on loopback (tests/pages/test_tracking_loopback.py)
    expect(page.locator('#alerts li:not([data-alert="setup:tracking_url"])')).to_have_count(0)


def test_report_dates_are_written_day_month_year_in_an_english_browser(browser, server, shot):
    """A US-English browser would show its own date fields as mm/dd/yyyy: the page's are dd/mm/yyyy."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-US")
    try:
        _report_dates(context.new_page(), server, shot)
    finally:
        context.close()


def _report_dates(page, server, shot):
    _login(page, server, "/reports?period=2026-11-05")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=15_000)
    day = page.locator("#day-vn")
    expect(day).to_be_visible()
    expect(day).to_have_value("05/11/2026")
    native = page.locator("#day").evaluate("(n) => [n.getBoundingClientRect().width, getComputedStyle(n).opacity]")
    assert native[0] <= 1 and native[1] == "0", "the browser's own (mm/dd/yyyy) field is not shown"

    day.fill("21/11/2026")
    day.press("Enter")
    expect(page).to_have_url(re.compile(r"period=2026-11-21"))
    day.fill("31/02/2026")  # no such day: said, not sent
    day.dispatch_event("change")
    assert page.evaluate("document.getElementById('day-vn').validity.valid") is False
    assert "dd/mm/yyyy" in page.evaluate("document.getElementById('day-vn').validationMessage")

    page.select_option("#kind", "range")
    expect(page.locator("#from-vn")).to_have_value(re.compile(r"^\d{2}/\d{2}/\d{4} 00:00$"))
    page.locator("#from-vn").fill("01/11/2026 07:30")
    page.locator("#from-vn").dispatch_event("change")
    page.locator("#to-vn").fill("15/11/2026 17:00")
    page.locator("#to-vn").press("Enter")
    expect(page).to_have_url(re.compile(r"from=2026-11-01T07%3A30&to=2026-11-15T17%3A00"))
    shot(page, "reports-dates")


def test_the_printed_report_has_the_official_form_and_says_the_period_once(page, server, shot):
    _login(page, server, "/reports?period=2026-11-21")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=15_000)
    head = page.locator(".official-head")
    expect(head).to_be_hidden()  # on the screen, the page as it was
    assert page.locator(".report-head").inner_text().count("21/11/2026") == 1, "the day is said once"

    page.emulate_media(media="print")
    expect(head).to_be_visible()
    expect(head.locator(".state-name")).to_have_text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    expect(head.locator(".motto")).to_have_text("Độc lập - Tự do - Hạnh phúc")
    expect(head.locator(".unit")).to_have_text("UBND phường Phúc La - Bộ phận Một cửa")
    expect(head.locator(".place-date")).to_have_text(re.compile(r"^…+, ngày \d{2} tháng \d{2} năm \d{4}$"))
    expect(page.locator("#report-title")).to_have_css("text-transform", "uppercase")
    signatures = page.locator(".signatures")
    expect(signatures).to_be_visible()
    expect(signatures).to_contain_text("NGƯỜI LẬP BIỂU")
    expect(signatures).to_contain_text("THỦ TRƯỞNG ĐƠN VỊ")
    assert page.locator(".report-head").inner_text().count("21/11/2026") == 1
    shot(page, "report-print")
    # the motto sits above the place and date, on the right of the unit's name
    unit, motto = head.locator(".unit").bounding_box(), head.locator(".motto").bounding_box()
    assert motto["x"] > unit["x"] + unit["width"] - 1
