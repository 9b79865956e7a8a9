"""The PostgreSQL group writer's gathered runs (server/core/pg_writer.py ``Gathered``) when things go
wrong: a socket whose file descriptor is past select()'s limit, a connection lost in the middle of a
run, a statement PostgreSQL refuses. On a real PostgreSQL server (review of 2026-12-04, 3.1-3.4)."""

from __future__ import annotations

import collections
import json
import resource
import subprocess
import sys
import textwrap

import gevent
import pytest
from group_commit_helpers import numbers_by_service, together
from sqlalchemy import create_engine, exc, text
from sqlalchemy.pool import NullPool

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import outbox
from queuekiosk.server.core.engine.prepared import Prepared
from queuekiosk.server.core.errors import TooMany

pytestmark = pytest.mark.postgres

MANY_FILES = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import json, os, resource, sys

    import gevent

    from queuekiosk.server.core import engine as q, outbox
    from queuekiosk.server.core.db import create_db_engine, open_database
    from queuekiosk.server.core.pg_writer import PostgresGroupWriter

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    engine = create_db_engine(sys.argv[1])
    site = open_database(engine)
    engine.dispose()  # (its connection's descriptor free: the files below take it and those after)
    kept = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]  # a worker serving many displays
    writer = PostgresGroupWriter(engine, lanes=1)
    (lane,) = writer._lanes
    fd = lane.connection().connection.dbapi_connection.pgconn.socket
    code = sorted(site.service_ids)[0]
    results = []

    def client():
        try:
            outcome = writer.submit(outbox.recording(q.issue), site, (code,), {"check_hours": False})
            results.append(outcome.ticket["number"])
        except Exception as error:
            results.append(f"{type(error).__name__}: {error}"[:300])

    gevent.joinall([gevent.spawn(client) for _ in range(5)])
    print(json.dumps({"fd": fd, "results": results}))
    """
)


def test_a_gathered_batch_works_on_a_connection_whose_file_descriptor_is_past_1024(make_queue, config, migrated_pg_url):
    """select() refuses a file descriptor of 1024 or more (ValueError, every caller a 500); a gevent
    worker with many displays' sockets open gets such a descriptor for a new PostgreSQL connection."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit of open files is {hard}")
    queue = make_queue(config, migrated_pg_url)
    done = subprocess.run(
        [sys.executable, "-c", MANY_FILES, migrated_pg_url], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["fd"] >= 1024, report
    code = sorted(queue.site.service_ids)[0]
    start = queue.site.config.service(code).numbers.start
    assert sorted(report["results"], key=str) == list(range(start, start + 5)), report


_ONE = Prepared(text("SELECT :one + 1"))


def _one_lane(queue, pg_group_writer) -> tuple:
    """A writer of one lane on ``queue``'s database: (queue, writer, a service's code, the backend pid of
    the lane's connection, an engine to end it with)."""
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    pid = lane.connection().connection.dbapi_connection.info.backend_pid
    url = queue.engine.url.render_as_string(hide_password=False)
    return queue, writer, next(iter(queue.site.service_ids)), pid, create_engine(url, poolclass=NullPool)


def test_a_connection_lost_in_a_gathered_run_answers_each_caller_that_the_database_is_unreachable(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """Each caller gets OperationalError (errors.py: 503 with Retry-After), not a PendingRollbackError
    (a 500) made of the GreenletExit the run threw into its waiting actions; the lane goes on. (Lost
    after the run's first round trip, its BEGIN's: lost by that one, the batch would run again.)"""
    queue, writer, code, pid, admin = _one_lane(make_queue(config, migrated_pg_url), pg_group_writer)
    (lane,) = writer._lanes
    killed = []

    def kill_then_issue(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
        _ONE.one(conn, {"one": 1})  # (the run's first round trip)
        if not killed:
            killed.append(pid)
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            gevent.sleep(0.2)
        _ONE.one(conn, {"one": 1})
        return q.issue(conn, site, service, **kwargs)

    def select_then_issue(conn, site, service, **kwargs):
        _ONE.one(conn, {"one": 1})
        return q.issue(conn, site, service, **kwargs)

    jobs = [(kill_then_issue, (code,))] + [(select_then_issue, (code,)) for _ in range(4)]
    results = together(writer, queue.site, jobs, limit=20)
    assert killed
    assert all(isinstance(r, exc.OperationalError) for r in results), [type(r).__name__ for r in results]
    assert all(r.connection_invalidated for r in results)
    assert not lane.greenlet.dead
    results = together(writer, queue.site, [(outbox.recording(q.issue), (code,)) for _ in range(3)], limit=10)
    assert all(isinstance(r, q.Outcome) for r in results), results
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue) == {code: list(range(start, start + 3))}
    admin.dispose()


def test_a_gathered_batch_whose_connection_is_found_lost_by_its_first_round_trip_runs_again_once(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """The lane's kept connection ended by PostgreSQL (a restart, pg_terminate_backend) before a batch:
    its first round trip (BEGIN, savepoint, the actions' first statements) finds it lost, nothing of it
    happened, and the batch runs again on a fresh connection: each caller is served once, each number
    given once, none skipped."""
    queue, writer, code, pid, admin = _one_lane(make_queue(config, migrated_pg_url), pg_group_writer)
    runs = []

    def kill_then_issue(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
        if not runs:
            with admin.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid})
        runs.append(conn.connection.dbapi_connection.info.backend_pid if not conn.invalidated else None)
        return q.issue(conn, site, service, **kwargs)

    jobs = [(kill_then_issue, (code,))] + [(outbox.recording(q.issue), (code,)) for _ in range(4)]
    results = together(writer, queue.site, jobs, limit=20)
    assert all(isinstance(r, q.Outcome) for r in results), results
    start = queue.site.config.service(code).numbers.start
    assert sorted(r.ticket["number"] for r in results) == list(range(start, start + 5))
    assert numbers_by_service(queue) == {code: list(range(start, start + 5))}
    assert len(runs) == 2 and runs[1] not in (None, pid), runs  # once more, on another connection
    assert writer.lost_at_start == 1
    admin.dispose()


_DIVIDE_BY_ZERO = Prepared(text("SELECT 1 / (:one - 1)"))


def test_a_refused_statement_answers_the_statements_after_it_with_an_error_and_ends_the_run(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """In pipeline mode a refused statement, and those after it, have no result: their actions used to
    read "no rows" ([]) and go on, a round trip a turn in an aborted transaction. Now each reads the
    error, the run stops, and each action runs again one at a time."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    attempts = {"asks": [], "after": []}

    def issue_then_divide_by_zero(conn, site, service, **kwargs):
        outcome = q.issue(conn, site, service, **kwargs)
        _DIVIDE_BY_ZERO.one(conn, {"one": 1})
        return outcome

    def asking(name):
        def ask_ten_times_then_issue(conn, site, service, **kwargs):
            answers = []
            attempts[name].append(answers)
            for i in range(10):
                try:
                    answers.append(_ONE.rows(conn, {"one": i}))
                except exc.DBAPIError as error:
                    answers.append(type(error.orig).__name__)
                    raise
            return q.issue(conn, site, service, **kwargs)

        return ask_ten_times_then_issue

    # (same service: the batch keeps their order, so "asks"' statements go before the division's)
    jobs = [(asking("asks"), (code,)), (issue_then_divide_by_zero, (code,)), (asking("after"), (code,))]
    results = together(writer, queue.site, jobs, limit=20)
    assert isinstance(results[1], exc.DataError) and "division by zero" in str(results[1]), results
    assert isinstance(results[0], q.Outcome) and isinstance(results[2], q.Outcome), results
    for name in ("asks", "after"):
        gathered, *_rest, alone = attempts[name]
        assert [] not in gathered, (name, gathered)  # never "no rows" for a statement that was not run
        assert len(gathered) <= 3, (name, gathered)  # the run stopped at the failure
        assert alone == [[(i + 1,)] for i in range(10)]


_NEXT = Prepared(text("SELECT nextval('qk_gathered_test')"))


def test_a_read_asked_for_later_goes_with_the_next_statement_and_each_action_gets_its_own(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """Prepared.rows_later (the look at the webhooks uses it): the read goes to PostgreSQL with the
    action's next statement that needs an answer, no round trip of its own, and each action reads
    its own answer (a nextval: one value each, in the actions' order)."""
    queue = make_queue(config, migrated_pg_url)
    with queue.engine.begin() as conn:
        conn.execute(text("CREATE SEQUENCE qk_gathered_test"))
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    sent = libpq_sent(writer)

    def next_value_then_issue(conn, site, service, **kwargs):
        later = _NEXT.rows_later(conn, {})
        q.issue(conn, site, service, **kwargs)
        ((value,),) = later()
        return value

    values = together(writer, queue.site, [(next_value_then_issue, (code,)) for _ in range(4)], limit=20)
    assert values == [1, 2, 3, 4], values
    messages = collections.Counter(sent())
    # BEGIN, the transaction's id, the savepoint, each action's read and ticket; RELEASE and COMMIT
    assert messages["Sync"] + messages["Query"] == 2, messages


def test_a_daily_limit_reached_inside_one_batch_refuses_only_the_tickets_past_it(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """16 tickets in one batch, 8 of a service that may issue 5 today: the batch's one statement for
    its tickets meets the limit part way; the limited service's first five callers get its first five
    numbers in the order they came, the last three a refusal (429), the other service's eight their
    numbers, and nothing is stored past the limit."""
    queue = make_queue(config, migrated_pg_url)
    site = queue.site
    limited, other = sorted(site.service_ids)[:2]
    service = site.config.service(limited)
    object.__setattr__(service, "daily_limit", 5)
    writer = pg_group_writer(queue.engine, lanes=1)
    codes = [(limited, other)[index % 2] for index in range(16)]
    results = together(writer, site, [(outbox.recording(q.issue), (code,)) for code in codes])
    of_limited = [result for code, result in zip(codes, results, strict=True) if code == limited]
    of_other = [result for code, result in zip(codes, results, strict=True) if code == other]
    start = service.numbers.start
    assert [r.ticket["number"] if isinstance(r, q.Outcome) else type(r) for r in of_limited] == [
        *range(start, start + 5),
        *[TooMany] * 3,
    ]
    assert all(isinstance(result, q.Outcome) for result in of_other), of_other
    assert numbers_by_service(queue)[limited] == list(range(start, start + 5))
