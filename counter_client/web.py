"""The clerk console: log in, then call, recall, start, finish, no-show, transfer, call a number, pause.

GET /counter (``?counter=N`` fills in the counter number). The page logs in through
POST /api/v1/auth/login; the session cookie then authorises the API calls (each with the
session's CSRF token in ``X-CSRFToken``) and the Socket.IO connection (made after login, so
the server knows the clerk at connect). Its script (console.js and the parts the template loads
before it, console_*.js) and style (console.css) are in counter_client/static/, served under
/counter/assets/. docs/counter.md describes the page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server.core.i18n import install_jinja, messages_for

bp = Blueprint(
    "counter_console",
    __name__,
    url_prefix="/counter",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp.record_once(lambda setup: install_jinja(setup.app))

# keyboard shortcuts (KeyboardEvent.code, so that a Vietnamese input method does not change them);
# Vietnamese mnemonics: Gọi tiếp, gọi Lại, Bắt đầu, Kết thúc, Vắng mặt, Chuyển, gọi Số, Tạm dừng/Tiếp tục
SHORTCUTS = {
    "next": "G",
    "recall": "L",
    "start": "B",
    "finish": "K",
    "no-show": "V",
    "transfer": "C",
    "call-number": "S",
    "pause": "T",
}
PAUSE_REASONS = ("console_reason_break", "console_reason_meeting", "console_reason_other_work")


@bp.get("")
def page():
    config = current_app.extensions["queuekiosk"].site.config
    data = {
        "timezone": config.site.timezone,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in config.services},
        "service_order": [s.code for s in config.services],
        "priorities": {p.code: {"vi": p.name.vi, "en": p.name.en} for p in config.priorities},
        # what the clerk picks with the dossier code (server/core/dossiers.py)
        "procedures": {
            s.code: [{"code": p.code, "vi": p.name.vi, "en": p.name.en} for p in s.procedures] for s in config.services
        },
        "counters": {c.number: c.label for c in config.counters},
        "shortcuts": SHORTCUTS,
        "pause_reasons": list(PAUSE_REASONS),
        "refresh_ms": 150,  # an event in the counter's room asks for a fresh snapshot this much later
    }
    return render_template(
        "counter_console/page.html",
        site=config.site,
        page=data,
        shortcuts=SHORTCUTS,
        messages=messages_for("page_", "console_", "database_"),
    )
