"""The `queuekiosk` command."""

from gevent import monkey

monkey.patch_all()  # before anything else imports socket, ssl or threading

import getpass  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from .core.config import ConfigError, config_path, load_config  # noqa: E402
from .core.i18n import translate  # noqa: E402
from .core.logs import configure_logging  # noqa: E402

CONFIG_HELP = "the centre's configuration file (default: $QUEUEKIOSK_CONFIG, else ./config.yaml)"
SITE_HELP = (
    "the site it belongs to (`queuekiosk site list`); without it an admin or province account belongs to "
    "the whole installation and any other to the first site"
)


def _say(*parts, detail: str | None = None) -> str:
    """A message of the command, Vietnamese first and English on the next line, from the catalogs
    (server/core/messages, keys cli_*). Each part is a key or (key, params), joined with "; ";
    ``detail`` (a cause in its own words, such as the list of problems of a config file) follows."""

    def said(language: str) -> str:
        return "; ".join(
            translate(part, language) if isinstance(part, str) else translate(part[0], language, **part[1])
            for part in parts
        )

    vi, en = said("vi"), said("en")
    return "\n".join([vi] + ([en] if en != vi else []) + ([detail] if detail else []))


def _skip_client_libraries() -> None:
    """Keep the server process lean: python-socketio imports its client side (requests,
    websocket-client, about 6 MB) when it is imported, which a server never uses (the keypad and
    the kiosk agent do). python-socketio treats both as optional imports. The Redis client (about
    7 MB with the cryptography it loads) is hidden too unless QUEUEKIOSK_MESSAGE_QUEUE names a
    message queue, its only use in the server (Socket.IO's queue, shared rate limits, resync.py);
    python-socketio imports it on start when it is installed, as on a machine with the extra."""
    names = ["requests", "websocket"]
    if not os.environ.get("QUEUEKIOSK_MESSAGE_QUEUE"):
        names.append("redis")
    for name in names:
        if name not in sys.modules:
            sys.modules[name] = None  # makes `import name` raise ImportError


def _agent_spec_help() -> str:
    return (
        "network:HOST[:PORT], usb:VENDOR:PRODUCT (e.g. usb:0x04b8:0x0202), serial:DEVICE[:BAUD], "
        "device:PATH (e.g. device:/dev/usb/lp0), cups:QUEUE or file:FOLDER"
    )


def _load(path: Path, nothing: str = "cli_nothing_done"):
    if not path.is_file():  # named as such, not as "the configuration has errors"
        raise click.ClickException(_say(("cli_config_missing", {"path": str(path.resolve())}), nothing))
    try:
        return load_config(path)
    except ConfigError as error:
        raise click.ClickException(_say("cli_config_errors", nothing, detail=str(error))) from None


def _database(path: Path, writes: bool = True):
    """Engine, site and session factory for commands that work on the database directly.

    A new, empty database is created and seeded from the configuration file when the command
    writes; an existing one is only checked (one small query) and its saved setup is used.
    A command that only reads (``writes=False``) writes nothing, ever."""
    from .core.config import instance_dir_for
    from .core.db import SchemaNotCurrent, create_db_engine, open_database, prepare_database, session_factory

    url = _database_url(path)
    if _no_sqlite_file(url) and not path.is_file():  # run outside the centre's folder: make nothing there
        _load(path)
    if not writes and _no_sqlite_file(url):
        raise click.ClickException(_say(("cli_no_database", {"url": url})))
    engine = create_db_engine(url)
    try:
        if writes:
            site = prepare_database(engine, lambda: _load(path), instance_dir_for(path), path.parent)
        else:
            site = open_database(engine, path.parent)
    except SchemaNotCurrent as error:
        raise click.ClickException(str(error)) from None
    return site, session_factory(engine)


