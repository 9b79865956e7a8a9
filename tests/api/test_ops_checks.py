"""What an installer's mistakes are told (tester-prov's report): a variable of the environment written
wrong is one sentence naming it and the form it takes, at `serve`, gunicorn and the command line; a
database address with `postgres://` or an unencoded password says the fix, hiding the password whole;
`restore` and `migrate` refuse while servers run, and restore's question hides the password; a process
started without the message queue beside others says its calls reach no other screen; a tracking
address set to loopback says so. Real processes, PostgreSQL 127.0.0.1:5432 and Redis."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import requests
import yaml
from api_helpers import REPO, SUPERVISOR, assert_error, issue, log_in, start_gunicorn
from ops_helpers import bearer, press, run_gunicorn, subscribed
from ports import free_port
from server_db import seed

from queuekiosk.server.core.db import create_db_engine

WRONG = [  # (variable, value, what the sentence says in English, in Vietnamese)
    (
        "QUEUEKIOSK_MESSAGE_QUEUE",
        "redis//127.0.0.1:6379/5",
        "write a Redis address as redis://HOST:6379/N",
        "địa chỉ Redis",
    ),
    ("QUEUEKIOSK_PROXIES", "yes", "write the number of reverse proxies", "số máy chủ trung gian"),
    ("QUEUEKIOSK_DATABASE_POOL", "ten", "write a whole number from 1 to 500", "số nguyên từ 1 đến 500"),
    ("QUEUEKIOSK_IGNORE_HOURS", "maybe", "write 1 (or true, yes, on) to turn it on", "hãy viết 1 (hoặc true"),
    ("QUEUEKIOSK_AGENT_BACKOFF_SECONDS", "fast", "write the kiosk agent's waits", "khoảng chờ giữa những lần"),
]


def _one_sentence(said: str, name: str, value: str, english: str, vietnamese: str) -> None:
    assert "Traceback" not in said and "ValueError" not in said, said
    [vi] = [line for line in said.splitlines() if f"{name} là “{value}”" in line]
    [en] = [line for line in said.splitlines() if f"{name} is “{value}”: {english}" in line]
    assert vietnamese in vi and said.index(vi) < said.index(en), said


def test_a_variable_written_wrong_is_one_sentence_at_serve_gunicorn_and_the_command_line(
    tmp_path, live_server, server_zygote
):
    """Each variable of WRONG at gunicorn (one per variable, side by side: each refuses at once, most of
    its time spent importing), `serve` and a command (forked from a process that has imported them)."""

    def refused_gunicorn(case: tuple) -> tuple[int, str]:
        name, value = case[:2]
        (tmp_path / name).mkdir()
        return run_gunicorn(tmp_path / name, zygote=server_zygote, **{name: value})

    with ThreadPoolExecutor(len(WRONG)) as pool:
        gunicorns = list(pool.map(refused_gunicorn, WRONG))
    srv = live_server(start=False)
    for (name, value, english, vietnamese), (status, output) in zip(WRONG, gunicorns, strict=True):
        with _case(f"{name}={value}"):
            assert status != 0, output  # (exit status 3: gunicorn stops, not starting it again every 2 s)
            _one_sentence(output, name, value, english, vietnamese)
            before = srv.env.get(name)
            srv.env[name] = value
            try:
                done = srv.run("serve", "--port", str(free_port()))
                refused = srv.cli("site", "list", check=False)
            finally:
                if before is None:
                    del srv.env[name]
                else:
                    srv.env[name] = before
            assert done.returncode != 0 and "open at" not in done.stdout
            _one_sentence(done.stderr, name, value, english, vietnamese)
            assert refused.returncode != 0
            _one_sentence(refused.stderr, name, value, english, vietnamese)


@contextlib.contextmanager
def _case(case: str):
    """A failure names the case it is of."""
    try:
        yield
    except (AssertionError, ValueError) as error:
        raise AssertionError(f"{case}: {error}") from error


def test_ignore_hours_takes_the_usual_words_for_yes(tmp_path, sqlite_template, server_zygote):
    """QUEUEKIOSK_IGNORE_HOURS=true was read as no: a trial's kiosk refused numbers out of hours.
    Only gunicorn's app (server/wsgi.py) reads the variable: one gunicorn per word, started side by side
    and stopped at once (SIGINT: gunicorn's graceful stop waits its 10 s for the worker)."""
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    today = dt.datetime.now(ZoneInfo(config["site"]["timezone"])).date().isoformat()
    config["site"]["hours"]["holidays"] = [today]  # closed all day, whatever the hour
    (tmp_path / "closed.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    words = ["true", "yes", "on"]
    for word in words:
        (tmp_path / word).mkdir()
    # their one database (instance/ beside closed.yaml) a copy of the migrated template, made before they
    # start side by side: the first start on a new file is not what is checked here (~0.9 s of CPU each)
    seed(sqlite_template, f"sqlite:///{tmp_path / 'instance' / 'queuekiosk.db'}")
    with ThreadPoolExecutor(len(words)) as pool:
        starts = {word: pool.submit(_closed_gunicorn, tmp_path, word, server_zygote) for word in words}
    started, refused = {}, None
    for word, start in starts.items():  # each one started is stopped below, whichever failed to start
        try:
            started[word] = start.result()
        except BaseException as error:  # noqa: BLE001 - raised below (a skip too), once the others are stopped
            refused = refused or error
    try:
        if refused is not None:
            raise refused
        for word, (_proc, port) in started.items():
            issued = requests.post(f"http://127.0.0.1:{port}/api/v1/tickets", json={"service": "HT"}, timeout=10)
            assert issued.status_code == 201, f"QUEUEKIOSK_IGNORE_HOURS={word}: {issued.text}"
    finally:
        for proc, _port in started.values():
            proc.send_signal(signal.SIGINT)
        for proc, _port in started.values():
            proc.wait(15)


def _closed_gunicorn(tmp_path, word: str, zygote) -> tuple[subprocess.Popen, int]:
    """gunicorn in tmp_path/word with closed.yaml (closed all day) and QUEUEKIOSK_IGNORE_HOURS=word."""
    port = free_port()
    proc, _env = start_gunicorn(
        tmp_path / word,
        port,
        zygote=zygote,
        QUEUEKIOSK_IGNORE_HOURS=word,
        QUEUEKIOSK_CONFIG=str(tmp_path / "closed.yaml"),
    )
    return proc, port


PASSWORD = "Pa&ss@1"  # as the tester's, written into the address without URL-encoding


@pytest.mark.parametrize(
    ("url", "english"),
    [
        (f"postgresql://tester:{PASSWORD}@127.0.0.1/tester", "has an @ in its password that is not URL-encoded"),
        ("postgres://tester:secret-word@127.0.0.1/tester", "starts with postgres://"),
    ],
)
def test_a_database_address_mistake_says_the_fix_and_never_the_password(tmp_path, live_server, url, english):
    srv = live_server(start=False)
    srv.env["QUEUEKIOSK_DATABASE_URL"] = url
    done = srv.run("serve", "--port", str(free_port()))  # forked from a process that has imported it
    refused = srv.cli("user", "list", check=False)
    for said in (done.stderr, refused.stderr):
        assert "Traceback" not in said and f"QUEUEKIOSK_DATABASE_URL {english}" in said, said
        assert "tester:***@127.0.0.1/tester" in said, said
        assert "ss@1" not in said and "Pa&" not in said and "secret-word" not in said, said
    assert ("URL-encode the password (%40 for @" if PASSWORD in url else "write postgresql:// instead") in done.stderr


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_restore_and_migrate_refuse_while_a_server_runs_and_name_it(live_server, request, database, tmp_path):
    env = {} if database == "sqlite" else {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")}
    srv = live_server(env=env)
    backup = tmp_path / "copy.backup"
    srv.cli("backup", str(backup))  # safe while it runs
    issue(srv.session(), "HT")  # after the copy: a restore would take it away under the running server
    for args in (("restore", str(backup), "--yes"), ("migrate",)):
        refused = srv.cli(*args, check=False)
        said = refused.stderr
        assert refused.returncode != 0 and "Traceback" not in said, said
        vi = said.index("các tiến trình máy chủ của hệ thống đang chạy (")
        assert vi < said.index("server processes of this installation are running ("), said
        assert f"pid {srv.proc.pid}" in said and "systemctl stop 'queuekiosk@*'" in said, said
        assert "nothing was done" in said
    srv.stop()
    assert "đã khôi phục" in srv.cli("restore", str(backup), "--yes").stderr
    srv.cli("migrate")
    assert srv.start().session().post("/api/v1/tickets", json={"service": "HT"}).json()["number"] == 1001


@pytest.mark.postgres
def test_restores_question_hides_the_password_and_a_no_is_said_in_vietnamese_first(live_server, pg_url, tmp_path):
    secret = "restore-secret-123"
    engine = create_db_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER ROLE postgres PASSWORD '{secret}'")  # trust auth: it changes nothing else
    engine.dispose()
    url = pg_url.replace("postgresql://postgres@", f"postgresql://postgres:{secret}@")
    srv = live_server(start=False, env={"QUEUEKIOSK_DATABASE_URL": url})
    srv.cli("migrate")
    backup = tmp_path / "copy.backup"
    srv.cli("backup", str(backup))
    asked = srv.cli("restore", str(backup), input="n\n", check=False)
    said = asked.stdout + asked.stderr
    assert "postgresql://postgres:***@127.0.0.1:5432/" in said and secret not in said, said
    assert asked.returncode != 0 and "Aborted!" not in said, said
    assert said.index("đã hủy, chưa làm gì cả") < said.index("aborted, nothing was done"), said


@pytest.mark.postgres
def test_a_restore_to_a_database_it_cannot_reach_is_one_sentence(live_server, tmp_path):
    """Its look for running servers comes first: a database not there is said as any command says it."""
    srv = live_server(start=False, env={"QUEUEKIOSK_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/qk_not_made"})
    backup = tmp_path / "copy.backup"
    backup.write_bytes(b"PGDMP")
    refused = srv.cli("restore", str(backup), "--yes", check=False)
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "qk_not_made" in said and "nothing was done" in said, said


@pytest.mark.postgres
def test_a_process_without_the_message_queue_beside_others_says_its_calls_reach_no_other_screen(
    live_server, migrated_pg_url, redis_url, sio_client
):
    shared = {"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16)}
    a = live_server(env={**shared, "QUEUEKIOSK_MESSAGE_QUEUE": redis_url})
    b = live_server(env=shared)  # machine B's env file lacks the line
    said = "runs without QUEUEKIOSK_MESSAGE_QUEUE"
    [warning] = [line for line in b.wait_log(said, 5).splitlines() if said in line]
    assert "WARNING" in warning and f"pid {a.proc.pid}" in warning, warning
    assert "calls made through it never reach the screens and counters connected to the others" in warning
    assert "QUEUEKIOSK_MESSAGE_QUEUE" not in a.log()  # A has the queue: nothing wrong with it
    dashboard = subscribed(sio_client, b, {"dashboard": True}, b.token("admin"))
    [note] = [n for n in dashboard.wait_for("state")["setup"] if n["item"] == "message_queue"]
    assert note["message"].startswith("Tiến trình máy chủ này chạy không có QUEUEKIOSK_MESSAGE_QUEUE"), note
    assert f"pid {a.proc.pid}" in note["message_en"]


def test_a_tracking_address_set_to_loopback_is_said_to_be_that(live_server):
    srv = live_server(env={"QUEUEKIOSK_PROXIES": "1", "QUEUEKIOSK_TRACKING_URL": "http://127.0.0.1:8080"})
    [warning] = [line for line in srv.log().splitlines() if "phones cannot" in line]
    assert "the address QUEUEKIOSK_TRACKING_URL is set to is a loopback address" in warning, warning
    assert "own address" not in warning and "Ask IT staff to change QUEUEKIOSK_TRACKING_URL" in warning
    site = srv.session().get("/api/v1/admin/site", headers={"Authorization": f"Bearer {srv.token('admin')}"})
    assert site.json()["tracking"]["unreachable"] == "admin_tracking_env_loopback", site.text


def test_closing_a_counter_that_only_called_a_number_says_called_and_a_counter_token_is_refused_its_role(
    live_server,
):
    srv = live_server()
    srv.add_user(SUPERVISOR, "giam-sat-2026", "supervisor")
    keypad = srv.token("counter", 4)  # counter 4 alone serves DC
    http = srv.session()
    first = issue(http, "DC")
    press(http, 4, "next", keypad)
    supervisor = log_in(srv, SUPERVISOR)
    error = assert_error(supervisor.post("/api/v1/counters/4/close", json={}), 409, "counter_busy")
    assert error["message"].startswith(f"Quầy 4 đang gọi số {first['number']} (chưa phục vụ)"), error
    assert error["translations"]["en"]["message"].startswith(f"Counter 4 has called number {first['number']}")
    press(http, 4, "start", keypad)
    error = assert_error(supervisor.post("/api/v1/counters/4/close", json={}), 409, "counter_busy")
    assert error["message"].startswith(f"Quầy 4 đang phục vụ số {first['number']}: hãy kết thúc"), error

    srv.cli("site", "add", "xa-tan-phu", "--name", "Xã Tân Phú")
    token = srv.cli("token", "create", "--role", "counter", "--counter", "1", "--site", "xa-tan-phu").stdout
    assert_error(bearer(srv, token.strip()).get("/api/v1/reports/sites"), 403, "forbidden_role")


@pytest.mark.postgres
def test_a_file_pg_restore_refuses_is_said_in_vietnamese_first(live_server, migrated_pg_url, tmp_path):
    srv = live_server(start=False, env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"PGDMP" + b"not a dump" * 100)
    refused = srv.cli("restore", "--yes", str(junk), check=False)
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert said.index(f"không khôi phục được từ {junk}: pg_restore dừng vì lỗi") < said.index(
        f"could not restore from {junk}: pg_restore stopped with an error"
    ), said
