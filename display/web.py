"""The lobby display page: calls per counter, the latest calls, the queues, clock, ticker, slides, voice.

GET /display/<display_id>            the page, for a 1920x1080 TV or a portrait screen (config
                                     ``layout``, default: the screen's shape); no scrolling; the
                                     page draws itself from ``display_page_data``
GET /display/<display_id>/slides/<n> the n-th file of the display's ``slides`` (config.yaml)
GET /display/assets/...              display.js and display.css

Live through Socket.IO only: ``subscribe {"display": id}`` on every (re)connect, then events;
each ``ticket.called``/``ticket.recalled`` is spoken by the page's player, shorter when calls
pile up (docs/display-and-voice.md). On ``config.changed`` it subscribes again
and redraws from the snapshot's ``page``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from flask import Blueprint, current_app, render_template, send_file

from ..server.core.config import SLIDE_TYPES
from ..server.core.errors import NotFound
from ..server.core.i18n import install_jinja, messages_for
from ..server.web.errors import not_found_page

bp = Blueprint(
    "display",
    __name__,
    url_prefix="/display",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp.record_once(lambda setup: install_jinja(setup.app))

HISTORY_SIZE = 8  # latest calls shown (fewer when the screen has no room for them)
HIGHLIGHT_SECONDS = 6  # a new call blinks, and is shown big, this long
AUDIO_QUEUE_MAX = 12  # calls waiting to be spoken; older ones are dropped past this
LANGUAGE_SECONDS = {"vi": 10, "en": 5}  # the screen speaks one language at a time, in turn
WAITING_PAGE_SECONDS = 6  # services that do not fit at once are shown a page at a time

# Type size from viewing distance (docs/display-and-voice.md): a character must be at least
# distance / 200 high to be read, i.e. 40 mm from 8 m. A 55" 16:9 screen's short side is
# 685 mm, so the key text is 40 / 685 = 5.84 % of it (63 px on a 1080-line screen), in
# either orientation. A character's height is taken as the font size (the em): Vietnamese
# capitals with their stacked marks ("Ấ", "Ỗ") fill nearly all of it, and the marks must read.
VIEWING_DISTANCE_MM = 8000
SCREEN_DIAGONAL_MM = 55 * 25.4
DISTANCE_PER_CHARACTER_HEIGHT = 200


def key_text_vmin(distance_mm: float = VIEWING_DISTANCE_MM, diagonal_mm: float = SCREEN_DIAGONAL_MM) -> float:
    """The smallest type for text read from the seats, in % of the screen's short side (16:9)."""
    short_side_mm = diagonal_mm * 9 / math.hypot(16, 9)
    return round(100 * distance_mm / DISTANCE_PER_CHARACTER_HEIGHT / short_side_mm, 2)


def row_name(counter) -> str:
    """A counter's name without a leading "Quầy 2 - ": its row's badge already shows the number,
    and the room goes to the words that are left, in large type."""
    rest = re.sub(rf"^\s*quầy\s*(số\s*)?{counter.number}(?!\d)\s*[-–—:.,]?\s*", "", counter.label, flags=re.IGNORECASE)
    return rest or counter.label


def _state():
    return current_app.extensions["queuekiosk"]


def _config():
    return _state().site.config


def display_page_data(config, display_id: str) -> dict | None:
    """What the display page draws from: its counters, services, ticker, slides and timings.

    Embedded in the page, and sent again in every ``state`` snapshot (server/web/realtime.py), so an
    open screen redraws a changed setup without a reload."""
    display = config.display(display_id)
    if display is None:
        return None
    counters = [config.counter(number) for number in config.display_counters(display)]
    counters = [c for c in counters if c is not None]
    served = {code for counter in counters for code in config.counter_services(counter)}
    return {
        "display": display.id,
        "name": display.name,
        "name_en": display.name_en,  # shown instead while the screen is in English (else the name stays)
        "mode": display.mode,  # lobby | zone (its counters) | counter (one counter's number and the next ones)
        "site_name": config.site.name,
        "timezone": config.site.timezone,
        "languages": list(config.site.languages),
        "counters": [{"number": c.number, "label": c.label, "name": row_name(c)} for c in counters],
        "services": [{"code": s.code, "vi": s.name.vi, "en": s.name.en} for s in config.services if s.code in served],
        "history_size": HISTORY_SIZE,
        "highlight_seconds": HIGHLIGHT_SECONDS,
        "audio_queue_max": AUDIO_QUEUE_MAX,
        "voice": {"chime": display.voice.chime, "repeat": display.voice.repeat},  # for the player's rule
        "language_seconds": LANGUAGE_SECONDS,
        "waiting_page_seconds": WAITING_PAGE_SECONDS,
        "key_text_vmin": key_text_vmin(),
        "layout": display.layout,
        "ticker": display.ticker,
        "ticker_en": display.ticker_en,
        "slides": [
            {"url": f"/display/{display.id}/slides/{index}", "kind": SLIDE_TYPES[Path(path).suffix.lower()]}
            for index, path in enumerate(display.slides)
        ],
        "slide_seconds": display.slide_seconds,
    }


@bp.get("/<display_id>")
def page(display_id: str):
    config = _config()
    data = display_page_data(config, display_id)
    if data is None:
        return not_found_page(config.site, "unknown_display", display=display_id)
    return render_template("display/page.html", site=config.site, page=data, messages=messages_for("page_", "display_"))


@bp.get("/<display_id>/slides/<int:index>")
def slide(display_id: str, index: int):
    display = _config().display(display_id)
    if display is None or not 0 <= index < len(display.slides):
        raise NotFound("not_found", path=f"/display/{display_id}/slides/{index}")
    path = (_state().config_dir / display.slides[index]).resolve()
    if not path.is_file():  # checked at start-up; removed since
        raise NotFound("not_found", path=str(display.slides[index]))
    return send_file(path, conditional=True, max_age=300)