def _no_sqlite_file(url: str) -> bool:
    """A SQLite database whose file is not there yet (opening it would create it)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file()


def _current_config(path: Path):
    """The setup saved in the database when there is one, else the configuration file; writes nothing."""
    from sqlalchemy.exc import OperationalError

    from .core.db import SchemaNotCurrent, create_db_engine, open_database

    url = _database_url(path)
    if _no_sqlite_file(url):
        return _load(path)
    engine = create_db_engine(url)
    try:
        return open_database(engine, path.parent).config
    except (SchemaNotCurrent, OperationalError):
        return _load(path)
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """queuekiosk: queue tickets, counters and lobby displays for a one-stop centre.

    Start with `queuekiosk serve` in the folder that holds config.yaml, then open the
    kiosk, display and counter pages it prints. The database is a SQLite file in
    ./instance unless QUEUEKIOSK_DATABASE_URL names another (e.g. postgresql://...).
    """
    configure_logging()  # every command logs like the server (server/core/logs.py)
    from ..printers.profiles import install as check_printer_profiles

    check_printer_profiles()  # config refuses a printer profile python-escpos does not know (the core cannot tell)


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0 for every network card)"
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--ignore-hours",
    is_flag=True,
    help="issue tickets at any hour (for demos and trials; opening hours are otherwise enforced)",
)
@click.option("--access-log", is_flag=True, help="log every HTTP request")
def serve(config_file, host, port, ignore_hours, access_log):
    """Run the server: pages, API and Socket.IO.

    A new database is created and its setup taken from the configuration file; an existing one
    keeps the setup saved in it (changed in /admin or with `queuekiosk config import`), and must
    be current (`queuekiosk migrate` after an upgrade)."""
    _skip_client_libraries()
    from .core.db import SchemaNotCurrent
    from .web.app import create_app
    from .wsgi_server import serve as run_server

    path = config_path(config_file)
    try:
        app = create_app(path, ignore_hours=ignore_hours)
    except ConfigError as error:
        if not path.is_file():
            _load(path, "cli_nothing_started")  # says which file is missing
        raise click.ClickException(_say("cli_config_errors", "cli_nothing_started", detail=str(error))) from None
    except SchemaNotCurrent as error:
        raise click.ClickException(_say("cli_nothing_started", detail=str(error))) from None
    state = app.extensions["queuekiosk"]
    state.start_background()
    config = state.site.config

    def ready(server):
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.server_port}"
        lines = _say(("cli_open_at", {"name": config.site.name, "base": base})).splitlines()
        lines += [f"  kiosk    {base}/kiosk/{k.id}" for k in config.kiosks]
        lines += [f"  display  {base}/display/{d.id}" for d in config.displays]
        lines += [
            f"  counter  {base}/counter",
            f"  reports  {base}/reports",
            f"  dashboard {base}/dashboard",
            f"  admin    {base}/admin",
            f"  API      {base}/api/v1/openapi.json",
        ]
        if ignore_hours:
            lines.append("  " + _say("cli_hours_ignored").replace("\n", " / "))
        click.echo("\n".join(lines), err=False)
        sys.stdout.flush()

    run_server(app, host, port, access_log=access_log, on_ready=ready)


def _site_of(Session, path: Path, site_id: str | None, role: str | None = None):
    """The runtime of site ``site_id`` (``--site``), and the id a new account gets: an admin or
    province account without ``--site`` belongs to the whole installation (None), any other to the
    first site; ``site`` is the first site's runtime when no --site is given."""
    from .core.db import site_setup

    if role == "province" and site_id is not None:
        raise click.ClickException(_say("cli_province_no_site"))
    with Session() as db:
        runtime = site_setup(db, path.parent, site_id)
    if runtime is None or (site_id is not None and runtime.id != site_id):
        raise click.ClickException(_say(("cli_no_site", {"site": site_id})))
    if site_id is None and role in ("admin", "province"):
        return runtime, None
    return runtime, runtime.id


@main.group()
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
    from .core import audit
    from .core.auth import add_user

    password = _read_password(name, "cli_no_user_added")
    path = config_path(config_file)
    _, Session = _database(path)
    site, belongs_to = _site_of(Session, path, site_id, role)
    if counter is not None and counter not in site.counter_ids:
        raise click.ClickException(_say(("cli_no_counter", {"counter": counter}))) from None
    try:
        with Session.begin() as db:
            add_user(db, name, password, role, counter, site_id=belongs_to)
            audit.record(db, site, "user_added", username=name, role=role, counter=counter, by="command line")
    except ValueError as error:
        raise click.ClickException(_say("cli_no_user_added", detail=str(error))) from None
    added = ("cli_user_added_at", {"role": role, "name": name, "counter": counter}) if counter else None
    click.echo(_say(added or ("cli_user_added", {"role": role, "name": name})), err=True)


def _read_password(name: str, nothing_done: str) -> str:
    """From standard input (scripts), or asked for twice at a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(_say(("cli_password_for", {"name": name})).replace("\n", " / ") + ": ")
    if password != getpass.getpass(_say("cli_password_again").replace("\n", " / ") + ": "):
        raise click.ClickException(_say("cli_passwords_differ", nothing_done)) from None
    return password


def _change_user(config_file, name: str, change, audit_kind: str, done: tuple, nothing_done: str) -> None:
    """Apply ``change(db)`` to a user and record it in the audit log, in one transaction; ``done``
    and ``nothing_done`` are messages (cli_* keys)."""
    from .core import audit

    site, Session = _database(config_path(config_file))
    try:
        with Session.begin() as db:
            change(db)
            audit.record(db, site, audit_kind, username=name, by="command line")
    except ValueError as error:
        raise click.ClickException(_say(nothing_done, detail=str(error))) from None
    click.echo(_say(done), err=True)


@user.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def user_list(config_file):
    """List the users: name, role, counter and whether they may log in."""
    from sqlalchemy import select

    from .core import models as m

    _, Session = _database(config_path(config_file), writes=False)
    with Session() as db:
        for row in db.scalars(select(m.User).order_by(m.User.username)):
            counter = f"counter {row.counter_number}" if row.counter_number else "-"
            click.echo(f"{row.username}\t{row.role}\t{counter}\t{'active' if row.active else 'disabled'}")


def _user_switch(active: bool, doc: str):
    """``user disable`` and ``user enable``: one command each, the same steps."""
    word = "enabled" if active else "disabled"

    @user.command("enable" if active else "disable", help=doc)
    @click.argument("name")
    @click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
    def command(name, config_file):
        from .core.auth import set_user_active

        _change_user(
            config_file,
            name,
            lambda db: set_user_active(db, name, active),
            f"user_{word}",
            (f"cli_user_{word}", {"name": name}),
            "cli_nothing_changed",
        )


_user_switch(False, "Stop NAME from logging in; a session NAME has open stops working at once.")
_user_switch(True, "Let a disabled user NAME log in again.")


@user.command("password")
@click.argument("name")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def user_password(name, config_file):
    """Set a new password for NAME, read from standard input or asked for twice."""
    from .core.auth import set_password

    password = _read_password(name, "cli_password_not_changed")
    _change_user(
        config_file,
        name,
        lambda db: set_password(db, name, password),
        "password_changed",
        ("cli_password_changed", {"name": name}),
        "cli_password_not_changed",
    )


@main.group()
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
    from .core import audit
    from .core.auth import create_token

    path = config_path(config_file)
    _, Session = _database(path)
    site, belongs_to = _site_of(Session, path, site_id, role)
    if counter is not None and counter not in site.counter_ids:
        raise click.ClickException(_say(("cli_no_counter", {"counter": counter}))) from None
    if kiosk is not None and site.config.kiosk(kiosk) is None:
        known = ", ".join(k.id for k in site.config.kiosks) or "none"
        raise click.ClickException(_say(("cli_no_kiosk", {"kiosk": kiosk, "known": known}))) from None
    try:
        name = name or f"{role}{f' counter {counter}' if counter else ''}{f' {kiosk}' if kiosk else ''}"
        with Session.begin() as db:
            value = create_token(db, role, name, counter, kiosk=kiosk, site_id=belongs_to)
            audit.record(
                db, site, "token_created", name=name, role=role, counter=counter, kiosk=kiosk, by="command line"
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(value)


@token.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def token_list(config_file):
    """List the tokens (never the tokens themselves): id, role, counter or kiosk, name, made, revoked."""
    from sqlalchemy import select

    from .core import models as m

    _, Session = _database(config_path(config_file), writes=False)
    with Session() as db:
        for row in db.scalars(select(m.ApiToken).order_by(m.ApiToken.id)):
            counter = (
                f"counter {row.counter_number}"
                if row.counter_number
                else (f"kiosk {row.kiosk_id}" if row.kiosk_id else "-")
            )
            revoked = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            click.echo(f"{row.id}\t{row.role}\t{counter}\t{row.name}\tmade {row.created_at:%Y-%m-%d %H:%M}\t{revoked}")


@token.command("revoke")
@click.argument("token_id", type=int)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def token_revoke(token_id, config_file):
    """Stop token TOKEN_ID (from `token list`) from working, from its next request on."""
    from .core import audit
    from .core.auth import revoke_token

    site, Session = _database(config_path(config_file))
    try:
        with Session.begin() as db:
            row = revoke_token(db, token_id)
            audit.record(
                db, site, "token_revoked", name=row.name, role=row.role, counter=row.counter_number, by="command line"
            )
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_say(("cli_token_revoked", {"id": token_id, "name": row.name})), err=True)


@main.group()
def site():
    """The sites this installation serves (a province and its commune centres)."""


@site.command("add")
@click.argument("site_id", metavar="ID")
@click.option("--name", required=True, help="its name as people know it")
@click.option("--timezone", default=None, help="an IANA time zone, e.g. Asia/Ho_Chi_Minh (default: the first site's)")
@click.option("--open", "opens", default=None, help="opening time, e.g. 07:30 (default: the first site's)")
@click.option("--close", "closes", default=None, help="closing time, e.g. 17:00")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_add(site_id, name, timezone, opens, closes, config_file):
    """Add a site ID (lower-case letters, digits, dashes: it is part of its addresses /s/ID/...).
    Its setup starts as a copy of the first site's, without printers; running servers serve it
    within a second."""
    from .core import errors, sites

    path = config_path(config_file)
    first, Session = _database(path)
    hours = None
    if opens or closes:
        hours = {**first.config.site.hours.model_dump(mode="json")}
        hours.update({k: v for k, v in (("open", opens), ("close", closes)) if v})
    try:
        with Session.begin() as db:
            sites.create_site(db, site_id, name, timezone, hours, template=first.id, config_dir=path.parent)
    except errors.QueueError as refusal:
        raise click.ClickException(_say((refusal.code, refusal.params), "cli_no_site_added")) from None
    click.echo(_say(("cli_site_added", {"site": site_id})), err=True)


@site.command("list")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_list(config_file):
    """List the sites: id, time zone, hours, name."""
    from .core import sites

    _, Session = _database(config_path(config_file), writes=False)
    with Session() as db:
        for row in sites.list_sites(db):
            hours = row["hours"] or {}
            opening = f"{str(hours.get('open', ''))[:5]}-{str(hours.get('close', ''))[:5]}"
            click.echo(f"{row['id']}\t{row['timezone']}\t{opening}\t{row['name']}")


@site.command("compare")
@click.option(
    "--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the first day, e.g. 2025-01-01"
)
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="the last day, included")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def site_compare(first_day, last_day, config_file):
    """Every site side by side over whole days, as /reports shows the province: site, issued, served,
    average and 90th percentile wait (minutes), within target wait (%), % hài lòng. It counts each past
    day not counted yet once and keeps it: run it over the past year after an upgrade, and the
    province's first look is quick."""
    from .core.reports.sites import compare_sites

    _, Session = _database(config_path(config_file))
    with Session.begin() as db:
        report = compare_sites(db, first_day.date(), last_day.date())

    def shown(value, scale=1.0):
        return "-" if value is None else f"{value / scale:.1f}"

    for row in [
        *report["sites"],
        {**report["total"], "site": "total", "wait": {"p90": None, **report["total"]["wait"]}},
    ]:
        click.echo(
            f"{row['site']}\t{row['issued']}\t{row['served']}\t{shown(row['wait']['avg'], 60)}\t"
            f"{shown(row['wait']['p90'], 60)}\t{shown(row['target_met_pct'])}\t{shown(row['ratings']['satisfied_pct'])}"
        )


@main.command()
@click.option(
    "--day",
    "first_day",
    default=None,
    type=click.DateTime(["%Y-%m-%d"]),
    help="the first day to simulate, e.g. 2026-11-20 (the centre's local date); default: the --days days before today",
)
@click.option(
    "--days",
    default=1,
    show_default=True,
    type=click.IntRange(1, 3660),
    help="how many calendar days from --day (days the centre is closed are skipped)",
)
@click.option("--seed", default=7, show_default=True, type=int, help="the same seed gives the same days")
@click.option(
    "--per-day",
    default=300,
    show_default=True,
    type=click.IntRange(1, 20000),
    help="citizens on an average weekday (Mondays more, Saturdays fewer)",
)
@click.option("--site", "site_id", default=None, help="the site to fill (`queuekiosk site list`); default: the first")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def simulate(first_day, days, seed, per_day, site_id, config_file):
    """Fill the database with simulated days of the centre: arrivals with a morning peak, services,
    no-shows, transfers, breaks and ratings, with a fixed random seed.

    For demos, tests and benchmarks: run it on an empty database (the configured one, or
    QUEUEKIOSK_DATABASE_URL), not on a centre's real data. It refuses days that already have
    tickets. Clerks named sim.<name> are added, disabled and with no password: nobody signs in as
    them (they are the clerks of the simulated days' reports). Example:

    \b
      queuekiosk simulate --days 60            # the 60 days before today
      queuekiosk simulate --day 2026-10-01 --days 61 --seed 7
      queuekiosk simulate --site xa-tan-phu --days 30    # another site of the installation
    """
    import datetime as dt

    from .core.simulate import Settings, SimulationError
    from .core.simulate import simulate as run_simulation

    path = config_path(config_file)
    site, Session = _database(path)
    if site_id is not None:
        site, _ = _site_of(Session, path, site_id)
    if first_day is None:
        today = dt.datetime.now(site.config.site.zone).date()
        first_day = dt.datetime.combine(today - dt.timedelta(days=days), dt.time())

    def report(day):
        figures = {
            "day": day.day.isoformat(),
            "tickets": day.tickets,
            "served": day.served,
            "no_shows": day.no_shows,
            "transfers": day.transfers,
            "ratings": day.ratings,
            "refused": day.refused,
        }
        said = _say(("cli_sim_day_refused" if day.refused else "cli_sim_day", figures))
        click.echo("\n".join("  " + line for line in said.splitlines()), err=True)

    try:
        result = run_simulation(
            Session.kw["bind"], site, first_day.date(), days, seed, Settings(per_day=per_day), report=report
        )
    except SimulationError as error:
        raise click.ClickException(_say("cli_sim_nothing_added", detail=str(error))) from None
    opened = [d for d in result.days if d.skipped is None]
    closed = len(result.days) - len(opened)
    click.echo(_say(("cli_sim_done", {"open": len(opened), "closed": closed, "tickets": result.tickets})))
    click.echo(_say("cli_sim_clerks_disabled"), err=True)


@main.command("kiosk-agent")
@click.option("--server", required=True, help="the queuekiosk server, e.g. http://192.168.1.10:8000")
@click.option(
    "--token",
    required=True,
    envvar="QUEUEKIOSK_TOKEN",
    help="the kiosk's token from `queuekiosk token create --role kiosk --kiosk ID` (or $QUEUEKIOSK_TOKEN)",
)
@click.option("--printer", "printer_spec", required=True, help="the printer of this PC: " + _agent_spec_help())
@click.option(
    "--kiosk", default=None, help="the kiosk id in config.yaml (needed only when several kiosks print through agents)"
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=lambda: Path.home() / ".local" / "state" / "queuekiosk" / "kiosk-agent.json",
    show_default="~/.local/state/queuekiosk/kiosk-agent.json",
    help="where the agent remembers the jobs it printed, so that none is printed twice",
)
def kiosk_agent(server, token, printer_spec, kiosk, state_file):
    """Print a kiosk's tickets on the printer attached to this kiosk PC.

    The kiosk's printer in config.yaml must have `driver: agent`. The agent connects to the
    server, prints the kiosk's tickets in order, reports the printer's state (paper out,
    offline) to the server, and reconnects by itself. Example:

    \b
      queuekiosk kiosk-agent --server http://192.168.1.10:8000 --token qk_... --printer usb:0x04b8:0x0202
    """
    from ..kiosk.agent import make_agent

    try:
        agent = make_agent(server.rstrip("/"), token, printer_spec, kiosk, state_file)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--printer") from None
    agent.run()


@main.command("keypad")
@click.option("--server", required=True, help="the queuekiosk server, e.g. http://192.168.1.10:8000")
@click.option(
    "--token",
    required=True,
    envvar="QUEUEKIOSK_TOKEN",
    help="a counter token from `queuekiosk token create --role counter --counter N` (or $QUEUEKIOSK_TOKEN)",
)
@click.option("--counter", required=True, type=click.IntRange(1), help="the counter this keypad drives")
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY=ACTION",
    help="bind a key (a character, or enter, backspace, tab, space, esc) to next, recall, start, "
    "finish, no-show, pause, transfer, erase, clear or none; may be given several times",
)
@click.option(
    "--lang",
    "language",
    type=click.Choice(["vi", "en"]),
    default="vi",
    show_default=True,
    help="the language of the terminal",
)
@click.option(
    "--retry-seconds",
    type=click.FloatRange(1, 3600),
    default=120,
    show_default=True,
    help="how long an unanswered key press is sent again (always with the same Idempotency-Key)",
)
def keypad(server, token, counter, keys, language, retry_seconds):
    """Drive a counter from a USB numeric keypad or a terminal.

    Shows the current number and the waiting count, live; each key is one action, sent once
    even across a lost connection or a server restart. Keys (change them with --key):

    \b
      0-9        type a number            Enter   call next (or the typed number)
      +          recall                   *       start
      /          finish                   -       no-show
      .          pause / resume           Backspace  erase a digit    Esc  clear
    \b
      queuekiosk keypad --server http://192.168.1.10:8000 --token qk_... --counter 3
    """
    from ..counter_client.keypad import main as run_keypad
    from ..counter_client.keypad import parse_keymap

    try:
        parse_keymap(keys)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--key") from None
    if not sys.stdin.isatty():
        raise click.ClickException(_say("cli_keypad_terminal"))
    run_keypad(server.rstrip("/"), token, counter, keys, language, retry_seconds)


