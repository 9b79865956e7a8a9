"""The start page at GET /: links to every kiosk, display and counter of the configured centre.

It belongs to no single part (kiosk/, display/, counter_client/), so it lives beside them in
the top-level package; each part's own page lives in that part's ``web.py``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .server.core.i18n import install_jinja

bp = Blueprint("home", __name__, template_folder="templates")
bp.record_once(lambda setup: install_jinja(setup.app))


@bp.get("/")
def index():
    config = current_app.extensions["queuekiosk"].site.config
    return render_template(
        "home/index.html", site=config.site, kiosks=config.kiosks, displays=config.displays, counters=config.counters
    )
