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
from pg_link_helpers import CuttableLink  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

# every Socket.IO client a page makes, kept in window.__sockets (the page's io(), queuekiosk.js's included)
KEEP_SOCKETS = """(function () {
  let first = null, current;
  window.__sockets = [];
  Object.defineProperty(window, "io", {configurable: true, get: function () { return current; },
    set: function (io) {
      if (first) { current = io; return; }  // (queuekiosk.js's own, wrapping the one below)
      first = io;
      current = function () { const socket = first.apply(this, arguments); window.__sockets.push(socket); return socket; };
      Object.assign(current, first);
    }});
})();"""

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


@pytest.mark.postgres
def test_the_dashboard_connecting_again_while_postgresql_is_out_of_reach_is_live_once_it_is_back(
    start_server, migrated_pg_url, page
):
    """The dashboard's live connection, dropped (a Wi-Fi drop, the server restarted) and made again while
    PostgreSQL is out of reach, is refused database_busy (its session cannot be looked up): the page shows
    itself offline and asks again by itself, live once PostgreSQL is back, without a reload. (Before, its
    connect went unanswered and the page stayed offline until reloaded.)"""
    link = CuttableLink()
    try:
        server = start_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/")})
        page.add_init_script(KEEP_SOCKETS)
        open_dashboard(page, server)
        body = page.locator("body")
        link.cut()
        page.evaluate("window.__sockets.forEach(function (socket) { socket.io.engine.close(); })")
        expect(body).to_have_attribute("data-live", "offline", timeout=10_000)
        time.sleep(3)  # its first tries meet the outage
        expect(body).to_have_attribute("data-live", "offline")
        link.mend()
        expect(body).to_have_attribute("data-live", "live", timeout=20_000)
    finally:
        link.close()
