"""`queuekiosk restore` on PostgreSQL as an IT person meets it: a centre's dump restored into a new database
or over one that went on after it (replaced whole, as the command asks, a table made after the backup
included), and a file that is not a whole backup, or a view of one's own over the centre's tables, refused
with a sentence, the database left as it was (one transaction, committed only once the whole dump was read)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from api_helpers import issue
from one_day_helpers import within_one_day
from pg_lock_helpers import pg_engine, until_one_waits_for_a_lock
from sqlalchemy import text

from server.core import pg_replace

pytestmark = pytest.mark.postgres
LAND_SERVICE = {
    "code": "DD",
    "name": {"vi": "Đất đai", "en": "Land"},
    "numbers": {"start": 8001, "end": 8999},
    "target_wait_minutes": 20,
}

# what an IT person compares after a restore: the services, every ticket with its number, and where each
# service's numbering stands
CENTRE = {
    "services": "SELECT site_id, code, name, range_start, range_end, active FROM services ORDER BY site_id, code",
    "tickets": "SELECT t.public_id, s.code, t.number, t.business_day, t.status FROM tickets t"
    " JOIN services s ON s.id = t.service_id ORDER BY t.id",
    "numbering": "SELECT s.code, n.business_day, n.last_number FROM number_sequences n"
    " JOIN services s ON s.id = n.service_id ORDER BY s.code, n.business_day",
}


def centre_of(url: str) -> dict[str, list[tuple]]:
    engine = pg_engine(url)
    try:
        with engine.connect() as db:
            return {what: [tuple(row) for row in db.execute(text(query))] for what, query in CENTRE.items()}
    finally:
        engine.dispose()


def tables_of(url: str) -> dict[str, object]:
    """The database's tables (with their rows' count) and views, and its schema's revision."""
    engine = pg_engine(url)
    try:
        with engine.connect() as db:
            names = (
                db.execute(
                    text(
                        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'v') AND relnamespace ="
                        " 'public'::regnamespace ORDER BY relname"
                    )
                )
                .scalars()
                .all()
            )
            return {
                "tables": names,
                "newer": db.execute(text("SELECT count(*) FROM newer")).scalar() if "newer" in names else None,
                "revision": db.execute(text("SELECT version_num FROM alembic_version")).scalar(),
            }
    finally:
        engine.dispose()


def made_in(url: str, *statements: str) -> None:
    engine = pg_engine(url)
    try:
        with engine.begin() as db:
            for statement in statements:
                db.execute(text(statement))
    finally:
        engine.dispose()


# what a later version's migration does: a table referring to the tickets, with a row, and the revision moved on
NEWER_TABLE = (
    "CREATE TABLE newer (id serial PRIMARY KEY, ticket_id integer NOT NULL REFERENCES tickets (id))",
    "INSERT INTO newer (ticket_id) SELECT min(id) FROM tickets",
)
NEWER_REVISION = "UPDATE alembic_version SET version_num = '9999_newer'"


def a_day_of_tickets(srv) -> list[dict]:
    """Tickets of two services, one of them called to counter 1 (today's numbers: the test ends today)."""
    within_one_day(120)
    http = srv.session()
    tickets = [issue(http, code) for code in ("HT", "CT", "HT", "CT", "HT")]
    counter = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    called = http.post("/api/v1/counters/1/next", headers=counter)
    assert called.status_code == 200, called.text
    return tickets


def goes_on_after(srv, kept: list[dict]) -> None:
    """The server runs on the restored database: every kept ticket is there with its number, and each
    service's next number follows its last one kept (none given twice)."""
    srv.start()
    http = srv.session()
    for ticket in kept:
        assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    for code in ("HT", "CT"):
        last = max(ticket["number"] for ticket in kept if ticket["service"] == code)
        assert issue(http, code)["number"] == last + 1


def test_a_dump_restored_into_a_new_database_is_the_same_centre(live_server, migrated_pg_url, pg_url, tmp_path):
    """A PostgreSQL host lost: its nightly dump restored into an empty database of another (the URL changed
    to it), and the server started there."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    before = centre_of(migrated_pg_url)
    srv.stop()
    srv.env["QUEUEKIOSK_DATABASE_URL"] = pg_url  # (an empty database: no schema)
    srv.cli("restore", "--yes", str(dump))
    assert centre_of(pg_url) == before
    goes_on_after(srv, kept)


def test_a_restore_over_a_database_that_went_on_replaces_it(live_server, migrated_pg_url, tmp_path):
    """What was done after the backup (tickets, a service added) is gone, as the command's question says
    ("Replace everything in …"), and the day goes on from the backup's numbers."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    before = centre_of(migrated_pg_url)
    http = srv.session()
    later = [issue(http, "HT"), issue(http, "CT")]
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    added = http.post("/api/v1/admin/services", headers=admin, json=LAND_SERVICE)
    assert added.status_code == 201, added.text
    assert centre_of(migrated_pg_url) != before
    srv.stop()
    srv.cli("restore", "--yes", str(dump))
    assert centre_of(migrated_pg_url) == before
    goes_on_after(srv, kept)
    http = srv.session()
    assert all(http.get(f"/api/v1/tickets/{ticket['id']}").status_code == 404 for ticket in later)


