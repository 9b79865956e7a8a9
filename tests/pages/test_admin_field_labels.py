"""/admin in a real Chromium: the site's forms and a display's form label each field as the server's
refusals name it (server/core/field_labels.py, the one list of those labels, which the page is given):
"Giờ mở cửa" on the form is "Giờ mở cửa" in a refusal about ``hours.open``."""

from __future__ import annotations

import json

from admin_helpers import ADMIN_SCREEN, _login
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


def shown_labels(tab, form: str) -> dict[str, str]:
    """Each field of the form: its path -> the label the page shows."""
    fields = tab.locator(f'form[data-form="{form}"] .field[data-field]')
    expect(fields.first).to_be_visible()
    return {field.get_attribute("data-field"): field.locator("label").first.text_content() for field in fields.all()}


def test_the_forms_label_each_field_as_the_servers_refusals_name_it(new_tab, start_server):
    server = start_server()
    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    given = json.loads(admin.locator("#qk-page").text_content())
    assert given["field_labels"] == LABELS, "the page is given the server's labels"

    shown = {}
    for tab, forms in SITE_FORMS.items():
        admin.click(f"#tab-{tab}")
        for form in forms:
            shown.update(shown_labels(admin, form))
    assert shown == {path: translate(LABELS["site"][path]) for path in shown}
    assert set(shown) <= set(LABELS["site"]), "every field of the site's forms has the server's label"

    admin.click("#tab-displays")
    admin.click('#panel-displays tr.item[data-key="lobby"]')
    shown = shown_labels(admin, "displays")
    assert shown == {path: translate(key) for path, key in LABELS["displays"].items()}
