"""The admin API, /api/v1/admin/...: the centre's setup, users and device tokens, live.

Every change is checked like config.yaml (server/core/setup_changes.py), saved as a new version of
the setup in one transaction with its audit record, and then taken up by this process and
announced to its screens at once (server/web/live_setup.py); other processes follow within a
second. Admins change everything; a supervisor changes only the ticker, the slides and the
holidays.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from flask import jsonify
from sqlalchemy import select

from ...core import audit, outbox, sites
from ...core import engine as q
from ...core import models as m
from ...core.auth import (
    READ_ONLY_ROLES,
    TOKEN_ROLES,
    USER_ROLES,
    add_user,
    create_token,
    find_user,
    require_role,
    revoke_token,
    role_refused,
    set_password,
    set_user_active,
)
from ...core.i18n import Phrase
from ...core.setup_sections import SECTIONS, SUPERVISOR_DISPLAY_KEYS, SUPERVISOR_SITE_KEYS
from .. import live_setup
from ..delivery import wake as wake_delivery
from ..housekeeping import wind_up_retired
from ..live_setup import adopt
from ..realtime import publish
from . import _problem, bp, current_principal, parse_body, state, the_request
from .request_model import request_model
from .session_routes import tell_dashboard

if TYPE_CHECKING:
    from ...core.staffing import Worker

SECTION_PATH = "/admin/<any(" + ", ".join(SECTIONS) + "):section>"


@request_model
def AnyObject():
    from pydantic import BaseModel, ConfigDict

    class AnyObject(BaseModel):
        """A JSON object whose keys the setup's own models check (with the field named)."""

        model_config = ConfigDict(extra="allow")

        def data(self) -> dict:
            return dict(self.model_extra or {})

    return AnyObject


@request_model
def NewUser():
    from pydantic import BaseModel, ConfigDict, Field

    class NewUser(BaseModel):
        model_config = ConfigDict(extra="forbid")
        username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
        password: str = Field(min_length=8, max_length=200)
        role: Literal[USER_ROLES]
        counter: int | None = Field(default=None, ge=1, le=9999)
        full_name: str | None = Field(default=None, min_length=1, max_length=200)

    return NewUser


@request_model
def UserChange():
    from pydantic import BaseModel, ConfigDict, Field

    class UserChange(BaseModel):
        model_config = ConfigDict(extra="forbid")
        full_name: str | None = Field(default=None, min_length=1, max_length=200)
        role: Literal[USER_ROLES] | None = None
        counter: int | None = Field(default=None, ge=0, le=9999)  # 0: no fixed counter
        active: bool | None = None
        password: str | None = Field(default=None, min_length=8, max_length=200)

    return UserChange


@request_model
def NewToken():
    from pydantic import BaseModel, ConfigDict, Field

    class NewToken(BaseModel):
        model_config = ConfigDict(extra="forbid")
        role: Literal[TOKEN_ROLES]
        name: str | None = Field(default=None, min_length=1, max_length=100)
        counter: int | None = Field(default=None, ge=1, le=9999)
        kiosk: str | None = Field(default=None, min_length=1, max_length=32)

    return NewToken


@contextmanager
def _session(conn):
    """An ORM session inside the one transaction of ``state().write``: its commit() ends only its own
    part (a savepoint of the group writer, or nothing); the write commits the whole."""
    from sqlalchemy.orm import Session  # the ORM at the first admin write, not at the server's start

    with Session(bind=conn) as session:
        yield session
        session.commit()


def _admin():
    return require_role(current_principal(), "admin")


def _staff():
    return require_role(current_principal(), "admin", "supervisor")


def _save(change, *args, **kwargs):
    """Run a change of setup_changes in one committed transaction, then serve and announce its result, and
    what it did in that transaction, told of the setup it was in: the counters a removal closed (as a close
    does: setup_changes.close_removed_counters) and the bookings new hours cancelled (when confirmed)."""
    app_state = state()

    def action(conn, site):
        with _session(conn) as session:
            return change(session, site, *args, config_dir=app_state.config_dir, **kwargs), site

    done, before = app_state.write(action)
    adopt(app_state, done.runtime)
    _tell([(before, outcome) for outcome in (*done.closed, done.cancelled) if outcome is not None])
    return done


