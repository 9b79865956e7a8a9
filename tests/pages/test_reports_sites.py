"""/reports in a real Chromium: the provincial supervisor compares the sites side by side; a site's
supervisor sees no such table."""

from __future__ import annotations

import datetime as dt
import re

from admin_helpers import reports_login
from playwright.sync_api import expect

REPORTS_SCREEN = {"width": 1366, "height": 900}


def test_the_province_compares_two_commune_centres(new_tab, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # today's comparison: one day whatever the hour the test runs at
    admin = server.token("admin")
    for site_id, name in (("xa-tan-phu", "Xã Tân Phú"), ("xa-phu-my", "Xã Phú Mỹ")):
        made = server.api("POST", "/admin/sites", token=admin, json={"id": site_id, "name": name})
        assert made.status_code == 201, made.text
    for _ in range(3):
        issued = server.api("POST", "/sites/xa-tan-phu/tickets", json={"service": "HT"})
        assert issued.status_code == 201, issued.text
    assert server.api("POST", "/sites/xa-phu-my/tickets", json={"service": "HT"}).status_code == 201
    assert server.api("POST", "/sites/xa-tan-phu/counters/1/next", token=admin).status_code == 200
    assert server.api("POST", "/sites/xa-tan-phu/counters/1/finish", token=admin).status_code == 200

    tab = new_tab(viewport=REPORTS_SCREEN)
    # the page's default days (this month to today) follow the browser's clock: the server's day
    tab.clock.set_system_time(dt.datetime.fromisoformat(issued.json()["issued_at"].replace("Z", "+00:00")))
    reports_login(tab, server, "tinh", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    expect(section.locator("h2")).to_have_text("So sánh các điểm phục vụ")
    rows = section.locator("tbody tr.site")
    expect(rows).to_have_count(3)
    tan_phu = section.locator('tr[data-site="xa-tan-phu"]')
    expect(tan_phu.locator("th a").first).to_have_text("Xã Tân Phú")
    expect(tan_phu.locator("th a").first).to_have_attribute("href", "/s/xa-tan-phu/reports")  # its own reports
    expect(tan_phu.locator("td").nth(0)).to_have_text("3")  # issued
    expect(tan_phu.locator("td").nth(1)).to_have_text("1")  # served
    expect(section.locator("thead th").nth(3)).to_have_text("Chờ trung bình (phút)")  # a wait says its unit
    expect(section.locator("thead th").nth(4)).to_have_text("Chờ 90% (phút)")
    expect(section.locator('tr[data-site="xa-phu-my"] td').nth(0)).to_have_text("1")
    expect(section.locator("tfoot tr.total th")).to_have_text("Toàn tỉnh")
    expect(section.locator("tfoot tr.total td").nth(0)).to_have_text("4")
    shot(tab, "reports-sites-compared")

    # a site's name opens that site's own reports, the province still signed in
    tab.wait_for_load_state("networkidle")  # the page's own report has arrived: nothing left in flight
    tan_phu.locator("th a").first.click()
    expect(tab).to_have_url(re.compile(re.escape(server.url + "/s/xa-tan-phu/reports") + r"(\?.*)?$"))
    expect(tab.locator("header .site")).to_contain_text("Xã Tân Phú")
    expect(tab.locator("#work")).to_be_visible()
    expect(tab.locator("#sites-compare")).to_have_attribute("data-ready", "1")
    tab.wait_for_load_state("networkidle")


def test_a_site_supervisor_sees_no_comparison(new_tab, server):
    tab = new_tab(viewport=REPORTS_SCREEN)
    asked = []  # a 403 for every load is a red line in the browser's console
    tab.on("request", lambda request: "/api/v1/reports/sites" in request.url and asked.append(request.url))
    reports_login(tab, server, "giamsat", "supervisor")
    tab.wait_for_load_state("networkidle")
    expect(tab.locator("#sites-compare")).to_be_hidden()
    tab.reload()  # signed in already: who it is comes from /api/v1/auth/me
    expect(tab.locator("#work")).to_be_visible()
    tab.wait_for_load_state("networkidle")
    expect(tab.locator("#sites-compare")).to_be_hidden()
    assert not asked, "the sites' comparison is asked only by those who may read it"
