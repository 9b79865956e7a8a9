"""/reports on the usual office screen (1366×768) in a real Chromium (issues 18 and 14):

- the figures table is readable without scrolling sideways: its main columns by default at this
  width; "Tất cả các cột" shows all 26 of them, the files' columns, which scroll inside their frame with the row names
  kept at the left, and the choice stays in the address;
- the files it offers: CSV, CSV in the Vietnamese Excel form, XLSX and the PDF of the official form;
- the period's bookings per service: booked, remote numbers, checked in, no-show, lapsed, cancelled.
"""

from __future__ import annotations

import datetime as dt
import re

from booking_helpers import BOOKING_REPORT_HEADER
from playwright.sync_api import expect
from report_file_helpers import A_YEAR, Download, wait_until_busy

PASSWORD = "giam-sat-2026"


def serve_three(server) -> dt.date:
    """Three HT citizens served at counter 1; the site's day they came on (the server's clock's)."""
    token = server.counter_token(1)
    days = set()
    for _ in range(3):
        answer = server.api("POST", "/tickets", json={"service": "HT"})
        assert answer.status_code == 201, answer.text
        days.add(answer.json()["business_day"])
    for _ in range(3):
        for action in ("next", "start", "finish"):
            assert server.api("POST", f"/counters/1/{action}", token=token).status_code == 200
    (day,) = days
    return dt.date.fromisoformat(day)


def book_two_and_cancel_one(server, today: dt.date) -> str:
    """Two HT slots booked on a coming day (one then cancelled) and a remote number today; the day."""
    for ahead in range(1, 7):
        day = (today + dt.timedelta(days=ahead)).isoformat()
        slots = [s for s in server.api("GET", "/services/HT/slots", params={"date": day}).json() if s["free"] >= 2]
        if slots:
            break
    else:
        raise AssertionError("HT has no free slot in the coming days")
    codes = []
    for phone in ("0914000111", "0914000222"):
        body = {"service": "HT", "date": day, "start": slots[0]["start"], "name": "Lê Thị Hoa", "phone": phone}
        answer = server.api("POST", "/bookings", json=body)
        assert answer.status_code == 201, answer.text
        codes.append(answer.json()["code"])
    assert server.api("DELETE", f"/bookings/{codes[1]}").status_code == 200
    remote = {"service": "HT", "remote": True, "name": "Đỗ Văn Nam", "phone": "0914000333"}
    assert server.api("POST", "/bookings", json=remote).status_code == 201
    return day


def sign_in(page, server, name: str, path: str, at_admin: bool = False) -> None:
    """A new supervisor ``name`` signs in on the way to ``path`` (``at_admin``: the account made as /admin
    makes it, the site's own)."""
    if at_admin:
        account = {"username": name, "password": PASSWORD, "role": "supervisor"}
        assert server.api("POST", "/admin/users", token=server.token("admin"), json=account).status_code == 201
    else:
        server.add_user(name, PASSWORD, "supervisor")
    page.goto(server.url + path)
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-button")


def fits_sideways(page, selector: str) -> bool:
    return page.evaluate(
        "(s) => { const n = document.querySelector(s); return n.scrollWidth <= n.clientWidth + 1; }", selector
    )