def _confirmed(body: dict) -> bool:
    """The body's ``confirm`` (a change saved though it was asked about), taken out of what is saved; one
    that is not true or false is refused naming it."""
    value = body.pop("confirm", False)
    if not isinstance(value, bool):
        raise q.Invalid("invalid_field", field="confirm", problem=_problem("bool_type"))
    return value


def _item_view(section: str, key) -> dict:
    config = state().site.config
    name = SECTIONS[section]
    item = next(i for i in getattr(config, section) if str(getattr(i, name)) == str(key))
    return item.model_dump(mode="json")


@bp.get("/admin/setup")
def admin_setup():
    _staff()
    site = state().site
    return jsonify({"version": site.version, "setup": site.config.model_dump(mode="json")})


@bp.get(SECTION_PATH)
def admin_list(section: str):
    _staff()
    config = state().site.config
    return jsonify([item.model_dump(mode="json") for item in getattr(config, section)])


@bp.post(SECTION_PATH)
def admin_add(section: str):
    principal = _admin()
    item = parse_body(AnyObject).data()
    done = _save(_changes().add_item, section, item, actor=principal.actor)
    return jsonify({**_item_view(section, item.get(SECTIONS[section])), "version": done.runtime.version}), 201


@bp.patch(SECTION_PATH + "/<key>")
def admin_change(section: str, key: str):
    principal = _staff()
    patch = parse_body(AnyObject).data()
    confirm = _confirmed(patch)  # saved though a service with citizens is left unserved
    if principal.role == "supervisor" and not (section == "displays" and set(patch) <= SUPERVISOR_DISPLAY_KEYS):
        # a display's field it may not change is named; any other item's change is not a supervisor's at all
        beyond = sorted(set(patch) - SUPERVISOR_DISPLAY_KEYS) if section == "displays" else []
        raise role_refused(principal.role, _first_field(patch, beyond[0]) if beyond else None, section)
    done = _save(_changes().change_item, section, key, patch, actor=principal.actor, confirm=confirm)
    return jsonify({**_item_view(section, key), "version": done.runtime.version})


@bp.delete(SECTION_PATH + "/<key>")
def admin_remove(section: str, key: str):
    principal = _admin()
    confirm = the_request().args.get("confirm") in ("1", "true")  # as a change's "confirm"
    done = _save(_changes().remove_item, section, key, actor=principal.actor, confirm=confirm)
    return jsonify({"removed": key, "version": done.runtime.version})


@bp.post("/admin/printers/<key>/test-print")
def admin_test_print(key: str):
    """A test page on the printer, printed like a ticket by whichever process drives it; 202 with its job
    (follow it in GET /api/v1/printers: pending, printed or failed with the reason)."""
    from flask import current_app

    from ....printers import jobs
    from ..printing import tracking_base

    _admin()
    app_state = state()
    if app_state.site.config.printer(key) is None:
        raise q.NotFound("setup_item_unknown", section="printers", item=key)
    job = app_state.write(jobs.enqueue_test, key, tracking_base(current_app))
    if app_state.spooler is not None:
        app_state.spooler.wake(key)
    return jsonify(job), 202


@bp.get("/admin/site")
def admin_site():
    _staff()
    from flask import current_app

    from ..printing import tracking_base, unreachable_tracking

    site = state().site
    # read only: where the tickets' QR codes point now, and the catalog's sentence when no phone can open it
    tracking = {"address": tracking_base(current_app), "unreachable": unreachable_tracking(current_app)}
    return jsonify({**_changes().site_view(site.config), "version": site.version, "tracking": tracking})


@bp.patch("/admin/site")
def admin_change_site():
    principal = _staff()
    patch = parse_body(AnyObject).data()
    confirm = _confirmed(patch)  # saved though the new hours cancel bookings (as a change's)
    if principal.role == "supervisor":
        _supervisor_may(principal, patch)
    _check_sound_paths(principal, patch.get("sounds"))
    done = _save(_changes().change_site, patch, actor=principal.actor, confirm=confirm)
    return jsonify({**done.after, "version": done.runtime.version})


def _supervisor_may(principal, patch: dict) -> None:
    """A supervisor changes the ticker and the holidays, sent as ``holidays`` or as ``hours.holidays`` (taken
    as the same); anything else is refused naming the first field it may not change."""
    hours = patch.get("hours")
    if isinstance(hours, dict) and set(hours) == {"holidays"} and "holidays" not in patch:
        patch["holidays"] = patch.pop("hours")["holidays"]
    refused = sorted(set(patch) - SUPERVISOR_SITE_KEYS)
    if refused:  # (within hours, the first key other than the holidays it may send)
        raise role_refused(principal.role, field=_first_field(patch, refused[0], but="holidays"))


