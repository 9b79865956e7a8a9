"""A PostgreSQL database replaced whole by a pg_dump custom-format backup, in one transaction committed
only once the whole backup was read.

pg_restore turns the backup into SQL (``-f -``, no connection of its own) and psql runs it. Python writes
``BEGIN`` and the drop of every table of the schema first, relays pg_restore's SQL, and writes ``COMMIT``
only after pg_restore exited 0. On any other path psql's input ends inside the open transaction, and
PostgreSQL rolls it back: nothing changed. (Not ``psql --single-transaction``: it commits when its input
ends, even when pg_restore died half-way, and a cut backup would be half restored.) A guard in the
transaction fails any COMMIT but ours, and a backup holding large objects (which pg_restore wraps in a
COMMIT of its own) is refused before anything starts.

Every table, not only those of the backup, so that a table a later version's migration made (a backup of
before an upgrade restored over the upgraded database) goes too; dropped in one statement, so the foreign
keys among them do not matter. The views the backup holds too are dropped first (pg_restore makes them
again); without CASCADE: an object the backup lacks (a view of the IT person's own over the tickets) refuses
the restore, named, rather than being dropped without a word. Tables of an extension are left to it.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

# (the restore's own errors in psql's words, what of them is shown, and whether a function of the database said it)
from .pg_said import DEPENDENTS, EARLY_COMMIT, by_function, shown

# the views and materialized views of the database the backup holds too: their DROP, and how PostgreSQL's
# DETAIL names them
HELD = """
CREATE FUNCTION pg_temp.queuekiosk_held() RETURNS TABLE (statement text, described text) LANGUAGE sql AS $held$
  SELECT CASE c.relkind WHEN 'm' THEN 'DROP MATERIALIZED VIEW ' ELSE 'DROP VIEW ' END || c.oid::regclass::text,
         CASE c.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END || c.oid::regclass::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_temp.queuekiosk_backup_views b ON b.nsp = n.nspname AND b.rel = c.relname
   WHERE c.relkind IN ('v', 'm')
$held$;
"""

# the views the backup holds too (filled in by preamble), dropped before the tables, then the tables
DROP = f"""
DO $drop$
DECLARE
  held record;
  dropped boolean := true;
  tables text;
  said text;
BEGIN
  -- (in dependency order, whichever way they are built on one another: each pass drops those nothing else
  -- holds; one an object the backup lacks holds stays, and the drop of the tables then names that object)
  WHILE dropped LOOP
    dropped := false;
    FOR held IN SELECT * FROM pg_temp.queuekiosk_held() LOOP
      BEGIN
        EXECUTE held.statement;
        dropped := true;
      EXCEPTION WHEN dependent_objects_still_exist THEN
        NULL;
      END;
    END LOOP;
  END LOOP;
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
  -- (the backup's own views, kept only by such an object, are not what refuses: their lines left out)
  SELECT string_agg(line, E'\\n') INTO said FROM regexp_split_to_table(said, E'\\n') AS line
   WHERE NOT EXISTS (SELECT 1 FROM pg_temp.queuekiosk_held() h WHERE starts_with(line, h.described || ' depends on '));
  RAISE EXCEPTION '{DEPENDENTS}' USING ERRCODE = 'dependent_objects_still_exist', DETAIL = said;
END
$drop$;
"""

# every COMMIT but the restore's own fails on the guard's deferred trigger: it compares the setting the
# ending sets with the hash of this run's key (a backup's SQL cannot know it, nor read it from the function)
GUARD = """
CREATE FUNCTION pg_temp.queuekiosk_commit_guard() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF encode(sha256(convert_to(current_setting('queuekiosk.restore_complete', true), 'UTF8')), 'hex')
     IS DISTINCT FROM '{key_hash}' THEN
    RAISE EXCEPTION {early_commit};
  END IF;
  RETURN NULL;
END
$guard$;
CREATE TEMP TABLE queuekiosk_commit_guard (x int) ON COMMIT DROP;
CREATE CONSTRAINT TRIGGER queuekiosk_commit_guard AFTER INSERT ON pg_temp.queuekiosk_commit_guard
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pg_temp.queuekiosk_commit_guard();
INSERT INTO pg_temp.queuekiosk_commit_guard VALUES (1);
"""


def ending(key: str) -> bytes:
    """The restore's own COMMIT, the one the guard lets through. It reads the guard's table (ON COMMIT DROP):
    after a ROLLBACK in the backup's SQL it is gone, and the ending fails: not reported as restored. First
    error stopping on again and the output back: a psql older than 15.14 lets the backup's SQL run psql's own
    commands (later ones refuse them until pg_restore's \\unrestrict), and with stopping turned off an aborted
    transaction's COMMIT rolls back without an error, and psql would go on to say restored (not all of it:
    with ON_ERROR_ROLLBACK on too, failed statements are skipped and the rest committed; the docs say to
    update psql). Then what psql still holds of the backup's SQL sent (\\g), as psql sends it when its input
    ends: psql holds statements unsent while it reads them as inside parentheses or a BEGIN ATOMIC body, and a
    genuine backup can end so (a function's body naming a column "begin", which psql takes for a BEGIN), or an
    edited one in a statement left unfinished, which then fails rather than take the check and COMMIT into
    it. A statement, not a bare ";", before the \\g: on an empty buffer \\g sends the statement before
    again, and an empty query right after a COPY's rows ends psql's reading of its input (psql 15)."""
    setting = f"set_config('queuekiosk.restore_complete', {_literal(key)}, true)"
    check = f"SELECT count({setting}) FROM pg_temp.queuekiosk_commit_guard;\nCOMMIT;\n"
    return ("\\o\n\\set ON_ERROR_STOP 1\nSELECT;\n\\g\n" + check).encode()


# a name as PostgreSQL writes it in SQL and in its messages: quoted ("Báo cáo", a "" for a ") when it must be
_NAME = r'(?:"(?:[^"]|"")*"|[^\s."]+)'
# "view public.tickets_per_day depends on table public.tickets" (a line of the DETAIL): the object's name
_DEPENDENT = re.compile(rf"^(?:DETAIL:\s+)?\w+(?: \w+)*? ({_NAME}(?:\.{_NAME})?) depends on ", re.MULTILINE)
# a line of `pg_restore --list`: "215; 1259 16390 VIEW public tickets_per_day owner" (names unquoted)
_LISTED = re.compile(r"^\d+; \d+ \d+ (MATERIALIZED VIEW DATA|MATERIALIZED VIEW|VIEW|BLOB METADATA|BLOBS?) (.*)$")
# the view's statement in pg_restore's SQL of its line alone: the first line so begun (before it only
# settings and the entry's comment, a line), the name quoted, so a name with a space is read whole
_CREATED = re.compile(rf"^CREATE (?:MATERIALIZED )?VIEW ({_NAME})\.({_NAME}) ", re.MULTILINE)


class Failed(Exception):
    """The database is as it was. ``tool``: the program that stopped (psql or pg_restore); ``said``: its words;
    ``dependents``: what refused the drop of the tables (their names), if that was the cause;
    ``large_objects``: the backup holds large objects (refused before anything started); ``in_function``:
    psql stopped at an error a function of the database raised (its message not in ``said``)."""

    def __init__(self, tool: str, said: str, dependents: list[str] | None = None, **what: bool):
        super().__init__(f"{tool}: {said}")
        self.tool, self.said, self.dependents = tool, said, dependents
        self.large_objects, self.in_function = what.get("large_objects", False), what.get("in_function", False)


def replace_database(connection: list[str], source: Path, env: dict) -> None:
    """Replace the schema of the database psql's ``connection`` arguments name with the backup ``source``
    (raises Failed, nothing changed). ``env``: the programs' environment (PGPASSWORD: never a command-line
    argument, which any user of the machine can read)."""
    key = secrets.token_hex(16)
    start = preamble(_backup_views(source, env), key)
    # (psql prints it only after our COMMIT succeeded: what says the restore happened, an interrupt or not)
    token = f"queuekiosk-restored-{secrets.token_hex(8)}"
    last = ending(key) + f"\\echo {token}\n".encode()
    with tempfile.TemporaryFile() as psql_out, tempfile.TemporaryFile() as psql_said:
        with tempfile.TemporaryFile() as restore_said:
            # (-X: no ~/.psqlrc; each one's words to a file, never an unread pipe that could fill up and stall it;
            # a warning's CONTEXT too: a function's warning, its message's lines left out, may quote a value
            # whose second line reads as an error's)
            psql = subprocess.Popen(
                ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "SHOW_CONTEXT=always", *connection],
                stdin=subprocess.PIPE,
                stdout=psql_out,
                stderr=psql_said,
                env=env,
            )
            dump, killed, commit_sent, interrupted = None, False, [], None
            try:
                dump = subprocess.Popen(
                    ["pg_restore", "--clean", "--if-exists", "--no-owner", "--file", "-", str(source)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=restore_said,
                    env=env,
                )
                _relay(dump, psql.stdin, start, last, commit_sent)
            except BaseException as error:
                interrupted = error
                if not commit_sent:
                    psql.kill()  # (interrupted: its connection ends, and PostgreSQL rolls back)
            finally:
                try:
                    if dump is not None:
                        killed = dump.poll() is None
                        if killed:
                            dump.kill()  # (psql stopped, or we were interrupted: nothing reads the rest)
                        _wait_through_interrupts(dump)
                        dump.stdout.close()
                finally:
                    _close(psql.stdin)
                    # (after COMMIT was sent, psql may still be building indexes: its outcome is the truth)
                    if _wait_through_interrupts(psql) and interrupted is None:
                        interrupted = KeyboardInterrupt()
            restore_words = _words(restore_said)
        if token in _words(psql_out):
            return  # committed: restored, whatever interrupted us after COMMIT was sent
        if interrupted is not None:
            raise interrupted
        if dump.returncode != 0 and not killed:
            raise Failed("pg_restore", restore_words)  # (psql's failure, if any, follows from it)
        words = _words(psql_said)
        said = shown(words)  # (no value of a row: the lines known to quote none)
        dependents = _DEPENDENT.findall(said) if DEPENDENTS in said else None
        raise Failed("psql", said, dependents, in_function=by_function(words))


def _backup_views(source: Path, env: dict) -> list[tuple[str, str]]:
    """The views and materialized views the backup holds, (schema, name), read from its table of contents
    and pg_restore's SQL of them; a backup holding large objects is refused (pg_restore's SQL commits them
    on its own)."""
    listed = _pg_restore(["--list", str(source)], env)
    views = []
    for line in listed.splitlines():
        if entry := _LISTED.match(line):
            if entry[1].startswith("BLOB"):
                raise Failed("pg_restore", line, large_objects=True)
            if entry[1] in ("VIEW", "MATERIALIZED VIEW"):
                views.append(line)
    # (one at a time: a view's text may hold, in a string, lines that read as another view's statement)
    return [named for line in views if (named := _view_named(line, source, env))]


def _view_named(listed: str, source: Path, env: dict) -> tuple[str, str] | None:
    """(schema, name) of the view of the line ``listed`` of the backup's table of contents (None: its SQL
    is not pg_dump's CREATE VIEW, and a view so named that the database holds refuses the drop, named)."""
    with tempfile.NamedTemporaryFile("w", suffix=".list") as chosen:
        chosen.write(listed + "\n")
        chosen.flush()
        created = _CREATED.search(_pg_restore(["--use-list", chosen.name, "--file", "-", str(source)], env))
    return (_unquoted(created[1]), _unquoted(created[2])) if created else None


