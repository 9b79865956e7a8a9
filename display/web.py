"""The lobby display page: calls per counter, the latest calls, the queues, clock, ticker, slides, voice.

GET /display/<display_id>            the page, for a 1920x1080 TV or a portrait screen (config
                                     ``layout``, default: the screen's shape); no scrolling
GET /display/<display_id>/slides/<n> the n-th file of the display's ``slides`` (config.yaml)
GET /display/assets/...              display.js and display.css

Live through Socket.IO only: ``subscribe {"display": id}`` on every (re)connect, then events;
each ``ticket.called``/``ticket.recalled`` brings ``announcement.audio_url``, which the page
plays one after another (docs/display-and-voice.md).
"""

from __future__ import annotations

import math
from pathlib import Path

from flask import Blueprint, current_app, render_template, send_file

from ..server.config import SLIDE_TYPES
from ..server.engine import QueueError
from ..server.i18n import install_jinja, messages_for

bp = Blueprint("display", __name__, url_prefix="/display", template_folder="templates",
               static_folder="static", static_url_path="/assets")
bp.record_once(lambda setup: install_jinja(setup.app))

HISTORY_SIZE = 8  # latest calls shown (fewer when the screen has no room for them)
HIGHLIGHT_SECONDS = 6  # a new call blinks, and is shown big, this long
AUDIO_QUEUE_MAX = 12  # calls waiting to be spoken; older ones are dropped past this


def _state():
    return current_app.extensions["queuekiosk"]


def _config():
    return _state().site.config


def _columns(count: int, per_column: int) -> int:
    return max(1, math.ceil(count / per_column))


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
    slides = [{"url": f"/display/{display.id}/slides/{index}", "kind": SLIDE_TYPES[Path(path).suffix.lower()]}
              for index, path in enumerate(display.slides)]
    data = {
        "display": display.id,
        "config": display.model_dump(mode="json"),  # a different one in a snapshot: the page reloads
        "timezone": config.site.timezone,
        "counters": [c.number for c in counters],
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in services},
        "history_size": HISTORY_SIZE,
        "highlight_seconds": HIGHLIGHT_SECONDS,
        "audio_queue_max": AUDIO_QUEUE_MAX,
        "layout": display.layout,
        "slides": slides,
        "slide_seconds": display.slide_seconds,
    }
    grid = {}
    for layout, per_column in (("landscape", 6), ("portrait", 8)):  # counter rows per column
        columns = _columns(len(counters), per_column)
        grid[layout] = (columns, max(1, math.ceil(len(counters) / columns)))
    return render_template("display/page.html", site=config.site, display=display, counters=counters,
                           services=services, page=data, grid=grid, slides=slides,
                           messages=messages_for("page_", "display_"))


@bp.get("/<display_id>/slides/<int:index>")
def slide(display_id: str, index: int):
    display = _config().display(display_id)
    if display is None or not 0 <= index < len(display.slides):
        raise QueueError("not_found", 404, path=f"/display/{display_id}/slides/{index}")
    path = (_state().config_dir / display.slides[index]).resolve()
    if not path.is_file():  # checked at start-up; removed since
        raise QueueError("not_found", 404, path=str(display.slides[index]))
    return send_file(path, conditional=True, max_age=300)