def _first_field(patch: dict, key: str, but: str = "") -> str:
    """The field a refusal names for ``key`` of ``patch``: inside a group ("hours", "voice"), its first key
    (other than ``but``), as "hours.open"; else ``key``."""
    inside = patch[key]
    keys = sorted(k for k in inside if k != but) if isinstance(inside, dict) else []
    return f"{key}.{keys[0]}" if keys else key


# the keys of ``sounds`` that name a place on the server's disk, and what must be there
SOUND_PATHS = {"recordings": "folder", "piper_model": "file"}


def _check_sound_paths(principal, sounds) -> None:
    """A sounds path names a place on the server's disk: only an admin of the whole installation sets
    one (a site's admin may send the path in force back unchanged), and it must be a folder (the
    recordings) or a file (the piper voice) that is there. The audio routes serve nothing from it but
    the WAV clips of its own names (sounds/web.py)."""
    if not isinstance(sounds, dict):
        return  # not a section: the setup's own check names the field
    current = state().site.config.sounds
    for key, kind in SOUND_PATHS.items():
        if key not in sounds or sounds[key] == getattr(current, key):
            continue
        if getattr(principal, "site_id", None) is not None:
            raise q.NotAllowed("sounds_path_installation_admin_only", field=f"sounds.{key}")
        value = sounds[key]
        if value is None or not isinstance(value, str):
            continue  # null: the default; another type: the setup's own check names the field
        try:
            where = Path(state().config_dir or ".") / (Path(value).expanduser() if kind == "file" else Path(value))
            there = bool(value.strip()) and (where.is_dir() if kind == "folder" else where.is_file())
        except (OSError, ValueError, RuntimeError):  # a name too long, ~nobody/...
            where, there = value, False
        if not there:
            shown = str(where) if len(str(where)) <= 200 else str(where)[:200] + "…"
            raise q.Invalid("invalid_field", field=f"sounds.{key}", problem=_problem(f"not_a_{kind}", path=shown))


# --- users and device tokens --------------------------------------------------------------


def _user_view(user: m.User) -> dict:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "counter": user.counter_number,
        "active": user.active,
        "site": user.site_id,
    }


def _refused(field: str):
    """auth.py says what is wrong (an AccountRefused, a ValueError); the API names the field with it."""

    def wrap(error: ValueError):
        return q.Invalid("invalid_field", field=field, problem=getattr(error, "problem", str(error)))

    return wrap


def _site_in_address() -> str | None:
    """The site the request's address names (``/api/v1/sites/{site}/...``), None at the plain paths."""
    from ..app import SITE_KEY

    return the_request().environ.get(SITE_KEY)


def _accounts_site(principal) -> str | None:
    """The site whose users and tokens this request lists, makes and changes: the one its address
    names (``/api/v1/sites/{site}/admin/...``), else the admin's own; None (every account of the
    installation) only for an installation admin at the plain ``/api/v1/admin/...`` paths. A site's
    admin thus never sees or touches another site's accounts, nor the installation's."""
    return _site_in_address() or principal.site_id


def _of_scope(query, model, scope: str | None):
    """``query`` of users or tokens kept to those of ``scope`` (every one for None)."""
    return query if scope is None else query.filter(model.site_id == scope)


def _new_account_site(scope: str | None, role: str, site=None) -> str | None:
    """The site a new account belongs to, as ``queuekiosk user add`` / ``token create`` decide it: the
    site of the request (a device made at /s/{site}/admin works there only); at the plain paths an
    installation admin's new admin or province account belongs to the whole installation, any other to
    the first site. A province account belongs to no site, so only the installation's /admin makes one.
    ``site``: the request's, as a writer's action is given it (it runs outside the request)."""
    site = site or state().site
    if role in READ_ONLY_ROLES:
        if scope is not None:
            raise q.NotAllowed("province_account_installation_only")
        return None
    if scope is None and role != "admin":
        return site.id  # (the plain paths serve the first site)
    if scope is not None and site.config.site.retired:  # it could never act there
        raise q.NotAllowed("site_retired_new_account", site=site.config.site.name)
    return scope


