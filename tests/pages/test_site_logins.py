"""One browser, two sites' counter consoles (issue 16), in a real Chromium: the first site's clerk at
/counter and a commune centre's clerk at /s/{site}/counter, in two tabs of one browser, stay signed
in side by side (each site keeps its own login), and each calls its own site's numbers.
"""

from __future__ import annotations

import os
import re

import pytest
import server_db

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

from queuekiosk.server.core import auth  # noqa: E402

pytestmark = pytest.mark.browser

FIRST = "phuc-la"  # the repo's config.yaml
SITE = "xa-ben-kia"
PASSWORD = "mật-khẩu-mỗi-điểm"


def sign_in(tab, url: str, name: str) -> None:
    tab.goto(url)
    tab.fill("#username", name)
    tab.fill("#password", PASSWORD)
    tab.click("#login-button")
    expect(tab.locator("#work")).to_be_visible()
    expect(tab.locator("body")).to_have_attribute("data-live", "live")


def test_clerks_of_two_sites_share_a_browser_without_logging_each_other_out(server, page):
    made = server.api(
        "POST",
        "/admin/sites",
        token=server.token("admin"),
        json={"id": SITE, "name": "Xã Bến Kia", "timezone": "Asia/Ho_Chi_Minh"},
    )
    assert made.status_code == 201, made.text
    for name, site in (("thu-ky-dau", FIRST), ("thu-ky-xa", SITE)):
        server_db._write(
            server.database_url, lambda db, n=name, s=site: auth.add_user(db, n, PASSWORD, "clerk", 1, site_id=s)
        )
    here, far = page, page.context.new_page()  # two tabs of one browser: one cookie jar
    sign_in(here, server.url + "/counter", "thu-ky-dau")
    sign_in(far, server.url + f"/s/{SITE}/counter", "thu-ky-xa")
    for tab in (here, far):  # neither login pushed the other out
        tab.reload()
        expect(tab.locator("#work")).to_be_visible()

    ours = server.api("POST", "/tickets", json={"service": "HT"}).json()
    theirs = server.api("POST", f"/sites/{SITE}/tickets", json={"service": "HT"}).json()
    for tab, ticket in ((far, theirs), (here, ours)):  # each calls with its own session and CSRF token
        expect(tab.locator("#queue-list li")).to_have_count(1)
        tab.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
        expect(tab.locator("#current-number")).to_have_text(str(ticket["number"]))
