"""Sites as data: the centres one installation serves (a province and its commune centres).

Flask-free. A site is a row of ``sites`` and its own saved setup (``site_setups``): services,
counters, numbering, hours and time zone, devices. A new site's setup starts as a copy of an
existing site's (its services, counters, priorities, displays, kiosks and policy), without what
belongs to that site's premises or accounts: its printers (devices on its LAN) and its
notification channels (their keys). It is then edited in /admin like any site's setup.

The web layer (server/web/api/admin.py) and the command line call these inside one transaction,
then make the running processes serve the new site.
"""

from __future__ import annotations

import copy
import logging
import re
from types import SimpleNamespace
from typing import TYPE_CHECKING, NamedTuple

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import audit
from . import models as m
from .auth import role_name
from .db import SiteRuntime, save_setup, stored_setup
from .engine import Actor, Outcome, close_counter, counter_states
from .errors import Invalid, NotFound, QueueError
from .i18n import LANGUAGES, Localized, Phrase

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# a site's id is part of its addresses (/s/{id}/..., /api/v1/sites/{id}/...): lower case, digits and
# dashes, as a person types it on a phone
SITE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# no path of the installation's collides with a site's (only /s/{id}/... and /api/v1/sites/{id}/...
# hold one); `queuekiosk site compare` ends with a row named "total"
RESERVED_IDS = frozenset({"total"})
EDITABLE = ("name", "sms_name", "timezone", "hours", "address", "retired", "moved_to")


class Successor(NamedTuple):
    """The serving site a retired site's citizens go to now (``link_successors``: SiteRuntime.successor)."""

    id: str
    name: str
    address: str | None
    sms_name: str | None  # what an SMS names it by, where it has a short name for SMS (its site.sms_name)


class SiteExists(QueueError):
    """A site with that id is there already (a conflict: 409, naming the field)."""


class SiteKept(QueueError):
    """A site that may not be removed (409): the first, one that served citizens, one named by
    another's ``moved_to``, one whose accounts or device tokens still work."""


def site_row_view(row: m.Site, setup: m.SiteSetup | None) -> dict:
    site = (setup.document or {}).get("site", {}) if setup is not None else {}
    return {
        "id": row.id,
        "name": row.name,
        "timezone": row.timezone,
        "hours": site.get("hours"),
        "address": site.get("address"),
        "sms_name": site.get("sms_name"),  # what its SMS begin with instead of its name (None: the name)
        "version": setup.version if setup is not None else None,
        "retired": bool(site.get("retired")),
        "moved_to": site.get("moved_to"),
    }


def list_sites(session: Session) -> list[dict]:
    """Every site, in the order of their ids; ``first``: the one the plain addresses serve (never retired)."""
    setups = {s.site_id: s for s in session.scalars(select(m.SiteSetup))}
    first = stored_setup(session).site_id
    return [
        {**site_row_view(row, setups.get(row.id)), "first": row.id == first}
        for row in session.scalars(select(m.Site).order_by(m.Site.id))
    ]


def seed_document(template: dict, site: dict) -> dict:
    """A new site's setup: ``template`` (another site's saved setup) with ``site`` as its site,
    without the template's printers (devices on its premises) and notification channels."""
    document = copy.deepcopy(template)
    document["site"] = site
    document.pop("printers", None)
    document.pop("notifications", None)
    for kiosk in document.get("kiosks", []):
        kiosk.pop("printer", None)
    return document


def create_site(
    session: Session,
    site_id: str,
    name: str,
    timezone: str | None = None,
    hours: dict | None = None,
    *,
    template: str | None = None,
    actor: Actor | None = None,
    config_dir=None,
) -> SiteRuntime:
    """Add a site; its setup is a copy of site ``template``'s (by default the first site's), with
    its own name, time zone and hours (the template's when not given). Its numbering and business
    day start empty. Refuses a malformed or taken id (``Invalid`` / ``SiteExists``, naming ``id``)."""
    # every refused field at once, as /admin's other saves: the id's own rules with the setup's checks
    named = []
    if not isinstance(site_id, str) or not SITE_ID.match(site_id):
        named.append({"field": "id", "problem": Phrase("problem_site_id")})
    elif site_id in RESERVED_IDS:
        named.append({"field": "id", "problem": Phrase("problem_site_id_reserved", id=site_id)})
    elif session.get(m.Site, site_id) is not None:
        raise SiteExists("site_exists", field="id", site=site_id)
    source = stored_setup(session, template)
    if source is None:
        raise NotFound("site_unknown", site=template or "")
    base = source.document["site"]
    site: dict = {key: base[key] for key in ("languages", "timezone") if key in base}
    site.update({"id": site_id, "name": name})
    if timezone is not None:
        site["timezone"] = timezone
    # what of the hours is not given is the template's (its days and holidays, say)
    site["hours"] = {**base["hours"], **hours} if isinstance(hours, dict) else base["hours"] if hours is None else hours
    document = seed_document(source.document, site)
    # lengths as any change's: the new site's own texts are new, the copied services and counters are not
    stored = {**source.document, "site": {}}
    from .setup_changes import _validate  # (not at the top: adding a site's, not an idle server's)

    try:
        config = _validate(document, config_dir, "site", stored)
    except Invalid as refused:
        found = [{"field": refused.params["field"], "problem": refused.params["problem"]}]
        found += refused.params.get("others", [])
        named += [problem for problem in found if not (named and problem["field"] == "id")]
    if named:
        raise Invalid("invalid_field", **named[0], others=named[1:])
    runtime = save_setup(session, config, first_version=_removed_version(session, site_id, forget=True) + 1)
    audit.record(
        session, runtime, "site_added", actor, site_id=site_id, name=config.site.name, copied_from=source.site_id
    )
    return runtime