@main.group()
def voice():
    """Voice announcements: the clip set, the centre's recordings, a preview to listen to."""


@voice.command("build-clips")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where to write the clips (default: the shipped set, sounds/clips/ of the installed package)",
)
@click.option(
    "--engine",
    type=click.Choice(["espeak-ng", "pyttsx3"]),
    default="espeak-ng",
    show_default=True,
    help="espeak-ng's command line (deterministic) or pyttsx3 driving espeak-ng",
)
def voice_build_clips(out, engine):
    """Make the whole clip set again with espeak-ng: number words, phrase parts, chime."""
    from ..sounds.build import build_clips
    from ..sounds.voice import SHIPPED

    target = out or SHIPPED
    try:
        count = build_clips(target, engine, report=lambda line: click.echo(f"  {line}"))
    except RuntimeError as error:
        raise click.ClickException(_say("cli_no_clips", detail=str(error))) from None
    click.echo(_say(("cli_clips_written", {"count": count, "target": str(target)})))


@voice.command("clips")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def voice_clips(config_file):
    """List every clip name, and which ones the centre's recordings folder replaces; for a full
    recorded set (voice-set.json), every clip it still lacks."""
    from ..sounds.tts import NoTts
    from ..sounds.voice import SHIPPED, ClipLibrary, VoiceSet

    path = config_path(config_file)
    config = _current_config(path)
    recordings = path.parent / config.sounds.recordings
    library = ClipLibrary(recordings, Path("/nonexistent"), NoTts())
    folder = "cli_recordings_folder" if recordings.is_dir() else "cli_recordings_folder_missing"
    click.echo(_say((folder, {"path": str(recordings)})))
    for name in library.names():
        found = library.find(name)
        where = "recording" if found and not found.is_relative_to(SHIPPED) else "shipped"
        click.echo(f"  {name}.wav  {where}")
    voice_set = VoiceSet.check(recordings, config)  # a full recorded set (voice-set.json): what it lacks
    if voice_set is not None:
        have, need = len(voice_set.required) - len(voice_set.missing), len(voice_set.required)
        key = "cli_voice_set_complete" if voice_set.complete else "cli_voice_set_incomplete"
        click.echo(_say((key, {"name": voice_set.name, "have": have, "need": need})))
        for line in [f"{name}.wav" for name in voice_set.missing] + voice_set.problems:
            click.echo(f"  - {line}")


