"""Changes to the saved setup: add, change or remove one item, or replace the whole setup.

Flask-free. Every change is checked exactly as config.yaml is (the same models), must
keep today's numbering whole, is saved as a new version of the setup with the tables in step,
and is written to the audit log with what it was before and after. The web layer and the
command line call these inside one transaction and then tell the other processes and screens
(server/web/live_setup.py).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from . import audit, outbox
from . import engine as q
from . import models as m
from .config import Config, ConfigError, checked
from .db import SiteRuntime, parse_stored, save_setup, stored_setup
from .i18n import Listed, Localized, Phrase, problem_phrase
from .periods import vn_date
from .setup_sections import SECTIONS, SUPERVISOR_DISPLAY_KEYS, SUPERVISOR_SITE_KEYS  # noqa: F401  (theirs, as before)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# a site's lifecycle, changed only by the installation's admin (server/core/sites.py)
RETIREMENT_KEYS = {"retired", "moved_to"}


class SetupRefused(q.QueueError):
    """A change that cannot be saved; ``code`` keys the message catalogue."""


@dataclass
class Change:
    runtime: SiteRuntime  # the setup now in force
    before: dict | None
    after: dict | None
    # the counters it removed, closed (close_removed_counters): for the screens once committed
    closed: list[q.Outcome] = field(default_factory=list)
    # the bookings its new opening hours left at a closed door, cancelled when confirmed (_cancel_stranded)
    cancelled: q.Outcome | None = None


def merge_patch(target, patch):
    """RFC 7396 JSON merge patch: objects merge key by key, null removes a key, the rest replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _document(session: Session, site: SiteRuntime) -> dict:
    """The saved setup as plain data, read (and on PostgreSQL locked) inside this transaction, so
    two people saving at once never lose each other's change."""
    query = select(m.site_setups.c.document).where(m.site_setups.c.site_id == site.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return copy.deepcopy(session.execute(query).scalar_one())


def _validate(document: dict, config_dir, item_path: str | None = None, stored: dict | None = None) -> Config:
    """The same checks as config.yaml; a problem of the item being changed is named from the item.
    ``stored``: the setup as saved; a text this change writes over its most length is refused too (one
    saved before stays until someone edits it: config_schema.LENGTH_LIMITS)."""
    from .config_schema import new_too_long  # the checks' module, as ``checked`` loads it: not at a server's start

    problems = [
        (where, "string_too_long", {"max_length": limit}, f"String should have at most {limit} characters")
        for where, limit in (new_too_long(document, stored) if stored is not None else ())
    ]
    try:
        config = checked(document, "", {"config_dir": str(config_dir or "."), "live": True, "edit": True})
    except ConfigError as error:
        if not error.problems:
            raise q.Invalid("invalid_field", field="(body)", problem=str(error)) from None
        problems += error.problems
    if not problems:
        return config
    # every field's problem at once (a form shows each under its field); the first is the refusal's own
    named = []
    for where, kind, ctx, what in problems:
        if item_path and (where == item_path or where.startswith((item_path + ".", item_path + "["))):
            where = where[len(item_path) :].lstrip(".") or "(body)"
        # in the reader's language: pydantic's own kinds of problem and the setup's own checks alike
        named.append({"field": where, "problem": problem_phrase(kind, ctx, what)})
    raise q.Invalid("invalid_field", **named[0], others=named[1:]) from None


def _index(document: dict, section: str, key) -> int:
    for i, item in enumerate(document.get(section, [])):
        if str(item.get(SECTIONS[section])) == str(key):
            return i
    raise q.NotFound("setup_item_unknown", section=section, item=key)


def _today_numbers(session: Session, site: SiteRuntime, code: str) -> tuple[int, int] | None:
    """The lowest and highest number given today by service ``code``, or None."""
    service_id = site.service_ids.get(code)
    if service_id is None:
        return None
    day = q.business_day(site, q.utcnow())
    low, high = session.execute(
        select(func.min(m.tickets.c.number), func.max(m.tickets.c.number)).where(
            m.tickets.c.origin_service_id == service_id, m.tickets.c.business_day == day
        )
    ).one()
    return None if low is None else (low, high)


def _check_numbering(session: Session, site: SiteRuntime, new: Config) -> None:
    """A range must still hold every number given today, or two citizens could get one number."""
    for service in new.services:
        given = _today_numbers(session, site, service.code)
        if given and not (service.numbers.start <= given[0] and given[1] <= service.numbers.end):
            raise SetupRefused(
                "setup_range_breaks_today",
                service=service.code,
                low=given[0],
                high=given[1],
                start=service.numbers.start,
                end=service.numbers.end,
            )


def _served(config: Config) -> set[str]:
    """The codes of the services some counter of ``config`` serves."""
    codes = {service.code for service in config.services}
    return {code for counter in config.counters for code in (codes if counter.services == "all" else counter.services)}


def _check_left_unserved(session: Session, site: SiteRuntime, saved: Config, new: Config, confirm: bool) -> dict | None:
    """A change of the counters that leaves a service no counter serves while citizens wait for it now or
    hold bookings of it from today on is saved only when asked again (``confirm``): its new numbers would
    be refused (service_unserved) and its booked citizens arrive to nobody. ``saved``: the setup as saved,
    not as this process holds it; the services' ids as saved too (one added by another process not yet
    adopted here is counted). Confirmed: what was left unserved, for the audit log (else None)."""
    left = sorted((_served(saved) - _served(new)) & {service.code for service in new.services})
    if not left:
        return None
    S, T, B = m.services.c, m.tickets.c, m.bookings.c
    ids = dict(session.execute(select(S.code, S.id).where(S.site_id == site.id, S.code.in_(left))).all())
    today = q.business_day(site, q.utcnow())
    waiting = dict(
        session.execute(
            select(T.service_id, func.count())
            .where(T.service_id.in_(ids.values()), T.business_day == today, T.status == "waiting")
            .group_by(T.service_id)
        ).all()
    )
    booked = dict(
        session.execute(
            select(B.service_id, func.count())
            .where(B.service_id.in_(ids.values()), B.business_day >= today, B.status == "booked")
            .group_by(B.service_id)
        ).all()
    )
    names = {service.code: service.name for service in new.services}
    found = [
        (code, waiting.get(ids[code], 0), booked.get(ids[code], 0))
        for code in left
        if code in ids and (waiting.get(ids[code]) or booked.get(ids[code]))
    ]
    if not found:
        return None
    if not confirm:  # one clause per service: its name and its own counts
        clauses = [
            Phrase(
                "setup_unserved_service",
                service=Localized(names[code].vi, names[code].en),
                code=code,
                waiting=w,
                booked=b,
            )
            for code, w, b in found
        ]
        raise SetupRefused("setup_service_left_unserved", services=Listed(clauses), field="services")
    return {
        "services": [code for code, _w, _b in found],
        "waiting": sum(w for _c, w, _b in found),
        "booked": sum(b for _c, _w, b in found),
    }


def _ask_first(*checks) -> list:
    """Every check that saves a change only when asked again (``confirm``) run, and each that asks said in
    one refusal (the first's code and field, for programs and /admin's question), so that one confirm
    confirms only what was said. Not refused: what each check gives."""
    given, asked = [], []
    for check in checks:
        try:
            given.append(check())
        except SetupRefused as refusal:
            asked.append(refusal)
    if len(asked) > 1:
        said = Listed([Phrase(refusal.code, **refusal.params) for refusal in asked], between=" ")
        params = {**asked[0].params, "message_key": "setup_asks_several", "asked": len(asked), "said": said}
        raise SetupRefused(asked[0].code, **params)
    if asked:
        raise asked[0]
    return given


STRANDED_DAYS_SAID = 5  # the days a refusal names; the rest counted ("và 3 ngày khác")


def _check_stranded(session: Session, site: SiteRuntime, saved: Config, new: Config, confirm: bool) -> list:
    """New opening hours, working days or holidays that would leave citizens holding bookings from today on
    at a closed door (bookings.stranded) are saved only when asked again (``confirm``), as a change that
    leaves a service unserved: refused naming the field and, day by day, how many bookings it closes on
    (only those the saved hours kept open).
    Confirmed: those bookings, to cancel once saved (``_cancel_stranded``). ``saved``: the setup as saved."""
    from . import bookings as bk  # (the bookings' code at a change of the hours only)

    if saved.site.hours == new.site.hours:
        return []
    now = q.utcnow()
    found = bk.stranded(session.connection(), site, new.site.hours, now)
    if found:  # those at a closed door already (saved before these checks) are not this change's doing
        rows = [row for row, _why in found]
        already = {row.id for row, _why in bk.stranded(session.connection(), site, saved.site.hours, now, among=rows)}
        found = [(row, why) for row, why in found if row.id not in already]
    if not found or confirm:
        return found
    days: dict = {}
    for row, why in found:
        days.setdefault((row.business_day, bk.STRANDED_BY[why]), []).append(row)
    said = [
        Phrase("setup_stranded_day", count=len(rows), why=Phrase(f"setup_stranded_{reason}", date=vn_date(day)))
        for (day, reason), rows in list(days.items())[:STRANDED_DAYS_SAID]
    ]
    if len(days) > STRANDED_DAYS_SAID:
        said.append(Phrase("setup_stranded_more", count=len(days) - STRANDED_DAYS_SAID))
    fields = list(dict.fromkeys(why for _row, why in found))  # the first's path for programs; the
    # sentence names each as /admin labels it (“Giờ mở cửa”, “Giờ đóng cửa”)
    from .field_labels import field_label  # (a refused change's, not an idle server's)

    labels = [field_label(field) for field in fields]
    labels = Listed([label if isinstance(label, Phrase) else Localized(label) for label in labels], between="”, “")
    raise SetupRefused("setup_bookings_stranded", field=fields[0], label=labels, count=len(found), days=Listed(said))


def _cancel_stranded(session: Session, site: SiteRuntime, found: list, actor: q.Actor | None) -> q.Outcome | None:
    """The bookings a confirmed change of the hours left at a closed door, cancelled by the centre in the
    change's transaction, each with its reason (bookings.cancel_by_centre), their outside events recorded
    (outbox); ``site``: the setup before the change. For the screens once committed."""
    if not found:
        return None
    from . import bookings as bk

    return outbox.recording(bk.cancel_by_centre)(session.connection(), site, found, q.utcnow(), actor)


def _remote_due_by_close(session: Session, site: SiteRuntime, saved: Config, new: Config) -> None:
    """Today's remote numbers due after a new, earlier closing time still ahead, due by it instead
    (bookings.remote_due_by_close; one it has passed already is cancelled as stranded)."""
    if saved.site.hours.close != new.site.hours.close:
        from . import bookings as bk

        bk.remote_due_by_close(session.connection(), site, new.site.hours)


def _stranded_known(found: list) -> dict:
    """A confirmed change's cancelled bookings, for the audit log: how many, of which days."""
    if not found:
        return {}
    days = sorted({row.business_day.isoformat() for row, _why in found})
    return {"bookings_cancelled": {"count": len(found), "days": days}}


def _check_business_day(session: Session, site: SiteRuntime, new: Config) -> None:
    """A new time zone that puts today on another date is refused while that site has numbers of either
    date not yet served (waiting, called, at a counter, a remote number to check in) or bookings of them
    not yet checked in: they would be in no day's queue (a booking refused at its check-in), while the
    new date's queue starts again at its first number beside them. Served ones do not matter: each
    date's numbers go on from its own count."""
    now = q.utcnow()
    today = q.business_day(site, now)
    then = q.local_time(site, now).astimezone(new.site.zone).date()
    if then == today:
        return
    open_tickets = _unserved(session, site, lambda day: day.in_((today, then)))
    if open_tickets:
        raise SetupRefused(
            "setup_timezone_breaks_today", today=today.isoformat(), then=then.isoformat(), count=open_tickets
        )


def _unserved(session: Session, site: SiteRuntime, of_days, booked: bool = True) -> int:
    """The site's numbers not yet served, of the business days ``of_days`` (a condition on a business-day
    column) picks, and with ``booked`` its slots booked but not checked in (a remote number is counted
    once, as its ticket); without, the numbers of citizens at the centre only."""
    T, B = m.tickets.c, m.bookings.c
    ended = ("done", "no_show", "expired") if booked else ("done", "no_show", "expired", m.REMOTE_STATUS)
    count = session.execute(
        select(func.count()).where(T.site_id == site.id, of_days(T.business_day), T.status.not_in(ended))
    ).scalar()
    if booked:
        count += session.execute(
            select(func.count()).where(
                B.site_id == site.id, of_days(B.business_day), B.status == "booked", B.kind == "slot"
            )
        ).scalar()
    return count


def _check_retirement(session: Session, site: SiteRuntime, new: Config, stored: dict) -> None:
    """A site retires (communes merged: it serves no citizen from now on, its history stays) only while
    no citizen at the centre holds a number of it (its bookings are then cancelled: sites.wind_up), never
    the first site (the plain addresses, /kiosk and /api/v1/..., are its), and ``moved_to`` names another
    site that still serves. Compared with the setup as saved (``stored``, its document), not as this
    process holds it; an import keeps the saved one's (nothing to check)."""
    before, after = stored["site"], new.site
    if (before.get("retired", False), before.get("moved_to")) == (after.retired, after.moved_to) or not after.retired:
        return
    first = stored_setup(session)
    if first is not None and first.site_id == site.id:
        raise SetupRefused("site_retire_first", site=after.name)
    if after.moved_to is not None:
        target = stored_setup(session, after.moved_to)
        problem = (
            Phrase("problem_moved_to_itself")
            if after.moved_to == site.id
            else Phrase("problem_moved_to_unknown", site=after.moved_to)
            if target is None
            else Phrase("problem_moved_to_retired", site=target.document["site"]["name"])
            if target.document["site"].get("retired")
            else None
        )
        if problem is not None:
            raise q.Invalid("invalid_field", field="site.moved_to", problem=problem)
    if not before.get("retired", False):
        today = q.business_day(site, q.utcnow())
        holding = _unserved(session, site, lambda day: day >= today, booked=False)
        if holding:
            raise SetupRefused("site_retire_open", site=after.name, count=holding)


def _check_removal(session: Session, site: SiteRuntime, section: str, key) -> None:
    """Nobody is left waiting in a removed queue, and no removed counter holds a citizen."""
    day = q.business_day(site, q.utcnow())
    T = m.tickets.c
    if section == "services" and key in site.service_ids:
        waiting = session.scalar(
            select(func.count()).where(
                T.service_id == site.service_ids[key], T.status == "waiting", T.business_day == day
            )
        )
        if waiting:
            raise SetupRefused("setup_service_has_waiting", service=key, count=waiting)
    if section == "counters" and int(key) in site.counter_ids:
        held = session.execute(
            select(T.number, T.status).where(T.counter_id == site.counter_ids[int(key)], T.status.in_(m.HELD_STATES))
        ).first()
        if held is not None:  # serving it, or only calling it: each said as it is, with what to do (as a close)
            state = "counter_busy_called" if held.status == "called" else "counter_busy_serving"
            raise SetupRefused(
                "setup_counter_busy", counter=key, number=held.number, held=Phrase(state, number=held.number)
            )
        # a clerk bound to it could no longer sign in ("there is no counter"): moved first, on purpose. The
        # site's own are named (its admin moves them); one of the whole installation (made before accounts
        # had sites) only counted: the installation's admin moves it
        U = m.users.c
        bound = session.execute(
            select(U.username, U.site_id)
            .where(U.counter_number == int(key), U.active.is_(True), U.role == "clerk")
            .where((U.site_id == site.id) | U.site_id.is_(None))
            .order_by(U.username)
        ).all()
        own = [name for name, site_id in bound if site_id is not None]
        if own:
            raise SetupRefused("setup_counter_has_clerks", counter=key, users=", ".join(own))
        if bound:
            raise SetupRefused("setup_counter_has_installation_clerks", counter=key, count=len(bound))


def _drop_references(document: dict, section: str, key) -> None:
    """What named a removed item stops naming it (a counter's services, a display's counters)."""

    def without(items, field, value):
        for item in items:
            if isinstance(item.get(field), list):
                item[field] = [v for v in item[field] if str(v) != str(value)]

    if section == "services":
        without(document.get("counters", []), "services", key)
        without(document.get("kiosks", []), "services", key)
    elif section == "counters":
        without(document.get("displays", []), "counters", key)
    elif section == "printers":
        for kiosk in document.get("kiosks", []):
            if kiosk.get("printer") == key:
                kiosk.pop("printer")


def _save(
    session: Session,
    site: SiteRuntime,
    document: dict,
    config_dir,
    actor: q.Actor | None,
    what: str,
    before,
    after,
    item_path: str | None = None,
    confirm: bool = False,
) -> Change:
    stored = stored_setup(session, site.id).document
    new = _validate(document, config_dir, item_path, stored)
    runtime, stranded = _check_and_save(
        session,
        site,
        stored=stored,
        new=new,
        config_dir=config_dir,
        confirm=confirm,
        actor=actor,
        what=what,
        before=before,
        after=after,
    )
    return Change(runtime, before, after, cancelled=_cancel_stranded(session, site, stranded, actor))


def _check_and_save(
    session: Session,
    site: SiteRuntime,
    *,
    stored: dict,
    new: Config,
    config_dir,
    confirm: bool,
    actor: q.Actor | None,
    what: str,
    before,
    after,
    **known,
) -> tuple[SiteRuntime, list]:
    """The one sequence of every saved setup (a change, an import): the checks against the setup as saved
    (``stored``, its document) and today's numbers, those asked first (``confirm``), the save, what follows
    from it and its audit record (``known``: more of its detail). -> the setup now in force and the
    bookings to cancel once it is (``_cancel_stranded``)."""
    saved = parse_stored(stored, config_dir)
    _check_numbering(session, site, new)
    _check_business_day(session, site, new)
    _check_retirement(session, site, new, stored)
    left, stranded = _ask_first(
        lambda: _check_left_unserved(session, site, saved, new, confirm),
        lambda: _check_stranded(session, site, saved, new, confirm),
    )
    runtime = save_setup(session, new)
    _forget_unoffered(session, site, new)
    _remote_due_by_close(session, site, saved, new)
    if left:  # saved though asked (confirm): who decided it, in the log
        known["left_unserved"] = left
    known.update(_stranded_known(stranded))
    audit.record(session, runtime, "setup_changed", actor, what=what, before=before, after=after, **known)
    return runtime, stranded


def _forget_unoffered(session: Session, site: SiteRuntime, new: Config) -> None:
    """A message channel turned off: the addresses given for it go with it (nothing sends by it now)."""
    if set(site.config.notifications.channels) - set(new.notifications.channels):
        from . import unoffered  # (the channels' code, at such a change only)

        unoffered.end(session, site, new.notifications.channels)


def add_item(
    session: Session, site: SiteRuntime, section: str, item: dict, *, actor: q.Actor | None = None, config_dir=None
) -> Change:
    document = _document(session, site)
    name = SECTIONS[section]
    key = item.get(name) if isinstance(item, dict) else None
    # "mt" beside "MT" would be two services the kiosk, the reports and the transfers show alike
    same = [i[name] for i in document.get(section, []) if str(i.get(name)).casefold() == str(key).casefold()]
    if key is not None and same:
        # the capitals remark only for a code: a counter's number has none
        problem = Phrase("problem_code_exists" if isinstance(same[0], str) else "problem_item_exists", item=same[0])
        raise SetupRefused("setup_item_exists", section=section, item=same[0], field=name, problem=problem)
    document.setdefault(section, []).append(item)
    path = f"{section}[{len(document[section]) - 1}]"
    return _save(session, site, document, config_dir, actor, f"{section} {key} added", None, item, path)


def change_item(
    session: Session,
    site: SiteRuntime,
    section: str,
    key,
    patch: dict,
    *,
    actor: q.Actor | None = None,
    config_dir=None,
    confirm: bool = False,
) -> Change:
    """``confirm``: saved even though it leaves a service with citizens waiting or booked unserved."""
    document = _document(session, site)
    i = _index(document, section, key)
    before = document[section][i]
    after = merge_patch(before, patch)
    name = SECTIONS[section]
    if str(after.get(name)) != str(before.get(name)):
        raise q.Invalid("setup_key_fixed", field=name)
    document[section][i] = after
    what = f"{section} {key} changed"
    return _save(session, site, document, config_dir, actor, what, before, after, f"{section}[{i}]", confirm)


def close_removed_counters(session: Session, site: SiteRuntime, numbers, actor: q.Actor | None) -> list[q.Outcome]:
    """Each counter leaving the setup (after the removal's checks: a number it holds, a clerk bound to it,
    refuse it) closes as a close does, in the change's transaction: today's numbers transferred to it,
    which nobody else calls, go back to their service's queue (engine.close_left_counter: "closed" with
    ``by`` "removed" where it was open, "requeued" for each number), their outside events recorded
    (outbox). ``site``: the setup before the change, which still has the counters. The one close of a
    removed counter, for /admin's removal and ``queuekiosk config import`` alike."""
    close = outbox.recording(q.close_left_counter)
    conn = session.connection()
    q.lock_for_closes(conn, site, numbers)  # all their closes' rows, in one order (a deadlock is no retry here)
    return [close(conn, site, number, "removed", actor) for number in sorted(numbers)]


def remove_item(
    session: Session,
    site: SiteRuntime,
    section: str,
    key,
    *,
    actor: q.Actor | None = None,
    config_dir=None,
    confirm: bool = False,
) -> Change:
    """Gone from the setup; its row stays, deactivated, with its tickets and reports (``confirm``: as
    change_item's)."""
    document = _document(session, site)
    i = _index(document, section, key)
    _check_removal(session, site, section, key)
    before = document[section].pop(i)
    _drop_references(document, section, key)
    what = f"{section} {key} removed"
    change = _save(session, site, document, config_dir, actor, what, before, None, confirm=confirm)
    if section == "counters" and int(key) in site.counter_ids:
        change.closed = close_removed_counters(session, site, [int(key)], actor)
    return change


def site_view(config: Config) -> dict:
    """What ``PATCH /admin/site`` changes: the site, its policy and the displays' common ticker (and its English)."""
    tickers = {d.ticker for d in config.displays}
    tickers_en = {d.ticker_en for d in config.displays}
    return {
        **config.site.model_dump(mode="json"),
        "policy": config.policy.model_dump(mode="json"),
        "ticket": config.ticket.model_dump(mode="json"),
        "notifications": config.notifications.model_dump(mode="json"),
        # a limit switched off reads "off", as it is sent: null in a merge patch restores the default
        "limits": {
            key: "off" if value is None else value for key, value in config.limits.model_dump(mode="json").items()
        },
        "sounds": config.sounds.model_dump(mode="json"),
        "ticker": tickers.pop() if len(tickers) == 1 else None,
        "ticker_en": tickers_en.pop() if len(tickers_en) == 1 else None,
        "holidays": [d.isoformat() for d in config.site.hours.holidays],
    }


def change_site(
    session: Session,
    site: SiteRuntime,
    patch: dict,
    *,
    actor: q.Actor | None = None,
    config_dir=None,
    lifecycle: bool = False,
    confirm: bool = False,
) -> Change:
    """``patch``: keys of ``site`` (name, timezone, hours, languages), ``policy``, ``ticket`` (footer,
    logo, tracking_url), ``notifications``, ``limits``, ``sounds`` (recordings, tts, piper_model, cache_mb),
    ``ticker`` and ``ticker_en`` (every display's) and ``holidays`` (short for hours.holidays). The site id stays.
    The web layer checks who may set a sounds path and that it exists (server/web/api/admin.py).
    ``retired`` and ``moved_to`` only with ``lifecycle``: the installation's sites (server/core/sites.py).
    ``confirm``: saved even though the new hours cancel bookings (``_check_stranded``)."""
    document = _document(session, site)
    before = site_view(parse_stored(document, config_dir))
    patch = dict(patch)
    if "id" in patch and patch["id"] != document["site"]["id"]:
        raise q.Invalid("setup_key_fixed", field="id")
    saved = {"retired": document["site"].get("retired", False), "moved_to": document["site"].get("moved_to")}
    retiring = sorted(key for key in RETIREMENT_KEYS & set(patch) if patch[key] != saved[key])
    if retiring and not lifecycle:
        raise q.NotAllowed("site_retired_elsewhere", field=retiring[0])
    # the ticket's footer, logo and the address phones reach; the booking and issuing limits; the voice
    for section in ("policy", "ticket", "notifications", "limits", "sounds"):
        if section in patch:
            document[section] = merge_patch(document.get(section, {}), patch.pop(section))
    for key in ("ticker", "ticker_en"):
        if key in patch:
            ticker = patch.pop(key)
            for display in document.get("displays", []):
                display[key] = ticker
    if "holidays" in patch:
        patch.setdefault("hours", {})["holidays"] = patch.pop("holidays")
    document["site"] = merge_patch(document["site"], patch)
    new = _validate(document, config_dir, stored=stored_setup(session, site.id).document)
    return _save(session, site, document, config_dir, actor, "site changed", before, site_view(new), confirm=confirm)


def replace_setup(
    session: Session,
    site: SiteRuntime,
    config: Config,
    *,
    actor: q.Actor | None = None,
    by: str | None = None,
    confirm: bool = False,
) -> Change:
    """A whole new setup (`queuekiosk config import`): the same checks as a change of one item, and in the
    audit log with the setup before and after (``by``: who, where there is no actor, e.g. "command line";
    ``confirm``: as change_item's)."""
    document = _document(session, site)
    if config.site.id != document["site"]["id"]:
        raise q.Invalid("setup_key_fixed", field="site.id")
    # whether the site is retired is not part of a setup file: kept as it is (queuekiosk site retire/reopen)
    lifecycle = {key: document["site"].get(key, default) for key, default in (("retired", False), ("moved_to", None))}
    config = config.model_copy(update={"site": config.site.model_copy(update=lifecycle)})
    removed_counters = []
    for section, name in SECTIONS.items():
        kept = {str(getattr(item, name)) for item in getattr(config, section)}
        for item in document.get(section, []):
            if str(item[name]) not in kept:
                _check_removal(session, site, section, item[name])
                if section == "counters" and int(item[name]) in site.counter_ids:
                    removed_counters.append(int(item[name]))
    before, after = export_document(site.config), export_document(config)
    who = {"by": by} if by else {}
    runtime, stranded = _check_and_save(
        session,
        site,
        stored=document,
        new=config,
        config_dir=None,
        confirm=confirm,
        actor=actor,
        what="setup imported",
        before=before,
        after=after,
        **who,
    )
    closed = close_removed_counters(session, site, removed_counters, actor)
    return Change(runtime, before, after, closed, _cancel_stranded(session, site, stranded, actor))


def export_document(config: Config) -> dict:
    """The setup as config.yaml writes it: only what differs from the defaults, and not whether the site
    is retired (that is the installation's, not the setup's: a retired commune's file seeds a serving site)."""
    document = config.model_dump(mode="json", exclude_defaults=True)
    for key in RETIREMENT_KEYS:
        document.get("site", {}).pop(key, None)
    return document