def _account_of(db, model, key, value, scope: str | None, section: str):
    """The user or token ``key == value`` among those of ``scope`` (every one for None): another site's
    is not found here, as if it were not there."""
    row = db.scalars(_of_scope(select(model).filter(key == value), model, scope)).first()
    if row is None:
        raise q.NotFound("setup_item_unknown", section=section, item=value)
    return row


@bp.get("/admin/users")
def admin_users():
    query = _of_scope(select(m.User).order_by(m.User.username), m.User, _accounts_site(_admin()))
    with state().Session() as db:
        return jsonify([_user_view(u) for u in db.scalars(query)])


@bp.post("/admin/users")
def admin_add_user():
    principal = _admin()
    body = parse_body(NewUser)
    _known_counter(body.counter)
    site_id = _new_account_site(_accounts_site(principal), body.role)

    def action(conn, site):
        with _session(conn) as db:
            try:
                user = add_user(db, body.username, body.password, body.role, body.counter, site_id=site_id)
            except ValueError as error:
                raise _refused("username")(error) from None
            user.full_name = body.full_name
            db.flush()
            audit.record(
                db,
                site,
                "user_added",
                principal.actor,
                username=user.username,
                role=body.role,
                counter=body.counter,
                full_name=body.full_name,
            )
            return _user_view(user)

    return jsonify(state().write(action)), 201


@bp.patch("/admin/users/<name>")
def admin_change_user(name: str):
    principal = _admin()
    body = parse_body(UserChange)
    if body.counter:
        _known_counter(body.counter)
    changes = body.model_dump(exclude_unset=True)
    scope = _accounts_site(principal)
    served = state().sites

    def action(conn, site):
        with _session(conn) as db:
            try:  # the name in any case: PATCH /admin/users/Lan changes "lan"
                user = find_user(db, name, site_id=scope)
            except ValueError as error:  # two accounts differ from it only in case (an older database)
                raise _refused("username")(error) from None
            if user is None:
                raise q.NotFound("setup_item_unknown", section="users", item=name)
            if body.role in READ_ONLY_ROLES and (scope is not None or user.site_id is not None):
                raise q.NotAllowed("province_account_installation_only")  # (it belongs to no site)
            before = _user_view(user)
            # every change of an account ends its sessions (auth.SESSION_ENDING_EVENTS): where it was signed in
            signed_out = _signed_in_where(conn, served, user)
            if body.role not in (None, user.role) and user.site_id is None:  # an installation-wide account
                user.site_id = _new_account_site(scope, body.role, site)  # where a new one would be
            if body.password is not None:
                set_password(db, user.username, body.password)
            left = []
            if body.active is False and user.active:  # the counters only this clerk works at close
                left = _leave(conn, served, ("user", user.id), "user_disabled", principal.actor, user.site_id)
            if body.active is not None:
                set_user_active(db, user.username, body.active)
            for field, column in (("full_name", "full_name"), ("role", "role"), ("counter", "counter_number")):
                if field in changes:
                    setattr(user, column, changes[field] or None)
            db.flush()
            after = _user_view(user)
            audit.record(
                db,
                site,
                "user_changed",
                principal.actor,
                username=user.username,  # (a session of the user ends at it: auth.principal_for_session)
                before=before,
                after=after,
                password_changed=body.password is not None,
            )
            return after, left, signed_out

    after, left, signed_out = state().write(action)
    _tell(left)
    for site_id, counter in signed_out:  # the dashboard says who is signed in there (as at a sign-out)
        tell_dashboard("counter.signed_out", counter, site_id)
    return jsonify(after)


def _signed_in_where(conn, served: dict, user) -> list[tuple[str, int]]:
    """(site id, counter number) of each counter where the dashboard names ``user`` as signed in now,
    at the account's sites this process serves (``served``)."""
    return _staffing().signed_in_where(conn, _sites_of(served, user.site_id), user.id, q.utcnow())


def _sites_of(served: dict, site_id: str | None) -> list:
    """Of the sites this process serves (``served``), those of an account of ``site_id``: every one for
    an account of the whole installation."""
    return list(served.values()) if site_id is None else [served[site_id]] if site_id in served else []


