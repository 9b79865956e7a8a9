"""Shared pytest fixtures.

Engine tests: ``config`` / ``config_data`` (the repo's config.yaml), database URLs, and
``make_queue``, which loads a config into a migrated database and hands back a ``QueueDb`` to
drive the engine.

Database URLs: ``sqlite_url``, ``pg_url`` and ``db_url`` (parametrised over both) name EMPTY
databases, for tests of migrating and of starting up on nothing. ``migrated_sqlite_url``,
``migrated_pg_url`` and ``migrated_db_url`` name copies of a template migrated once per session
(the newest schema, no centre in it): every other test takes those (a copy takes about a
millisecond on SQLite, migrating 0.1-0.3 s). ``migrated_sqlite(name)`` makes a further copy.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# The helpers' asserts say their values when they fail, as the test files' do (pytest rewrites only test
# files and conftests by itself): registered before anything imports them.
pytest.register_assert_rewrite(*sorted(path.stem for path in Path(__file__).parent.rglob("*_helpers.py")))

import rewrite_shared
import server_db
import server_fork
import server_logs
import suite_cpu
import yaml
import zygote_helpers
from libpq_trace import sent_messages
from printer_sim import PrinterSim
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from queuekiosk.server.core import auth
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import Config, load_config, parse_config
from queuekiosk.server.core.db import (
    SiteRuntime,
    create_db_engine,
    migrate,
    prepare_database,
    session_factory,
)

REPO = Path(__file__).resolve().parent.parent
CONFIG_PATH = REPO / "config.yaml"

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# How many processes run the suite (pytest-xdist, ``-n auto --dist loadfile`` in pytest.ini): most
# tests wait on a server, a browser or a clock, so more workers than cores keep the 2 cores busy.
# 2026-12-04 (H-suite2): 3 workers 599 s, 659 s of CPU; 4 workers 501 s, 697 s of CPU. 2026-12-06, a
# quiet machine, fresh clones of one commit: 4 workers 512 s, 769 s of CPU (each worker busy 38% of
# its time); 6 workers 444 s, 784 s of CPU (the 2 cores 88% busy); every test passed in both.
# 2026-12-07, fresh clones of one commit alone: 6 workers 456 s, 705 s of CPU, the cores 88% busy;
# 8 workers 433 s, 703 s of CPU, 94% busy (7 the session before: within one run's noise of 6).
SUITE_WORKERS = 8


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """``-n auto``: ``SUITE_WORKERS``, or none (the tests run in this process, as without xdist)
    when the run names one file or tests of one file: starting workers would cost more than it saves.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS=N`` or ``-n N`` on the command line decide instead."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    files = {arg.split("::")[0] for arg in config.args}
    if len(files) == 1 and Path(next(iter(files))).is_file():
        return 0
    return SUITE_WORKERS