def test_the_reports_page_at_1366_shows_the_table_the_files_and_the_bookings(page, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # what is served and booked today stays today's, whatever the hour
    served_on = serve_three(server)
    day = book_two_and_cancel_one(server, served_on)
    today = served_on.isoformat()
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, server, "giamsat", f"/reports?from={today}&to={day}&group_by=service")
    expect(page.locator("body")).to_have_attribute("data-bookings", "ready", timeout=20_000)

    # the main columns at this width: nothing runs off the side of the page or of the table's frame
    expect(page.locator("#view")).to_have_value("compact")
    headers = page.locator("#table thead th").all_text_contents()
    assert headers[:4] == ["Dịch vụ", "Lượt lấy số", "Lượt gọi", "Đã phục vụ"], headers
    assert "Phục vụ trung bình (phút)" in headers and len(headers) <= 10, headers
    assert fits_sideways(page, "section.table-wrap") and fits_sideways(page, "html")
    ht = page.locator("#table tbody tr").first
    expect(ht.locator("th")).to_have_text("Tư pháp - Hộ tịch")
    expect(ht.locator("td").nth(2)).to_have_text("3")  # served
    shot(page, "reports-1366-compact")

    # all the columns: they scroll inside the frame, the page does not, and the row names stay put
    page.select_option("#view", "full")
    expect(page.locator("#table thead th")).to_have_count(26)
    headers = page.locator("#table thead th").all_text_contents()
    # the columns of the files, in their order: the target met (a count) and the ratings' count too
    plain = page.request.get(server.url + page.locator("#csv").get_attribute("href"))  # with the login
    assert plain.status == 200
    csv_headers = next(line for line in plain.body().decode("utf-8-sig").splitlines() if line.startswith("Dịch vụ,"))
    assert headers == csv_headers.split(","), (headers, csv_headers)
    met = headers.index("Đạt thời gian chờ mục tiêu")
    expect(ht.locator("th, td").nth(met)).to_have_text("3")
    expect(ht.locator("th, td").nth(headers.index("Lượt đánh giá"))).to_have_text("0")
    unclaimed = headers.index("Hết hạn cuối ngày")  # remote numbers nobody came for, apart from those the day ended on
    assert headers[unclaimed : unclaimed + 3] == ["Hết hạn cuối ngày", "Số từ xa đã hủy", "Số từ xa hết hạn"], headers
    assert "view=full" in page.url
    assert not fits_sideways(page, "section.table-wrap") and fits_sideways(page, "html")
    page.evaluate("document.querySelector('section.table-wrap').scrollLeft = 10000")
    frame = page.locator("section.table-wrap").bounding_box()
    name = ht.locator("th").bounding_box()
    assert abs(name["x"] - frame["x"]) < 2, (name, frame)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    expect(page.locator("#view")).to_have_value("full")  # kept in the address

    # the bookings of the period, per service
    bookings = page.locator("#bookings")
    expect(bookings).to_be_visible()
    expect(bookings.locator("h2")).to_have_text("Lịch hẹn và số lấy từ xa")
    expect(bookings.locator("thead th")).to_have_text(BOOKING_REPORT_HEADER)
    expect(bookings.locator('tbody tr[data-service="HT"] > *')).to_have_text(  # the citizen's own cancel
        ["Tư pháp - Hộ tịch", "2", "1", "0", "0", "0", "1", "0"]
    )
    shot(page, "reports-1366-full")

    # the four files, each the same report: the Vietnamese Excel CSV and the official PDF opened
    for link in ("#csv", "#csv-vn", "#xlsx", "#pdf"):
        expect(page.locator(link)).to_be_visible()
    expect(page.locator("#csv-vn")).to_have_text("Tải CSV (Excel tiếng Việt)")
    vietnamese = page.request.get(server.url + page.locator("#csv-vn").get_attribute("href"))  # with the login
    assert vietnamese.status == 200 and vietnamese.body().startswith(b"\xef\xbb\xbf")
    text = vietnamese.body().decode("utf-8-sig")
    assert "Dịch vụ;Lượt lấy số;" in text and "Lịch hẹn và số lấy từ xa theo dịch vụ" in text
    with page.expect_download() as download:
        page.click("#pdf")
    path = download.value.path()
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.endswith(".pdf")