@pytest.fixture
def owned_pg_url(_pg_admin) -> str:
    """A new database owned by a role of its own, not a superuser, as deployment.md has the server's
    (`createdb -O queuekiosk queuekiosk`); the URL connects as that role."""
    name = f"qk_test_{secrets.token_hex(6)}"
    _pg_admin.execute(f'CREATE ROLE "{name}" LOGIN')
    try:
        _pg_admin.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        yield f"postgresql://{name}@127.0.0.1:5432/{name}"
    finally:
        _pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin.execute(f'DROP ROLE IF EXISTS "{name}"')


def test_a_table_a_later_version_made_is_gone_after_the_restore(live_server, owned_pg_url, tmp_path):
    """Going back to the backup made before an upgrade, over the upgraded database: the table the newer
    version's migration made (referring to the tickets, as one would) goes with everything else, the schema
    is the backup's again, and the server of the backup's version starts on it. All of it as the database's
    owner, not a superuser."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": owned_pg_url})
    kept = a_day_of_tickets(srv)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    before, backed_up = centre_of(owned_pg_url), tables_of(owned_pg_url)
    srv.stop()
    made_in(owned_pg_url, *NEWER_TABLE, NEWER_REVISION)
    srv.cli("restore", "--yes", str(dump))
    assert tables_of(owned_pg_url) == backed_up  # (no table "newer", the backup's revision)
    assert centre_of(owned_pg_url) == before
    goes_on_after(srv, kept)


def refused_and_unchanged(srv, url: str, file) -> tuple[str, str]:
    """The restore of ``file`` refused in a sentence naming it and saying nothing was changed, in Vietnamese
    then in English, the tool's own words after them; the database as it was. The English sentence and the
    tool's words."""
    before, tables = centre_of(url), tables_of(url)
    result = srv.cli("restore", "--yes", str(file), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    vi, en, *words = result.stderr.splitlines()
    assert vi.startswith(f"Lỗi: không khôi phục được từ {file}: ") and vi.endswith("; chưa thay đổi gì"), vi
    # (no English in the Vietnamese line: the only words both lines share are names, the file's and the tools')
    assert all(not word.isalpha() or word == "psql" for word in set(vi.split()) & set(en.split())), (vi, en)
    assert en.startswith(f"could not restore from {file}: ") and en.endswith("; nothing was changed"), en
    assert centre_of(url) == before and tables_of(url) == tables
    return en, "\n".join(words)


def test_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(live_server, migrated_pg_url, tmp_path):
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    srv.stop()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    said, words = refused_and_unchanged(srv, migrated_pg_url, junk)
    assert said.endswith(": pg_restore stopped with an error (its own words below); nothing was changed"), said
    assert "does not appear to be a valid archive" in words  # (pg_restore's own words, once, on their own)
    goes_on_after(srv, kept)


def test_a_backup_cut_short_is_refused_and_what_it_began_is_undone(live_server, migrated_pg_url, tmp_path):
    """A dump cut short (a disk filled up, a copy interrupted): the tables were dropped, made again and most
    rows loaded when pg_restore finds the end missing; all of it is undone, in one transaction, a table made
    after the backup (with its row) still there."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    kept.append(issue(srv.session(), "HT"))  # (after the backup: the database differs from the dump)
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    cut = tmp_path / "cut.backup"
    cut.write_bytes(dump.read_bytes()[:-40])  # (the last table's rows: the end of a custom-format dump)
    said, words = refused_and_unchanged(srv, migrated_pg_url, cut)
    assert said.endswith(": pg_restore stopped with an error (its own words below); nothing was changed"), said
    assert tables_of(migrated_pg_url)["newer"] == 1
    goes_on_after(srv, kept)


def test_a_backup_cut_inside_a_table_s_rows_is_blamed_on_the_file_and_shows_no_row(
    live_server, migrated_pg_url, tmp_path
):
    """A dump cut in the middle of a table's rows: pg_restore's last, partial row reaches psql too, which
    fails on it quoting the row; the refusal names pg_restore (the file is cut short), and no row, a
    citizen's phone number here, is shown."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, *CITIZENS_PHONES)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    whole = dump.read_bytes()
    for tenth in range(2, 9):
        cut = tmp_path / f"cut{tenth}.backup"
        cut.write_bytes(whole[: len(whole) * tenth // 10])  # (inside the phones' rows: most of the file)
        said, words = refused_and_unchanged(srv, migrated_pg_url, cut)
        assert said.endswith(": pg_restore stopped with an error (its own words below); nothing was changed"), (
            tenth,
            said,
            words,
        )
        assert "0900" not in words, (tenth, words)
    goes_on_after(srv, kept)


# a table of citizens' phone numbers (about 3 MB of SQL): what psql would quote from a COPY it stopped in
CITIZENS_PHONES = (
    "CREATE TABLE citizen_phones (id serial PRIMARY KEY, phone text NOT NULL, note text NOT NULL)",
    "INSERT INTO citizen_phones (phone, note) SELECT '0900' || lpad(i::text, 6, '0'), md5(i::text)"
    " FROM generate_series(1, 60000) i",
)


def test_a_backup_holding_large_objects_is_refused_before_anything_starts(live_server, migrated_pg_url, tmp_path):
    """pg_restore's SQL commits a backup's large objects on its own (BEGIN … COMMIT around them), which
    would commit the drop of the tables and everything before it: such a backup is refused, saying why,
    and the database is as it was, a table made after the backup still there."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, "SELECT lo_from_bytea(0, '\\x00')")
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    said, words = refused_and_unchanged(srv, migrated_pg_url, dump)
    assert ": the backup holds large objects, which a restore cannot take in one transaction: " in said, said
    assert "BLOB" in words  # (pg_restore's own listing of it)
    assert tables_of(migrated_pg_url)["newer"] == 1
    goes_on_after(srv, kept)


KEY = secrets.token_hex(16)  # (a run's key: a restore makes its own)


def test_only_the_restore_s_own_ending_commits(pg_url):
    """The guard in the restore's transaction, on its own: a COMMIT in the backup's SQL (as pg_restore writes
    around large objects) fails, and what came before it is undone; the restore's own ending commits."""

    def psql(sql: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url], input=sql, capture_output=True)

    def tables() -> str:
        return psql(b"SELECT string_agg(relname, ',') FROM pg_class WHERE relname LIKE 'made%';").stdout.decode()

    early = psql(pg_replace.preamble([], KEY) + b"CREATE TABLE made_before (x int);\nCOMMIT;\n")
    assert early.returncode == 3 and b"tried to commit before its end" in early.stderr, early
    assert "made_before" not in tables()
    ours = psql(pg_replace.preamble([], KEY) + b"CREATE TABLE made_whole (x int);\n" + pg_replace.ending(KEY))
    assert ours.returncode == 0, ours
    assert "made_whole" in tables()


def test_a_view_the_backup_holds_too_is_made_again(live_server, migrated_pg_url, tmp_path):
    """Reporting views made before the backup (views live long), built on one another both ways (a
    materialized view over a view, a view over that materialized view): they are in the backup, so the
    restore replaces them with the backup's, as it does the tables, and does not refuse."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(
        migrated_pg_url,
        TICKETS_PER_DAY,
        "CREATE MATERIALIZED VIEW busy_days AS SELECT * FROM tickets_per_day",
        "CREATE VIEW busiest_day AS SELECT max(count) FROM busy_days",  # (a view over the materialized one)
    )
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    backed_up, before = tables_of(migrated_pg_url), centre_of(migrated_pg_url)
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    srv.cli("restore", "--yes", str(dump))
    assert tables_of(migrated_pg_url) == backed_up and {"tickets_per_day", "busiest_day"} <= set(backed_up["tables"])
    assert centre_of(migrated_pg_url) == before
    goes_on_after(srv, kept)


TICKETS_PER_DAY = "CREATE VIEW tickets_per_day AS SELECT business_day, count(*) FROM tickets GROUP BY 1"


def test_a_view_of_one_s_own_over_the_tickets_refuses_the_restore_and_is_named(live_server, migrated_pg_url, tmp_path):
    """A reporting view an IT person made over the tickets after the backup: the restore would have to drop
    it (it is not in the backup), so it is refused, naming the view (not the one the backup holds, even
    when one of one's own over it keeps it there), rather than dropping it silently; nothing changed. psql stops at once while pg_restore has megabytes of a
    table's rows still to write: pg_restore is stopped too, and neither is left running."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, "CREATE VIEW held AS SELECT count(*) FROM services", *CITIZENS_PHONES)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    made_in(migrated_pg_url, TICKETS_PER_DAY, "CREATE VIEW held_more AS SELECT * FROM held")
    said, words = refused_and_unchanged(srv, migrated_pg_url, dump)
    # (held, which held_more keeps, is in the backup: not named)
    named = said.partition(" depend on the centre's tables and are not in the backup: drop them")[0]
    assert set(named.rpartition(": ")[2].split(", ")) == {"tickets_per_day", "held_more"}, said
    assert "view tickets_per_day" in words  # (PostgreSQL's own words)
    assert "tickets_per_day" in tables_of(migrated_pg_url)["tables"]
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit() and str(dump).encode() in _cmdline(pid)]
    goes_on_after(srv, kept)


def test_a_rollback_or_the_guard_s_own_setting_in_the_backup_does_not_pass_for_a_restore(pg_url):
    """A hand-made archive's SQL that ends the restore's transaction another way (ROLLBACK: the drop undone,
    what follows committed on its own) or sets what the guard reads before its own COMMIT: the restore's
    ending fails (psql's rc 3), so it is never reported as restored."""

    def psql(sql: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url], input=sql, capture_output=True)

    rolled_back = psql(
        pg_replace.preamble([], KEY) + b"ROLLBACK;\nCREATE TABLE made_alone (x int);\n" + pg_replace.ending(KEY)
    )
    assert rolled_back.returncode == 3, rolled_back
    set_by_it = psql(
        pg_replace.preamble([], KEY)
        + b"CREATE TABLE made_early (x int);\nSET queuekiosk.restore_complete = 'on';\nCOMMIT;\n"
        + pg_replace.ending(KEY)
    )
    assert set_by_it.returncode == 3 and b"tried to commit before its end" in set_by_it.stderr, set_by_it
    made = psql(b"SELECT count(*) FROM pg_class WHERE relname = 'made_early';")
    assert made.stdout.split() == [b"count", b"-------", b"0", b"(1", b"row)"], made


def test_the_backup_s_psql_settings_do_not_reach_the_ending(pg_url, tmp_path):
    """A hand-made archive's SQL, read by a psql older than 15.14 (which lets a backup run psql's own
    commands), that turns error stopping off and sends the output elsewhere: a statement of it then fails
    and the transaction is aborted, and the restore's ending, which turns error stopping on again and takes
    the output back, stops there: never a COMMIT that rolls back while psql says the restore was done."""

    def psql(sql: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url], input=sql, capture_output=True)

    elsewhere = tmp_path / "elsewhere.txt"
    settings = f"\\set ON_ERROR_STOP 0\n\\o {elsewhere}\n".encode()
    failed = psql(
        pg_replace.preamble([], KEY)
        + settings
        + b"CREATE TABLE made_then (x int);\nSELECT 1 / 0;\n"
        + pg_replace.ending(KEY)
        + b"\\echo restored\n"
    )
    assert failed.returncode == 3 and b"restored" not in failed.stdout, failed
    whole = psql(
        pg_replace.preamble([], KEY) + settings + b"CREATE TABLE made_whole (x int);\n" + pg_replace.ending(KEY)
    )
    assert whole.returncode == 0 and b" count \n-------\n     1\n" in whole.stdout, whole  # (its own output)
    made = psql(b"SELECT string_agg(relname, ',') FROM pg_class WHERE relname LIKE 'made_%';")
    assert b"made_whole" in made.stdout and b"made_then" not in made.stdout, made