# The files that take longest, longest first. Under xdist (`--dist loadfile --no-loadscope-reorder`
# in pytest.ini) a worker takes the next file in this order once its own has two tests or fewer
# left, so that no long file starts near the end and runs alone while the other workers have
# finished; the rest follow, the files with most tests first, as xdist's own ordering (by the
# number of tests, which put a one-test file of two minutes last) had them.
# The figures: each file's wall time in a whole-suite run from a fresh clone on 6 workers (2026-12-06 16:20,
# 57c5c37, QK_SUITE_CPU, 1,681 tests in 366 s on a fast 2-core host): the files of 13 s or more. Files that
# mostly wait (test_day_end's midnights, test_running_lease's and test_keypad's real processes) belong here
# too: started last, they would run alone at the end. A file missing from the list only starts later; a
# renamed one falls back to that. A file split in parts keeps its place, its parts after it (their shares
# of its figure: the parts' wall times in a run of them alone, 2026-12-06).
SLOWEST_FILES = (
    "tests/pages/test_display_page.py",  # 108 s
    "tests/api/test_backup_pg_restore.py",  # 100 s (2026-12-07 09:10, 211195e)
    "tests/api/test_postgres_commit_lost.py",  # 49 s (2026-12-07 11:45, 80a2b55; 152 s before its link's TCP_NODELAY)
    "tests/api/test_kiosk_agent.py",  # 79 s
    "tests/pages/test_kiosk_page.py",  # 57 s
    "tests/api/test_running_lease.py",  # 57 s
    "tests/api/test_sites.py",  # 53 s
    "tests/api/test_day_end.py",  # 52 s
    "tests/api/test_notifications.py",  # 48 s
    "tests/api/test_webhooks.py",  # 37 s
    "tests/pages/test_book_page.py",  # 37 s
    "tests/pages/test_counter_console.py",  # 37 s
    "tests/api/test_sites_remove_live.py",  # 32 s
    "tests/api/test_postgres_outage.py",  # 30 s
    "tests/pages/test_pages_smoke.py",  # 30 s
    "tests/pages/test_track_remote.py",  # 29 s
    "tests/pages/test_kiosk_checkin_id.py",  # 28 s
    "tests/pages/test_reports_sites_bookings.py",  # 27 s
    "tests/pages/test_console_sign_out.py",  # 25 s
    "tests/test_prediction.py",  # 24 s
    "tests/api/test_fuzz_api.py",  # 24 s
    "tests/pages/test_reports_files_page.py",  # 23 s
    "tests/api/test_keypad.py",  # 22 s
    "tests/api/test_several_processes.py",  # 21 s
    "tests/api/test_ops_checks.py",  # 21 s
    "tests/api/test_message_queue_outage.py",  # 20 s
    "tests/api/test_spooler_database.py",  # 20 s
    "tests/test_concurrency.py",  # 19 s
    "tests/api/test_person_key.py",  # 18 s
    "tests/test_engine_properties.py",  # 18 s with the next one, split off since (~85 % of it)
    "tests/test_choose_next.py",  # (~15 %)
    "tests/api/test_stopping.py",  # 18 s
    "tests/test_booking_properties.py",  # 18 s with the next two, split off since (~60 % of it)
    "tests/test_booking_races.py",  # (~28 %)
    "tests/test_booking_actions.py",  # (~11 %)
    "tests/pages/test_site_pages.py",  # 18 s
    "tests/test_booking_grids.py",  # 17 s
    "tests/test_migrations.py",  # 17 s
    "tests/pages/test_database_faults_pages.py",  # 17 s
    "tests/api/test_reliability_sessions.py",  # 17 s
    "tests/api/test_crash.py",  # 16 s
    "tests/api/test_reliability_socketio.py",  # 16 s
    "tests/api/test_reports_remote.py",  # 16 s
    "tests/api/test_cancel_notices.py",  # 15 s
    "tests/api/test_report_files_off_loop.py",  # 15 s
    "tests/api/test_delivery_lease_lost.py",  # 15 s
    "tests/api/test_role_matrix.py",  # 15 s
    "tests/pages/test_accessibility.py",  # 15 s
    "tests/api/test_gunicorn_connections.py",  # 14 s
    "tests/pages/test_site_retire_pages.py",  # 14 s
    "tests/api/test_sites_remove_races.py",  # 14 s
    "tests/api/test_database_faults.py",  # 14 s
)