def change_site_fields(
    session: Session,
    site_id: str,
    patch: dict,
    *,
    actor: Actor | None = None,
    config_dir=None,
    by: str | None = None,
    confirm: bool = False,
):
    """Change a site's name (and its short name for SMS), time zone or hours, or retire or reopen it (the
    keys of ``EDITABLE``): saved as a new version of its setup, so every process takes it up as it takes up
    any change of the setup. ``{"retired": true, "moved_to": "other-site"}`` retires it (setup_changes'
    ``_check_retirement`` says when it may); ``{"retired": false}`` reopens it. ``confirm``: saved even
    though the new hours cancel bookings (setup_changes ``_check_stranded``). The setup_changes.Change."""
    from .setup_changes import Change, change_site

    row = stored_setup(session, site_id)
    if row is None or row.site_id != site_id:
        raise NotFound("site_unknown", site=site_id)
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise Invalid(
            "invalid_field", field=unknown[0], problem=Phrase("problem_site_fields", fields=", ".join(EDITABLE))
        )
    from .config import parse_stored
    from .db import runtime_of

    runtime = runtime_of(session, parse_stored(row.document, config_dir), row.version)
    saved = runtime.config.site
    if patch.get("retired") is False and "moved_to" not in patch:
        patch = {**patch, "moved_to": None}  # reopened: it sends nobody elsewhere
    if all(getattr(saved, key) == value for key, value in patch.items()):
        return Change(runtime, None, None)  # nothing to change (retired again, say): no new version to redraw
    was_retired = saved.retired
    change = change_site(session, runtime, patch, actor=actor, config_dir=config_dir, lifecycle=True, confirm=confirm)
    changed = change.runtime
    now_retired = changed.config.site.retired
    if now_retired != was_retired:
        kind = "site_retired" if now_retired else "site_reopened"
        who = {"by": by} if by else {}  # where there is no actor: "command line"
        audit.record(session, changed, kind, actor, site_id=site_id, moved_to=changed.config.site.moved_to, **who)
    return change


def site_view(session: Session, site_id: str) -> dict:
    row = session.get(m.Site, site_id)
    if row is None:
        raise NotFound("site_unknown", site=site_id)
    return site_row_view(row, session.get(m.SiteSetup, site_id))


def serving_site(site_id: str, moves: dict[str, tuple[bool, str | None]]) -> str | None:
    """Where a retired site's citizens go: its ``moved_to``, followed past sites retired since (a commune
    merged into one merged again later) to one that serves; None where the chain names none or turns
    round (a cycle of two retirements). ``moves``: each site's (retired, moved_to)."""
    seen, moved_to = {site_id}, moves[site_id][1]
    while moved_to in moves and moved_to not in seen:
        seen.add(moved_to)
        retired, onward = moves[moved_to]
        if not retired:
            return moved_to
        moved_to = onward
    return None


def _shown(successor: Successor | None) -> tuple | None:
    """What a retired site's pages say of its successor: its id, name and address (not its SMS name)."""
    return successor[:3] if successor else None


