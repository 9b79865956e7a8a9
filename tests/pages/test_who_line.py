"""The staff pages' "who" line (the header's "Nguyễn Thị Lan (Giám sát)") names the role as /admin names
it, in the page's language: Vietnamese on /dashboard and /reports, English after /admin's switch; the
sentence that turns a clerk away from /reports names the clerk's role in Vietnamese too. The sign-in
takes the login name in any case. A real server and Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

PASSWORD = "mat-khau-nhan-vien"


def _sign_in(page, server, path: str, typed: str) -> None:
    page.goto(server.url + path)
    page.fill("#username", typed)
    page.fill("#password", PASSWORD)
    page.click("#login-button")


def test_the_who_line_names_the_role_in_the_pages_language(page, new_tab, module_server):
    server = module_server  # (one server for the file: each test signs in accounts of its own)
    server.add_user("giamsat", PASSWORD, "supervisor")
    _sign_in(page, server, "/dashboard", "GiamSat")  # a clerk's capital letter is no wrong name
    expect(page.locator("#who-user")).to_have_text("giamsat (Giám sát)")

    server.add_user("quantri", PASSWORD, "admin")
    admin = new_tab(viewport={"width": 1366, "height": 768})
    _sign_in(admin, server, "/admin", "quantri")
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    expect(admin.locator("#who-user")).to_have_text("quantri (Quản trị)")
    admin.click("#lang")
    expect(admin.locator("#who-user")).to_have_text("quantri (Administrator)")


def test_a_clerk_turned_away_from_the_reports_hears_the_role_in_vietnamese(page, module_server):
    server = module_server
    server.add_user("canbo", PASSWORD, "clerk", counter=1)
    _sign_in(page, server, "/reports", "canbo")
    expect(page.locator("#who-user")).to_have_text("canbo (Nhân viên quầy)")
    expect(page.locator("#forbidden")).to_have_text(
        "Tài khoản “canbo” (Nhân viên quầy) không được xem trang này: báo cáo và giám sát chỉ dành cho tài khoản "
        "Giám sát, Quản trị và Cấp tỉnh."
    )