def pytest_collection_modifyitems(session, config, items):
    """In a worker: the files in ``SLOWEST_FILES`` order, then the others by their number of tests
    (most first); each file's tests keep their order. Every worker sorts alike, so their
    collections stay the same, as xdist requires. Runs without workers keep the collected order."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank = {path: i for i, path in enumerate(SLOWEST_FILES)}
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
    order = sorted(files, key=lambda path: (rank.get(path, len(rank)), -len(files[path])))
    items[:] = [item for path in order for item in files[path]]


def pytest_collection_finish(session):
    # What collection made (the modules, hypothesis's strategies, the fixtures' definitions) lives as
    # long as the run: kept out of the collector's reach, each full collection no longer walks it
    # (test_booking_properties.py's time in the collector 1.9 -> 1.1 s, the file ~23 s of CPU).
    gc.freeze()


def pytest_configure(config):
    # A suite started as a background job (`cmd &` in a script) inherits SIGINT ignored, and so does
    # every process it starts: Ctrl+C, which the keypad client's tests send, would do nothing (each
    # waited 10 s for it), and pytest itself could not be interrupted.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    suite_cpu.register(config)  # QK_SUITE_CPU=DIR: each test's CPU, for finding what to make cheaper
    rewrite_shared.rewrite_my_share(config, Path(__file__).parent)  # each worker a share, not all


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    server_logs.mark()  # (before its fixtures start servers)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test's failure (its setup's, call's or teardown's, the first) carries the logs of the servers that
    wrote during it, whole (tests/server_logs.py)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and not getattr(item, "_qk_logs_attached", False):
        item._qk_logs_attached = True
        report.sections.extend(server_logs.grown())


# Every password hash this process computes (the users the tests add straight into a database) uses
# a lighter scrypt cost than werkzeug's (N=1024 against 32768): each login against those users is
# still a real scrypt check, at 1/32 of the CPU (0.14 s a hash on the 2-core machine, hundreds of
# users added and logins a suite). The servers and commands under test, processes of their own,
# keep the real cost: tests/test_password_hashing.py.
TEST_USERS_HASH_METHOD = "scrypt:1024:8:1"


@pytest.fixture(scope="session", autouse=True)
def _lighter_hashes_for_the_tests_own_users():
    real = auth.generate_password_hash
    auth.generate_password_hash = functools.partial(real, method=TEST_USERS_HASH_METHOD)
    yield
    auth.generate_password_hash = real


@pytest.fixture(scope="session", autouse=True)
def _faketime_leftovers():
    """libfaketime leaves its shared memory and semaphore (/dev/shm/faketime_shm_<pid>,
    sem.faketime_sem_<pid>) behind a server on a faked clock killed with SIGKILL (the crash tests do, and
    a stop that times out): those of processes gone are removed when the session ends, or they pile up
    on the machine run after run."""
    yield
    for path in Path("/dev/shm").glob("*faketime_s*_*"):
        pid = path.name.rsplit("_", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


# --- configuration --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _config_text() -> str:
    return CONFIG_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def _config_dict(_config_text) -> dict:
    return yaml.safe_load(_config_text)  # (read once: tests change copies of it)


@pytest.fixture
def config_data(_config_dict) -> dict:
    """config.yaml as a plain dict, a fresh copy per test: change it, then ``parse_config`` it."""
    return copy.deepcopy(_config_dict)


@pytest.fixture
def config() -> Config:
    """The repo's config.yaml, loaded and validated."""
    return load_config(CONFIG_PATH)


@pytest.fixture
def make_config(_config_dict):
    """``make_config(policy={...}, ...)``: config.yaml with whole top-level sections replaced, validated.

    For deeper changes edit ``config_data`` and call ``parse_config`` yourself.
    """

    def make(**sections) -> Config:
        data = copy.deepcopy(_config_dict)
        data.update(copy.deepcopy(sections))
        return parse_config(data, "config-variant.yaml")

    return make


# --- database URLs --------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'queuekiosk-test.db'}"


@pytest.fixture(scope="session")
def _pg_admin():
    """An autocommit connection to the ``postgres`` database, or a skip saying why there is none."""
    psycopg = pytest.importorskip("psycopg")
    try:
        conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (user postgres, trust auth): {error}")
    yield conn
    conn.close()


def _pg_database(admin, template: str | None = None):
    """A new database ``qk_test_<random>`` (a copy of ``template`` if given), dropped afterwards."""
    name = f"qk_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_url(_pg_admin) -> str:
    """A fresh, empty PostgreSQL database, dropped after the test."""
    yield from _pg_database(_pg_admin)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """The test runs once on an empty SQLite file and once on an empty PostgreSQL database."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


# --- migrated databases: copies of a template made once per session ---------------------------


def _migrate_url(url: str) -> None:
    engine = create_db_engine(url)
    try:
        migrate(engine)
    finally:
        engine.dispose()  # SQLite: the last connection folds the WAL into the file; PostgreSQL: a
        # template must have no connection when it is copied


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file at the newest schema with no centre in it."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    _migrate_url(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists(), "the template must be whole in one file"
    return path


@pytest.fixture
def migrated_sqlite(tmp_path, sqlite_template):
    """``migrated_sqlite(name)`` -> the URL of a new copy of ``sqlite_template`` in the test's tmp_path."""

    def copy(name: str) -> str:
        path = tmp_path / name
        assert not path.exists(), f"{path} is taken"
        shutil.copyfile(sqlite_template, path)
        return f"sqlite:///{path}"

    return copy


