"""The Alembic migrations build exactly the schema the code uses, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from queuekiosk.server.core.db import create_db_engine, migrate
from queuekiosk.server.core.models import Base


def test_migrations_match_the_models(db_url):
    engine = create_db_engine(db_url)
    try:
        migrate(engine)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "a model changed without a migration (alembic revision --autogenerate)"


def test_who_called_and_ended_each_ticket_is_filled_in_from_the_events(make_queue, config, db_url):
    """Migration 0006 puts on each existing ticket who made its latest call and who ended it, as its
    events say: a database from before it reports by clerk as one made after it."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import select

    from queuekiosk.server.core import engine as q
    from queuekiosk.server.core.auth import add_user, create_token
    from queuekiosk.server.core.db import MIGRATIONS

    db = make_queue(config, db_url)
    with db.Session.begin() as session:
        create_token(session, "counter", "keypad", 1)
        user = add_user(session, "lan", "mat-khau-dai", "clerk", 1)
        session.flush()
        clerk, keypad = q.Actor(user_id=user.id), q.Actor(token_id=1)
    db.run(q.issue, "HT", check_hours=False)
    db.run(q.issue, "HT", check_hours=False)
    db.run(q.issue, "HT", check_hours=False)
    db.run(q.call_next, 1, actor=keypad)
    db.run(q.no_show, 1, actor=clerk)
    db.run(q.call_next, 1, actor=clerk)
    db.run(q.call_next, 1)  # by nobody known (a script): finishes the second; the third is held
    columns = [
        getattr(Base.metadata.tables["tickets"].c, name)
        for name in ("number", "called_by_user_id", "called_by_token_id", "ended_by_user_id", "ended_by_token_id")
    ]
    tickets = Base.metadata.tables["tickets"]
    with db.engine.connect() as conn:
        kept = conn.execute(select(*columns).order_by(tickets.c.number)).all()
    lan = clerk.user_id
    assert [tuple(row[1:]) for row in kept] == [(None, 1, lan, None), (lan, None, None, None), (None, None, None, None)]

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0005")  # as before the columns existed
        command.upgrade(cfg, "head")
    with db.engine.connect() as conn:
        assert conn.execute(select(*columns).order_by(tickets.c.number)).all() == kept


def test_a_server_makes_a_new_database_in_a_child_process(db_url, config, tmp_path):
    """`serve` and gunicorn's app migrate a new database in a child process (Alembic stays out of the
    long-running server): the schema is the one the code uses and the centre is seeded, as in-process."""
    from queuekiosk.server.core.db import HEAD_REVISION, prepare_database, schema_revision

    engine = create_db_engine(db_url)
    try:
        site = prepare_database(engine, config, tmp_path, migrate_apart=True)
        assert schema_revision(engine) == HEAD_REVISION
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()
    assert site.config.site.id == config.site.id and set(site.service_ids) == {s.code for s in config.services}


def test_a_migration_that_fails_in_the_child_says_why(tmp_path):
    from queuekiosk.server.core.db import migrate_in_child

    engine = create_db_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'queuekiosk.db'}")
    with pytest.raises(RuntimeError, match="(?s)the database migration failed.*unable to open database file"):
        migrate_in_child(engine)