def _leave(conn, served: dict, worker: Worker, by: str, actor: q.Actor, site_id: str | None) -> list:
    """In the change's transaction, before its event (which ends the sessions staffing reads): close
    the counters only ``worker`` works at, at the account's site (at every site for an account of the
    whole installation). ``served``: the sites this process serves, read before the write (the writer
    runs the action outside the request). [(site, outcome)] to tell once committed."""
    return [
        (site, outbox.recording(_staffing().leave)(conn, site, worker, by, actor))
        for site in _sites_of(served, site_id)
    ]


def _changes():
    """server/core/setup_changes.py, loaded by the first request that reads or changes the setup, not
    by an idle server (issue 21)."""
    from ...core import setup_changes

    return setup_changes


def _staffing():
    """server/core/staffing.py, loaded by the first change of an account that needs it, not by an idle
    server (issue 21)."""
    from ...core import staffing

    return staffing


def _tell(left: list) -> None:
    """What ``_leave`` closed, committed: to the screens and the webhooks, as a counter action's."""
    for site, outcome in left:
        if outcome.happened:
            publish(site, outcome)
        if outcome.recorded:
            wake_delivery()


def _known_counter(counter: int | None) -> None:
    if counter is not None and counter not in state().site.counter_ids:
        problem = Phrase("problem_no_such_counter", counter=counter)
        raise q.Invalid("unknown_counter", counter=counter, field="counter", problem=problem)


def _token_view(row: m.ApiToken) -> dict:
    return {
        "id": row.id,
        "role": row.role,
        "name": row.name,
        "counter": row.counter_number,
        "kiosk": row.kiosk_id,
        "site": row.site_id,
        "created_at": q._iso(row.created_at),
        "revoked_at": q._iso(row.revoked_at),
    }


@bp.get("/admin/tokens")
def admin_tokens():
    query = _of_scope(select(m.ApiToken).order_by(m.ApiToken.id), m.ApiToken, _accounts_site(_admin()))
    with state().Session() as db:
        return jsonify([_token_view(t) for t in db.scalars(query)])


@bp.post("/admin/tokens")
def admin_add_token():
    """The token itself is in this answer only; ``pair_url`` opens the device's page paired with it."""
    principal = _admin()
    body = parse_body(NewToken)
    _known_counter(body.counter)
    config = state().site.config
    if body.kiosk is not None and config.kiosk(body.kiosk) is None:
        raise q.Invalid("unknown_kiosk", kiosk=body.kiosk)
    name = body.name or " ".join(str(p) for p in (body.role, body.counter, body.kiosk) if p)
    site_id = _new_account_site(_accounts_site(principal), body.role)

    def action(conn, site):
        with _session(conn) as db:
            try:
                value = create_token(db, body.role, name, body.counter, site_id=site_id, kiosk=body.kiosk)
            except ValueError as error:
                raise _refused("counter")(error) from None
            row = db.scalars(select(m.ApiToken).order_by(m.ApiToken.id.desc()).limit(1)).one()
            audit.record(
                db,
                site,
                "token_created",
                principal.actor,
                name=name,
                role=body.role,
                counter=body.counter,
                kiosk=body.kiosk,
            )
            return value, _token_view(row)

    value, view = state().write(action)
    return jsonify({**view, "token": value, "pair_path": _pair_path(body, value)}), 201


def _pair_path(body: NewToken, value: str) -> str | None:
    """The page a device opens once to keep its token (the token after #, never sent to a server log),
    under the site's own prefix when the request named a site."""
    site_id = _site_in_address()
    home = f"/s/{site_id}" if site_id else ""  # (the plain paths serve the first site)
    if body.role == "kiosk" and body.kiosk:
        return f"{home}/kiosk/{body.kiosk}#token={value}"
    if body.role == "rating" and body.counter:
        return f"{home}/rating/{body.counter}#token={value}"
    return None


@bp.delete("/admin/tokens/<int:token_id>")
def admin_revoke_token(token_id: int):
    principal = _admin()
    scope = _accounts_site(principal)
    served = state().sites

    def action(conn, site):
        with _session(conn) as db:
            found = _account_of(db, m.ApiToken, m.ApiToken.id, token_id, scope, "tokens")
            left = []
            if found.revoked_at is None:  # the counters only this device works at close
                left = _leave(conn, served, ("token", token_id), "token_revoked", principal.actor, found.site_id)
            try:
                row = revoke_token(db, token_id)
            except ValueError as error:
                raise _refused("id")(error) from None
            audit.record(
                db, site, "token_revoked", principal.actor, name=row.name, role=row.role, counter=row.counter_number
            )
            return _token_view(row), left

    view, left = state().write(action)
    _tell(left)
    return jsonify(view)