def link_successors(runtimes: dict[str, SiteRuntime]) -> list[str]:
    """Set each retired site's ``successor`` (a Successor: id, name, address, SMS name): the site that
    serves its citizens (``serving_site``), None where it names none. The ids of the retired sites whose
    successor changed as their pages show it (they are told: its SMS name alone is in no page)."""
    moves = {site.id: (site.config.site.retired, site.config.site.moved_to) for site in runtimes.values()}
    changed = []
    for site in runtimes.values():
        then = None
        if site.config.site.retired:
            serving = serving_site(site.id, moves)
            if serving is not None:
                there = runtimes[serving].config.site
                then = Successor(there.id, there.name, there.address, there.sms_name)
        if then != site.successor:
            if _shown(then) != _shown(site.successor):
                changed.append(site.id)
            site.successor = then
    return changed


def wind_up(conn, site: SiteRuntime, now=None, actor: Actor | None = None) -> Outcome:
    """What a retired site still holds ends: its bookings from today on are cancelled, as their holders
    would, and its open counters close (no clerk or device of it may close them any more). Run at its
    retirement and by each process's lapse loop (a booking taken in the second before every process
    knew it retired, say); nothing at a serving site."""
    if not site.config.site.retired:
        return Outcome(None, [])
    from .bookings import cancel_from_today

    happened = list(cancel_from_today(conn, site, now, actor).happened)
    for counter in counter_states(conn, site):
        if counter["state"] != "closed" and counter.get("ticket") is None:  # (one held: left to the day's end)
            happened += close_counter(conn, site, counter["number"], actor, now).happened
    return Outcome(None, happened)


def remove_site(session: Session, site_id: str, *, actor: Actor | None = None, by: str | None = None) -> None:
    """Remove a site added by mistake, with everything that was made for it: its setup, services,
    counters and priorities, its disabled users and revoked tokens, its webhooks, test prints and
    audit log. Only a site that never served anybody: refused (``SiteKept``, 409, saying why) for the
    first site, one with numbers or bookings (retire it instead: its history stays in the reports),
    one whose accounts or device tokens acted at another site (that site's history: retire it too),
    one another retired site sends its citizens to, and one whose accounts or device tokens still
    work (named: disable and revoke them first, as they may be in use on a device). The removal is in
    the first site's audit log (the installation's /admin). Every process stops serving it within a
    second (server/web/live_setup.py)."""
    row = session.get(m.Site, site_id)
    if row is None:
        raise NotFound("site_unknown", site=site_id)
    first = stored_setup(session).site_id
    if site_id == first:
        raise SiteKept("site_remove_first", site=row.name)
    E = m.events.c
    _refuse_if_history(session, row)
    sending = sorted(
        setup.document["site"]["name"]
        for setup in session.scalars(select(m.SiteSetup))
        if setup.site_id != site_id and (setup.document.get("site") or {}).get("moved_to") == site_id
    )
    if sending:
        raise SiteKept("site_remove_moved_to", site=row.name, sites=", ".join(f"“{name}”" for name in sending))
    _refuse_if_working_accounts(session, row)
    top = session.scalar(select(func.max(E.id)))
    version = session.scalar(select(m.site_setups.c.version).where(m.site_setups.c.site_id == site_id))
    try:
        with session.begin_nested():
            _delete_site_rows(session, site_id)
            # kept past its rows: a site added again under its id starts after it (_removed_version)
            _removed_version(session, site_id, forget=True)
            session.execute(insert(m.installation).values(name=_removed_key(site_id), value=str(version or 0)))
    except IntegrityError as error:  # (PostgreSQL) a row of the site, or an act of its accounts elsewhere, since
        _refuse_if_history(session, row)  # the count: counted again, it is named as when it was there before
        _refuse_if_working_accounts(session, row)
        _log_what_was_in_the_way(site_id, error)
        raise SiteKept("site_remove_changed", site=row.name) from None  # (a webhook, a counter ...)
    removed = audit.record(
        session,
        SimpleNamespace(id=first),
        "site_removed",
        actor,
        site_id=site_id,
        name=row.name,
        **({"by": by} if by else {}),
    )
    if top is not None and removed < top:
        # SQLite gives the highest id of a table again once its row is deleted, and the events are read
        # since the newest id seen (a session's checks, auth._SessionChecks; a site's predictions): the
        # removal's own event keeps the top id, so that no later event gets an id already read past
        session.execute(update(m.events).where(E.id == removed).values(id=top))


def _removed_key(site_id: str) -> str:
    return f"removed_site_version.{site_id}"


def _removed_version(session: Session, site_id: str, forget: bool = False) -> int:
    """The setup version of a removed site of this id (0: none), ``forget`` to drop it. A process that
    has not heard of the removal yet (it polls every half second, live_setup.py) still serves that
    version, and takes a setup up only as a newer version: a site removed and added again within the
    half second starts past it, or that process would stay on the removed site's setup."""
    kept = m.installation.c.name == _removed_key(site_id)
    version = session.scalar(select(m.installation.c.value).where(kept))
    if version is not None and forget:
        session.execute(delete(m.installation).where(kept))
    return int(version or 0)


