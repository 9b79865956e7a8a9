"""Group commit on PostgreSQL (server/core/pg_writer.py ``PostgresGroupWriter``), on a real server: the
actions that arrive together share one transaction and one COMMIT; a refused action undoes only
itself; a batch takes the services' number rows in one order, so two processes issuing across
services at once never deadlock, and every caller gets its ticket: gap-free, none twice."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import textwrap
import time

import gevent
import gevent.event
import pytest
from group_commit_helpers import issue_then_refuse, numbers_by_service, together
from sqlalchemy import event, text

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import outbox
from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.errors import QueueError
from queuekiosk.server.core.pg_writer import PostgresGroupWriter

pytestmark = pytest.mark.postgres


def database_stat(queue, column: str) -> int:
    """A count of pg_stat_database for the test's database (commits, deadlocks)."""
    with queue.engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        return conn.execute(text(f"SELECT {column} FROM pg_stat_database WHERE datname = current_database()")).scalar()


class _Answering:
    """A writer stand-in whose every answer takes a few turns of gevent's loop, as a round trip does
    in a green process (for the tests of ``together`` itself)."""

    def __init__(self, never=()):
        self.never = set(never)  # the arguments of jobs it never answers
        self.forever = gevent.event.Event()

    def submit(self, action, site, args, kwargs):
        if args in self.never:
            self.forever.wait()
        gevent.sleep(0.01)
        return action(*args)


def _the_loop_lies_idle(seconds: float) -> None:
    """As the process between two tests that use gevent: the loop last woke on a timer, then nothing
    entered it for ``seconds``."""
    gevent.sleep(0.001)
    time.sleep(seconds)


def test_together_waits_for_every_answer_even_after_the_loop_lay_idle_longer_than_its_limit():
    _the_loop_lies_idle(0.6)
    assert together(_Answering(), None, [(str, (i,)) for i in range(5)], limit=0.5) == [str(i) for i in range(5)]


def test_together_names_the_callers_never_answered():
    with pytest.raises(pytest.fail.Exception, match=r"1 of 3 callers had no answer within 0.2 s: #1 str\(1,\)"):
        together(_Answering(never={(1,)}), None, [(str, (i,)) for i in range(3)], limit=0.2)


def test_a_batch_is_one_commit_and_a_refused_action_undoes_only_itself(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine)
    codes = list(queue.site.service_ids)

    commits = []  # counted as the writer's connections commit (pg_stat_database's count lags under load)
    event.listen(queue.engine, "commit", commits.append)
    jobs = [(outbox.recording(q.issue), (codes[i % len(codes)],)) for i in range(20)]
    jobs.insert(7, (issue_then_refuse, (codes[0],)))
    results = together(writer, queue.site, jobs)
    # a batch a lane, and one more where the refusal put the jobs after it off: not 21 transactions
    assert len(commits) <= len(writer._lanes) + 1, commits
    refused = results.pop(7)
    assert isinstance(refused, QueueError), (refused, results, commits)
    assert all(isinstance(r, q.Outcome) for r in results), [r for r in results if not isinstance(r, q.Outcome)]
    expected = collections.Counter(codes[i % len(codes)] for i in range(20))
    found = numbers_by_service(queue)
    for code, count in expected.items():
        start = queue.site.config.service(code).numbers.start
        assert found[code] == list(range(start, start + count)), code  # the refused number reused: no gap
    answered = collections.defaultdict(list)
    for outcome in results:
        answered[outcome.ticket["service"]].append(outcome.ticket["number"])
    assert {code: sorted(numbers) for code, numbers in answered.items()} == found  # each caller its own ticket


