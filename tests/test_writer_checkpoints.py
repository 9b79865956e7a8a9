"""The SQLite group writer's checkpoints (server/core/writer.py) keep one connection of their own while
batches come, and close it after a quiet moment: opening one reads the whole schema at every
checkpoint, and a connection kept for ever would hold the file of every server that ever wrote."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import gevent
import pytest

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import writer as writer_module
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.writer import GroupCommitWriter


@pytest.fixture
def opened(monkeypatch, tmp_path):
    """The connections the checkpoints open (sqlite3.connect as writer.py calls it) to this test's database:
    not those of a writer an earlier test of this process left, whose quiet moment's checkpoint may come
    during this test (2026-12-07: two connections, though none of this test's checkpoints failed)."""
    made = []
    real = sqlite3.connect
    mine = quote(os.path.abspath(tmp_path))

    def connect(address, *args, **kwargs):
        connection = real(address, *args, **kwargs)
        if mine in str(address):
            made.append(connection)
        return connection

    monkeypatch.setattr(writer_module, "sqlite3", SimpleNamespace(connect=connect))
    return made


def is_closed(connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:  # "Cannot operate on a closed database."
        return True
    return False


def test_checkpoints_share_one_connection_while_batches_come_and_close_it_when_quiet(
    tmp_path, config, sqlite_url, monkeypatch, opened
):
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 32)
    # "while batches come": no two commits a quiet moment apart, which a second was not on a slow host under
    # the whole suite (2026-12-07: two connections, a batch over a second after the one before it)
    monkeypatch.setattr(writer_module, "QUIET_SECONDS", 3.0)
    engine = create_db_engine(sqlite_url, busy_seconds=0.3)
    site = prepare_database(engine, config, tmp_path / "instance")
    path = Path(sqlite_url.removeprefix("sqlite:///")).resolve()
    writer = GroupCommitWriter(engine)
    try:
        checkpoints = writer._checkpoints
        ran = []
        real_checkpoint = checkpoints._checkpoint

        def counted():
            result = real_checkpoint()
            ran.append(result)
            return result

        monkeypatch.setattr(checkpoints, "_checkpoint", counted)
        issued = 0
        for batch in range(12):  # 12 batches of 32: a checkpoint after each
            greenlets = [
                gevent.spawn(writer.submit, q.issue, site, ("HT" if batch % 2 else "CT",), {"check_hours": False})
                for _ in range(32)
            ]
            gevent.joinall(greenlets, raise_error=True)
            issued += len(greenlets)
            gevent.sleep(0.01)  # the checkpoint under way ends beside the next batch
        assert len(ran) >= 6, ran
        assert all(frames >= 0 for frames, _copied in ran), ran  # none failed (a failure returns (-1, 0))
        assert len(opened) == 1  # one connection for all of them, kept
        assert not is_closed(opened[0])

        deadline = time.monotonic() + 10 * writer_module.QUIET_SECONDS
        while not is_closed(opened[0]) and time.monotonic() < deadline:
            gevent.sleep(0.1)
        assert is_closed(opened[0])  # quiet: closed
        copy = tmp_path / "copy.db"  # and the file alone holds every ticket (the WAL copied)
        copy.write_bytes(path.read_bytes())
        with sqlite3.connect(copy) as alone:
            assert alone.execute("SELECT count(*) FROM tickets").fetchone()[0] == issued

        # batches again: a new connection, kept again
        gevent.joinall(
            [gevent.spawn(writer.submit, q.issue, site, ("HT",), {"check_hours": False}) for _ in range(40)],
            raise_error=True,
        )
        deadline = time.monotonic() + 5
        while len(opened) < 2 and time.monotonic() < deadline:
            gevent.sleep(0.05)
        assert len(opened) == 2
    finally:
        engine.dispose()


def test_a_stream_slower_than_its_checkpoints_keeps_the_connection(tmp_path, monkeypatch, opened):
    """Batches a tenth of QUIET_SECONDS apart (room for a loaded machine's late wake-ups), each beginning a checkpoint that ends before the next
    batch: the stream is not quiet, and its checkpoints keep one connection. A whole-suite run under
    load (the test above, its 12 batches then over a second) found a second connection: the quiet
    moment, due a second after the stream's first commit, closed the connection 0.1 s after the last
    one, judging quiet by the actions since the last checkpoint began, which that batch's own
    checkpoint had just reset."""
    monkeypatch.setattr(writer_module, "QUIET_SECONDS", 0.5)
    path = tmp_path / "stream.db"
    writing = sqlite3.connect(path, isolation_level=None)
    writing.execute("PRAGMA journal_mode=WAL")
    writing.execute("PRAGMA wal_autocheckpoint=0")
    writing.execute("CREATE TABLE t (x)")
    checkpoints = writer_module._Checkpoints(str(path))
    try:
        for batch in range(30):  # three QUIET_SECONDS
            writing.execute("INSERT INTO t VALUES (?)", (batch,))
            checkpoints.committed(writer_module.CHECKPOINT_EVERY)  # a checkpoint begins
            gevent.sleep(writer_module.QUIET_SECONDS / 10)
        assert len(opened) == 1, f"{len(opened)} connections for one stream"
        assert not is_closed(opened[0])
        deadline = time.monotonic() + 10 * writer_module.QUIET_SECONDS
        while not is_closed(opened[0]) and time.monotonic() < deadline:
            gevent.sleep(writer_module.QUIET_SECONDS / 4)
        assert is_closed(opened[0]), "not closed once quiet"
    finally:
        checkpoints._close_connection()
        writing.close()


def test_a_stream_that_ends_with_the_wal_too_long_is_checkpointed_in_the_quiet_moment(tmp_path):
    """A commit that finds the WAL past WAL_FRAMES_MAX asks the writer to wait for a checkpoint before
    its next batch; when no batch comes, the quiet moment after it copies the WAL all the same (a
    whole-suite run under load found the last 320 of 4,800 tickets left in the WAL for good), and a
    batch that comes after it still waits for a checkpoint, as the commit asked."""
    path = tmp_path / "wal.db"
    writing = sqlite3.connect(path, isolation_level=None)
    writing.execute("PRAGMA journal_mode=WAL")
    writing.execute("PRAGMA wal_autocheckpoint=0")
    writing.execute("CREATE TABLE t (x)")
    writing.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    checkpoints = writer_module._Checkpoints(str(path))
    try:
        checkpoints._frames = writer_module.WAL_FRAMES_MAX + 1  # as the checkpoint before found it
        checkpoints.committed(writer_module.CHECKPOINT_EVERY)  # the stream's last commit
        assert checkpoints.catch_up
        copy = tmp_path / "copy-without-wal.db"
        deadline = time.monotonic() + writer_module.QUIET_SECONDS * 10
        while True:
            gevent.sleep(writer_module.QUIET_SECONDS / 2)
            copy.write_bytes(path.read_bytes())
            alone = sqlite3.connect(copy)
            try:
                has_table = alone.execute("SELECT count(*) FROM sqlite_master WHERE name = 't'").fetchone()[0]
                count = alone.execute("SELECT count(*) FROM t").fetchone()[0] if has_table else 0
            finally:
                alone.close()
            if count == 100 or time.monotonic() > deadline:
                break
        assert count == 100, "the quiet moment left the WAL uncopied"
        assert checkpoints.catch_up, "a batch coming now would not wait for its checkpoint (run_now)"
    finally:
        checkpoints._close_connection()
        writing.close()


def test_a_commit_slower_than_the_quiet_time_keeps_the_checkpoints_connection(
    tmp_path, config, sqlite_url, monkeypatch, opened
):
    """A batch whose COMMIT takes longer than the quiet time (its fsync on a busy disk, in a pool thread
    while the hub goes on) is not a quiet moment: the checkpoints' connection stays open across it,
    rather than closed under a stream of batches and opened again at the next checkpoint."""
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 8)
    monkeypatch.setattr(writer_module, "QUIET_SECONDS", 0.3)
    real_commit = writer_module._commit

    def slow_disk_commit(sqlite):  # (in the pool's thread, as the real one: the fsync of a busy disk)
        time.sleep(1.0)
        return real_commit(sqlite)

    engine = create_db_engine(sqlite_url, busy_seconds=0.3)
    site = prepare_database(engine, config, tmp_path / "instance")
    writer = GroupCommitWriter(engine)
    try:
        for batch in range(3):
            if batch == 1:  # the first batch's checkpoint has opened the connection
                monkeypatch.setattr(writer_module, "_commit", slow_disk_commit)
            greenlets = [gevent.spawn(writer.submit, q.issue, site, ("HT",), {"check_hours": False}) for _ in range(8)]
            gevent.joinall(greenlets, raise_error=True)
            gevent.sleep(0.05)  # the batch's checkpoint runs
        assert len(opened) == 1, opened
    finally:
        engine.dispose()
