"""Migration 0012 dates the start of past services as the reports now read them (issue 18): a ticket
finished by "Kết thúc" without "Bắt đầu" gets its call as its start (its service time as before);
one that "next" ended without a start keeps none (no service time), on SQLite and PostgreSQL."""

from __future__ import annotations

from server_db import migrate_down_and_up
from sqlalchemy import select, update

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.models import Base

T = Base.metadata.tables["tickets"]


def test_past_finishes_get_their_call_as_start_and_next_ended_ones_none(make_queue, make_config, db_url):
    db = make_queue(make_config(policy={"unstarted_at_next": "served"}), db_url)
    finished, ended_by_next, started = (db.run(q.issue, "HT", check_hours=False).ticket for _ in range(3))
    db.run(q.call_next, 1)
    db.run(q.finish, 1)  # "Kết thúc" without "Bắt đầu"
    db.run(q.call_next, 1)
    db.run(q.call_next, 1)  # moves past the second, never started: served, no time (this site's policy)
    db.run(q.start, 1)
    db.run(q.finish, 1)
    with db.engine.begin() as conn:  # as a version before 0012 left the first: no start
        conn.execute(update(T).where(T.c.public_id == finished["id"]).values(started_at=None))

    migrate_down_and_up(db.engine, "0011")

    with db.engine.connect() as conn:
        rows = {
            r.public_id: r
            for r in conn.execute(
                select(T.c.public_id, T.c.status, T.c.started_at, T.c.last_called_at, T.c.finished_at)
            )
        }
    assert rows[finished["id"]].started_at == rows[finished["id"]].last_called_at
    assert rows[ended_by_next["id"]].status == "done" and rows[ended_by_next["id"]].started_at is None
    assert (
        rows[started["id"]].started_at is not None and rows[started["id"]].started_at <= rows[started["id"]].finished_at
    )
