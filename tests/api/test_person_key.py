"""The person key (QUEUEKIOSK_PERSON_KEY) hashes citizens' CCCD numbers and phones (Decree 13/2023):
a weak one ("changeme", the documentation's example text) would let anyone holding a copy of the
database find the numbers by trying them all, so no server starts with it, under `serve` or
gunicorn; an installation that already used one is told how to change it, and
`queuekiosk person-key change` does, saying what a change costs (docs/deployment.md)."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from api_helpers import REPO, assert_error
from booking_api_helpers import remote
from ops_helpers import refused_start, run_serve
from sqlalchemy import inspect, text

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.installation import same_person_key

MAKE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
# the env file's example text of docs/deployment.md, as a reader pasting it would leave it (in the file
# ``person_key``: a variable holding it is refused as such, tests/api/test_env_file.py)
PLACEHOLDER = re.search(r"QUEUEKIOSK_PERSON_KEY='(<[^>\n]+>)'", (REPO / "docs" / "deployment.md").read_text()).group(1)
NEW_KEY = "the-new-key-of-this-installation-0123456789"


@pytest.mark.parametrize("key", ["changeme", "x" * 31, "a" * 64, "ab12" * 10, PLACEHOLDER])
@pytest.mark.parametrize("run", ["serve", "gunicorn"])
def test_a_weak_person_key_is_refused_at_start_with_how_to_make_one(tmp_path, server_zygote, run, key):
    assert len(PLACEHOLDER) >= 32  # long enough: refused as the example it is
    instance, env = tmp_path / "instance", {"QUEUEKIOSK_PERSON_KEY": key}
    if key == PLACEHOLDER:  # in the environment it is refused as example text (test_env_file.py)
        instance.mkdir()
        (instance / "person_key").write_text(key)  # the file a key not set in the environment is read from
        env = {}
    status, output = refused_start(run, tmp_path, server_zygote, QUEUEKIOSK_INSTANCE=str(instance), **env)
    assert status != 0 and "Traceback" not in output, output
    assert "(QUEUEKIOSK_PERSON_KEY, else the file" in output and "is too weak (shorter than 32 characters" in output
    assert "of very few different characters" in output
    assert f"make one with `{MAKE}` and set it as QUEUEKIOSK_PERSON_KEY" in output, output
    assert f"hãy tạo khóa bằng `{MAKE}`" in output and "nothing was started" in output
    assert "person-key change" not in output  # a new database: nothing to change
    assert "open at" not in output


def test_the_same_start_with_a_strong_key_then_goes_on_as_on_a_new_database(live_server):
    """A refused weak key is not recorded as the database's: the strong one given next is taken."""
    srv = live_server(start=False, env={"QUEUEKIOSK_PERSON_KEY": "123"})
    with pytest.raises(RuntimeError, match="is too weak"):
        srv.start()
    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    assert srv.start().session().get("/healthz").status_code == 200


def test_an_installation_that_used_a_weak_key_is_told_to_change_it_and_can(live_server):
    srv = live_server(start=False, env={"QUEUEKIOSK_PERSON_KEY": "changeme"})
    srv.cli("migrate")
    engine = create_db_engine(srv.database_url)
    try:
        assert same_person_key(engine, b"changeme")  # what its first start recorded, before keys were checked
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError) as refused:
        srv.start()
    said = str(refused.value)
    assert "this database was used with is too weak" in said and f"make a new one with `{MAKE}`" in said, said
    assert "then run `queuekiosk person-key change` once" in said
    assert "the bookings made until then are found by their booking code only, no longer by ID card number" in said
    assert "chạy một lần `queuekiosk person-key change`" in said and "nothing was started" in said

    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY  # the new key alone is another machine's key to it
    with pytest.raises(RuntimeError, match="is not the one this database was used with"):
        srv.start()
    srv.cli("person-key", "change", input="y\n")
    assert srv.start().session().get("/healthz").status_code == 200


