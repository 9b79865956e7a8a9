"""The `queuekiosk` command."""

import errno
import importlib.util
import os
import sys


def _serve_optimized() -> None:
    """`queuekiosk serve` runs as ``python -OO -X no_debug_ranges``: the server then holds no docstrings,
    no asserts' code (about 6 MB of its idle memory, issue 21) and no column positions (tracebacks
    name the file and line, without the ^^^ markers: 0.2-0.3 MB). The process replaces itself (same pid, arguments,
    environment and open files) before anything heavy is imported, so it costs one interpreter start.

    Only the command line's own process re-runs, and only for ``serve`` (``--help`` needs the
    docstrings): a program that imports this module (the tests' forked servers) is left as it is.
    PYTHONOPTIMIZE in the environment, whatever its value, is the operator's choice and kept
    (``PYTHONOPTIMIZE=0``: asserts, docstrings and column positions kept). Nor does it re-run when the optimized
    bytecode can be neither read nor written (an install folder the server cannot write, with no
    ``-OO`` bytecode compiled at install): it would compile every module at each start."""
    if sys.argv[1:2] != ["serve"] or {"--help", "-h"} & set(sys.argv[2:]):
        return
    if sys.flags.optimize or "PYTHONOPTIMIZE" in os.environ:
        return
    if __name__ != "__main__" and os.path.basename(sys.argv[0]) != "queuekiosk":
        return
    for name in ("json", "sqlalchemy"):  # the standard library's and the installed libraries' bytecode
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.origin:
            return
        cached = importlib.util.cache_from_source(spec.origin, optimization=2)
        writable = not sys.dont_write_bytecode and os.access(os.path.dirname(spec.origin), os.W_OK)
        if not (os.path.exists(cached) or writable):
            return
    # -X no_debug_ranges: no column table in any code object it loads (a traceback keeps each file
    # and line, without the ^^^ under the expression): 0.2-0.3 MB of an idle server, 0.5 MB once used
    os.execv(sys.executable, [sys.executable, "-OO", "-X", "no_debug_ranges", *sys.orig_argv[1:]])


_serve_optimized()

# gevent records for every greenlet the stack and the greenlet that spawned it (a debugging aid of
# gevent.util.format_run_info): with three greenlets per connected Socket.IO client, about 3 KB a
# client (80.7-81.4 against 84.0-84.3 KB, 500 clients, issue 21). GEVENT_TRACK_GREENLET_TREE=true
# in the environment turns it back on.
os.environ.setdefault("GEVENT_TRACK_GREENLET_TREE", "false")

from gevent import monkey  # noqa: E402

monkey.patch_all()  # before anything else imports socket, ssl or threading

from pathlib import Path  # noqa: E402

import click  # noqa: E402

from .commands.common import CONFIG_HELP, database, load, remember_language, said_error, say, site_of  # noqa: E402
from .core.config import ConfigError, config_path  # noqa: E402
from .core.logs import configure_logging  # noqa: E402


def _skip_client_libraries() -> None:
    """Keep the server process lean: the Redis client (about 7 MB with the cryptography it loads) is
    hidden unless QUEUEKIOSK_MESSAGE_QUEUE names a message queue, its only use in the server
    (Socket.IO's queue, shared rate limits, resync.py); python-socketio imports it on start when it
    is installed, as on a machine with the extra. (python-socketio's client side, with requests and
    websocket-client, is left out by server/web/socketio_imports.py, for gunicorn's workers too.)"""
    if not os.environ.get("QUEUEKIOSK_MESSAGE_QUEUE") and "redis" not in sys.modules:
        sys.modules["redis"] = None  # makes `import redis` raise ImportError


def _agent_spec_help() -> str:
    return (
        "network:HOST[:PORT], usb:VENDOR:PRODUCT (e.g. usb:0x04b8:0x0202), serial:DEVICE[:BAUD], "
        "device:PATH (e.g. device:/dev/usb/lp0), cups:QUEUE or file:FOLDER"
    )


class _Commands(click.Group):
    """The command line. The groups and commands of server/commands/ and ``predict``
    (server/prediction_cli.py) are imported when they run, or when ``--help`` lists them, not by
    every ``queuekiosk serve`` (about 0.2 MB of an idle server, issue 21)."""

    ELSEWHERE = {  # name: (module, attribute)
        "user": (".commands.accounts", "user"),
        "token": (".commands.accounts", "token"),
        "site": (".commands.sites", "site"),
        "voice": (".commands.voice", "voice"),
        "migrate": (".commands.database", "migrate_command"),
        "config": (".commands.database", "config_group"),
        "backup": (".commands.database", "backup_command"),
        "restore": (".commands.database", "restore_command"),
        "person-key": (".commands.database", "person_key_group"),
        "predict": (".prediction_cli", "predict_group"),
    }

    def list_commands(self, ctx) -> list[str]:
        return sorted({*self.commands, *self.ELSEWHERE})

    def get_command(self, ctx, name: str):
        if name not in self.commands and name in self.ELSEWHERE:
            import importlib

            module, attribute = self.ELSEWHERE[name]
            command = getattr(importlib.import_module(module, __package__), attribute)
            self.add_command(command, name)
        return super().get_command(ctx, name)

    # click's usage errors (a missing option, an unknown one, no such command), raised while the command
    # line is read (make_context) or while a subcommand's is (invoke), said in Vietnamese too; each error
    # (a command's refusals too) after the "Error: " of the command line's language (said_error)
    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.ClickException as error:
            raise said_error(error, getattr(getattr(error, "ctx", None), "meta", {})) from None

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException as error:
            raise said_error(error, ctx.meta) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """queuekiosk: queue tickets, counters and lobby displays for a one-stop centre.

    Start with `queuekiosk serve` in the folder that holds config.yaml, then open the
    kiosk, display and counter pages it prints. The database is a SQLite file in
    ./instance unless QUEUEKIOSK_DATABASE_URL names another (e.g. postgresql://...).
    """
    configure_logging()  # every command logs like the server (server/core/logs.py)
    from .web.first_start import StartRefused, refuse_env_placeholders

    try:
        refuse_env_placeholders("cli_nothing_done")  # an env file sourced before its <…> were replaced
    except StartRefused as error:
        raise click.ClickException(str(error)) from None
    _refuse_wrong_env()
    from ..printers.profiles import install as check_printer_profiles

    check_printer_profiles()  # config refuses a printer profile python-escpos does not know (the core cannot tell)


