"""A new database's first start, made by a child process: its schema (Alembic) and the setup of
config.yaml (checked by the configuration models, pydantic), what ``queuekiosk migrate`` makes.

A long-running server (``serve``, gunicorn's app) starting on an empty database runs this child and
then starts as on every later start, on the saved setup: the migrations, the checks and the seeding
(their statements, the configuration read twice, the children's pipes) leave nothing in the server's
memory (issue 21: ~0.5 MB of an idle server's first start), and the two children it ran before (the
migration, the configuration's check) are one. The database's address, password included, reaches
the child on its standard input, never on its command line, which any user of the machine can read.

    python -m queuekiosk.server.web.first_start CONFIG INSTANCE_DIR   (the address on standard input)

Exit 0: the database is current and holds a setup; 3 (a status Python never uses for itself):
config.yaml was refused, before anything was written, the ConfigError's message on standard output;
else the error on standard error.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import Engine

from ..core import faults
from ..core.config import ConfigError

_REFUSED = 3  # the child's exit status when config.yaml is refused


def prepare_apart(engine: Engine, config_path: Path, instance_dir: Path) -> None:
    """Make ``engine``'s new database (schema and config.yaml's setup) in a child process; a
    config.yaml refused is the same ConfigError, any other failure a RuntimeError with the child's
    message. Concurrent first starts are safe (the child takes prepare_database's migration lock)."""
    read, write = os.pipe()
    # closed by the file's own close, not os.close: gevent's os.close (gevent >= 25.8.1, patched in a
    # server) defers closing a pipe to its loop's next turn, and the loop may never turn while the
    # server waits for the child: a child reading up to the end of the pipe waited for ever (whole-suite
    # runs: a gunicorn worker starting on a new database held both ends). The child reads one line all
    # the same (far below a pipe's buffer).
    with open(write, "wb", buffering=0) as address:
        address.write(engine.url.render_as_string(hide_password=False).encode() + b"\n")
    optimize = ["-" + "O" * sys.flags.optimize] if sys.flags.optimize else []
    # the address on an inherited pipe and the message in a file, not through pipes read here:
    # no gevent file objects or buffers in the server for a child's output
    with tempfile.TemporaryFile() as refusal, tempfile.TemporaryFile() as errors:
        try:
            done = subprocess.run(
                [sys.executable, *optimize, "-m", __name__, str(config_path), str(instance_dir)],
                stdin=read,
                stdout=refusal,  # config.yaml's refusal alone, apart from any warning on standard error
                stderr=errors,
                env={**os.environ, "PYTHONIOENCODING": "utf-8"},
            )
        finally:
            os.close(read)
        if done.returncode == _REFUSED:
            refusal.seek(0)
            raise ConfigError(refusal.read().decode("utf-8", errors="replace").strip())
        errors.seek(0)
        message = errors.read().decode("utf-8", errors="replace").strip()
    if done.returncode != 0:
        if done.returncode < 0:
            ended = f"was ended by {signal.Signals(-done.returncode).name} (out of memory?)"
        else:
            ended = f"ended with status {done.returncode}"
        raise RuntimeError(
            f"making the new database (its schema and config.yaml's setup) failed: the child process {ended}; "
            f"`queuekiosk migrate` does the same and shows why\n{message}".rstrip()
        )


class StartRefused(Exception):
    """The server cannot start: the message says why and what to do, Vietnamese first, then English."""


def start_app(config_path: Path | None, ignore_hours: bool):
    """A long-running server's app (``serve``, gunicorn's server/wsgi.py), after the checks a first
    start on a new machine needs: the instance folder written, the person key made (not at a
    citizen's first ticket, as a 500), the database reached, and the same person key as every other
    process of the installation, not a weak one (nor a weak session key), and the installation's
    tracking address an address. StartRefused says what is wrong; a ConfigError is config.yaml's."""
    import faulthandler

    import gevent

    # a crash in C code (a library's, in a thread of the pool making a report file, say) leaves each
    # thread's Python stack in the log (the journal), not a process simply gone
    faulthandler.enable()

    from ..core import bookings
    from ..core.config import config_path as resolve_config_path
    from ..core.config import instance_dir_for
    from ..core.db import SchemaNotCurrent, default_database_url
    from ..core.installation import (
        MAKE_KEY,
        hold_running,
        keep_running,
        same_person_key,
        weak_key,
        weak_key_refusal,
    )
    from ..core.web_address import web_address
    from .app import create_app
    from .printing import TRACKING_URL

    refuse_env_placeholders()  # gunicorn's start (server/wsgi.py) too, not only the commands (server/cli.py)
    secret = os.environ.get("QUEUEKIOSK_SECRET_KEY", "")
    if secret and weak_key(secret.encode()):  # it signs sign-ins and encrypts the phones kept
        raise start_refused("cli_secret_key_weak", make=MAKE_KEY)
    tracking = os.environ.get(TRACKING_URL, "").strip()
    if tracking and not web_address(tracking, base=True):
        raise start_refused("cli_tracking_url_invalid", value=tracking)
    path = resolve_config_path(config_path)
    folder = instance_dir_for(path)
    writing = folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # and its folders (the announcements' WAVs, a file printer's tickets): one made by a command run
        # as root would leave every call silent, each with a traceback, and no word at start
        for writing in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
            with tempfile.TemporaryFile(dir=writing):
                pass
        writing = folder
        key = bookings.person_key(folder)  # made now: the same check as every ticket's Idempotency-Key
    except OSError as error:
        said = {"folder": writing, "user": _user(), "reason": error.strerror or type(error).__name__}
        raise start_refused("cli_instance_unwritable", **said) from None
    try:
        if weak_key(key):  # before the database is made or config.yaml's setup loaded into it
            refusal = weak_key_refusal(default_database_url(folder), key)
            raise start_refused(refusal, path=folder / "person_key", make=MAKE_KEY)
        app = create_app(path, ignore_hours=ignore_hours, migrate_apart=True)
        engine = app.extensions["queuekiosk"].engine
        # held while this process runs: `queuekiosk person-key change` refuses meanwhile, and a start
        # waits for one under way before comparing keys
        app.extensions["queuekiosk_running"] = running = hold_running(engine, folder)
        same = same_person_key(engine, key)
    except SchemaNotCurrent as error:
        raise start_refused(error.key, **error.params) from None
    except Exception as error:
        refusal = database_refusal(error, path)
        if refusal is None:
            raise
        raise start_refused(refusal[0], **refusal[1]) from None
    if not same:
        raise start_refused("cli_person_key_differs", path=folder / "person_key")
    app.extensions["queuekiosk_person_key"] = {"key": key}  # the cache of web/api/idempotency.py
    gevent.spawn(keep_running, engine, running, key, gevent.sleep)  # taken again if PostgreSQL drops it
    app.config[TRACKING_URL] = tracking or None  # every site's, unless it sets its own (printing.tracking_base)
    return app


_ENV_CHECKED = []  # once a process: ``serve`` is checked by the command line, not again by start_app


def refuse_env_placeholders(then: str = "cli_nothing_started") -> None:
    """StartRefused naming each QUEUEKIOSK_* variable still holding docs/deployment.md's example text."""
    from ..core.installation import MAKE_KEY, env_placeholders

    if _ENV_CHECKED:
        return
    left = env_placeholders()  # an env file sourced or read before its <…> were replaced
    if left:
        raise start_refused("cli_env_placeholder", then, names=", ".join(left), make=MAKE_KEY)
    _ENV_CHECKED.append(True)


def start_refused(key: str, then: str = "cli_nothing_started", **params) -> StartRefused:
    """The catalogs' sentence ``key`` and "nothing was started", in Vietnamese, then in English on the
    next line (as the command line's ``say``, which the web layer may not import)."""
    from ..core.i18n import LANGUAGES, translate

    said = [f"{translate(key, lang, **params)}; {translate(then, lang)}" for lang in LANGUAGES]
    return StartRefused("\n".join(said))


def _user() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def shown_database_url(path: Path) -> str:
    """The database's address as the server took it, its password hidden."""
    from sqlalchemy.engine import make_url

    from ..core.config import instance_dir_for
    from ..core.db import default_database_url

    url = os.environ.get("QUEUEKIOSK_DATABASE_URL") or default_database_url(instance_dir_for(path))
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an address SQLAlchemy cannot read is shown without its user part
        return url.rpartition("@")[2]


def database_refusal(error: BaseException, path: Path) -> tuple[str, dict] | None:
    """What a command says of a database it could not use (a catalog key and its values): damaged
    (restore the last backup) or not reached (check the address); None for any other error."""
    if isinstance(error, faults.DATABASE_ERRORS) and faults.kind_of(error) == "database_damaged":
        return "cli_database_damaged", {
            "url": shown_database_url(path),
            "reason": faults.safe_text(error).splitlines()[0],
        }
    reason = unreachable(error)
    if reason is None:
        return None
    return "cli_database_unreachable", {"url": shown_database_url(path), "reason": reason}


def unreachable(error: BaseException) -> str | None:
    """The cause, in one line, when ``error`` says the database cannot be reached or its address
    read (refused, unknown host, role, password or database, a driver not installed); else None."""
    from sqlalchemy import exc

    if isinstance(error, exc.DBAPIError) and isinstance(error, (exc.OperationalError, exc.InterfaceError)):
        text = str(error.orig).strip()
    elif isinstance(error, exc.ArgumentError):  # an address it cannot read, or a database it has no driver for
        text = str(error)
    elif isinstance(error, ModuleNotFoundError) and error.name in ("psycopg", "psycopg2"):
        text = f"{error.name} is not installed: pip install -c constraints.txt -e '.[postgres]'"
    else:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _main(config_path: str, instance_dir: str) -> int:
    from ...printers.profiles import install as check_printer_profiles
    from ..core.config import load_config
    from ..core.db import create_db_engine, prepare_database

    check_printer_profiles()  # as the command line does: config refuses a profile python-escpos does not know
    path = Path(config_path)
    try:
        config = load_config(path)  # before the schema: a refused config.yaml writes nothing
    except ConfigError as error:
        sys.stdout.write(str(error))
        return _REFUSED
    engine = create_db_engine(sys.stdin.readline().strip())
    try:
        prepare_database(engine, lambda: config, Path(instance_dir), path.parent)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1], sys.argv[2]))