# a schema of reports, names with spaces and quotes
REPORTS_SCHEMA = (
    'CREATE SCHEMA "Báo cáo"',
    'CREATE VIEW "Báo cáo"."theo ngày" AS SELECT business_day, count(*) FROM tickets GROUP BY 1',
    'CREATE MATERIALIZED VIEW "Báo cáo"."ngày ""đông""" AS SELECT * FROM "Báo cáo"."theo ngày"',
)


def test_names_with_spaces_are_read_as_they_are(live_server, migrated_pg_url, tmp_path):
    """Views in a schema whose name has a space (pg_restore --list does not quote names), one with quotes in
    its name: the backup's are made again; one of one's own made after the backup refuses the restore,
    named as PostgreSQL names it."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, *REPORTS_SCHEMA)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    before = centre_of(migrated_pg_url)
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    srv.cli("restore", "--yes", str(dump))
    assert centre_of(migrated_pg_url) == before and tables_of(migrated_pg_url)["newer"] is None
    made_in(migrated_pg_url, 'CREATE VIEW "Báo cáo"."của tôi" AS SELECT count(*) FROM tickets')
    said, words = refused_and_unchanged(srv, migrated_pg_url, dump)
    assert ': "Báo cáo"."của tôi" depends on the centre\'s tables and is not in the backup: drop it' in said, said
    goes_on_after(srv, kept)


def test_a_view_is_the_backup_s_by_its_entry_not_by_another_view_s_text(live_server, migrated_pg_url, tmp_path):
    """A view of the backup whose text holds, in a string on lines of their own, what pg_restore writes before
    another view (its comment and CREATE VIEW): the view so named, one of one's own made after the backup, is
    not taken for the backup's: the restore is refused naming it, not dropping it."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(
        migrated_pg_url,
        "CREATE VIEW contrived AS SELECT E'x\\n-- Name: my_report\\nCREATE VIEW public.my_report AS' AS x",
    )
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    made_in(migrated_pg_url, "CREATE VIEW my_report AS SELECT count(*) FROM tickets")
    said, words = refused_and_unchanged(srv, migrated_pg_url, dump)
    assert ": my_report depends on the centre's tables and is not in the backup: drop it" in said, said
    assert "my_report" in tables_of(migrated_pg_url)["tables"]
    goes_on_after(srv, kept)