@voice.command("preview")
@click.option("--number", required=True, type=click.IntRange(0), help="the ticket number, e.g. 1023")
@click.option("--counter", required=True, type=click.IntRange(1), help="the counter number")
@click.option("--display", "display_id", default=None, help="whose voice settings (default: the first display)")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="also copy the WAV here (e.g. to play it with aplay)",
)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def voice_preview(number, counter, display_id, out, config_file):
    """Print the sentence of a call and make its WAV, as a display would play it."""
    import shutil

    from ..sounds.voice import Announcer
    from ..sounds.web import voice_of
    from .core.config import instance_dir_for

    path = config_path(config_file)
    config = _current_config(path)
    if display_id is not None and config.display(display_id) is None:
        raise click.BadParameter(_say(("cli_no_display", {"display": display_id})), param_hint="--display") from None
    announcer = Announcer(config, path.parent, instance_dir_for(path))
    try:
        spoken = announcer.announce(
            voice_of(config, display_id or (config.displays[0].id if config.displays else None)), number, counter
        )
    finally:
        announcer.close()
    click.echo(spoken.text)
    if spoken.text_en:
        click.echo(spoken.text_en)
    if spoken.key is None:
        raise click.ClickException(_say("cli_no_audio")) from None
    wav_path = announcer.path_of(spoken.key)
    if out:
        shutil.copyfile(wav_path, out)
        wav_path = out
    click.echo(str(wav_path))


