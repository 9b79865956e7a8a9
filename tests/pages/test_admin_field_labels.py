"""/admin in a real Chromium: the site's forms and a display's form label each field as the server's
refusals name it (server/core/field_labels.py, the one list of those labels, which the page is given):
"Giờ mở cửa" on the form is "Giờ mở cửa" in a refusal about ``hours.open``, "Opens at" in English."""

from __future__ import annotations

from admin_helpers import ADMIN_SCREEN, admin_login
from playwright.sync_api import expect

from queuekiosk.server.core.field_labels import LABELS
from queuekiosk.server.core.i18n import translate

# the tab each form of the site is on, and the form (data-form); a display's form under its tab
SITE_FORMS = {
    "hours": ("hours", "holidays"),
    "priorities": ("policy",),
    "ticker": ("ticker",),
    "notifications": ("notifications",),
    "limits": ("limits",),
    "sounds": ("sounds",),
}
# a few labels as a person reads them, (Vietnamese, English): written out here, so that a field given
# another field's label (a wrong key in field_labels.py) is caught, on the page and in a refusal
SITE_TEXTS = {
    "hours.open": ("Giờ mở cửa", "Opens at"),
    "hours.close": ("Giờ đóng cửa", "Closes at"),
    "policy.priority": ("Cách gọi số ưu tiên", "Priority policy"),
    "notifications.sms.url": ("SMS: địa chỉ cổng gửi tin", "SMS: gateway address"),
    "limits.tickets_per_address": ("Số lấy từ một máy (địa chỉ mạng)", "Numbers from one device (address)"),
}
DISPLAY_TEXTS = {
    "name": ("Tên màn hình", "Display name"),
    "voice.repeat": ("Số lần đọc", "Times spoken"),
}


def shown_labels(tab, form: str) -> dict[str, str]:
    """Each field of the form: its path -> the label the page shows."""
    fields = tab.locator(f'form[data-form="{form}"] .field[data-field]')
    expect(fields.first).to_be_visible()
    return {field.get_attribute("data-field"): field.locator("label").first.text_content() for field in fields.all()}


def site_labels(tab) -> dict[str, str]:
    """The labels of every field of the site's forms, tab by tab."""
    shown = {}
    for panel, forms in SITE_FORMS.items():
        tab.click(f"#tab-{panel}")
        for form in forms:
            shown.update(shown_labels(tab, form))
    return shown


def display_labels(tab) -> dict[str, str]:
    tab.click("#tab-displays")
    tab.click('#panel-displays tr.item[data-key="lobby"]')
    return shown_labels(tab, "displays")


def test_the_forms_label_each_field_as_the_servers_refusals_name_it(new_tab, server):
    admin = new_tab(viewport=ADMIN_SCREEN)
    admin_login(admin, server)

    shown = site_labels(admin)
    assert set(shown) <= set(LABELS["site"]), "every field of the site's forms has the server's label"
    assert shown == {path: translate(LABELS["site"][path]) for path in shown}
    assert {path: shown[path] for path in SITE_TEXTS} == {path: vi for path, (vi, _) in SITE_TEXTS.items()}
    shown = display_labels(admin)
    assert shown == {path: translate(key) for path, key in LABELS["displays"].items()}
    assert {path: shown[path] for path in DISPLAY_TEXTS} == {path: vi for path, (vi, _) in DISPLAY_TEXTS.items()}

    admin.click("#lang")  # in English
    shown = site_labels(admin)
    assert shown == {path: translate(LABELS["site"][path], "en") for path in shown}
    assert {path: shown[path] for path in SITE_TEXTS} == {path: en for path, (_, en) in SITE_TEXTS.items()}
    shown = display_labels(admin)
    assert {path: shown[path] for path in DISPLAY_TEXTS} == {path: en for path, (_, en) in DISPLAY_TEXTS.items()}

    # a refusal naming a field says it with the same words, in the reader's language: a supervisor may not
    # change the hours nor a display's name
    token = server.token("supervisor")
    for language, said in (("vi", 0), ("en", 1)):
        for path, change, texts in (
            ("/admin/site", {"hours": {"open": "08:00"}}, SITE_TEXTS["hours.open"]),
            ("/admin/displays/lobby", {"name": "Sảnh"}, DISPLAY_TEXTS["name"]),
        ):
            refused = server.api("PATCH", path, token=token, json=change, headers={"Accept-Language": language})
            assert refused.status_code == 403, refused.text
            assert texts[said] in refused.json()["error"]["message"], (language, path)