def test_a_key_s_values_in_postgresql_s_words_are_not_shown(live_server, migrated_pg_url, tmp_path):
    """A backup whose rows break a foreign key (here made without the referred table's rows): PostgreSQL's
    DETAIL quotes the key, a citizen's phone number, which is not shown; nothing changed."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(
        migrated_pg_url,
        "CREATE TABLE citizens (phone text PRIMARY KEY)",
        "CREATE TABLE visits (phone text NOT NULL REFERENCES citizens)",
        "INSERT INTO citizens VALUES ('0900123456')",
        "INSERT INTO visits VALUES ('0900123456')",
    )
    dump = tmp_path / "centre.backup"
    made = subprocess.run(
        ["pg_dump", "-Fc", "--exclude-table-data=citizens", "-f", str(dump), migrated_pg_url], capture_output=True
    )
    assert made.returncode == 0, made
    srv.stop()
    said, words = refused_and_unchanged(srv, migrated_pg_url, dump)
    assert said.endswith(": psql stopped with an error (its own words below); nothing was changed"), said
    assert "violates foreign key constraint" in words and "0900" not in words, words
    goes_on_after(srv, kept)


def _cmdline(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # (ended meanwhile)
        return b""


def restore_started(srv, dump) -> subprocess.Popen:
    """``queuekiosk restore --yes dump`` started as a process of its own, to be signalled as a supervisor
    (or ``kill -INT``) would: to it alone, not to its psql and pg_restore."""
    command = [str(Path(sys.executable).parent / "queuekiosk"), "restore", "--yes", str(dump)]
    return subprocess.Popen(
        [*command, "--config", str(srv.config_path)],
        env=srv.env,
        cwd=srv.workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def children_of(pid: int) -> dict[str, int]:
    """The programs ``pid`` runs, by name: their pids."""
    found = {}
    for child in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{child}/stat").read_text()
        except OSError:  # (ended meanwhile)
            continue
        name, _, rest = stat.partition("(")[2].rpartition(")")
        if int(rest.split()[1]) == pid:
            found[name] = int(child)
    return found


@pytest.mark.parametrize("given", ["before the address", "in the query"])
def test_an_interrupt_before_the_commit_changes_nothing_and_the_password_is_never_an_argument(
    live_server, migrated_pg_url, tmp_path, given
):
    """A restore held up (another session holds a lock its drop of the tables waits for) is interrupted:
    psql is stopped with it, no traceback, nothing changed. Meanwhile the database's password was in
    psql's environment only, never on its command line (which every user of the machine can read),
    whether the URL gives it before the address or as ``?password=``."""
    password = f"pw-{secrets.token_hex(6)}"  # (trust authentication: where it goes is what is checked)
    if given == "in the query":
        url = migrated_pg_url + ("&" if "?" in migrated_pg_url else "?") + f"password={password}"
    else:
        url = migrated_pg_url.replace("postgres@", f"postgres:{password}@", 1)
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, *CITIZENS_PHONES)  # (megabytes: pg_restore's SQL does not fit in the pipe)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    before, tables = centre_of(migrated_pg_url), tables_of(migrated_pg_url)
    engine = pg_engine(migrated_pg_url)
    try:
        with engine.connect() as holder:
            holder.execute(text("LOCK TABLE services IN ACCESS SHARE MODE"))
            holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar()
            restore = restore_started(srv, dump)
            try:
                assert until_one_waits_for_a_lock(engine, 30, blocked_by=holder_pid), "the restore never waited"
                psql = children_of(restore.pid)["psql"]
                assert password.encode() not in Path(f"/proc/{psql}/cmdline").read_bytes()
                assert f"PGPASSWORD={password}".encode() in Path(f"/proc/{psql}/environ").read_bytes().split(b"\0")
                os.kill(restore.pid, signal.SIGINT)
                out, err = restore.communicate(timeout=30)
            finally:
                restore.kill()
            assert restore.returncode != 0 and "Traceback" not in err and "restored" not in out + err, err
            assert not children_of(restore.pid) and not Path(f"/proc/{psql}").exists()
            holder.rollback()
    finally:
        engine.dispose()
    assert centre_of(migrated_pg_url) == before and tables_of(migrated_pg_url) == tables
    goes_on_after(srv, kept)


def test_an_interrupt_once_the_commit_was_sent_waits_for_it_and_says_restored(live_server, migrated_pg_url, tmp_path):
    """psql still runs the end of the backup (a materialized view filled again, slowly here) when COMMIT was
    already sent, and the restore is interrupted: it waits for psql and says what happened (restored), not
    "Aborted" over a database that was replaced."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, "CREATE MATERIALIZED VIEW slowly AS SELECT pg_sleep(2) IS NULL AS slept")
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    backed_up, before = tables_of(migrated_pg_url), centre_of(migrated_pg_url)
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    engine = pg_engine(migrated_pg_url)
    try:
        restore = restore_started(srv, dump)
        try:
            assert until_refreshing(engine), "psql never filled the materialized view"
            os.kill(restore.pid, signal.SIGINT)
            out, err = restore.communicate(timeout=60)
        finally:
            restore.kill()
    finally:
        engine.dispose()
    assert restore.returncode == 0 and f"restored from {dump}" in out + err and "Traceback" not in err, err
    assert tables_of(migrated_pg_url) == backed_up and centre_of(migrated_pg_url) == before
    goes_on_after(srv, kept)


def until_refreshing(engine, seconds: float = 30) -> bool:
    with engine.connect() as conn:
        deadline = time.monotonic() + seconds
        while not conn.execute(text(REFRESHING)).scalar():
            if time.monotonic() > deadline:
                return False
            conn.rollback()
            time.sleep(0.02)
    return True


REFRESHING = "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'REFRESH MATERIALIZED VIEW%slowly%'"


# citizens' cards: a CCCD, a phone, a note holding both on two lines (the second begun as psql's line of an
# error); visits kept by phone, one partition
CITIZEN_CARDS = (
    "CREATE TABLE citizen_cards (id int PRIMARY KEY, cccd text NOT NULL CHECK (cccd ~ '^[0-9]{12}$'),"
    " phone bigint, note text)",
    "CREATE UNIQUE INDEX citizen_cards_note ON citizen_cards (note)",
    "INSERT INTO citizen_cards VALUES (1, '001099012345', 912345678, E'CCCD 001099012345\\nERROR:  0912345678'),"
    " (2, '001099012346', 912345679, E'CCCD 001099012346\\nERROR:  0912345679')",
    "CREATE TABLE citizen_visits (phone text) PARTITION BY LIST (phone)",
    "CREATE TABLE citizen_visits_known PARTITION OF citizen_visits FOR VALUES IN ('0987654321')",
    "INSERT INTO citizen_visits VALUES ('0987654321')",
    # (a check of one's own in a function, whose message holds the value unquoted)
    "CREATE FUNCTION citizen_cccd_ok(cccd text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN"
    " IF cccd !~ '^[0-9]{12}$' THEN RAISE EXCEPTION USING MESSAGE = 'CCCD ' || cccd || ' is not 12 digits';"
    " END IF; RETURN true; END $$",
    "CREATE TABLE citizen_ids (id int PRIMARY KEY, cccd text CHECK (citizen_cccd_ok(cccd)))",
    "INSERT INTO citizen_ids VALUES (1, '001099012347')",
    # (a check of one's own in a function that warns first, quoting a value whose second line reads as an error)
    "CREATE FUNCTION citizen_noted(cccd text, note text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN"
    " IF cccd !~ '^[0-9]{12}$' THEN RAISE WARNING 'note: %', note; RETURN false; END IF; RETURN true; END $$",
    "CREATE TABLE citizen_notes (id int PRIMARY KEY, cccd text, note text, CHECK (citizen_noted(cccd, note)))",
    "INSERT INTO citizen_notes VALUES (1, '001099012348', E'first\\nERROR:  0912345677')",
)
# a row of the backup changed (same length: the archive stays readable), and what PostgreSQL then says
BROKEN_ROWS = {
    "bad input": (b"\t912345678\t", b"\t91234567x\t", "ERROR:  invalid input syntax for type bigint: "),
    "check": (b"\t001099012345\t", b"\t00109901234x\t", 'violates check constraint "citizen_cards_cccd_check"'),
    "not null": (
        b"001099012345\t912345678\t",
        b"\\N\t0000000000912345678\t",
        'null value in column "cccd" of relation "citizen_cards" violates not-null constraint',
    ),
    "a key on two lines": (
        b"CCCD 001099012346\\nERROR:  0912345679",
        b"CCCD 001099012345\\nERROR:  0912345678",
        'could not create unique index "citizen_cards_note"',
    ),
    "no partition": (b"0987654321\n", b"0987654320\n", 'no partition of relation "citizen_visits" found for row'),
    "a function's own message": (b"\t001099012347\n", b"\t00109901234y\n", "ERROR:  …"),
    "a function's warning first": (b"\t001099012348\t", b"\t00109901234z\t", "ERROR:  …"),
}
# what the sentence says of psql's words: its own (below), or a function's, not shown
IN_FUNCTION = (
    ": psql stopped at an error raised by a function in the database; its message is not"
    " shown, as it may hold a citizen's data (PostgreSQL's own log has it): check the functions the backup's"
    " constraints, indexes or views call; nothing was changed"
)
SAID_OF_WORDS = {"a function's own message": IN_FUNCTION, "a function's warning first": IN_FUNCTION}