@main.command("migrate")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def migrate_command(config_file):
    """Create the database, or bring it to this version's schema (after an upgrade: stop the
    server and make a copy with `queuekiosk backup FILE` first). A database without a saved
    setup gets the one of the configuration file."""
    from .core.config import instance_dir_for
    from .core.db import HEAD_REVISION, create_db_engine, migrate, prepare_database, schema_revision

    path = config_path(config_file)
    instance_dir_for(path).mkdir(parents=True, exist_ok=True)  # where a new SQLite file goes
    engine = create_db_engine(_database_url(path))
    before = schema_revision(engine)
    migrate(engine)
    site = prepare_database(engine, lambda: _load(path), instance_dir_for(path), path.parent)
    engine.dispose()
    setup = {"name": site.config.site.name, "version": site.version}
    if before == HEAD_REVISION:
        click.echo(_say(("cli_db_current", setup)), err=True)
    else:
        click.echo(_say(("cli_db_migrated", {**setup, "before": before or "0", "head": HEAD_REVISION})), err=True)


@main.group("config")
def config_group():
    """The centre's setup as a file: export it, or import one (the server picks it up at once)."""


CONFIG_SITE_HELP = "the site whose setup it is (`queuekiosk site list`); default: the first"


def _setup_site(config_file, site_id: str | None, writes: bool):
    """The saved setup of site ``site_id`` (default: the first) and the session factory."""
    path = config_path(config_file)
    site, Sessions = _database(path, writes=writes)
    if site_id is not None:
        site, _ = _site_of(Sessions, path, site_id)
    return site, Sessions


