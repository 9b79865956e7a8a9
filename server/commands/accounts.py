"""`queuekiosk user ...` and `queuekiosk token ...`: the people who sign in and the devices' and
integrations' tokens."""

import getpass
import sys

import click

from ..core.config import config_path
from .common import CONFIG_HELP, SITE_HELP, database, name_clashes_said, refusal, say, site_of


@click.group()
def user():
    """Manage the people who log in (admin, supervisor, clerk)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["admin", "supervisor", "clerk", "province"]))
@click.option("--counter", type=click.IntRange(1), help="the counter a clerk works at (else chosen at login)")
@click.option("--site", "site_id", default=None, help=SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def user_add(name, role, counter, site_id, config_file):
    """Add a user NAME. The password is read from standard input, or asked for twice."""
    from ..core import audit
    from ..core.auth import add_user, role_name

    password = _read_password(name, "cli_no_user_added")
    path = config_path(config_file)
    _, Session = database(path)
    site, belongs_to = site_of(Session, path, site_id, role)
    if counter is not None and counter not in site.counter_ids:
        raise click.ClickException(say(("cli_no_counter", {"counter": counter}))) from None
    try:
        with Session.begin() as db:
            name = add_user(db, name, password, role, counter, site_id=belongs_to).username  # (without spaces)
            audit.record(db, site, "user_added", username=name, role=role, counter=counter, by="command line")
    except ValueError as error:
        raise click.ClickException(refusal("cli_no_user_added", error)) from None
    added = {"role": role_name(role), "name": name, "counter": counter}
    click.echo(say(("cli_user_added_at" if counter else "cli_user_added", added)), err=True)


def _read_password(name: str, nothing_done: str) -> str:
    """From standard input (scripts), or asked for twice at a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(say(("cli_password_for", {"name": name})).replace("\n", " / ") + ": ")
    if password != getpass.getpass(say("cli_password_again").replace("\n", " / ") + ": "):
        raise click.ClickException(say("cli_passwords_differ", nothing_done)) from None
    return password


def _change_user(config_file, change, audit_kind: str, done: str, nothing_done: str) -> None:
    """Apply ``change(db)`` to a user (it returns the user) and record it in the audit log under the
    user's own name (a session ends at the change: "LAN" typed for "lan" is recorded as "lan"), in one
    transaction; ``done`` (with the name) and ``nothing_done`` are messages (cli_* keys). The counters
    where the user's sessions were signed in are recorded with it (``signed_out``): a running server
    tells their dashboards, as for a change made in /admin."""
    from ..core import audit

    path = config_path(config_file)
    site, Session = database(path)
    try:
        with Session.begin() as db:
            user = change(db)
            signed_out = _signed_in_where(db, path, user)
            where = {"signed_out": signed_out} if signed_out else {}
            name = user.username
            audit.record(db, site, audit_kind, username=name, by="command line", **where)
    except ValueError as error:
        raise click.ClickException(refusal(nothing_done, error)) from None
    click.echo(say((done, {"name": name})), err=True)


def _signed_in_where(db, path, user) -> list[list]:
    """[site id, counter number] of each counter where the dashboard names ``user`` as signed in, at
    the account's site (at every site for an account of the whole installation); read before the
    change's event ends those sessions."""
    from sqlalchemy import select

    from ..core import engine as q
    from ..core import models as m
    from ..core.db import site_setup
    from ..core.staffing import signed_in_where

    ids = [user.site_id] if user.site_id else db.scalars(select(m.site_setups.c.site_id)).all()
    sites = [runtime for runtime in (site_setup(db, path.parent, site_id) for site_id in ids) if runtime]
    return [list(pair) for pair in signed_in_where(db, sites, user.id, q.utcnow())]


@user.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def user_list(config_file):
    """List the users: name, role, counter, whether they may log in, and their site."""
    from sqlalchemy import select

    from ..core import models as m

    _, Session = database(config_path(config_file), writes=False)
    with Session() as db:
        for row in db.scalars(select(m.User).order_by(m.User.username)):
            counter = f"counter {row.counter_number}" if row.counter_number else "-"
            active = "active" if row.active else "disabled"
            click.echo(f"{row.username}\t{row.role}\t{counter}\t{active}\t{_site_column(row.site_id)}")
        clashes = name_clashes_said(db)
    if clashes:
        click.echo(clashes, err=True)


