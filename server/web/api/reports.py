"""Reports and the live overview for supervisors: /api/v1/reports/...

Every route needs an admin or supervisor (a bearer token, or a logged-in session); a clerk, a
counter device or anyone else is refused (403 ``forbidden_role``, 401 without a login).

    GET /api/v1/reports/summary?period=2026-Q4&group_by=service[&basis=nd09][&format=csv|csv-vn|xlsx|pdf][&lang=en]
    GET /api/v1/reports/summary?from=2026-11-20T22:00&to=2026-11-21T02:00&group_by=hour
    GET /api/v1/reports/peak-hours?period=2026-11
    GET /api/v1/reports/daily?date=2026-11-20
    GET /api/v1/reports/periods          the usual periods around today, for a picker
    GET /api/v1/reports/live             the dashboard's overview, printers and alerts now
    GET /api/v1/reports/sites?from=2025-01-01&to=2025-12-31   every site side by side (province,
                                         installation admin); or ?period=2025-Q4; [&format=csv|csv-vn|xlsx|pdf]

Without ``period`` or ``from``/``to`` a report covers today. docs/reports.md explains every figure.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, jsonify, request

from ...core import bookings as bk
from ...core import engine as q
from ...core import periods
from ...core.auth import require_role
from ...core.i18n import Phrase, pick_language
from .. import printing
from . import current_principal, signed_in, state

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")

# csv-vn: the Vietnamese Excel form (";" and decimal comma); pdf: the official report form
FORMATS = ("json", "csv", "csv-vn", "xlsx", "pdf")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _supervisor():
    return require_role(current_principal(), "admin", "supervisor")


def _language() -> str:
    return pick_language(request.headers.get("Accept-Language"))


def _invalid(field: str, key: str, **params):
    return q.Invalid("invalid_field", field=field, problem=Phrase(key, **params))  # said in each answer's language


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = request.args.get(name, default)
    if value not in allowed:
        raise _invalid(name, "report_one_of", known=", ".join(allowed))
    return value


def json_only() -> None:
    """A report with no file form yet: a ``format`` asked for is refused naming it, not answered as JSON."""
    _choice("format", ("json",), "json")


def _period(site) -> periods.Period:
    args = request.args
    zone = site.config.site.zone
    if "date" in args and not ISO_DATE.fullmatch(args["date"]):  # as the OpenAPI document says: format date
        raise _invalid("date", "period_bad_date", value=args["date"])
    if "basis" in args:  # refused as the OpenAPI document says, also where the period does not use it
        _choice("basis", periods.BASES, "calendar")
    try:
        if args.get("date"):
            return periods.named_period(args["date"], zone)
        return periods.resolve(
            zone,
            args.get("period"),
            args.get("from"),
            args.get("to"),
            args.get("basis"),
            today=q.business_day(site, q.utcnow()),
        )
    except periods.PeriodError as error:
        raise q.Invalid("invalid_field", field=error.field, problem=error.problem()) from None


def requested_days(site) -> periods.Period:
    """The whole business days ``from``..``to`` (dates) of the request, for the reports kept by day
    (bookings, procedures); a bad date is a 422 naming its field."""
    try:
        return periods.range_period(request.args.get("from") or "", request.args.get("to") or "", site.config.site.zone)
    except periods.PeriodError as error:
        raise q.Invalid("invalid_field", field=error.field, problem=error.problem()) from None


def _answer(report: dict, period: periods.Period | None = None, site=None):
    """The report as JSON or as a file; a file of a summary (``period`` given) holds the bookings too.
    A PDF's place and date line names ``site``'s place (the request's site by default)."""
    # the report code (core/reports, exports) loads at the first report asked, not at every start:
    # a server that nobody asks for a report never holds it (issue 21, idle memory)
    from ...core import exports
    from .. import report_files

    fmt = _choice("format", FORMATS, "json")
    language = _choice("lang", ("vi", "en"), "vi")  # checked for JSON too: the document allows only these
    if fmt == "json":
        return jsonify(report)
    if period is not None:
        report = _with_bookings(report, period)
    # made off the loop (web/report_files.py): the figures were read above, the file is made from them alone
    body = report_files.made(report, fmt, language, (site or state().site).config.site.place)
    mimetype = exports.FILE_TYPES[fmt]  # Flask adds "; charset=utf-8" once to text/csv
    name = exports.filename(report, fmt)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _with_bookings(report: dict, period: periods.Period) -> dict:
    """The period's bookings per service (core/bookings.booking_figures), for the files."""
    from ...core import exports

    site = state().site
    figures = _read(lambda db, s: bk.booking_figures(db, s, period.first_day, period.last_day))
    services = [(s.code, s.name.vi, s.name.en) for s in site.config.services]
    return exports.with_bookings(report, figures, services)


def _read(action, *args):
    app_state = state()
    with app_state.Session() as db:
        return action(db, app_state.site, *args)


@bp.get("/summary")
def summary():
    from ...core import reports

    _supervisor()
    site = state().site
    group_by = _choice("group_by", reports.GROUPS, "service")
    period = _period(site)
    return _answer(_read(reports.summary, period, group_by), period)


@bp.get("/peak-hours")
def peak_hours():
    from ...core import reports

    _supervisor()
    _choice("group_by", reports.GROUPS, "service")  # the document shares the summary's parameters: checked alike
    return _answer(_read(reports.peak_hours, _period(state().site)))


@bp.get("/daily")
def daily():
    from ...core import reports

    _supervisor()
    return _answer(_read(reports.daily_summary, _period(state().site)))


@bp.get("/periods")
def period_choices():
    _supervisor()
    site = state().site
    basis = _choice("basis", periods.BASES, "calendar")
    today = q.business_day(site, q.utcnow())
    return jsonify(
        {"today": today.isoformat(), "basis": basis, "periods": periods.choices(site.config.site.zone, today, basis)}
    )


@bp.get("/live")
def live():
    from ...core import reports

    _supervisor()
    app_state = state()
    with app_state.Session() as db:
        return jsonify(reports.live_view(db, app_state.site, printing.printers_view(app_state, db)))


@bp.get("/sites")
def sites_compared():
    """Every site side by side over whole business days (each site's own): the province's view."""
    from ...core.reports import sites as reports_sites
    from ...core.reports.clock import iso

    # the role first: a counter's or kiosk's token is refused for what it is, wherever its site is
    require_role(signed_in(), "admin", "province")
    principal = require_role(current_principal(), "admin", "province")
    if principal.role == "admin" and principal.site_id is not None:
        raise q.NotAllowed("sites_compare_installation_only")
    fmt = _choice("format", FORMATS, "json")  # refused before the figures are counted
    _choice("lang", ("vi", "en"), "vi")
    app_state = state()
    # the installation's own site (the plain addresses'; never retired): its days, its place and date
    # head the files, whichever site's address asked
    site = app_state.sites[app_state.first_site_id]
    for name in ("from", "to"):  # whole business days: each site's own
        if "T" in request.args.get(name, ""):
            raise _invalid(name, "report_sites_whole_days")
        if name in request.args and not ISO_DATE.fullmatch(request.args[name]):  # as the document says: format date
            raise _invalid(name, "period_bad_date", value=request.args[name])
    period = _period(site)
    with app_state.Session() as db:
        report = reports_sites.compare_sites(db, period.first_day, period.last_day)
        db.commit()  # the days it counted that are over are kept for the next look
    if fmt != "json":  # a file: the period said in full and when it was made, as a summary's
        return _answer({**report, "period": period.view(), "generated_at": iso(q.utcnow())}, site=site)
    return jsonify({**report, "period": {"key": period.key, "label": period.label_vi, "label_en": period.label_en}})
