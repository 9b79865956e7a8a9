"""/admin in a real Chromium: an admin gives the site a short name for its SMS (site.sms_name) on the tab where the
centre's name is edited; one over 40 characters is refused under the field, by its label; a name that fits is
saved, and there after a reload."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, _field, _fill, _login, _save, _saved
from playwright.sync_api import expect


def test_an_admin_sets_the_sites_short_sms_name_and_a_too_long_one_is_refused_by_its_label(new_tab, server):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-hours")
    field = _field(admin, "hours", "sms_name")
    expect(field).to_contain_text("Tên trong tin nhắn SMS")
    expect(field.locator("input")).to_have_value("")

    _fill(admin, "hours", {"sms_name": "Trung tâm Phục vụ hành chính công phường Phúc La"})  # 48 characters
    _save(admin, "hours")
    expect(field.locator(".field-error")).to_contain_text("Trường “Tên trong tin nhắn SMS”: quá dài: tối đa 40 ký tự")
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["sms_name"] is None

    _fill(admin, "hours", {"sms_name": "TTHCC Phúc La"})
    _save(admin, "hours")
    _saved(admin, "hours")
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["sms_name"] == "TTHCC Phúc La"
    admin.reload()
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    admin.click("#tab-hours")
    expect(_field(admin, "hours", "sms_name").locator("input")).to_have_value("TTHCC Phúc La")


def test_an_installation_admin_sets_a_sites_short_sms_name_on_the_sites_tab(new_tab, server):
    """Where the sites tab changes a site's name, its SMS name too: refused under its label when too long."""
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-sites")
    admin.locator('#panel-sites tr.item[data-key="phuc-la"]').click()
    field = _field(admin, "sites", "sms_name")
    expect(field).to_contain_text("Tên trong tin nhắn SMS")

    _fill(admin, "sites", {"sms_name": "Trung tâm Phục vụ hành chính công phường Phúc La"})  # 48 characters
    _save(admin, "sites")
    expect(field.locator(".field-error")).to_contain_text("quá dài: tối đa 40 ký tự")
    _fill(admin, "sites", {"sms_name": "TTHCC Phúc La"})
    _save(admin, "sites")
    _saved(admin, "sites")
    [site] = server.api("GET", "/admin/sites", token=server.token("admin")).json()
    assert site["sms_name"] == "TTHCC Phúc La", site
