"""The supervisors' pages: GET /reports (reports, charts, exports, print) and GET /dashboard (live).

Both ask for a login (an admin or supervisor account: ``queuekiosk user add NAME --role supervisor``)
and then work through /api/v1/reports/... and the Socket.IO ``dashboard`` room with the session
cookie. A clerk who logs in is told the page is not for them. The scripts are
server/web/static/reports.js and dashboard.js; the charts are drawn by Chart.js, served from
server/web/static/vendor/ (no internet needed). docs/reports.md describes both pages.

GET /favicon.ico is here too: the icon that every browser asks for on every page.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

from ..core.auth import successor_of
from ..core.i18n import install_jinja, messages_for

bp = Blueprint("supervisor", __name__)
bp.record_once(lambda setup: install_jinja(setup.app))


def site_retirement() -> dict | None:
    """The page's site's retirement (SiteRuntime.retirement): what the staff pages' banner says."""
    return current_app.extensions["queuekiosk"].site.retirement


bp.record_once(lambda setup: setup.app.jinja_env.globals.setdefault("site_retirement", site_retirement))

PAGE_MESSAGES = ("page_", "sup_", "report_", "period_", "dash_", "printer_state_", "admin_role_")  # (the who line)


def _page_data() -> dict:
    from ..core.reports import GROUPS  # the report code loads with the first report page, not at start

    config = current_app.extensions["queuekiosk"].site.config
    return {
        "timezone": config.site.timezone,
        "services": {
            s.code: {"vi": s.name.vi, "en": s.name.en, "target": s.target_wait_minutes} for s in config.services
        },
        "groups": list(GROUPS),
        "has_procedures": any(s.procedures for s in config.services),  # the table by procedure is offered
        "place": config.site.place,  # the printed form's place and date line
    }


def _history_sites() -> list[dict]:
    """The retired sites whose citizens are sent to the page's site (auth.successor_of): its admins and
    supervisors read their reports (docs/admin.md), so the page links to them."""
    state = current_app.extensions["queuekiosk"]
    here = state.site.id
    return [
        {"id": site.id, "name": site.config.site.name} for site in state.sites.values() if successor_of(site) == here
    ]


@bp.get("/reports")
def reports_page():
    from ..core.reports import GROUPS

    config = current_app.extensions["queuekiosk"].site.config
    return render_template(
        "supervisor/reports.html",
        site=config.site,
        page=_page_data(),
        groups=GROUPS,
        history_sites=_history_sites(),
        messages=messages_for(*PAGE_MESSAGES),
    )


@bp.get("/dashboard")
def dashboard_page():
    config = current_app.extensions["queuekiosk"].site.config
    return render_template(
        "supervisor/dashboard.html", site=config.site, page=_page_data(), messages=messages_for(*PAGE_MESSAGES)
    )


@bp.get("/favicon.ico")
def favicon():
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )
