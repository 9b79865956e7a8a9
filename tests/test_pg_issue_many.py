"""Issuing's one statement for several tickets on PostgreSQL (engine/issuing.py, the ``many`` form of
``_ISSUE_ON_POSTGRESQL``, which pg_writer.Gathered sends for the tickets of a batch): what it stores
and answers is what the one-ticket statement stores and answers, run once per ticket in the same
order, for any mix of services, priority tickets and kiosks, on queues new today or already counting."""

from __future__ import annotations

import datetime as dt
import json
import os
from base64 import urlsafe_b64encode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queuekiosk.server.core.engine import issuing
from queuekiosk.server.core.engine.prepared import many_values

pytestmark = pytest.mark.postgres

_DAY = dt.date(2026, 12, 4)
_NOW = dt.datetime(2026, 12, 4, 9, 30, 15, 123456)


def _values(site, service_index: int, priority: bool, kiosk: str | None, now: dt.datetime = _NOW) -> dict:
    service = sorted(site.service_ids)[service_index % len(site.service_ids)]
    priority_code = sorted(site.priority_ids)[0] if priority else None
    detail = {"number": None, "priority": priority_code, "kiosk": kiosk}
    head, _, tail = json.dumps(detail, ensure_ascii=False).partition("null")
    return {
        "service": site.service_ids[service],
        "day": _DAY,
        "start": 100 + service_index,
        "priority": int(priority),
        "public_id": urlsafe_b64encode(os.urandom(9)).decode(),
        "site_id": site.id,
        "priority_id": site.priority_ids[priority_code] if priority else None,
        "kiosk_id": kiosk,
        "now": now,
        "user_id": None,
        "token_id": None,
        "detail_head": head,
        "detail_tail": tail,
    }


def _issued(dbapi_connection, earlier: list[dict], tickets: list[dict], many: bool) -> tuple:
    """In a transaction rolled back after: ``earlier`` one at a time, then ``tickets`` (through the
    ``many`` statement or one at a time); each ticket's answer and the rows stored, ids as public ids."""
    single = issuing._ISSUE_ON_POSTGRESQL.statement.compile(dialect=_dialect()).string
    with dbapi_connection.transaction(force_rollback=True), dbapi_connection.cursor() as cursor:
        for values in earlier:
            cursor.execute(single, values)
        if many:
            together = many_values(issuing._ISSUE_ON_POSTGRESQL.many, tickets)
            answers = cursor.execute(issuing._ISSUE_ON_POSTGRESQL.many, together).fetchall()
        else:
            answers = [cursor.execute(single, values).fetchone() for values in tickets]
        public = dict(cursor.execute("SELECT id, public_id FROM tickets").fetchall())
        answers = [(*answer[:-1], public[answer[-1]]) for answer in answers]
        stored = (
            cursor.execute("SELECT * FROM number_sequences ORDER BY service_id, business_day").fetchall(),
            [row[1:] for row in cursor.execute("SELECT * FROM tickets ORDER BY id").fetchall()],
            [
                (row[1:4], public[row[4]], row[5:9], json.dumps(row[9]))
                for row in cursor.execute("SELECT * FROM events ORDER BY id").fetchall()
            ],
        )
    return answers, stored


def _dialect():
    from sqlalchemy.dialects.postgresql import psycopg as pg

    return pg.dialect()


tickets_strategy = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.booleans(),
        st.sampled_from([None, "K1", "Kiốt Quầy ĐÔNG 1", 'K"\\{1,2} NULL', ""]),
        # each its own moment of the day (whole seconds among them): the batch's JSON holds each time
        st.datetimes(min_value=dt.datetime(2026, 12, 4), max_value=dt.datetime(2026, 12, 4, 23, 59, 59, 999999)),
    ),
    min_size=2,
    max_size=12,
)


def test_many_tickets_in_one_statement_are_those_tickets_one_at_a_time(make_queue, config, migrated_pg_url):
    queue = make_queue(config, migrated_pg_url)
    site = queue.site

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(earlier=st.lists(st.tuples(st.integers(0, 2), st.booleans()), max_size=4), tickets=tickets_strategy)
    def same(earlier, tickets):
        before = [_values(site, index, priority, None) for index, priority in earlier]
        batch = [_values(site, index, priority, kiosk, now) for index, priority, kiosk, now in tickets]
        with queue.engine.connect() as conn:
            dbapi_connection = conn.connection.dbapi_connection
            dbapi_connection.rollback()  # (the test's own transactions)
            one_at_a_time = _issued(dbapi_connection, before, batch, many=False)
            together = _issued(dbapi_connection, before, batch, many=True)
        assert together == one_at_a_time

    same()