def test_a_backup_whose_row_fails_shows_no_value_of_it(live_server, migrated_pg_url, tmp_path):
    """A backup whose citizen's row breaks a check, a NOT NULL, a column's type, a unique key (a value on
    two lines), every partition or a check of one's own in a function: psql's words name what failed (the
    constraint, column, index, relation; a function's own message not shown, the sentence says so), and no
    CCCD or phone number of the row is shown in any line; nothing changed."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, *CITIZEN_CARDS)
    dump = tmp_path / "centre.backup"
    # (uncompressed, the partitions' rows as the partitioned table's: a row can be changed in the file)
    made = subprocess.run(
        ["pg_dump", "-Fc", "-Z0", "--load-via-partition-root", "-f", str(dump), migrated_pg_url], capture_output=True
    )
    assert made.returncode == 0, made
    srv.stop()
    whole = dump.read_bytes()
    for number, (case, (row, broken, failed)) in enumerate(BROKEN_ROWS.items()):
        assert whole.count(row) == 1, case
        crafted = tmp_path / f"broken{number}.backup"
        crafted.write_bytes(whole.replace(row, broken))
        said, words = refused_and_unchanged(srv, migrated_pg_url, crafted)
        own_words = ": psql stopped with an error (its own words below); nothing was changed"
        assert said.endswith(SAID_OF_WORDS.get(case, own_words)), (case, said)
        assert failed in words, (case, words)
        shown = said + "\n" + words
        assert not [value for value in CITIZENS_VALUES if value in shown], (case, shown)
    goes_on_after(srv, kept)


CITIZENS_VALUES = ("1099012", "1234567", "98765432")  # (any part of a CCCD or phone of the rows, changed or not)


# what an archive's last statement, edited by hand, leaves unfinished: psql would take the restore's own check
# and COMMIT into it (a ";" inside parentheses or BEGIN ATOMIC ends nothing)
UNFINISHED = (b"SELECT (", b"CREATE FUNCTION unfinished() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;")
PAYLOAD = b"'" + b"P" * 100 + b"'"  # (a comment's text, to be changed in the archive, same length)


def backed_up_with_a_last_entry(srv, url: str, dump: Path) -> bytes:
    """A backup whose last entry (after every table's rows and index) is a policy's comment, PAYLOAD: the
    archive's bytes."""
    made_in(
        url,
        "CREATE POLICY last_of_all ON services USING (true)",
        f"COMMENT ON POLICY last_of_all ON services IS {PAYLOAD.decode()}",
    )
    srv.cli("backup", str(dump))
    whole = dump.read_bytes()
    assert whole.count(PAYLOAD) == 1
    return whole


def ending_in(whole: bytes, sql: bytes, crafted: Path) -> Path:
    """The archive ``whole`` edited in place (its table of contents is not checked) to end in ``sql``, after
    the comment, which pg_restore writes last."""
    crafted.write_bytes(whole.replace(PAYLOAD, (b"NULL;\n" + sql).ljust(len(PAYLOAD))))
    written = subprocess.run(["pg_restore", "-f", "-", str(crafted)], capture_output=True, check=True).stdout
    after = written.rpartition(sql)[2].splitlines()  # (the last statement: comments after it)
    assert not [line for line in after if line.strip(b" ;") and not line.startswith((b"--", b"\\unres"))], after
    return crafted


def test_a_backup_ending_in_an_unfinished_statement_is_refused_and_changes_nothing(
    live_server, migrated_pg_url, tmp_path
):
    """An archive edited to end in a statement left unfinished: psql would take the restore's check and COMMIT
    into it, still print what says restored, and the connection's end then undo it all. What psql holds is
    sent before the ending, and an unfinished statement fails: refused, nothing changed."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    whole = backed_up_with_a_last_entry(srv, migrated_pg_url, tmp_path / "centre.backup")
    srv.stop()
    made_in(migrated_pg_url, *NEWER_TABLE)
    for number, unfinished in enumerate(UNFINISHED):
        crafted = ending_in(whole, unfinished, tmp_path / f"unfinished{number}.backup")
        said, words = refused_and_unchanged(srv, migrated_pg_url, crafted)
        assert said.endswith(": psql stopped with an error (its own words below); nothing was changed"), said
        assert words.startswith("ERROR:  syntax error at "), (unfinished, words)
        assert tables_of(migrated_pg_url)["newer"] == 1
    goes_on_after(srv, kept)


# the restore's ending after a backup's last statement as psql sees it: what psql still holds is sent (an
# unfinished statement fails), and never the last statement again (psql's \g on an empty buffer sends the one
# before), nor an empty query (after a COPY's rows it ends psql's reading of its input, silently)
TAILS = {
    b"INSERT INTO made_here VALUES (1);\n": 1,
    b"COPY made_here FROM stdin;\n1\n\\.\n": 1,
    b"SELECT (\n": None,
    b"CREATE FUNCTION unfinished() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\n": None,
    b"INSERT INTO made_here VALUES (1)\n": None,  # (its ";" left out)
}


def test_the_ending_sends_what_psql_holds_and_nothing_twice(pg_url):
    def psql(sql: bytes) -> subprocess.CompletedProcess:
        return subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url], input=sql, capture_output=True)

    for tail, rows in TAILS.items():
        ran = psql(
            pg_replace.preamble([], KEY)
            + b"CREATE TABLE made_here (x int);\n"
            + tail
            + pg_replace.ending(KEY)
            + b"\\echo restored\n"
        )
        assert (ran.returncode, b"restored" in ran.stdout) == ((0, True) if rows else (3, False)), (tail, ran)
        made = psql(b"SELECT count(*) FROM made_here;\nDROP TABLE IF EXISTS made_here;\n")
        assert made.stdout.split()[2:3] == ([str(rows).encode()] if rows else []), (tail, made)


# a function of SQL's own body (BEGIN ATOMIC) naming a column "begin" (pg_dump does not quote it): psql reads it
# as a BEGIN of the body, and holds all that follows it unsent; pg_dump writes the function after the primary
# key it needs (GROUP BY), among the indexes and constraints made after the rows
BEGIN_COLUMN = (
    "CREATE TABLE periods (id int PRIMARY KEY, begin int)",
    "INSERT INTO periods VALUES (1, 2)",
    "CREATE FUNCTION period_begins() RETURNS SETOF int LANGUAGE sql"
    " BEGIN ATOMIC SELECT periods.begin FROM periods GROUP BY periods.id; END",
    "CREATE TABLE period_notes (id int PRIMARY KEY, period_id int REFERENCES periods (id))",
    "CREATE INDEX period_notes_period ON period_notes (period_id)",
)
# what is made after the rows: functions, constraints, indexes of the schema
MADE_AFTER_ROWS = (
    "SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'constraint ' || conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    " UNION ALL SELECT 'index ' || relname FROM pg_class WHERE relkind = 'i' AND relnamespace = 'public'::regnamespace"
)


def made_after_rows(url: str) -> set[str]:
    engine = pg_engine(url)
    try:
        with engine.connect() as db:
            return set(db.execute(text(MADE_AFTER_ROWS)).scalars())
    finally:
        engine.dispose()


def test_a_function_whose_body_names_a_column_begin_is_restored_with_all_after_it(
    live_server, migrated_pg_url, pg_url, tmp_path
):
    """A genuine backup psql's reading holds unsent to its end (a function's body naming a column "begin"):
    restored whole, the function and every constraint and index after it made, into a new database."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    made_in(migrated_pg_url, *BEGIN_COLUMN)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    before, made = centre_of(migrated_pg_url), made_after_rows(migrated_pg_url)
    assert {"function period_begins", "constraint period_notes_pkey", "index period_notes_period"} <= made
    srv.stop()
    srv.env["QUEUEKIOSK_DATABASE_URL"] = pg_url  # (an empty database)
    srv.cli("restore", "--yes", str(dump))
    assert made_after_rows(pg_url) == made and centre_of(pg_url) == before
    goes_on_after(srv, kept)