def _served(session: Session, site_id: str) -> tuple[int, int]:
    """How many numbers and bookings the site ever gave."""
    return tuple(session.scalar(select(func.count()).where(t.c.site_id == site_id)) for t in (m.tickets, m.bookings))


def _refuse_if_history(session: Session, row: m.Site) -> None:
    """``SiteKept`` if the site has history that stays: numbers or bookings it gave, or what its accounts
    or device tokens did at other sites (a sign-out at a retired site they read the reports of, say),
    which is those sites' history; the other sites named."""
    tickets, bookings = _served(session, row.id)
    if tickets or bookings:
        raise SiteKept("site_remove_served", site=row.name, tickets=tickets, bookings=bookings)
    E, U, K, S = m.events.c, m.users.c, m.api_tokens.c, m.sites.c
    users = select(U.id).where(U.site_id == row.id)
    tokens = select(K.id).where(K.site_id == row.id)
    acted = select(E.site_id).where(E.site_id != row.id, or_(E.user_id.in_(users), E.token_id.in_(tokens)))
    names = list(session.scalars(select(S.name).where(S.id.in_(acted)).order_by(S.name)))
    if names:
        sites = ", ".join(f"“{name}”" for name in names)
        raise SiteKept("site_remove_acted_elsewhere", site=row.name, count=len(names), sites=sites)


def _log_what_was_in_the_way(site_id: str, error: IntegrityError) -> None:
    """One line for IT naming the constraint and table that refused the removal: a race clears up when the
    admin tries again, a cause that stays (a table of the site's rows the removal misses) would not. Never
    the error's DETAIL, which quotes the row's values."""
    diag = getattr(error.orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or "?"
    table = getattr(diag, "table_name", None) or "?"
    log.warning(
        "the removal of site %s was refused by the database (constraint %s of table %s): something was added to"
        " it at that moment, or a table of its rows is not removed with it",
        site_id,
        constraint,
        table,
    )


def _refuse_if_working_accounts(session: Session, row: m.Site) -> None:
    """``SiteKept`` naming the site's users not disabled and device tokens not revoked, if any: a kiosk or
    console may still be using one."""
    U, K = m.users.c, m.api_tokens.c
    users = list(
        session.scalars(select(U.username).where(U.site_id == row.id, U.active.is_(True)).order_by(U.username))
    )
    tokens = list(
        session.execute(select(K.name, K.role).where(K.site_id == row.id, K.revoked_at.is_(None)).order_by(K.id))
    )
    if users or tokens:  # a device token named with its role as /admin names it ("kc (Ki-ốt)")
        working = {
            language: ", ".join([*users, *(f"{name} ({role_name(role).said(language)})" for name, role in tokens)])
            for language in LANGUAGES
        }
        raise SiteKept("site_remove_accounts", site=row.name, site_id=row.id, accounts=Localized(**working))


def _delete_site_rows(session: Session, site_id: str) -> None:
    """Every row of a site that served nobody (remove_site checked it), children before parents."""

    def of_site(table):
        return delete(table).where(table.c.site_id == site_id)

    def ids(table):
        return select(table.c.id).where(table.c.site_id == site_id)

    services, D, CS = ids(m.services), m.webhook_deliveries.c, m.counter_services.c
    # what a repeated request of its accounts would be answered with (their ids may be given again)
    scopes = [f"user:{i}" for i in session.scalars(ids(m.users))] + [
        f"token:{i}" for i in session.scalars(ids(m.api_tokens))
    ]
    for statement in (
        delete(m.webhook_deliveries).where(
            or_(D.webhook_id.in_(ids(m.webhooks)), D.event_id.in_(ids(m.outbox_events)))
        ),
        *map(of_site, (m.outbox_events, m.webhooks, m.events, m.print_jobs, m.printer_states)),
        *map(of_site, (m.site_day_figures, m.report_day_figures)),
        delete(m.idempotency_keys).where(m.idempotency_keys.c.scope.in_(scopes)),
        delete(m.counter_services).where(or_(CS.counter_id.in_(ids(m.counters)), CS.service_id.in_(services))),
        *(delete(t).where(t.c.service_id.in_(services)) for t in (m.number_sequences, m.booking_slots, m.person_days)),
        *map(of_site, (m.users, m.api_tokens, m.counters, m.priority_classes, m.services, m.site_setups)),
        delete(m.sites).where(m.sites.c.id == site_id),
    ):
        session.execute(statement)