def _pg_restore(arguments: list[str], env: dict) -> str:
    done = subprocess.run(["pg_restore", *arguments], capture_output=True, env=env)
    if done.returncode != 0:
        raise Failed("pg_restore", done.stderr.decode(errors="replace").strip())
    return done.stdout.decode(errors="replace")


def _unquoted(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def preamble(views: list[tuple[str, str]], key: str) -> bytes:
    """BEGIN, the table of the backup's views (names as SQL literals), the drop and the commit guard (which
    lets through only the COMMIT of ``ending(key)``)."""
    rows = ", ".join(f"({_literal(schema)}, {_literal(name)})" for schema, name in views)
    fill = f"INSERT INTO pg_temp.queuekiosk_backup_views VALUES {rows};\n" if rows else ""
    return (
        "BEGIN;\nSET LOCAL standard_conforming_strings = on;\n"
        "CREATE TEMP TABLE queuekiosk_backup_views (nsp text, rel text) ON COMMIT DROP;\n"
        + fill
        + HELD
        + DROP
        + GUARD.replace("{key_hash}", hashlib.sha256(key.encode()).hexdigest()).replace(
            "{early_commit}", _literal(EARLY_COMMIT)
        )
    ).encode()


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _relay(dump: subprocess.Popen, psql_input, start: bytes, ending: bytes, commit_sent: list) -> None:
    """BEGIN and the drop of the tables, pg_restore's SQL, and COMMIT only once pg_restore exited 0."""
    try:
        psql_input.write(start)
        while chunk := dump.stdout.read(1 << 16):
            psql_input.write(chunk)
        if dump.wait() == 0:
            psql_input.flush()
            commit_sent.append(True)  # (from here psql is waited for, not killed: it may be committing)
            os.write(psql_input.fileno(), ending)  # (one write under PIPE_BUF: all of it reaches psql, or none)
        psql_input.flush()
    except BrokenPipeError:
        pass  # psql stopped at an error (ON_ERROR_STOP) or could not connect: its words say which


def _wait_through_interrupts(process: subprocess.Popen) -> bool:
    """Wait for ``process`` to end, whatever interrupts come meanwhile; whether one came."""
    interrupted = False
    while True:
        try:
            process.wait()
            return interrupted
        except KeyboardInterrupt:
            interrupted = True


def _close(psql_input) -> None:
    try:
        psql_input.close()  # its input ends: after COMMIT, psql ends; without it, PostgreSQL rolls back
    except BrokenPipeError:
        pass


def _words(said) -> str:
    said.seek(0)
    return said.read().decode(errors="replace").strip()