def test_refusals_anywhere_in_a_batch_of_tickets_undo_only_themselves_batch_after_batch(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """Tickets share a savepoint while nothing fails (pg_writer: one round trip a ticket); a refusal
    first, last, in the middle, and an action of another kind that fails after writing, each undo
    only themselves: every other caller gets its own ticket, gap-free, in three waves (the second
    taking a savepoint at every action after the first's refusals, the third sharing them again)."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    codes = list(queue.site.service_ids)

    def other_kind_then_fail(conn, site, **kwargs):  # its first argument names no service
        q.issue(conn, site, codes[1], **kwargs)
        raise QueueError("closed", open="08:00", close="17:00")

    expected = collections.Counter()
    answered = collections.defaultdict(list)
    for wave in range(3):
        jobs = [(outbox.recording(q.issue), (codes[i % len(codes)],)) for i in range(24)]
        refusals = {0, 11, 25} if wave < 2 else set()
        for index in sorted(refusals):
            jobs.insert(index, (issue_then_refuse, (codes[index % len(codes)],)))
        if wave < 2:
            jobs.insert(5, (other_kind_then_fail, ()))
        results = together(writer, queue.site, jobs)
        failed = [r for r in results if isinstance(r, Exception)]
        assert len(failed) == (len(refusals) + 1 if wave < 2 else 0) and all(isinstance(r, QueueError) for r in failed)
        expected.update(codes[i % len(codes)] for i in range(24))
        for outcome in results:
            if isinstance(outcome, q.Outcome):
                answered[outcome.ticket["service"]].append(outcome.ticket["number"])
    found = numbers_by_service(queue)
    for code, count in expected.items():
        start = queue.site.config.service(code).numbers.start
        assert found[code] == list(range(start, start + count)), code  # no refused number kept: no gap
    assert {code: sorted(numbers) for code, numbers in answered.items()} == found  # each caller its own ticket


def test_an_action_that_locks_rows_out_of_the_batch_s_order_waits_for_the_next_batch(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine)
    low, high = sorted(queue.site.service_ids, key=queue.site.service_ids.get)[:2]

    def issue_two(conn, site, _tag, first, second, **kwargs):  # its first argument names no service: placed last
        return [q.issue(conn, site, first, **kwargs), q.issue(conn, site, second, **kwargs)]

    results = together(
        writer,
        queue.site,
        [(issue_two, ("x", high, low)), (q.issue, (high,)), (issue_two, ("y", low, high))],
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert numbers_by_service(queue) == {
        low: [queue.site.config.service(low).numbers.start + i for i in range(2)],
        high: [queue.site.config.service(high).numbers.start + i for i in range(3)],
    }


PROCESS = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import json, random, sys

    import gevent

    from queuekiosk.server.core import engine as q, outbox
    from queuekiosk.server.core.db import create_db_engine, open_database
    from queuekiosk.server.core.pg_writer import PostgresGroupWriter

    url, clients, each, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    engine = create_db_engine(url)
    site = open_database(engine)
    writer = PostgresGroupWriter(engine)
    codes = sorted(site.service_ids)
    rng = random.Random(seed)
    issued, errors = [], []

    def client():
        for _ in range(each):
            code = rng.choice(codes)
            try:
                outcome = writer.submit(outbox.recording(q.issue), site, (code,), {"check_hours": False})
                issued.append([code, outcome.ticket["number"]])
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}"[:300])

    gevent.joinall([gevent.spawn(client) for _ in range(clients)])
    print(json.dumps({"issued": issued, "errors": errors}))
    """
)