# --- sites (the installation's centres) -------------------------------------------------------


@request_model
def NewSite():
    from pydantic import BaseModel, ConfigDict, Field

    class NewSite(BaseModel):
        model_config = ConfigDict(extra="forbid")
        # the id, the name and the time zone are checked by sites.create_site with the setup's checks, so that
        # an empty name is said with a bad id, time zone or hours in one answer (as /admin's every save)
        id: str = ""
        name: str = ""  # its most length: the setup's own, as any change's (NFC counted)
        timezone: str | None = Field(default=None, max_length=64)  # (a refused zone is quoted in the answer)
        hours: dict | None = None  # as config.yaml's site.hours: open, close, days, holidays

    return NewSite


@request_model
def SiteChange():
    from pydantic import BaseModel, ConfigDict, Field, StrictBool

    class SiteChange(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str | None = Field(default=None, min_length=1)  # its most length: the setup's own
        timezone: str | None = Field(default=None, min_length=1, max_length=64)
        hours: dict | None = None
        # its street address and its short name for SMS; null: none. Their lengths: the setup's own (Site._one_line)
        address: str | None = None
        sms_name: str | None = None
        retired: StrictBool = None  # communes merged: it serves nobody from now on (sites.py); null refused
        moved_to: str | None = Field(default=None, min_length=1, max_length=32)  # where its citizens go
        confirm: StrictBool = None  # saved though its new hours cancel bookings (setup_changes._check_stranded)

    return SiteChange


def _installation_admin():
    """An admin of the whole installation: one whose user or token belongs to no site."""
    principal = _admin()
    if getattr(principal, "site_id", None) is not None:
        raise q.NotAllowed("sites_installation_admin_only")
    return principal


def _serve_site(app_state, runtime) -> None:
    """This process serves the new or changed site at once; the others take it up within a second
    (server/web/live_setup.py)."""
    live_setup.adopt_site(app_state, runtime)


@bp.get("/admin/sites")
def admin_sites():
    _installation_admin()
    with state().Session() as db:
        return jsonify(sites.list_sites(db))


@bp.post("/admin/sites")
def admin_add_site():
    """A new site (a commune centre), its setup a copy of the first site's: it serves at once under
    /s/{id}/ and /api/v1/sites/{id}/."""
    principal = _installation_admin()
    body = parse_body(NewSite)
    app_state = state()

    def action(conn, _site):
        with _session(conn) as db:
            runtime = sites.create_site(
                db,
                body.id,
                body.name,
                body.timezone,
                body.hours,
                template=getattr(app_state, "first_site_id", None),
                actor=principal.actor,
                config_dir=app_state.config_dir,
            )
            return runtime, sites.site_view(db, body.id)

    runtime, view = app_state.write(action)
    _serve_site(app_state, runtime)
    return jsonify(view), 201


@bp.patch("/admin/sites/<site_id>")
def admin_change_a_site(site_id: str):
    principal = _installation_admin()
    patch = parse_body(SiteChange).model_dump(exclude_unset=True)
    confirm = patch.pop("confirm", None) is True
    app_state = state()

    def action(conn, _site):
        with _session(conn) as db:
            before = app_state.sites.get(site_id)
            change = sites.change_site_fields(
                db, site_id, patch, actor=principal.actor, config_dir=app_state.config_dir, confirm=confirm
            )
            return change, before, sites.site_view(db, site_id)

    change, before, view = app_state.write(action)
    runtime = change.runtime
    _serve_site(app_state, runtime)
    if change.cancelled is not None and before is not None:
        _tell([(before, change.cancelled)])
    if runtime.config.site.retired:  # its bookings cancelled and its counters closed now, not at the next lapse round
        wind_up_retired(app_state, site_id)
    return jsonify(view)


@bp.delete("/admin/sites/<site_id>")
def admin_remove_a_site(site_id: str):
    """A site added by mistake, which never served anybody, removed with what was made for it
    (sites.remove_site says when it may be); this process stops serving it at once, the others
    within a second."""
    principal = _installation_admin()
    app_state = state()

    def action(conn, _site):
        with _session(conn) as db:
            return sites.remove_site(db, site_id, actor=principal.actor)

    app_state.write(action)
    live_setup.forget_site(app_state, site_id)
    return "", 204
