"""What the kiosk, the supervisor's dashboard and the clerk console show when the database cannot
take a write (503 ``database_full`` / ``database_busy``): a real server whose SQLite file is on a
disk that is really full (``small_disk``), or locked by another program, and a real Chromium.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from console_helpers import CLERK, log_in  # noqa: E402
from dashboard_helpers import open_dashboard  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

HT = "Tư pháp - Hộ tịch"


def tap(page, service: str = HT):
    page.locator("button.service:visible", has_text=service).click()
    page.locator("button.no-priority").click()


def test_the_kiosk_tells_the_citizen_to_ask_staff_and_staff_what_to_do(
    start_server, page, new_tab, small_disk, shot, sqlite_template
):
    server = start_server(env={"QUEUEKIOSK_DATABASE_URL": small_disk.sqlite_url(sqlite_template)})
    dashboard = new_tab(viewport={"width": 1366, "height": 768})
    open_dashboard(dashboard, server)
    page.goto(f"{server.url}/kiosk/kiosk-1")
    expect(page.locator("body")).to_have_attribute("data-subscribed", "ok")
    small_disk.fill()
    refused_after_checkpoint = False
    while not refused_after_checkpoint:  # the WAL file may still have room for a few
        while server.session().post("/api/v1/tickets", json={"service": "HT"}).status_code == 201:
            pass
        time.sleep(1.5)  # the writer's checkpoint 1 s after a commit may let the WAL start over in its own room
        refused_after_checkpoint = server.session().post("/api/v1/tickets", json={"service": "HT"}).status_code != 201

    tap(page)
    problem = page.locator("#problem")
    expect(problem).to_be_visible(timeout=10_000)
    expect(problem).to_have_attribute("data-code", "database_full")
    expect(page.locator("#problem-title")).to_contain_text("Tạm thời chưa cấp được số")
    expect(page.locator("#problem-text")).to_contain_text("Xin Ông/Bà vui lòng báo cán bộ hướng dẫn.")
    staff = page.locator("#problem-staff")
    expect(staff).to_contain_text("Ổ đĩa chứa cơ sở dữ liệu đã đầy")
    expect(staff).to_contain_text("IT staff: free disk space on the server")
    shot(page, "kiosk-database-full")
    alert = dashboard.locator('#alerts li[data-alert="system:database"]')  # the supervisor sees it too
    expect(alert).to_contain_text("Ổ đĩa chứa cơ sở dữ liệu đã đầy")

    small_disk.free()
    problem.locator("button.done").click()
    tap(page)
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#result-number")).to_have_text(re.compile(r"^10\d\d$"))
    expect(alert).to_have_count(0)  # a write went through


def test_the_console_says_the_database_is_busy_and_the_press_again_works(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning  # still waiting once the clerk has signed in, whatever the hour
    password = server.add_clerk(CLERK, counter=1)
    server.api("POST", "/tickets", json={"service": "HT"})
    log_in(page, server, password)
    other = sqlite3.connect(server.env["QUEUEKIOSK_INSTANCE"] + "/queuekiosk.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another program holds the write lock longer than the server waits
    try:
        page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
        notice = page.locator("#notice")
        expect(notice).to_contain_text("Cơ sở dữ liệu đang bận; thao tác không được thực hiện.", timeout=10_000)
        expect(notice).to_contain_text("The database is busy; nothing was changed.")
        shot(page, "console-database-busy")
    finally:
        other.execute("ROLLBACK")
        other.close()
    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#current-number")).to_have_text("1001")