def test_changing_the_key_says_what_it_costs_and_bookings_are_then_found_by_their_code(live_server):
    srv = live_server()
    taken = remote(srv.session(), "0912345070", id_number="001099000070")
    assert taken.status_code == 201, taken.text
    srv.stop()

    srv.env["QUEUEKIOSK_PERSON_KEY"] = "short"
    weak = srv.cli("person-key", "change", check=False)
    assert weak.returncode != 0 and "is too weak" in weak.stderr and "nothing was done" in weak.stderr, weak.stderr

    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    declined = srv.cli("person-key", "change", input="n\n", check=False)
    asked = "the bookings of today and later not checked in yet (now 1) are then found by their booking code only"
    assert declined.returncode != 0 and asked in declined.stdout, declined.stdout + declined.stderr
    with pytest.raises(RuntimeError, match="is not the one this database was used with"):
        srv.start()  # nothing was changed

    changed = srv.cli("person-key", "change", "--yes")
    assert "the key is changed: start every process with this key" in changed.stderr, changed.stderr
    assert "the database already uses this key" in srv.cli("person-key", "change").stderr
    http = srv.start().session()
    assert_error(http.post("/api/v1/check-in", json={"id_number": "001099000070"}), 404, "booking_not_found_for_card")
    assert http.post("/api/v1/check-in", json={"code": taken.json()["code"]}).status_code == 201


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_key_is_not_changed_while_a_server_process_runs_and_the_command_names_it(live_server, request, database):
    """A process still running with the previous key would hash the next bookings with it: they would
    be lost to check-in by card after its restart, and a second number given to the same person."""
    env = {} if database == "sqlite" else {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")}
    env["QUEUEKIOSK_LEASE_CHECK_SECONDS"] = "0.2"  # the change on PostgreSQL waits 2 x this + 1 s (2 s: 5 s)
    srv = live_server(env=env)
    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    refused = srv.cli("person-key", "change", "--yes", check=False)
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "server processes of this installation are running (" in said and "stop every one of them first" in said
    assert f"pid {srv.proc.pid}" in said and "các tiến trình máy chủ của hệ thống đang chạy" in said, said
    assert "nothing was done" in said
    srv.stop()
    assert "the key is changed" in srv.cli("person-key", "change", "--yes").stderr
    assert srv.start().session().get("/healthz").status_code == 200  # started with the new key


def test_the_command_makes_no_key_of_its_own_and_says_which_to_load(live_server):
    srv = live_server()
    srv.stop()
    srv.env.pop("QUEUEKIOSK_PERSON_KEY")
    refused = srv.cli("person-key", "change", "--yes", check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
    assert "QUEUEKIOSK_PERSON_KEY is not set: load the env file" in refused.stderr, refused.stderr
    assert "chưa đặt QUEUEKIOSK_PERSON_KEY" in refused.stderr and "nothing was done" in refused.stderr
    assert not (srv.instance / "person_key").exists()


@pytest.mark.postgres
def test_an_unreachable_database_is_one_sentence(live_server):
    srv = live_server(start=False, env={"QUEUEKIOSK_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/qk_nowhere"})
    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    refused = srv.cli("person-key", "change", "--yes", check=False)
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "cannot connect to the database postgresql://postgres@127.0.0.1:9/qk_nowhere (" in said, said
    assert "không kết nối được cơ sở dữ liệu" in said and len(said.strip().splitlines()) == 2, said


def test_a_weak_key_on_a_database_that_records_another_key_is_told_to_copy_the_installations_key(live_server):
    """A new machine given the example key: the fix is the first machine's key, not a new one (which
    would differ from the database's on every machine and lead to a needless change of key)."""
    srv = live_server()  # the installation's strong key recorded
    srv.stop()
    srv.env["QUEUEKIOSK_PERSON_KEY"] = "changeme"
    with pytest.raises(RuntimeError) as refused:
        srv.start()
    said = str(refused.value)
    assert "is not the one this database was used with" in said and "copied from the first machine" in said, said
    assert "make one with" not in said and "person-key change" not in said


@pytest.mark.postgres
def test_a_refused_weak_key_leaves_a_new_database_as_it_was(tmp_path, pg_url, server_zygote):
    """Not made and seeded from config.yaml by a start that is refused: the next start, with a good
    key, takes config.yaml as it is then (edited meanwhile)."""
    weak = {"QUEUEKIOSK_PERSON_KEY": "changeme", "zygote": server_zygote}  # forked: what the start says
    sqlite = run_serve(tmp_path, QUEUEKIOSK_INSTANCE=str(tmp_path / "instance"), **weak)
    on_pg = run_serve(tmp_path, QUEUEKIOSK_DATABASE_URL=pg_url, **weak)
    for done in (sqlite, on_pg):
        assert done.returncode != 0 and "is too weak" in done.stderr, done.stderr
    assert not list((tmp_path / "instance").glob("queuekiosk.db*"))
    assert not (tmp_path / "instance" / "secret_key").exists()
    engine = create_db_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_the_bookings_counted_are_those_of_each_sites_own_today(live_server):
    """A site far east of UTC (Kiritimati, UTC+14): its yesterday's booking, a no-show that stays
    booked, is not one to check in any more."""
    srv = live_server()
    today = remote(srv.session(), "0912345072", id_number="001099000072")
    yesterday = remote(srv.session(), "0912345073", id_number="001099000073")
    assert today.status_code == yesterday.status_code == 201, today.text + yesterday.text
    srv.stop()
    local_yesterday = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date() - dt.timedelta(days=1)
    engine = create_db_engine(srv.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE sites SET timezone = 'Pacific/Kiritimati'"))
            conn.execute(
                text("UPDATE bookings SET business_day = :day WHERE code = :code"),
                {"day": local_yesterday, "code": yesterday.json()["code"]},
            )
            conn.execute(
                text("UPDATE bookings SET business_day = :day WHERE code = :code"),
                {"day": local_yesterday + dt.timedelta(days=1), "code": today.json()["code"]},
            )
    finally:
        engine.dispose()
    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    asked = srv.cli("person-key", "change", input="n\n", check=False).stdout
    assert "the bookings of today and later not checked in yet (now 1)" in asked, asked


@pytest.mark.parametrize("key", ["changeme", "abcd" * 10])
@pytest.mark.parametrize("run", ["serve", "gunicorn"])
def test_a_weak_session_key_is_refused_at_start_too(tmp_path, server_zygote, run, key):
    """QUEUEKIOSK_SECRET_KEY signs sign-ins (an admin's could be made) and encrypts the phones kept."""
    status, output = refused_start(
        run, tmp_path, server_zygote, QUEUEKIOSK_SECRET_KEY=key, QUEUEKIOSK_INSTANCE=str(tmp_path / "instance")
    )
    assert status != 0 and "Traceback" not in output, output
    assert "QUEUEKIOSK_SECRET_KEY is too weak (shorter than 32 characters" in output, output
    assert f"make one with `{MAKE}` and set it, the same on every machine" in output
    assert "QUEUEKIOSK_SECRET_KEY quá yếu" in output and "nothing was started" in output
    assert not (tmp_path / "instance" / "queuekiosk.db").exists()


def test_a_damaged_database_file_is_said_damaged_with_the_backup_to_restore(live_server):
    """A database file that is not one (junk, a failing disk): not "cannot connect", which would send
    the IT person after PostgreSQL or the address, but the sentence a start says."""
    srv = live_server(start=False)
    damaged = srv.instance / "queuekiosk.db"
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"not a database, a failing disk's junk " * 2000)
    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    refused = srv.cli("person-key", "change", "--yes", check=False)
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "cannot connect" not in said and "không kết nối được" not in said, said
    assert f"the database sqlite:///{damaged} is damaged (" in said, said
    assert "file is not a database): restore the last backup (docs/deployment.md" in said, said
    assert "cơ sở dữ liệu sqlite:///" in said and "bị hỏng" in said and "nothing was done" in said, said