def _refuse_wrong_env() -> None:
    """A variable of the environment written wrong, in one sentence, before any command reads it."""
    from .core.env_values import mistake

    wrong = mistake()
    if wrong is not None:
        raise click.ClickException(say(wrong, "cli_nothing_done"))


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
    from .web.first_start import StartRefused, start_app
    from .wsgi_server import serve as run_server

    path = config_path(config_file)
    try:
        app = start_app(path, ignore_hours)
    except ConfigError as error:
        if not path.is_file():
            load(path, "cli_nothing_started")  # says which file is missing
        raise click.ClickException(say("cli_config_errors", "cli_nothing_started", detail=str(error))) from None
    except StartRefused as error:  # the instance folder, the database or the person key
        raise click.ClickException(str(error)) from None
    state = app.extensions["queuekiosk"]
    try:
        state.start_background()
    except ValueError as error:  # a retry schedule of the environment (QUEUEKIOSK_*_RETRY_SECONDS) refused
        raise click.ClickException(say("cli_nothing_started", detail=str(error))) from None
    config = state.site.config

    def ready(server):
        base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{server.server_port}"
        lines = say(("cli_open_at", {"name": config.site.name, "base": base})).splitlines()
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
            lines.append("  " + say("cli_hours_ignored").replace("\n", " / "))
        click.echo("\n".join(lines), err=False)
        sys.stdout.flush()

    try:
        run_server(app, host, port, access_log=access_log, on_ready=ready)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise click.ClickException(
            say(("cli_port_busy", {"port": port, "host": host}), "cli_nothing_started")
        ) from None


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
@click.option(
    "--remote-share",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="share of citizens (of services offering it) who take a remote number by phone before they come",
)
@click.option("--site", "site_id", default=None, help="the site to fill (`queuekiosk site list`); default: the first")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help=CONFIG_HELP)
def simulate(first_day, days, seed, per_day, remote_share, site_id, config_file):
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
    site, Session = database(path)
    if site_id is not None:
        site, _ = site_of(Session, path, site_id)
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
        said = say(("cli_sim_day_refused" if day.refused else "cli_sim_day", figures))
        click.echo("\n".join("  " + line for line in said.splitlines()), err=True)

    try:
        result = run_simulation(
            Session.kw["bind"],
            site,
            first_day.date(),
            days,
            seed,
            Settings(per_day=per_day, remote_share=remote_share),
            report=report,
        )
    except SimulationError as error:
        raise click.ClickException(say("cli_sim_nothing_added", detail=str(error))) from None
    opened = [d for d in result.days if d.skipped is None]
    closed = len(result.days) - len(opened)
    click.echo(say(("cli_sim_done", {"open": len(opened), "closed": closed, "tickets": result.tickets})))
    click.echo(say("cli_sim_clerks_disabled"), err=True)


def _site_server(_context, _param, server: str) -> str:
    """``--server`` as a device command takes it: the server's address, or a site's (/s/SITE), nothing more."""
    from .core.site_address import socketio_address

    try:
        socketio_address(server)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--server") from None
    return server


def _server_and_token(token_help: str):
    """``--server`` and ``--token`` of a command that runs on another PC and talks to the server."""

    server = click.option(
        "--server",
        required=True,
        callback=_site_server,
        help="the queuekiosk server, e.g. http://192.168.1.10:8000",
    )
    token = click.option(
        "--token", required=True, envvar="QUEUEKIOSK_TOKEN", help=f"{token_help} (or $QUEUEKIOSK_TOKEN)"
    )
    return lambda command: server(token(command))


@main.command("kiosk-agent")
@_server_and_token("the kiosk's token from `queuekiosk token create --role kiosk --kiosk ID`")
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
@_server_and_token("a counter token from `queuekiosk token create --role counter --counter N`")
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
    callback=remember_language,
    help="the language of the terminal (and of its errors' prefix)",
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
        raise click.ClickException(say("cli_keypad_terminal"))
    run_keypad(server.rstrip("/"), token, counter, keys, language, retry_seconds)


if __name__ == "__main__":
    main()
