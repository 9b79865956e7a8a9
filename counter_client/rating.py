"""The citizen rating tablet of a counter: GET /rating/<counter>.

A tablet at the counter faces the citizen. It connects to Socket.IO with a ``rating`` token of
that counter (kept in the tablet's localStorage; first given as ``/rating/N#token=qk_…``, the
fragment never reaches the server), subscribes to ``{"rating": N}``, and after each finish at
the counter (``rating.ask``) asks Rất hài lòng / Hài lòng / Không hài lòng, then the optional
reasons of config.yaml ``rating.reasons``, and posts ``/api/v1/tickets/<id>/rating``. It goes
back to its idle screen after ``rating.ask_seconds`` without a tap, or after the thanks.
Its script and style: counter_client/static/rating.js and rating.css. docs/counter.md.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server.core.i18n import install_jinja, messages_for
from ..server.web.errors import not_found_page

bp = Blueprint(
    "rating_tablet",
    __name__,
    url_prefix="/rating",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp.record_once(lambda setup: install_jinja(setup.app))


@bp.get("/<int:counter>")
def page(counter: int):
    config = current_app.extensions["queuekiosk"].site.config
    counter_cfg = config.counter(counter)
    if counter_cfg is None:
        return not_found_page(config.site, "unknown_counter", counter=counter)
    settings = config.rating
    data = {
        "counter": counter,
        "counter_name": counter_cfg.label,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in config.services},
        "reasons": [{"code": r.code, "vi": r.name.vi, "en": r.name.en} for r in settings.reasons],
        "ask_seconds": settings.ask_seconds,
        "thanks_seconds": settings.thanks_seconds,
        "timezone": config.site.timezone,
    }
    return render_template(
        "rating_tablet/page.html",
        site=config.site,
        counter=counter_cfg,
        page=data,
        messages=messages_for("page_", "rating_"),
    )
