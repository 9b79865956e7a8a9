"""/admin keeps what a supervisor or an admin types, in a real Chromium at 1366x768: a holiday typed and
saved without "Thêm ngày" is saved (a date that is not one is said and nothing is "Đã lưu"); leaving a
form with unsaved changes asks first; every refused field is named at once by its own label; a counter
serving nothing is saved with a warning; a supervisor is told whom to tell about the QR address; the
users' list keeps its headings in view."""

from __future__ import annotations

import server_db
from admin_helpers import ADMIN_SCREEN, UNSAVED, _discarding, _field, _fill, _login, _save, _saved, answering
from playwright.sync_api import expect


def _holidays(server) -> list[str]:
    return server.api("GET", "/admin/site", token=server.token("admin")).json()["holidays"]


def test_a_holiday_typed_and_saved_without_adding_it_is_saved(new_tab, server):
    supervisor = new_tab(viewport=ADMIN_SCREEN)
    _login(supervisor, server, "giamsat", "supervisor")
    supervisor.click("#tab-hours")
    # a supervisor cannot set the address phones reach: told whom to tell, not how to set it
    warning = supervisor.locator("#panel-hours #tracking-loopback")
    expect(warning).to_contain_text("Hãy báo cho quản trị viên.")
    expect(warning).not_to_contain_text("--host")
    holidays = _field(supervisor, "holidays", "holidays")
    entry = holidays.locator("input.date-entry")
    problem = holidays.locator(".date-problem")
    entry.fill("31/02/2027")
    _save(supervisor, "holidays")
    expect(problem).to_have_text("Không có ngày 31/02/2027 trong lịch (hãy xem lại ngày và tháng).")
    expect(supervisor.locator('form[data-form="holidays"] .saved')).to_have_text("")
    entry.fill("01/01/2025")  # a year mistyped: a past holiday changes nothing
    holidays.locator("button.add-date").click()
    expect(problem).to_contain_text("Ngày 01/01/2025 đã qua")
    assert "2025-01-01" not in _holidays(server)

    entry.fill("24/12/2027")
    _save(supervisor, "holidays")
    _saved(supervisor, "holidays")
    expect(holidays.locator('li.date[data-date="2027-12-24"]')).to_be_visible()
    expect(entry).to_have_value("")
    assert "2027-12-24" in _holidays(server)


def test_unsaved_changes_are_asked_about_before_they_are_dropped(new_tab, server):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click('#panel-services tr.item[data-key="CT"]')
    name = _field(admin, "services", "name.vi").locator("input")
    name.fill("Chứng thực bản sao (đang sửa)")
    # another item: "no" keeps the edit, "yes" drops it
    _discarding(admin, lambda: admin.click('#panel-services tr.item[data-key="DC"]'), accept=False)
    expect(name).to_have_value("Chứng thực bản sao (đang sửa)")
    _discarding(admin, lambda: admin.click('#panel-services tr.item[data-key="DC"]'))
    expect(admin.locator("#panel-services h2.editing")).to_contain_text("DC")

    # another tab, with a holiday typed and not added
    admin.click("#tab-hours")
    _field(admin, "holidays", "holidays").locator("input.date-entry").fill("24/12/2027")
    _discarding(admin, lambda: admin.click("#tab-services"), accept=False)
    expect(admin.locator("#tab-hours")).to_have_attribute("aria-selected", "true")
    asked = admin.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; }"
    )
    assert asked, "leaving the page with a date typed is asked about"
    assert UNSAVED  # (the same sentence in both dialogs)


def test_every_refused_field_is_named_by_its_label_at_once(new_tab, server):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#panel-services button.new")
    _fill(admin, "services", {"numbers.start": "7001", "numbers.end": "7999", "target_wait_minutes": "0"})
    _save(admin, "services")
    for path, label in (
        ("code", "Trường “Mã”:"),
        ("name.vi", "Trường “Tên (tiếng Việt)”: bắt buộc phải có"),
        ("target_wait_minutes", "Trường “Thời gian chờ mục tiêu (phút)”:"),
    ):
        expect(_field(admin, "services", path).locator(".field-error")).to_contain_text(label)
    expect(admin.locator('form[data-form="services"] .form-error')).to_be_hidden()

    # a code differing from one in use only in capitals: under the code, not at the foot
    _fill(admin, "services", {"code": "ht", "name.vi": "Hộ tịch 2", "target_wait_minutes": "15"})
    _save(admin, "services")
    expect(_field(admin, "services", "code").locator(".field-error")).to_contain_text("Trường “Mã”: đã có “HT”")

    # a closing time before the opening one: under the closing time, by its label
    _discarding(admin, lambda: admin.click("#tab-hours"))
    _fill(admin, "hours", {"hours.open": "17h", "hours.close": "8:00"})
    _save(admin, "hours")
    expect(_field(admin, "hours", "hours.close").locator(".field-error")).to_contain_text(
        "Trường “Giờ đóng cửa”: giờ đóng cửa (08:00) phải sau giờ mở cửa (17:00)"
    )
    _fill(admin, "hours", {"hours.open": "7h30", "hours.close": "1630"})
    _save(admin, "hours")
    _saved(admin, "hours")
    expect(_field(admin, "hours", "hours.open").locator("input")).to_have_value("07:30")
    expect(_field(admin, "hours", "hours.close").locator("input")).to_have_value("16:30")


