"""The clerk console: log in, then call, recall, start, finish, mark absent, pause and resume.

GET /counter (``?counter=N`` fills in the counter number). The page logs in through
POST /api/v1/auth/login; the session cookie then authorises the API calls and the Socket.IO
connection (made after login, so the server knows the clerk at connect). Its script is
counter_client/static/counter.js, served at /counter/assets/counter.js.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server.i18n import install_jinja, messages_for

bp = Blueprint("counter_console", __name__, url_prefix="/counter", template_folder="templates",
               static_folder="static", static_url_path="/assets")
bp.record_once(lambda setup: install_jinja(setup.app))


@bp.get("")
def page():
    config = current_app.extensions["queuekiosk"].site.config
    data = {
        "timezone": config.site.timezone,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in config.services},
        "priorities": {p.code: {"vi": p.name.vi, "en": p.name.en} for p in config.priorities},
        "counters": {c.number: c.label for c in config.counters},
    }
    return render_template("counter_console/page.html", site=config.site, page=data,
                           messages=messages_for("page_", "console_"))