def test_the_pages_formatter_says_a_words_form_for_its_count_as_the_server_does(page, server):
    """QK.fmt reads ``{n:one|other}`` as server/core/i18n.py does: English says "1 rating" and "3
    ratings", Vietnamese (one form) "1 lượt" and "3 lượt"; a count that is not a number is refused."""
    sign_in(page, server, "giamsat-fmt", "/reports")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    said = page.evaluate(
        """() => [1, 3].flatMap(n => ['en', 'vi'].map(lang => QK.msg('report_text_ratings',
            {total: n, pct: '100', very: n, satisfied: 0, unsatisfied: 0}, lang)))"""
    )
    assert said[0].startswith("1 rating, 100% satisfied (1 very satisfied"), said
    assert said[2].startswith("3 ratings, 100% satisfied (3 very satisfied"), said
    assert said[1].startswith("Có 1 lượt đánh giá") and said[3].startswith("Có 3 lượt đánh giá"), said
    assert not any("|" in text or "{" in text for text in said), said
    said = page.evaluate("() => QK.msg('report_text_peak_day', {hour: '09:00–10:00', n: 1}, 'en')")
    assert said == "Busiest hour: 09:00–10:00 (1 citizen).", said
    refused = page.evaluate(
        "() => { try { QK.msg('report_text_peak_day', {hour: '9', n: '1'}, 'en'); return null; }"
        " catch (e) { return e.name; } }"
    )
    assert refused == "TypeError"


def test_a_file_refused_is_said_in_the_page_and_asked_for_again_there(page, server):
    """The files' links showed the API's raw JSON when a file was refused: two files already being made
    (503 report_files_busy, at most two at once on a process), a period the report cannot cover (422), a
    login ended because the account may no longer read reports (401). Each is said on the page, in its
    language, the figures and the chosen period staying; the same link, tapped again once the two files
    have come, gives the file."""
    sign_in(page, server, "giamsat-busy", "/reports", at_admin=True)  # (its role is changed below)
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    said = page.locator("#file-error")
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    others = [Download(server.url, supervisor, A_YEAR) for _ in range(2)]
    try:
        expect(page.locator("#pdf")).to_have_attribute("href", re.compile("format=pdf"))
        wait_until_busy(server.url, supervisor, others)
        page.click("#pdf")
        expect(said).to_contain_text("Máy chủ đang tạo 2 tệp báo cáo khác", timeout=20_000)
        expect(said).to_contain_text("Vui lòng tải lại sau khoảng 10 giây")
        assert not all(other.done.is_set() for other in others), "refused only while two files were being made"
        expect(page.locator("#report")).to_be_visible()  # the page and its figures stay
        assert page.url.startswith(server.url + "/reports")
    finally:
        for other in others:
            assert other.result().status_code == 200
    with page.expect_download() as download:
        page.click("#pdf")  # tried again
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert download.value.suggested_filename.endswith(".pdf"), download.value.suggested_filename
    expect(said).to_be_hidden()

    # a period the report cannot cover: said as the API says it
    page.goto(server.url + "/reports?from=2026-12-10&to=2026-12-01&group_by=service")
    expect(page.locator("body")).to_have_attribute("data-report", "error", timeout=20_000)
    href = page.locator("#csv").get_attribute("href")
    refused = page.request.get(server.url + href)  # (with the login)
    assert refused.status == 422, refused.text()
    page.click("#csv")
    expect(said).to_have_text(refused.json()["error"]["message"])
    # the period set right and shown: the refusal of the one before goes with it
    page.evaluate("() => { document.getElementById('to').value = '2026-12-20T00:00'; }")
    page.click("#show")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    expect(said).to_be_hidden()

    # no longer a supervisor (an admin made the account a clerk's): its session ends (401; any other refusal,
    # a 403, goes the same way), said the same way
    page.goto(server.url + "/reports")
    expect(page.locator("body")).to_have_attribute("data-report", "ready", timeout=20_000)
    clerk = {"role": "clerk", "counter": 1}
    changed = server.api("PATCH", "/admin/users/giamsat-busy", token=server.token("admin"), json=clerk)
    assert changed.status_code == 200, changed.text
    refused = page.request.get(server.url + page.locator("#xlsx").get_attribute("href"))
    assert refused.status == 401, refused.text()
    page.click("#xlsx")  # what to do, in the page's words (the API's sentence names its Authorization header)
    expect(said).to_have_text("Phiên đăng nhập đã hết. Hãy tải lại trang và đăng nhập lại.")