def test_a_counter_serving_nothing_is_saved_with_a_warning(new_tab, server):
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-counters")
    admin.click('#panel-counters tr.item[data-key="3"]')
    services = _field(admin, "counters", "services")
    note = services.locator(".field-note")
    expect(note).to_be_hidden()
    for box in services.locator("input:checked").all():
        box.uncheck()
    _save(admin, "counters")
    _saved(admin, "counters")
    expect(note).to_contain_text("Quầy này không phục vụ dịch vụ nào: chỉ nhận các số được chuyển đến.")


def test_the_users_list_keeps_its_headings_in_view(new_tab, server):
    for n in range(25):
        server.add_user(f"canbo{n:02d}", "mat-khau-dai", "clerk")
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-users")
    admin.click('#panel-users tr.item[data-key="canbo24"]')
    expect(admin.locator('#panel-users tr.item[data-key="canbo24"]')).to_have_class("item chosen")
    heading = admin.locator("#panel-users table.items thead th").first
    listed = admin.locator("#panel-users .list").bounding_box()
    assert admin.locator("#panel-users .list").evaluate("node => node.scrollTop") > 0, "the list scrolled"
    box = heading.bounding_box()
    assert listed["y"] - 0.5 <= box["y"], (listed, box)


def test_a_problem_of_another_item_is_said_at_the_foot_naming_it(new_tab, server):
    """A counter's save refused for a problem of service HT (a setup saved before a check) showed it under
    the counter's "Dịch vụ quầy phục vụ", and of two problems at one place only the last."""

    def older_setup(document):
        document["services"][0].update(target_wait_minutes=0, default_service_minutes=-1)

    server_db.change_stored_setup(server.database_url, older_setup)
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-counters")
    admin.click('#panel-counters tr.item[data-key="2"]')
    _fill(admin, "counters", {"name": "Quầy hai mới"})
    _save(admin, "counters")
    foot = admin.locator('form[data-form="counters"] .form-error > div')
    expect(foot).to_have_count(2)
    expect(foot.nth(0)).to_contain_text("Dịch vụ HT, trường “Thời gian chờ mục tiêu (phút)”:")
    expect(foot.nth(0)).to_contain_text("(hãy sửa ở thẻ Dịch vụ)")
    expect(foot.nth(1)).to_contain_text("Dịch vụ HT, trường “Thời gian phục vụ")
    expect(admin.locator('form[data-form="counters"] .field-error:visible')).to_have_count(0)


def test_logging_out_with_unsaved_changes_asks_before_the_session_ends(new_tab, server):
    """ "Đăng xuất" ended the session, then the browser asked "Leave site?": "Stay" kept a typed time that
    could no longer be saved."""
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-hours")
    _fill(admin, "hours", {"hours.close": "16:45"})
    _discarding(admin, lambda: admin.click("#logout"), accept=False)
    _save(admin, "hours")
    _saved(admin, "hours")  # still logged in: the change is kept

    _fill(admin, "hours", {"hours.close": "16:30"})
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.accept()

    admin.on("dialog", answer)
    admin.click("#logout")
    expect(admin.locator("#username")).to_be_visible()
    assert asked == ["confirm"], asked  # /admin's own question, not the browser's again at the reload


def test_unticking_the_last_counter_of_a_service_with_citizens_waiting_asks_first(new_tab, server_on_a_working_morning):
    """Counter 4 (DC's only counter) saved without DC while two citizens waited for DC: DC became unserved
    without a word, its new numbers refused and the two called by nobody. Now the page asks, saying how many."""
    server = server_on_a_working_morning
    for _ in range(2):
        assert server.api("POST", "/tickets", json={"service": "DC"}).status_code == 201
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-counters")
    admin.click('#panel-counters tr.item[data-key="4"]')
    _field(admin, "counters", "services").locator('input[value="DC"]').uncheck()
    asked = []
    admin.once("dialog", answering(asked, False))
    _save(admin, "counters")
    # "Cancel": nothing saved, and why said under the services' field
    services = _field(admin, "counters", "services")
    expect(services.locator(".field-error")).to_contain_text("không quầy nào phục vụ dịch vụ “Địa chính")
    assert len(asked) == 1 and "(DC), còn 2 số đang chờ và 0 lịch hẹn" in asked[0], asked
    assert "Vẫn lưu thay đổi này?" in asked[0], asked
    counters = server.api("GET", "/admin/counters", token=server.token("admin")).json()
    assert next(c for c in counters if c["number"] == 4)["services"] == ["DC"]

    admin.once("dialog", answering(asked, True))
    _save(admin, "counters")
    _saved(admin, "counters")
    assert len(asked) == 2
    counters = server.api("GET", "/admin/counters", token=server.token("admin")).json()
    assert next(c for c in counters if c["number"] == 4)["services"] == []
