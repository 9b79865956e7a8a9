"""Every page extends the one base template, so that its <head> (charset, viewport, local CSS,
language) is written once: server/web/templates/base.html."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_FOLDERS = [
    "server/web/templates",
    "kiosk/templates",
    "display/templates",
    "counter_client/templates",
    "queuekiosk/templates",
]
BASE = REPO / "server/web/templates/base.html"


def pages() -> list[Path]:
    """Every template but the base and the partials (``_name.html``, included by a page)."""
    return [
        path
        for folder in TEMPLATE_FOLDERS
        for path in sorted((REPO / folder).rglob("*.html"))
        if path != BASE and not path.name.startswith("_")
    ]


def test_every_page_extends_the_base_and_writes_no_head_of_its_own():
    assert len(pages()) >= 10
    for path in pages():
        text = path.read_text(encoding="utf-8")
        assert text.startswith('{% extends "base.html" %}'), path
        for tag in ("<html", "<head>", "<meta charset", "</body>", 'id="qk-messages"', 'id="qk-page"'):
            assert tag not in text, f"{path.relative_to(REPO)} writes {tag} itself"


def test_the_base_head_is_vietnamese_first_and_local():
    text = BASE.read_text(encoding="utf-8")
    assert '<html lang="vi">' in text and '<meta charset="utf-8">' in text
    assert "url_for('static', filename='queuekiosk.css')" in text and "http" not in text
    assert 'id="qk-messages"' in text and 'id="qk-page"' in text  # a page's texts and data, for queuekiosk.js
