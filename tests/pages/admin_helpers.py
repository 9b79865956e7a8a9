"""What the page tests of /admin share: signing in (at /reports too), a form's fields, saving, and the
question asked before typed changes are dropped. Imported by the page tests (tests/pages/test_admin_*.py and others)."""

from __future__ import annotations

from playwright.sync_api import expect

PASSWORD = "quan-tri-2026"
ADMIN_SCREEN = {"width": 1366, "height": 768}


def admin_login(tab, server, user="quantri", role="admin"):
    """Sign a new ``role`` account in at /admin and wait until the page has loaded the setup."""
    server.add_user(user, PASSWORD, role)
    tab.goto(server.url + "/admin")
    tab.fill("#username", user)
    tab.fill("#password", PASSWORD)
    tab.click("#login-button")
    expect(tab.locator("body")).to_have_attribute("data-ready", "1")


_login = admin_login  # (the name the older page tests import)


def reports_login(tab, server, user, role, path="/reports"):
    """Sign a new ``role`` account in at /reports (or ``path``) and wait for the page's work to show."""
    server.add_user(user, PASSWORD, role)
    tab.goto(server.url + path)
    tab.fill("#username", user)
    tab.fill("#password", PASSWORD)
    tab.click("#login-button")
    expect(tab.locator("#work")).to_be_visible()


def _field(tab, form, path):
    return tab.locator(f'form[data-form="{form}"] .field[data-field="{path}"]')


def _fill(tab, form, values: dict) -> None:
    """Type ``values`` ({field path: text}) into the form's inputs, or choose them in its selects."""
    for path, value in values.items():
        control = _field(tab, form, path).locator("input, select").first
        if control.evaluate("node => node.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)


def _save(tab, form):
    tab.locator(f'form[data-form="{form}"] button.save').click()


def _saved(tab, form):
    expect(tab.locator(f'form[data-form="{form}"] .saved')).to_have_text("Đã lưu")


UNSAVED = "Có thay đổi chưa lưu. Bỏ các thay đổi này?"


def answering(asked: list, accept: bool):
    """A handler of the page's next question (``tab.once("dialog", ...)``): its sentence kept in ``asked``,
    then OK (``accept``) or Cancel."""

    def said(dialog):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    return said


def _discarding(tab, action, accept=True) -> None:
    """Do ``action``, which must ask whether to drop what was typed and not saved; answer it."""
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    tab.once("dialog", answer)
    action()
    expect(tab.locator("body")).to_have_attribute("data-ready", "1")  # (the dialog is answered before this returns)
    assert asked == [UNSAVED], asked
