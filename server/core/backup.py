"""Backing up and restoring the centre's database: the SQLite file, or PostgreSQL with its own tools.

SQLite is copied with SQLite's online backup (a consistent copy while the server runs).
PostgreSQL is dumped with ``pg_dump --format=custom`` and restored with ``pg_restore`` and ``psql``
in one transaction (pg_replace.py), run as programs with their arguments, never through a shell.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from .db import pg_connect_timeout, pg_limits
from .i18n import Phrase, translate
from .pg_replace import Failed, replace_database


class BackupError(Exception):
    """Nothing was changed. ``said``: why, as (catalog key, params), for a command to say in both languages;
    ``detail``: a tool's own words, if it gave any (its message: the English sentence, then the tool's words)."""

    def __init__(self, key: str, detail: str | None = None, **params):
        self.said, self.detail = (key, params), detail
        super().__init__(": ".join(filter(None, [translate(key, "en", **params), detail])))


def _sqlite_path(url) -> Path:
    return Path(url.database).resolve()


def _pg_args(url) -> list[str]:
    """pg_dump's / psql's connection: a libpq connection string of the URL's database, host, port, user and
    query, and the stall limits of the server's own connections by their rule (db.pg_limits): a connect that
    gets no answer within 5 s, and a session whose other end vanished in a network stall ended within ~20 s on
    both sides (on PostgreSQL's, a restore's locks freed, not held for the system's ~2 hours); a value the URL or libpq's environment (PGCONNECT_TIMEOUT, PGOPTIONS) gives wins. What the URL
    leaves out (host, port ...) libpq takes from its environment (PGHOST ...). The password is never in it:
    any user of the machine can read a command line (PGPASSWORD, or ~/.pgpass)."""
    settings = {"dbname": url.database, "host": url.host, "port": url.port, "user": url.username}
    # (a name given more than once, as ?host=a&host=b: libpq's list, "a,b", as the server's driver gives it)
    settings.update(
        {
            name: ",".join(value) if isinstance(value, tuple) else value
            for name, value in url.query.items()
            if name != "password"  # (a ?password= too: in PGPASSWORD, _tools_env)
        }
    )
    settings.update(pg_limits(url.query))
    return ["--dbname", " ".join(f"{name}={_quoted(value)}" for name, value in settings.items() if value is not None)]


def _quoted(value) -> str:
    """A value of a libpq connection string: in quotes, its backslashes and quotes escaped."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _address(url):
    """Where the tool tried PostgreSQL, as libpq picks it: the URL's host, else PGHOST, else the local socket."""
    host = url.host or os.environ.get("PGHOST")
    if not host:
        return Phrase("cli_pg_local_socket")
    return f"{host}:{url.port or os.environ.get('PGPORT') or 5432}"


def _tools_env(url, *tools: str) -> dict:
    """The environment PostgreSQL's ``tools`` run in: the URL's password in PGPASSWORD (never on a command
    line, which any user of the machine can read). Refused when one is not installed."""
    for tool in tools:
        if shutil.which(tool) is None:
            raise BackupError("cli_pg_tool_missing", tool=tool)
    env = dict(os.environ)
    password = url.password or url.query.get("password")
    if password:
        env["PGPASSWORD"] = password
    return env


def _refused(tool: str, said: str, url) -> BackupError:
    if "timeout expired" in said:  # (libpq's words for a connect that got no answer)
        seconds = pg_connect_timeout(url.query)
        return BackupError("cli_pg_no_answer", said, address=_address(url), seconds=seconds)
    return BackupError("cli_pg_tool_refused", said, tool=tool)


def backup(database_url: str, target: Path) -> None:
    url = make_url(database_url)
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    # readable by its owner only, as the database it copies: it holds accounts and citizens' bookings
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if url.get_backend_name() == "sqlite":
            source_path = _sqlite_path(url)
            if not source_path.exists():
                raise BackupError("cli_backup_no_database", path=str(source_path))
            source = sqlite3.connect(source_path)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
        else:
            env = _tools_env(url, "pg_dump")
            dumped = subprocess.run(
                ["pg_dump", "--format=custom", "--file", str(partial), *_pg_args(url)],
                capture_output=True,
                text=True,
                env=env,
            )
            if dumped.returncode != 0:
                raise _refused("pg_dump", dumped.stderr.strip(), url)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.chmod(partial, 0o600)
    partial.replace(target)  # a backup file is always whole


def restore(database_url: str, source: Path) -> None:
    """Replace the database with a backup. Stop every server process first."""
    url = make_url(database_url)
    source = source.resolve()
    if not source.is_file():
        raise BackupError("cli_restore_no_file")
    if url.get_backend_name() == "sqlite":
        try:
            with sqlite3.connect(source) as check:
                sound = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        except sqlite3.DatabaseError:
            sound = False
        if not sound:
            raise BackupError("cli_restore_not_sqlite")
        target = _sqlite_path(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        backup_copy = sqlite3.connect(source)
        live = sqlite3.connect(target)
        try:
            backup_copy.backup(live)  # page by page into the live file, its WAL included
        finally:
            live.close()
            backup_copy.close()
    else:
        try:
            replace_database(_pg_args(url), source, _tools_env(url, "pg_restore", "psql"))
        except Failed as failed:
            if failed.large_objects:
                raise BackupError("cli_restore_large_objects", failed.said) from None
            if failed.dependents:
                objects, count = ", ".join(failed.dependents), len(failed.dependents)
                raise BackupError("cli_restore_dependents", failed.said, objects=objects, count=count) from None
            if failed.in_function:
                raise BackupError("cli_restore_in_function", failed.said) from None
            raise _refused(failed.tool, failed.said, url) from None