def test_two_processes_issuing_across_services_at_once_never_deadlock_and_stay_gap_free(
    make_queue, config, migrated_pg_url
):
    queue = make_queue(config, migrated_pg_url)  # the centre loaded; each process opens it
    clients, each = 16, 25
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, migrated_pg_url, str(clients), str(each), str(seed)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in (1, 2)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    errors = [e for r in reports for e in r["errors"]]
    assert not errors, errors[:5]  # no deadlock (nor anything else) reached a caller ...
    # ... nor happened: a batch that took its rows in any order met one about every other batch, and its
    # actions waited a second (deadlock_timeout) to be run again (measured: 37 s for this test, not 2)
    assert database_stat(queue, "deadlocks") == 0
    answered = collections.defaultdict(list)
    for report in reports:
        for code, number in report["issued"]:
            answered[code].append(number)
    assert sum(len(v) for v in answered.values()) == 2 * clients * each
    found = numbers_by_service(queue)
    assert {code: sorted(v) for code, v in answered.items()} == found  # each caller its own ticket, none twice
    for code, numbers in found.items():
        start = queue.site.config.service(code).numbers.start
        assert numbers == list(range(start, start + len(numbers))), f"{code}: a gap or a number twice"


WAITING = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import sys, time

    import gevent
    from sqlalchemy import text

    from queuekiosk.server.core.db import create_db_engine

    engine = create_db_engine(sys.argv[1])
    ticks = []

    def ticking():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    ticker = gevent.spawn(ticking)
    gevent.sleep(0.05)
    with engine.connect() as conn:
        begun = time.monotonic()
        conn.execute(text("SELECT pg_sleep(0.5)"))
        ended = time.monotonic()
    ticker.kill()
    print(sum(begun < t < ended for t in ticks))
    """
)


def test_a_slow_statement_lets_the_process_s_other_greenlets_run(migrated_pg_url):
    """psycopg waits on gevent's hub (db._wait_on_the_hub): while one request's statement runs, the
    process answers others."""
    done = subprocess.run([sys.executable, "-c", WAITING, migrated_pg_url], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) >= 20  # ~50 ticks of 10 ms in half a second


def test_an_action_that_lets_out_a_base_exception_fails_its_batch_and_the_lane_goes_on(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """A gevent.Timeout (a BaseException) let out by an action used to end the lane's greenlet: its
    batch's callers heard of it, and every later request of the lane's services waited for ever."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    service = next(iter(queue.site.service_ids))

    def timed_out(conn, site, **kwargs):
        raise gevent.Timeout(0.5)

    with pytest.raises(gevent.Timeout):
        writer.submit(timed_out, queue.site, (), {})
    results = together(writer, queue.site, [(outbox.recording(q.issue), (service,)) for _ in range(3)], limit=10)
    assert all(isinstance(r, q.Outcome) for r in results), results
    assert numbers_by_service(queue) == {
        service: [queue.site.config.service(service).numbers.start + i for i in range(3)]
    }


def test_a_closed_writer_leaves_no_connection_once_its_engine_is_disposed(make_queue, config, migrated_pg_url):
    """A writer that ends before its process (a test's) stops its lanes and lets their connections go, so that
    disposing of the engine closes every one: they used to outlive their test, to a database dropped after it."""
    queue = make_queue(config, migrated_pg_url)
    writer = PostgresGroupWriter(queue.engine, lanes=2)
    try:
        code = next(iter(queue.site.service_ids))
        writer.submit(outbox.recording(q.issue), queue.site, (code,), {"check_hours": False})
        assert any(lane._connection is not None for lane in writer._lanes)  # kept out of the pool by its lane
    finally:
        writer.close()
    queue.engine.dispose()
    writer.close()  # again, after the engine's dispose (a fixture's teardown may): nothing left to do

    assert all(lane.greenlet.dead for lane in writer._lanes)
    assert other_client_connections(migrated_pg_url) == 0


def other_client_connections(url: str, within: float = 5.0) -> int:
    """Client connections to the database besides the one asking: once there are none, or after ``within``
    seconds (a backend just closed may be listed for a moment longer)."""
    looking = create_db_engine(url)
    deadline = time.monotonic() + within
    try:
        with looking.connect() as conn:
            while True:
                count = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    )
                ).scalar()
                conn.rollback()  # (the statistics are a snapshot per transaction)
                if count == 0 or time.monotonic() > deadline:
                    return count
                time.sleep(0.05)
    finally:
        looking.dispose()