@config_group.command("export")
@click.option("--site", "site_id", default=None, help=CONFIG_SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def config_export(site_id, config_file):
    """Print the saved setup as YAML, in the form of config.yaml."""
    from .core.setup_changes import export_document

    site, _ = _setup_site(config_file, site_id, writes=False)
    click.echo(_yaml(export_document(site.config)), nl=False)


def _yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


@config_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="show what would change, and change nothing")
@click.option("--site", "site_id", default=None, help=CONFIG_SITE_HELP)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def config_import(file, dry_run, site_id, config_file):
    """Replace the saved setup with FILE (checked whole first); prints the difference first.
    Running servers show the new setup within seconds, without a restart."""
    import difflib

    from .core.engine import QueueError
    from .core.setup_changes import export_document, replace_setup

    new = _load(file)
    site, Sessions = _setup_site(config_file, site_id, writes=not dry_run)
    old_text, new_text = _yaml(export_document(site.config)), _yaml(export_document(new))
    diff = list(
        difflib.unified_diff(
            old_text.splitlines(keepends=True), new_text.splitlines(keepends=True), "saved setup", str(file)
        )
    )
    click.echo("".join(diff) or _say("cli_no_difference") + "\n", nl=False)
    if dry_run or not diff:
        click.echo(_say("cli_nothing_changed_dry" if dry_run else "cli_nothing_changed"), err=True)
        return
    try:
        with Sessions.begin() as db:
            change = replace_setup(db, site, new)
    except QueueError as error:
        raise click.ClickException(_say((error.code, error.params), "cli_nothing_changed")) from None
    click.echo(_say(("cli_imported", {"file": str(file), "version": change.runtime.version})), err=True)


def _database_url(config_file) -> str:
    from .core.config import instance_dir_for
    from .core.db import default_database_url

    return default_database_url(instance_dir_for(config_path(config_file)))


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def backup_command(file, config_file):
    """Copy the database to FILE: safe while the server runs (SQLite online backup, or pg_dump)."""
    from .core.backup import BackupError, backup

    try:
        backup(_database_url(config_file), file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_say(("cli_backed_up", {"file": str(file.resolve())})), err=True)


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def restore_command(file, config_file, yes):
    """Replace the database with the backup FILE. Stop every server process first."""
    from .core.backup import BackupError, restore

    url = _database_url(config_file)
    if not yes:
        click.confirm(_say(("cli_restore_confirm", {"url": url, "file": str(file)})).replace("\n", " / "), abort=True)
    try:
        restore(url, file)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(_say(("cli_restored", {"file": str(file.resolve())})), err=True)


from .prediction_cli import predict_group  # noqa: E402 (queuekiosk predict backtest)

main.add_command(predict_group)

if __name__ == "__main__":
    main()