def test_a_remote_numbers_check_in_is_put_on_its_ticket(make_queue, config, db_url):
    """Migration 0022 puts on each remote number's ticket its booking's check-in (where the clerk console
    and the reports time its wait from), on SQLite and PostgreSQL; one not checked in gets none, a
    walk-in none. Its downgrade drops the column, and upgrading again fills it in the same."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect, select, update

    from queuekiosk.server.core import bookings as bk
    from queuekiosk.server.core import engine as q
    from queuekiosk.server.core.db import MIGRATIONS
    from queuekiosk.server.core.models import utcnow

    db = make_queue(config, db_url)
    key = b"test person key"
    came = db.run(bk.take_remote, "HT", "Phạm Thị Dung", "0987654321", None, key, check_hours=False).ticket
    db.run(bk.take_remote, "HT", "Trần Văn Bình", "0987654322", None, key, check_hours=False)  # never comes
    db.run(q.issue, "HT", check_hours=False)
    db.run(bk.check_in, key, code=came["code"], now=utcnow(), check_hours=False)
    tickets, bookings = Base.metadata.tables["tickets"], Base.metadata.tables["bookings"]
    with db.engine.begin() as conn:  # as a check-in made before 0022 left it: on its booking alone
        checked_in = conn.execute(select(bookings.c.checked_in_at).where(bookings.c.code == came["code"])).scalar_one()
        assert checked_in is not None
        conn.execute(update(tickets).values(checked_in_at=None))

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    read = select(tickets.c.number, tickets.c.origin, tickets.c.checked_in_at).order_by(tickets.c.number)
    with db.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0021")
        assert "checked_in_at" not in {c["name"] for c in inspect(connection).get_columns("tickets")}
        command.upgrade(cfg, "0022")
        assert connection.execute(read).all() == [
            (1001, "remote", checked_in),
            (1002, "remote", None),
            (1003, None, None),
        ]
        command.downgrade(cfg, "0021")
        command.upgrade(cfg, "head")
        assert connection.execute(read).all()[0] == (1001, "remote", checked_in)


def test_the_numbers_sent_to_one_counter_are_counted_on_their_queue_s_row(make_queue, config, db_url):
    """Migration 0023 counts on each queue's number row its numbers waiting for one counter (a transfer),
    priority ones apart, on SQLite and PostgreSQL: the lobby's count of a database from before it leaves
    them out as one made after it. Its downgrade drops the columns; upgrading again counts the same."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect, select, update

    from queuekiosk.server.core import engine as q
    from queuekiosk.server.core.db import MIGRATIONS

    db = make_queue(config, db_url)
    first = db.run(q.issue, "DC", check_hours=False).ticket
    elderly = db.run(q.issue, "DC", "elderly", check_hours=False).ticket
    db.run(q.issue, "DC", check_hours=False)
    for ticket in (first, elderly):  # counter 4 (DC) sends both to counter 5 alone
        db.run(q.call_next, 4, number=ticket["number"])
        db.run(q.transfer, 4, to_counter=5)
    with db.Session() as session:
        assert q.waiting_counts(session, db.site)["DC"] == {"waiting": 1, "priority": 0}
    rows = Base.metadata.tables["number_sequences"]
    read = select(rows.c.waiting, rows.c.priority_waiting, rows.c.sent, rows.c.priority_sent)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        assert connection.execute(read).all() == [(3, 1, 2, 1)]
        connection.execute(update(rows).values(sent=0, priority_sent=0))  # as before 0023: not counted
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")  # (at head already: nothing runs)
        command.downgrade(cfg, "0022")
        assert "sent" not in {c["name"] for c in inspect(connection).get_columns("number_sequences")}
        command.upgrade(cfg, "0023")
        assert connection.execute(read).all() == [(3, 1, 2, 1)]
    with db.Session() as session:
        assert q.waiting_counts(session, db.site)["DC"] == {"waiting": 1, "priority": 0}


def test_a_bookings_cancel_reason_column_comes_and_goes(make_queue, config, db_url):
    """Migration 0024 adds the reason the centre cancelled a booking for (its day or hours closed, its site
    retired), on SQLite and PostgreSQL: the bookings made before have none (their holder's, as they
    were). Its downgrade drops the column with what it held; upgrading again starts it empty."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect, select, update

    from queuekiosk.server.core import bookings as bk
    from queuekiosk.server.core.db import MIGRATIONS

    db = make_queue(config, db_url)
    key = b"test person key"
    db.run(bk.take_remote, "HT", "Phạm Thị Dung", "0987654321", None, key, check_hours=False)
    bookings = Base.metadata.tables["bookings"]
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        connection.execute(update(bookings).values(status="cancelled", cancel_reason="closed_day"))
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, "0023")
        assert "cancel_reason" not in {c["name"] for c in inspect(connection).get_columns("bookings")}
        command.upgrade(cfg, "0024")
        assert connection.execute(select(bookings.c.status, bookings.c.cancel_reason)).all() == [("cancelled", None)]
