"""Issuing's actions side by side in a batch of the PostgreSQL group writer (server/core/pg_writer.py
``Gathered``): their statements go to the server together, one round trip for the batch's tickets
instead of one each, and what each caller gets is what it got one action at a time. Counted on
libpq's own trace of the writer's connection (the libpq_sent fixture: each Sync or simple Query is a
round trip), on a real PostgreSQL server."""

from __future__ import annotations

import collections
import datetime as dt
from decimal import Decimal

import pytest
from group_commit_helpers import numbers_by_service, together
from sqlalchemy import DateTime, Numeric, bindparam, text

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import outbox
from queuekiosk.server.core.engine.prepared import JsonRows, Prepared
from queuekiosk.server.core.pg_commit import SERVER, XACT

pytestmark = pytest.mark.postgres


def test_a_batch_of_tickets_is_two_round_trips_and_each_caller_gets_its_own(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    codes = list(queue.site.service_ids)
    sent = libpq_sent(writer)
    for _wave in range(2):  # (the second with the ticket statement prepared on the connection)
        jobs = [(outbox.recording(q.issue), (codes[i % len(codes)],)) for i in range(16)]
        results = together(writer, queue.site, jobs)
        assert all(isinstance(r, q.Outcome) for r in results), results
        messages = collections.Counter(sent())
        # BEGIN, the transaction's id, the savepoint, the look at the webhooks and the 16 tickets (one
        # statement); RELEASE and COMMIT
        assert messages["Sync"] + messages["Query"] == 2, messages
        assert messages["Execute"] == 1 + 1 + 1 + 1 + 1, messages
    found = numbers_by_service(queue)
    answered = collections.defaultdict(list)
    for outcome in results:
        answered[outcome.ticket["service"]].append(outcome.ticket["number"])
    for code, numbers in found.items():
        start = queue.site.config.service(code).numbers.start
        assert numbers == list(range(start, start + len(numbers))), code  # gap-free
        assert sorted(answered[code]) == numbers[-len(answered[code]) :]  # the second wave's, each its own


def test_a_look_asked_after_another_action_s_ticket_goes_ahead_of_it(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """The look at the webhooks goes ahead of the tickets gathered before it was asked (an action not
    recording events first; in a batch of several sites, each site's first action): the tickets stay
    one statement."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    sent = libpq_sent(writer)
    jobs = [(q.issue, (code,))] + [(outbox.recording(q.issue), (code,))] * 5
    results = together(writer, queue.site, jobs)
    assert all(isinstance(r, q.Outcome) for r in results), results
    messages = collections.Counter(sent())
    assert messages["Sync"] + messages["Query"] == 2, messages
    assert messages["Execute"] == 1 + 1 + 1 + 1 + 1, (
        messages
    )  # BEGIN, the transaction's id, the savepoint, the look, the 6 tickets


def test_a_batch_of_one_action_at_a_time_opens_with_one_query_of_begin_and_its_savepoint(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """A careful batch (a savepoint at every action) sends BEGIN, its transaction's id and its first
    savepoint as one query, with no BEGIN of psycopg's before it (the lane's connection is in autocommit
    mode)."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    code = next(iter(queue.site.service_ids))
    sent = libpq_sent(writer, whole=True)
    lane.careful = 1
    results = together(writer, queue.site, [(outbox.recording(q.issue), (code,)) for _ in range(4)])
    assert all(isinstance(r, q.Outcome) for r in results), results
    messages = sent()
    assert messages[0] == f'Query\t "BEGIN; {XACT}; SAVEPOINT qk_action"', messages[:3]
    assert messages[-1].startswith("Query") and messages[-1].endswith('RELEASE SAVEPOINT qk_action; COMMIT"')
    # the server (pg_commit.SERVER) was learnt once, with the lane's connection: no batch asks it
    with queue.engine.connect() as conn:
        assert lane.xact[2] == conn.execute(text(SERVER)).scalar()
    together(writer, queue.site, [(q.issue, (code,))] * 2)
    assert not [m for m in sent() if "pg_postmaster_start_time" in m]


def test_the_lane_s_connection_goes_back_to_the_pool_making_transactions_again(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """The lane's connection is in autocommit mode only while the lane holds it: let go (idle, or
    after a failed batch), the pool's next user gets one that makes transactions as before."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    (lane,) = writer._lanes
    code = next(iter(queue.site.service_ids))
    results = together(writer, queue.site, [(outbox.recording(q.issue), (code,))] * 3)
    assert all(isinstance(r, q.Outcome) for r in results), results
    lanes = lane.connection().connection.dbapi_connection
    assert lanes.autocommit is True
    lane.let_go()  # (as after IDLE_PING_SECONDS)
    assert not lanes.closed and lanes.autocommit is False


def test_a_batch_whose_times_are_of_both_kinds_keeps_each_ticket_s_time(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """issue() reads an aware time as UTC's wall clock, as the site's clock does: a batch's times go to
    PostgreSQL as naive UTC, and each ticket keeps the time it was issued at."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    naive = dt.datetime(2026, 12, 4, 9, 30, 15, 123456)

    def issued_at(moment):
        def issue(conn, site, service, **kwargs):
            return outbox.recording(q.issue)(conn, site, service, now=moment, **kwargs)

        return issue

    moments = [naive, naive.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=1), naive + dt.timedelta(seconds=2)]
    results = together(writer, queue.site, [(issued_at(moment), (code,)) for moment in moments])
    assert all(isinstance(r, q.Outcome) for r in results), results
    with queue.engine.connect() as conn:
        stored = sorted(conn.execute(text("SELECT issued_at FROM tickets")).scalars())
    assert stored == [naive + dt.timedelta(seconds=seconds) for seconds in range(3)]


# one array of both naive and aware times: psycopg refuses to write it in binary (a TypeError, not a
# database error), while each time alone goes
_AT = Prepared(
    text("SELECT CAST(:at AS timestamptz) IS NOT NULL").bindparams(bindparam("at", type_=DateTime(timezone=True))),
    many="SELECT at IS NOT NULL FROM unnest(%(at)b::timestamptz[]) AS at",
)


def test_values_psycopg_cannot_write_together_go_one_action_at_a_time(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """psycopg's own refusal of the gathered statements' values (before it sends them) undoes the run
    as a database error does: each action runs again alone, and every caller whose own values go gets
    its ticket (before, every caller of the batch heard psycopg's TypeError)."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    naive = dt.datetime(2026, 12, 4, 9, 30)

    def issued_after_looking_at(moment):
        def issue(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
            assert _AT.one(conn, {"at": moment}) == (True,)
            return outbox.recording(q.issue)(conn, site, service, **kwargs)

        return issue

    moments = [naive, naive.replace(tzinfo=dt.UTC), naive, naive.replace(tzinfo=dt.UTC)]
    results = together(writer, queue.site, [(issued_after_looking_at(moment), (code,)) for moment in moments])
    assert all(isinstance(r, q.Outcome) for r in results), results
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == list(range(start, start + 4))


# a ``many`` statement taking its values as JSON, which holds no Decimal (orjson refuses it)
_TWICE = Prepared(
    text("SELECT CAST(:n AS numeric) * 2").bindparams(bindparam("n", type_=Numeric())),
    many=JsonRows(
        "SELECT r.n * 2 FROM ROWS FROM (json_to_recordset(%(rows)s::json) AS (n numeric))"
        " WITH ORDINALITY AS r(n, i) ORDER BY r.i"
    ),
)


def test_values_json_cannot_hold_go_one_at_a_time_and_the_others_together(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """Executions of a JSON ``many`` statement side by side go as one statement; where one's value
    cannot be written as JSON, that run's executions go one at a time instead, and every caller gets
    its answer and its ticket."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    sent = libpq_sent(writer)

    def issued_after_asking(n):
        def issue(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
            assert _TWICE.one(conn, {"n": n}) == (n * 2,)  # its own answer
            return outbox.recording(q.issue)(conn, site, service, **kwargs)

        return issue

    for numbers, statements in (([1, 2, 3, 4], 1), ([1, Decimal("2.5"), 3, 4], 4)):
        results = together(writer, queue.site, [(issued_after_asking(n), (code,)) for n in numbers])
        assert all(isinstance(r, q.Outcome) for r in results), results
        asked = [message for message in sent() if message == "Execute"]
        # BEGIN, the transaction's id, the savepoint, the look at the webhooks, the asking, the 4 tickets
        # (one statement)
        assert len(asked) == 4 + statements + 1, (numbers, asked)
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue)[code] == list(range(start, start + 8))


_DIVIDE_BY_ZERO = Prepared(text("SELECT 1 / (:one - 1)"))


def test_a_database_error_among_gathered_actions_is_its_caller_s_alone(
    make_queue, config, migrated_pg_url, pg_group_writer
):
    """A statement PostgreSQL refuses in the middle of the gathered statements undoes them all; each
    action runs again one at a time, so only its own caller hears of the error."""
    queue = make_queue(config, migrated_pg_url)
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))

    def issue_then_divide_by_zero(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
        outcome = q.issue(conn, site, service, **kwargs)
        _DIVIDE_BY_ZERO.one(conn, {"one": 1})
        return outcome

    jobs = [(outbox.recording(q.issue), (code,)) for _ in range(6)]
    jobs.insert(3, (issue_then_divide_by_zero, (code,)))
    results = together(writer, queue.site, jobs)
    failed = results.pop(3)
    assert "division by zero" in str(failed), failed
    assert all(isinstance(r, q.Outcome) for r in results), results
    start = queue.site.config.service(code).numbers.start
    assert numbers_by_service(queue) == {code: list(range(start, start + 6))}  # the failed one's number reused
    assert sorted(r.ticket["number"] for r in results) == list(range(start, start + 6))


def test_a_look_at_the_webhooks_its_run_never_answered_is_asked_again(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """A gathered run undone before PostgreSQL answered its look at the webhooks (a read sent ahead
    of the look was refused, so the look was not run): an action later in the same batch that wants
    the look gets it asked again (the webhook's kinds), not the run's error."""
    queue = make_queue(config, migrated_pg_url)
    with queue.engine.begin() as conn:
        outbox.add_webhook(conn, queue.site, "http://127.0.0.1:9/hook", ["ticket.issued", "ticket.called"])
    writer = pg_group_writer(queue.engine, lanes=1)
    code = next(iter(queue.site.service_ids))
    sent = libpq_sent(writer, whole=True)

    def divide_by_zero_then_issue(conn, site, service, **kwargs):  # issuing's shape: gathered with the others
        _DIVIDE_BY_ZERO.rows_later(conn, {"one": 1})  # a read asked for later: it goes first, and fails
        return q.issue(conn, site, service, **kwargs)

    def webhooks_wanted(conn, site, _not_a_service, **kwargs):  # not issuing's: after the run in the batch
        held = conn.info.get(outbox._WANTED)
        assert held is not None and held[0] is conn.get_transaction()  # the run's look, in this batch
        sent()
        kinds = outbox.wanted(conn, site)()
        assert any("webhooks" in message for message in sent())  # asked again, here
        return kinds

    jobs = [(divide_by_zero_then_issue, (code,))] + [(outbox.recording(q.issue), (code,))] * 2
    *results, kinds = together(writer, queue.site, [*jobs, (webhooks_wanted, (1,))])
    assert kinds == frozenset({"ticket.issued", "ticket.called"}), kinds
    assert "division by zero" in str(results[0]), results
    assert all(isinstance(r, q.Outcome) and r.recorded == 1 for r in results[1:]), results


def test_a_batch_of_tickets_a_webhook_wants_writes_each_ticket_s_event_in_three_round_trips(
    make_queue, config, migrated_pg_url, libpq_sent, pg_group_writer
):
    """With a webhook wanting issued tickets, the look's answer decides after the tickets statement
    that each action writes its event: the events go in one round trip of their own, then the
    COMMIT; each ticket's event is in the outbox once."""
    queue = make_queue(config, migrated_pg_url)
    with queue.engine.begin() as conn:
        outbox.add_webhook(conn, queue.site, "http://127.0.0.1:9/hook", ["ticket.issued"])
    writer = pg_group_writer(queue.engine, lanes=1)
    codes = list(queue.site.service_ids)
    sent = libpq_sent(writer)
    jobs = [(outbox.recording(q.issue), (codes[i % len(codes)],)) for i in range(12)]
    results = together(writer, queue.site, jobs)
    assert all(isinstance(r, q.Outcome) and r.recorded == 1 for r in results), results
    messages = collections.Counter(sent())
    # BEGIN, the transaction's id, the savepoint, the look and the 12 tickets; the 12 events; RELEASE and COMMIT
    assert messages["Sync"] + messages["Query"] == 3, messages
    with queue.engine.connect() as conn:
        payloads = conn.execute(text("SELECT kind, payload FROM outbox_events ORDER BY id")).all()
    assert [kind for kind, _payload in payloads] == ["ticket.issued"] * 12
    assert sorted(payload["ticket"]["id"] for _kind, payload in payloads) == sorted(r.ticket["id"] for r in results)