# a backup's last statement, and what psql's words then show: psql's own refusal of a command (every one in
# pg_restore's \restrict), a setting of a newer PostgreSQL named (its value not)
REFUSED_ENDINGS = {
    b"\\echo 0912345678": "backslash commands are restricted; only \\unrestrict is allowed",
    b"SET transaction_timeout = '0912345678';": 'ERROR:  unrecognized configuration parameter "transaction_timeout"',
}


def test_psql_s_own_refusal_and_a_newer_server_s_setting_are_named(live_server, migrated_pg_url, pg_url, tmp_path):
    """What an IT person needs to see of psql's words when a backup does not fit this psql or PostgreSQL: the
    command psql refuses, the setting the server does not know (a backup of a newer PostgreSQL); of a command
    it does not know, its name only when pg_restore writes it (any other may be a value read as one)."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    kept = a_day_of_tickets(srv)
    whole = backed_up_with_a_last_entry(srv, migrated_pg_url, tmp_path / "centre.backup")
    srv.stop()
    for number, (sql, shown) in enumerate(REFUSED_ENDINGS.items()):
        said, words = refused_and_unchanged(srv, migrated_pg_url, ending_in(whole, sql, tmp_path / f"{number}.backup"))
        assert said.endswith(": psql stopped with an error (its own words below); nothing was changed"), said
        assert words == shown, (sql, words)
    # (a command psql does not know: with a psql older than pg_restore, \restrict; here one read from a value)
    unknown = subprocess.run(["psql", "-X", "-q", pg_url], input="\\0912345678\n", capture_output=True, text=True)
    assert pg_replace.shown(unknown.stderr) == "invalid command \\…", unknown.stderr
    goes_on_after(srv, kept)


def test_a_function_s_message_is_hidden_on_a_server_speaking_vietnamese():
    """PL/pgSQL's own words are translated (plpgsql-15.mo's "Hàm PL/pgSQL %s dòng %d tại %s"), its statement's
    name not: a function's RAISE or ASSERT is known by it on a server whose lc_messages is Vietnamese too."""
    for statement in ("RAISE", "ASSERT"):
        words = (
            "ERROR:  CCCD 00109901234y is not 12 digits\n"
            f"CONTEXT:  Hàm PL/pgSQL citizen_cccd_ok(text) dòng 1 tại {statement}\n"
            'COPY citizen_ids, line 1: "1\t00109901234y"'
        )
        assert (pg_replace.shown(words), pg_replace.by_function(words)) == ("ERROR:  …", True), statement


def test_the_restore_s_own_drop_refused_by_an_owner_is_named(live_server, owned_pg_url, tmp_path):
    """A table the server's role may not drop (the schema not its, as public is not on PostgreSQL 14 and
    earlier, and the table made by the superuser): the restore's own drop of the tables, in PL/pgSQL, is
    refused in PostgreSQL's words, shown as they are (not taken for a function's own words)."""
    as_superuser = "postgresql://postgres@" + owned_pg_url.split("@", 1)[1]
    role = owned_pg_url.split("//", 1)[1].split("@", 1)[0]
    made_in(as_superuser, "ALTER SCHEMA public OWNER TO postgres", f'GRANT CREATE ON SCHEMA public TO "{role}"')
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": owned_pg_url})
    kept = a_day_of_tickets(srv)
    dump = tmp_path / "centre.backup"
    srv.cli("backup", str(dump))
    srv.stop()
    made_in(as_superuser, "CREATE TABLE not_ours (x int)")
    said, words = refused_and_unchanged(srv, owned_pg_url, dump)
    assert said.endswith(": psql stopped with an error (its own words below); nothing was changed"), said
    assert words == "ERROR:  must be owner of table not_ours", words
    goes_on_after(srv, kept)
