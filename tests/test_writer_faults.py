"""The SQLite group writer (server/core/writer.py) when the database refuses a write, on a real SQLite
file: full (``PRAGMA max_page_count`` on the writer's connection, the one connection of the
server's pool), and busy (another connection holding the write lock).

Whatever fails, a ticket either exists and its caller got it, or its caller got the error and
no number was used; once the database takes writes again, issuing goes on gap-free.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import gevent
import pytest
from sqlalchemy.exc import OperationalError

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import faults
from queuekiosk.server.core import writer as writer_module
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.writer import GroupCommitWriter


@pytest.fixture
def writer(tmp_path, config, sqlite_url):
    engine = create_db_engine(sqlite_url, busy_seconds=0.3)
    site = prepare_database(engine, config, tmp_path / "instance")
    yield SiteWriter(GroupCommitWriter(engine), site), engine
    engine.dispose()


class SiteWriter:
    """The writer as the app uses it: every action for the one site of the test."""

    def __init__(self, writer, site):
        self.writer, self.site = writer, site

    def submit(self, action, args, kwargs):
        return self.writer.submit(action, self.site, args, kwargs)


def pragma(engine, statement: str):
    """A PRAGMA on the pool's one connection, which the writer uses: max_page_count is per connection."""
    connection = engine.raw_connection()
    try:
        return connection.driver_connection.execute(statement).fetchone()
    finally:
        connection.close()


def issue_together(writer, count: int, service: str = "HT") -> list:
    """``count`` tickets asked for at the same moment: one batch of the writer. Each: a ticket or an error."""

    def one():
        try:
            return writer.submit(q.issue, (service,), {"check_hours": False}).ticket
        except Exception as error:  # noqa: BLE001 - the test looks at what each caller got
            return error

    greenlets = [gevent.spawn(one) for _ in range(count)]
    gevent.joinall(greenlets, raise_error=True)
    return [g.value for g in greenlets]


def numbers_in(engine) -> list[int]:
    with engine.connect() as conn:
        return [row[0] for row in conn.exec_driver_sql("SELECT number FROM tickets ORDER BY number")]


def test_a_full_database_fails_the_whole_batch_and_issuing_resumes_gap_free(writer):
    writer, engine = writer
    assert [t["number"] for t in issue_together(writer, 3)] == [1001, 1002, 1003]
    pages = pragma(engine, "PRAGMA page_count")[0]
    pragma(engine, f"PRAGMA max_page_count={pages}")  # not one page more: the next new page fails

    # enough tickets in one batch that a statement in its middle needs a new page: SQLite then
    # rolls back the whole transaction by itself, and nothing of the batch may stand
    answers = issue_together(writer, 60)
    assert all(isinstance(a, OperationalError) for a in answers), [a for a in answers if isinstance(a, dict)][:3]
    assert {faults.kind_of(a) for a in answers} == {"database_full"}
    assert numbers_in(engine) == [1001, 1002, 1003]

    pragma(engine, f"PRAGMA max_page_count={pages + 10_000}")  # room again
    again = issue_together(writer, 5)
    assert [t["number"] for t in again] == [1004, 1005, 1006, 1007, 1008]
    assert numbers_in(engine) == list(range(1001, 1009))


def test_a_refusal_in_a_batch_still_rolls_back_alone(writer):
    """The usual case the savepoints are for: one refused action, the others committed."""
    writer, engine = writer

    def one(service):
        try:
            return writer.submit(q.issue, (service,), {"check_hours": False}).ticket["number"]
        except q.QueueError as error:
            return error.code

    greenlets = [gevent.spawn(one, s) for s in ("HT", "XX", "HT")]
    gevent.joinall(greenlets, raise_error=True)
    assert [g.value for g in greenlets] == [1001, "unknown_service", 1002]
    assert numbers_in(engine) == [1001, 1002]


def test_a_write_lock_held_elsewhere_is_busy_then_issuing_goes_on(writer, sqlite_url):
    writer, engine = writer
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # e.g. a sqlite3 shell left in a transaction
    try:
        [answer] = issue_together(writer, 1)
        assert isinstance(answer, OperationalError) and "locked" in str(answer)
        assert faults.kind_of(answer) == "database_busy"
    finally:
        other.execute("ROLLBACK")
        other.close()
    [ticket] = issue_together(writer, 1)
    assert ticket["number"] == 1001  # the refused one used no number


def test_tickets_one_at_a_time_are_on_disk_before_their_answer_and_a_full_database_refuses_them(writer, sqlite_url):
    """A kiosk on a quiet day: every batch holds one ticket. Each is committed before its caller
    hears back, and a full database refuses a lone ticket as it refuses a batch, without using its number."""
    writer, engine = writer
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        for number in range(1001, 1011):
            [ticket] = issue_together(writer, 1)
            assert ticket["number"] == number
            assert other.execute("SELECT max(number) FROM tickets").fetchone() == (number,)
    finally:
        other.close()

    pages = pragma(engine, "PRAGMA page_count")[0]
    pragma(engine, f"PRAGMA max_page_count={pages}")
    answers = []
    while not answers or isinstance(answers[-1], dict):  # until one needs a page more
        [answer] = issue_together(writer, 1)
        answers.append(answer)
        assert len(answers) < 5_000, "the database never filled up"
    assert faults.kind_of(answers[-1]) == "database_full"
    issued = [a["number"] for a in answers[:-1]]
    assert numbers_in(engine) == list(range(1001, 1011 + len(issued)))

    pragma(engine, f"PRAGMA max_page_count={pages + 10_000}")
    [ticket] = issue_together(writer, 1)
    assert ticket["number"] == 1011 + len(issued)


def test_the_wal_is_checkpointed_beside_the_writer_and_stays_short_under_a_steady_stream(writer, sqlite_url):
    """SQLite's own checkpoints would run inside a COMMIT; the writer's run beside it (a pool thread,
    a connection of their own). Under a steady stream of batches, which never leaves a checkpoint
    a quiet moment for the WAL to start over, the writer waits for one now and then: the WAL stays
    a few MB, and after a quiet moment the database file itself holds what was issued."""
    writer, engine = writer
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    issued, longest = 0, 0
    services = ("HT", "CT", "DC", "LD", "VH", "TK")  # 999 numbers each in config.yaml
    for batch in range(150):  # 4,800 tickets, one batch of 32 after the other
        answers = issue_together(writer, 32, services[batch % len(services)])
        assert all(isinstance(a, dict) for a in answers), [a for a in answers if not isinstance(a, dict)][:1]
        issued += len(answers)
        longest = max(longest, path.with_name(path.name + "-wal").stat().st_size)
    frame = 4096 + 24  # a page and its frame header
    assert longest <= (writer_module.WAL_FRAMES_MAX + 40 * writer_module.CHECKPOINT_EVERY) * frame, longest
    numbers = numbers_in(engine)
    assert len(numbers) == len(set(numbers)) == issued

    def in_the_file_alone() -> int:
        copy = path.with_name("copy-without-wal.db")
        copy.write_bytes(path.read_bytes())
        alone = sqlite3.connect(copy)
        try:
            return alone.execute("SELECT count(*) FROM tickets").fetchone()[0]
        finally:
            alone.close()

    # a quiet moment: a checkpoint copies it all, the one under way at the last commit or the next
    deadline = time.monotonic() + writer_module.QUIET_SECONDS * 10
    while (count := in_the_file_alone()) != issued and time.monotonic() < deadline:
        gevent.sleep(writer_module.QUIET_SECONDS / 2)
    assert count == issued
