"""/admin in a real Chromium: the installation's admin adds a commune centre ("Các điểm phục vụ"),
which serves at once under /s/{id}/ with numbers of its own; a taken id is explained next to its
field; a supervisor sees no sites tab."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, _field, _fill, _login, _save, _saved
from playwright.sync_api import expect


def test_an_admin_adds_a_commune_centre_and_it_serves_at_once(new_tab, server, shot):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    tab = admin.locator("#tab-sites")
    expect(tab).to_be_visible()
    expect(tab).to_have_text("Các điểm phục vụ")
    tab.click()
    expect(admin.locator("#panel-sites tr.item")).to_have_count(1)

    admin.click("#panel-sites button.new")
    _fill(admin, "sites", {"id": "xa-tan-phu", "name": "Trung tâm PVHCC xã Tân Phú", "timezone": "Asia/Bangkok"})
    _fill(admin, "sites", {"hours.open": "07:00", "hours.close": "11:30"})
    _save(admin, "sites")
    _saved(admin, "sites")
    row = admin.locator('#panel-sites tr.item[data-key="xa-tan-phu"]')
    expect(row).to_contain_text("Trung tâm PVHCC xã Tân Phú")
    expect(row).to_contain_text("Asia/Bangkok")
    expect(row).to_contain_text("07:00–11:30")
    expect(row).to_contain_text("/s/xa-tan-phu/admin")  # where its own setup is edited
    shot(admin, "admin-sites-added")

    # the same id again: refused, and said next to the id
    admin.click("#panel-sites button.new")
    _fill(admin, "sites", {"id": "xa-tan-phu", "name": "Lần hai"})
    _save(admin, "sites")
    error = _field(admin, "sites", "id").locator(".field-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("xa-tan-phu")

    # the new centre's lobby screen is live at once, and its first citizen gets its first number
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(server.url + "/s/xa-tan-phu/display/lobby")
    expect(lobby.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
    ticket = server.api("POST", "/sites/xa-tan-phu/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["number"] == 1001
    sites = server.api("GET", "/admin/sites", token=server.token("admin")).json()
    assert [s["id"] for s in sites] == ["phuc-la", "xa-tan-phu"]
    assert sites[1]["hours"]["days"] == sites[0]["hours"]["days"]  # the first site's days, none ticked


def test_a_supervisor_sees_no_sites_tab(new_tab, server):
    supervisor = new_tab(viewport=ADMIN_SCREEN)
    _login(supervisor, server, "giamsat", "supervisor")
    expect(supervisor.locator("#tab-ticker")).to_have_attribute("aria-selected", "true")
    expect(supervisor.locator("#tab-sites")).to_be_hidden()


def test_an_admin_removes_a_site_added_by_mistake_and_sends_citizens_only_to_others(new_tab, server, shot):
    """The sites tab: "Mời công dân đến điểm" offers other serving sites only; a site added by mistake
    is removed after a second press; one that served is kept, the reason said above the buttons."""
    admin_token = server.token("admin")
    for site, name in (("xa-nham", "Xã Thêm Nhầm"), ("xa-cu", "Xã Cũ"), ("xa-da-nghi", "Xã Đã Nghỉ")):
        assert server.api("POST", "/admin/sites", token=admin_token, json={"id": site, "name": name}).status_code == 201
    retired = server.api("PATCH", "/admin/sites/xa-da-nghi", token=admin_token, json={"retired": True})
    assert retired.status_code == 200, retired.text
    assert server.api("POST", "/sites/xa-cu/tickets", json={"service": "HT"}).status_code == 201
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-sites")
    remove = admin.locator('#panel-sites form[data-form="sites"] button.delete')

    admin.locator('#panel-sites tr.item[data-key="phuc-la"]').click()
    expect(remove).to_be_hidden()  # the first site is never removed
    admin.locator('#panel-sites tr.item[data-key="xa-cu"]').click()
    offered = _field(admin, "sites", "moved_to").locator("option")
    expect(offered).to_have_count(3)  # (none), phuc-la, xa-nham: not xa-cu itself, not the retired one
    assert [o.get_attribute("value") for o in offered.all()] == ["", "phuc-la", "xa-nham"]

    expect(remove).to_have_text("Xoá điểm (thêm nhầm)")
    remove.click()
    expect(remove).to_have_text("Bấm lần nữa để xoá hẳn điểm này")
    remove.click()
    refusal = admin.locator('#panel-sites form[data-form="sites"] .form-error')
    expect(refusal).to_contain_text("ngừng hoạt động")  # it served: retire it instead
    expect(admin.locator('#panel-sites tr.item[data-key="xa-cu"]')).to_have_count(1)

    admin.locator('#panel-sites tr.item[data-key="xa-nham"]').click()
    expect(remove).to_have_text("Xoá điểm (thêm nhầm)")
    remove.click()
    remove.click()
    expect(admin.locator('#panel-sites tr.item[data-key="xa-nham"]')).to_have_count(0)
    shot(admin, "admin-site-removed")
    sites = server.api("GET", "/admin/sites", token=admin_token).json()
    assert [s["id"] for s in sites] == ["phuc-la", "xa-cu", "xa-da-nghi"]
    admin.locator('#panel-sites tr.item[data-key="xa-cu"]').click()
    expect(_field(admin, "sites", "moved_to").locator("option")).to_have_count(2)  # (none), phuc-la


def test_every_refused_field_of_a_site_is_said_under_its_own_label(new_tab, server):
    """A new site's 150-letter name was saved; its hours' problems came one save at a time; a change of a
    site was refused at the form's foot as another tab's, not under its own field."""
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-sites")
    admin.click("#panel-sites button.new")
    long_name = "Trung tâm Phục vụ hành chính công " * 5
    _fill(admin, "sites", {"id": "xa-dai", "name": long_name, "hours.open": "17:00", "hours.close": "07:00"})
    _save(admin, "sites")
    name_error = _field(admin, "sites", "name").locator(".field-error")
    expect(name_error).to_contain_text("quá dài: tối đa 120 ký tự")
    expect(_field(admin, "sites", "hours.close").locator(".field-error")).to_contain_text("phải sau giờ mở cửa")
    assert [s["id"] for s in server.api("GET", "/admin/sites", token=server.token("admin")).json()] == ["phuc-la"]

    _fill(admin, "sites", {"name": "Xã Dài", "hours.open": "06:30"})
    _save(admin, "sites")
    _saved(admin, "sites")
    _fill(admin, "sites", {"name": long_name, "hours.open": "25:00"})
    _save(admin, "sites")
    expect(name_error).to_contain_text("quá dài: tối đa 120 ký tự")
    expect(_field(admin, "sites", "hours.open").locator(".field-error")).to_contain_text("không phải giờ hợp lệ")
    expect(admin.locator('form[data-form="sites"] .form-error')).to_be_hidden()


def test_a_new_site_without_a_name_is_told_every_other_refused_field_under_its_label(new_tab, server):
    """The province tester's new site (id with capitals, no name, Asia/Hanoi, opening at 25:00) was told
    only that the name was missing; the id, the time zone and the hours came at the next save."""
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-sites")
    admin.click("#panel-sites button.new")
    _fill(admin, "sites", {"id": "Xa-Thach-Ha", "name": "", "timezone": "Asia/Hanoi", "hours.open": "25:00"})
    _save(admin, "sites")
    expect(_field(admin, "sites", "name").locator(".field-error")).to_contain_text("Tên trung tâm")
    expect(_field(admin, "sites", "timezone").locator(".field-error")).to_contain_text("Asia/Hanoi")
    expect(_field(admin, "sites", "hours.open").locator(".field-error")).to_contain_text("không phải giờ hợp lệ")
    expect(_field(admin, "sites", "id").locator(".field-error")).to_contain_text("chữ cái thường")
    assert [s["id"] for s in server.api("GET", "/admin/sites", token=server.token("admin")).json()] == ["phuc-la"]