def _site_column(site_id: str | None) -> str:
    """Which site an account acts at, for the lists: with 50 communes two "counter 1" tokens differ only there."""
    return f"site {site_id}" if site_id else "every site"


def _user_switch(active: bool, doc: str):
    """``user disable`` and ``user enable``: one command each, the same steps."""
    word = "enabled" if active else "disabled"

    @user.command("enable" if active else "disable", help=doc)
    @click.argument("name")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
    def command(name, config_file):
        from ..core.auth import set_user_active

        _change_user(
            config_file,
            lambda db: set_user_active(db, name, active),
            f"user_{word}",
            f"cli_user_{word}",
            "cli_nothing_changed",
        )


_user_switch(False, "Stop NAME from logging in; a session NAME has open stops working at once.")


_user_switch(True, "Let a disabled user NAME log in again.")


@user.command("password")
@click.argument("name")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def user_password(name, config_file):
    """Set a new password for NAME, read from standard input or asked for twice."""
    from ..core.auth import set_password

    password = _read_password(name, "cli_password_not_changed")
    _change_user(
        config_file,
        lambda db: set_password(db, name, password),
        "password_changed",
        "cli_password_changed",
        "cli_password_not_changed",
    )


@click.group()
def token():
    """Manage API tokens for devices and integrations."""


@token.command("create")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "supervisor", "counter", "kiosk", "display", "rating", "integration", "province"]),
)
@click.option(
    "--counter",
    type=click.IntRange(1),
    help="the one counter a counter token acts on, or whose rating tablet a rating token is",
)
@click.option(
    "--kiosk", default=None, help="the one kiosk a kiosk token acts as (needed by `kiosk-agent` and for reprints)"
)
@click.option("--name", default=None, help="what the token is for, e.g. 'keypad counter 3'")
@click.option("--site", "site_id", default=None, help=SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def token_create(role, counter, kiosk, name, site_id, config_file):
    """Create a bearer token and print it on standard output (it is shown only once)."""
    from ..core import audit
    from ..core.auth import create_token

    path = config_path(config_file)
    _, Session = database(path)
    site, belongs_to = site_of(Session, path, site_id, role)
    if counter is not None and counter not in site.counter_ids:
        raise click.ClickException(say(("cli_no_counter", {"counter": counter}))) from None
    if kiosk is not None and site.config.kiosk(kiosk) is None:
        known = ", ".join(k.id for k in site.config.kiosks) or "none"
        raise click.ClickException(say(("cli_no_kiosk", {"kiosk": kiosk, "known": known}))) from None
    try:
        name = name or f"{role}{f' counter {counter}' if counter else ''}{f' {kiosk}' if kiosk else ''}"
        with Session.begin() as db:
            value = create_token(db, role, name, counter, kiosk=kiosk, site_id=belongs_to)
            audit.record(
                db, site, "token_created", name=name, role=role, counter=counter, kiosk=kiosk, by="command line"
            )
    except ValueError as error:
        raise click.ClickException(refusal("cli_nothing_done", error)) from None
    click.echo(value)


@token.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def token_list(config_file):
    """List the tokens (never the tokens themselves): id, role, counter or kiosk, name, site, made, revoked."""
    from sqlalchemy import select

    from ..core import models as m

    _, Session = database(config_path(config_file), writes=False)
    with Session() as db:
        for row in db.scalars(select(m.ApiToken).order_by(m.ApiToken.id)):
            counter = (
                f"counter {row.counter_number}"
                if row.counter_number
                else (f"kiosk {row.kiosk_id}" if row.kiosk_id else "-")
            )
            revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            made = f"made {row.created_at:%Y-%m-%d %H:%M}"
            click.echo(f"{row.id}\t{row.role}\t{counter}\t{row.name}\t{_site_column(row.site_id)}\t{made}\t{revoked}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def token_revoke(token_id, config_file):
    """Stop token TOKEN_ID (from `token list`) from working, from its next request on."""
    from ..core import audit
    from ..core.auth import revoke_token

    site, Session = database(config_path(config_file))
    try:
        with Session.begin() as db:
            row = revoke_token(db, token_id)
            audit.record(
                db, site, "token_revoked", name=row.name, role=row.role, counter=row.counter_number, by="command line"
            )
    except ValueError as error:
        raise click.ClickException(refusal("cli_nothing_done", error)) from None
    click.echo(say(("cli_token_revoked", {"id": token_id, "name": row.name})), err=True)