@pytest.fixture
def migrated_sqlite_url(migrated_sqlite) -> str:
    return migrated_sqlite("queuekiosk-test.db")


@pytest.fixture(scope="session")
def pg_template(_pg_admin) -> str:
    """The name of a PostgreSQL database at the newest schema with no centre in it, dropped at the end."""
    name = f"qk_template_{secrets.token_hex(6)}"
    _pg_admin.execute(f'CREATE DATABASE "{name}"')
    try:
        _migrate_url(f"postgresql://postgres@127.0.0.1:5432/{name}")
        yield name
    finally:
        _pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _pg_template_copies(_pg_admin, pg_template):
    import pg_template_helpers  # (psycopg's: not loaded for SQLite's tests)

    copies = pg_template_helpers.TemplateCopies(_pg_admin, pg_template)
    yield copies
    copies.close()


@pytest.fixture
def migrated_pg_url(_pg_template_copies) -> str:
    """A PostgreSQL database as ``pg_template`` was made: a copy of it, or one a test before used and that
    was made the template again (tests/pg_template_helpers.py: its rows emptied; dropped instead when the
    test changed more than rows)."""
    name = _pg_template_copies.take()
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        _pg_template_copies.give_back(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_db_url(request) -> str:
    """The test runs once on a migrated SQLite file and once on a migrated PostgreSQL database."""
    return request.getfixturevalue("migrated_sqlite_url" if request.param == "sqlite" else "migrated_pg_url")


@pytest.fixture
def instance_dir(tmp_path) -> Path:
    path = tmp_path / "instance"
    path.mkdir(exist_ok=True)
    return path


# --- a migrated database with a loaded site -------------------------------------------------


@dataclass
class QueueDb:
    """A migrated database with the site loaded, and shortcuts to drive the engine."""

    url: str
    engine: Engine
    site: SiteRuntime
    Session: sessionmaker

    def run(self, action, *args, **kwargs):
        """Run one engine call in its own transaction, like the web layer: commit, or roll back on error."""
        with self.Session.begin() as session:
            return action(session, self.site, *args, **kwargs)

    def tickets(self) -> list:
        with self.Session() as session:
            return list(session.execute(select(m.Ticket.__table__).order_by(m.Ticket.id)))

    def events(self) -> list:
        with self.Session() as session:
            return list(session.execute(select(m.Event.__table__).order_by(m.Event.id)))


@pytest.fixture
def make_queue(request, tmp_path):
    """``make_queue(config, url=None, staffed=True)``: migrate ``url`` if needed (default: ``migrated_sqlite_url``),
    load ``config``, return a QueueDb."""
    engines: list[Engine] = []

    def make(config: Config, url: str | None = None, staffed: bool = True) -> QueueDb:
        """``staffed``: every counter open, as after each clerk signed in (else all closed, as at dawn)."""
        url = url or request.getfixturevalue("migrated_sqlite_url")
        engine = create_db_engine(url)
        engines.append(engine)
        site = prepare_database(engine, config, tmp_path / "instance")
        if staffed:
            with engine.begin() as conn:
                conn.execute(update(m.Counter).values(state="open"))
        return QueueDb(url, engine, site, session_factory(engine))

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def pg_group_writer(make_queue):
    """``pg_group_writer(engine, **options)``: a PostgresGroupWriter, closed when the test ends (before make_queue
    disposes of the engines): its lanes' greenlets stop, and their connections do not outlive the test."""
    from queuekiosk.server.core.pg_writer import PostgresGroupWriter  # (psycopg's: not loaded for SQLite's tests)

    with contextlib.ExitStack() as writers:

        def make(engine, **options) -> PostgresGroupWriter:
            writer = PostgresGroupWriter(engine, **options)
            writers.callback(writer.close)
            return writer

        yield make


@pytest.fixture
def libpq_sent(tmp_path):
    """``libpq_sent(writer, whole=False)``: the PostgreSQL group writer's one lane's connection traced by
    libpq; returns the function that reads the messages it sent since (libpq_trace.sent_messages). Every
    trace is stopped when the test ends: request this fixture after make_queue, so that it ends first,
    while the connection is still open."""
    names = (tmp_path / f"libpq-{n}.trace" for n in itertools.count())
    with contextlib.ExitStack() as traces:

        def trace(writer, whole: bool = False):
            (lane,) = writer._lanes
            pgconn = lane.connection().connection.dbapi_connection.pgconn
            return traces.enter_context(sent_messages(pgconn, next(names), whole))

        yield trace


@pytest.fixture
def queue(make_queue, config) -> QueueDb:
    """The repo's config.yaml on a fresh SQLite file."""
    return make_queue(config)


# --- test servers ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_zygote(pytestconfig):
    """Forks ``queuekiosk serve`` processes from one that imported the server once (tests/server_fork.py);
    under xdist one zygote of each kind serves every worker (``pytest_configure_node``)."""
    zygote = server_fork.Zygote(shared=getattr(pytestconfig, "workerinput", {}).get("qk_zygotes"))
    yield zygote
    zygote.close()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist's controller, before each worker starts: the folder of the run's shared zygotes. Each
    worker used to start its own of each kind it needed (serve, with a message queue, the commands,
    each again under libfaketime): ~1.3 s of CPU a zygote, ~70 s a run of six workers.
    ``QK_SHARED_ZYGOTES=0``: each worker its own again."""
    if os.environ.get("QK_SHARED_ZYGOTES") == "0":
        return
    config = node.config
    if not hasattr(config, "_qk_zygotes"):
        config._qk_zygotes = zygote_helpers.shared_zygotes(os.getpid())
    node.workerinput["qk_zygotes"] = config._qk_zygotes


def pytest_unconfigure(config):
    if hasattr(config, "_qk_zygotes"):  # the controller: the shared zygotes end, and what they forked
        zygote_helpers.end_shared_zygotes(config._qk_zygotes)


# --- printers -------------------------------------------------------------------------------


@pytest.fixture
def printer():
    """A network ESC/POS test printer on 127.0.0.1 (tests/printer_sim.py), ready with paper."""
    sim = PrinterSim()
    yield sim
    sim.close()


# --- a disk that fills up -------------------------------------------------------------------


class SmallDisk:
    """A 4 MB tmpfs at ``path``: ``fill()`` takes every free block with a file, ``free()`` gives them back."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def fill(self) -> None:
        self._fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT)
        for size in (65536, 4096, 512):  # down to the last few blocks
            try:
                while True:
                    os.write(self._fd, b"\0" * size)
            except OSError:
                pass

    def free(self) -> None:
        os.close(self._fd)  # the open descriptor holds the blocks until it is closed
        os.unlink(self.path / "filler")
        self._fd = None

    def sqlite_url(self, template: Path) -> str:
        """The URL of a server's SQLite file on this disk, a synced copy of ``template`` (``sqlite_template``)
        as every test server's first database is: its first start makes no schema (a migration in a
        process of its own, ~1 s of CPU) before the test fills the disk."""
        url = f"sqlite:///{self.path / 'queuekiosk.db'}"
        server_db.seed(template, url)
        return url


@pytest.fixture
def small_disk():
    """A real full disk for the database (mounting needs root, as on the CI machine; else skipped).
    Not under pytest's private tmp folder: a PostgreSQL tablespace there must be reachable."""
    folder = Path(tempfile.mkdtemp(prefix="qk-disk-"))
    folder.chmod(0o755)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a small tmpfs (needs root): {mounted.stderr.strip()}")
    disk = SmallDisk(folder)
    try:
        yield disk
    finally:
        if disk._fd is not None:
            os.close(disk._fd)
        # lazy: a server of the test may still hold the database open; the tmpfs goes when it ends
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()
