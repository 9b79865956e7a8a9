"""A PostgreSQL database replaced whole by a pg_dump custom-format backup, in one transaction committed
only once the whole backup was read.

pg_restore turns the backup into SQL (``-f -``, no connection of its own) and psql runs it. Python writes
``BEGIN`` and the drop of every table of the schema first, relays pg_restore's SQL, and writes ``COMMIT``
only after pg_restore exited 0. On any other path psql's input ends inside the open transaction, and
PostgreSQL rolls it back: nothing changed. (Not ``psql --single-transaction``: it commits when its input
ends, even when pg_restore died half-way, and a cut backup would be half restored.)

Every table, not only those of the backup, so that a table a later version's migration made (a backup of
before an upgrade restored over the upgraded database) goes too; dropped in one statement, so the foreign
keys among them do not matter, and without CASCADE: an object that is not a table (a view of the IT
person's own over the tickets) refuses the restore, named, rather than being dropped without a word.
Tables of an extension are left to it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

# (psql's message of it: its marker, and PostgreSQL's own DETAIL naming what depends on the tables)
DEPENDENTS = "queuekiosk: objects not in the backup depend on its tables"

PREAMBLE = f"""BEGIN;
DO $drop$
DECLARE
  tables text;
  said text;
BEGIN
  SELECT string_agg(c.oid::regclass::text, ', ') INTO tables FROM pg_class c
   WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
     AND c.relkind IN ('r', 'p')
     AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.deptype = 'e');
  IF tables IS NOT NULL THEN
    EXECUTE 'DROP TABLE ' || tables;
  END IF;
EXCEPTION WHEN dependent_objects_still_exist THEN
  GET STACKED DIAGNOSTICS said = PG_EXCEPTION_DETAIL;
  RAISE EXCEPTION '{DEPENDENTS}' USING ERRCODE = 'dependent_objects_still_exist', DETAIL = said;
END
$drop$;
""".encode()

# "view public.tickets_per_day depends on table public.tickets" (a line of the DETAIL)
_DEPENDENT = re.compile(r"^(?:DETAIL:\s+)?(\w+(?: \w+)*? \S+) depends on ", re.MULTILINE)


class Failed(Exception):
    """The database is as it was. ``tool``: the program that stopped (psql or pg_restore); ``said``: its words;
    ``dependents``: what refused the drop of the tables (as PostgreSQL names them), if that was the cause."""

    def __init__(self, tool: str, said: str, dependents: list[str] | None = None):
        super().__init__(f"{tool}: {said}")
        self.tool, self.said, self.dependents = tool, said, dependents


def replace_database(connection: list[str], source: Path, env: dict) -> None:
    """Replace the schema of the database psql's ``connection`` arguments name with the backup ``source``
    (raises Failed, nothing changed). ``env``: the programs' environment (PGPASSWORD: never a command-line
    argument, which any user of the machine can read)."""
    with tempfile.TemporaryFile() as psql_said, tempfile.TemporaryFile() as restore_said:
        # (-X: no ~/.psqlrc; each one's words to a file, never an unread pipe that could fill up and stall it)
        psql = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *connection],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_said,
            env=env,
        )
        dump = subprocess.Popen(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--file", "-", str(source)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=restore_said,
            env=env,
        )
        try:
            _relay(dump, psql.stdin)
        except BaseException:
            psql.kill()  # (interrupted: its connection ends, and PostgreSQL rolls back)
            raise
        finally:
            if dump.poll() is None:
                dump.kill()  # (psql stopped: nothing reads the rest)
            dump.wait()
            dump.stdout.close()
            _close(psql.stdin)
            psql.wait()
        if psql.returncode != 0:
            said = _words(psql_said)
            dependents = _DEPENDENT.findall(said) if DEPENDENTS in said else None
            raise Failed("psql", said, dependents)
        if dump.returncode != 0:
            raise Failed("pg_restore", _words(restore_said))


def _relay(dump: subprocess.Popen, psql_input) -> None:
    """BEGIN and the drop of the tables, pg_restore's SQL, and COMMIT only once pg_restore exited 0."""
    try:
        psql_input.write(PREAMBLE)
        while chunk := dump.stdout.read(1 << 16):
            psql_input.write(chunk)
        if dump.wait() == 0:
            psql_input.write(b"COMMIT;\n")
        psql_input.flush()
    except BrokenPipeError:
        pass  # psql stopped at an error (ON_ERROR_STOP) or could not connect: its words say which


def _close(psql_input) -> None:
    try:
        psql_input.close()  # its input ends: after COMMIT, psql ends; without it, PostgreSQL rolls back
    except BrokenPipeError:
        pass


def _words(said) -> str:
    said.seek(0)
    return said.read().decode(errors="replace").strip()
