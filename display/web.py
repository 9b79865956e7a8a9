"""The lobby display page: the number each counter serves, the latest calls, the queues, a clock.

GET /display/<display_id>, made for a 1920x1080 TV (it scales with the screen height). Live
through Socket.IO only: ``subscribe {"display": id}`` on every (re)connect, then events.
Its script is display/static/display.js, served at /display/assets/display.js. Voice comes
with the voice issue.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server.i18n import install_jinja, messages_for

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/assets")
bp.record_once(lambda setup: install_jinja(setup.app))

HISTORY_SIZE = 8  # latest calls shown
HIGHLIGHT_SECONDS = 6  # a new call blinks this long


def _config():
    return current_app.extensions["queuekiosk"].site.config


@bp.get("/<display_id>")
def page(display_id: str):
    config = _config()
    display = config.display(display_id)
    if display is None:
        return render_template("errors/page.html", site=config.site, title_key="page_not_found",
                               message_key="unknown_display", params={"display": display_id}), 404
    counters = [config.counter(number) for number in config.display_counters(display)]
    served = {code for counter in counters for code in config.counter_services(counter)}
    services = [s for s in config.services if s.code in served]
    data = {
        "display": display.id,
        "timezone": config.site.timezone,
        "counters": [c.number for c in counters],
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in services},
        "history_size": HISTORY_SIZE,
        "highlight_seconds": HIGHLIGHT_SECONDS,
    }
    return render_template("display/page.html", site=config.site, display=display, counters=counters,
                           services=services, page=data, messages=messages_for("page_", "display_"))
