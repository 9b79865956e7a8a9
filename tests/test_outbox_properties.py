"""The outbox under any sequence of queue actions (hypothesis): every ticket step the engine logs
that a webhook of the site subscribes to has exactly one outside event, in the same order, written
in the same transaction (a refused action leaves none), telling only the whitelisted fields of the
ticket; a step no webhook wants is not written at all."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import outbox

E = m.Event.__table__
O = m.OutboxEvent.__table__  # noqa: E741
T = m.Ticket.__table__
STEPS = {"issued", "called", "recalled", "started", "finished", "no_show", "transferred", "requeued", "expired"}

COUNTERS = st.integers(min_value=1, max_value=2)
ACTIONS = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(["HT", "CT", "DC"])),
    st.tuples(st.sampled_from(["next", "recall", "start", "finish", "no_show"]), COUNTERS),
    st.tuples(st.just("transfer"), COUNTERS, st.sampled_from(["HT", "CT", "DC"])),
    st.tuples(st.just("close"), COUNTERS),
)


def _close_requeuing(session, site, counter):
    """Close the counter, its number (if it holds one) back in the queue."""
    held = next(c["ticket"] for c in q.counter_states(session, site) if c["number"] == counter)
    return q.close_counter(session, site, counter, requeue=held and held["number"])


def _run(queue, action) -> None:
    kind, *args = action
    engine_action = {
        "issue": q.issue,
        "next": q.call_next,
        "recall": q.recall,
        "start": q.start,
        "finish": q.finish,
        "no_show": q.no_show,
        "transfer": q.transfer,
        "close": _close_requeuing,
    }[kind]
    kwargs = {"check_hours": False} if kind == "issue" else {}
    if kind == "transfer":
        args, kwargs = args[:1], {"service": args[1]}
    try:
        queue.run(outbox.recording(engine_action), *args, **kwargs)
    except q.QueueError:  # refused: rolled back, nothing may have been recorded
        pass


TICKET_KINDS = [kind for kind in outbox.EVENT_KINDS if kind.startswith("ticket.")]


@pytest.mark.parametrize(
    "subscribed",
    [outbox.EVENT_KINDS, ("ticket.called", "ticket.finished", "rating.created"), ()],
    ids=["every kind", "some kinds", "no webhook"],
)
def test_each_ticket_step_has_one_outside_event_in_order(make_queue, config, subscribed):
    queue = make_queue(config)
    if subscribed:
        queue.run(outbox.add_webhook, "http://127.0.0.1:9/all", list(subscribed))
        if len(subscribed) < len(outbox.EVENT_KINDS):  # a removed webhook that wanted the rest wants nothing
            gone = queue.run(outbox.add_webhook, "http://127.0.0.1:9/gone", list(outbox.EVENT_KINDS))
            queue.run(outbox.remove_webhook, gone["id"])
    wanted = {kind for kind in TICKET_KINDS if kind in subscribed}
    if subscribed is outbox.EVENT_KINDS:  # every step the engine logs goes out under its name
        assert wanted == {f"ticket.{step}" for step in STEPS}

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(ACTIONS, min_size=1, max_size=30))
    def check(actions):
        with queue.engine.connect() as conn:
            since_event = conn.execute(select(E.c.id).order_by(E.c.id.desc()).limit(1)).scalar() or 0
            since_outbox = conn.execute(select(O.c.id).order_by(O.c.id.desc()).limit(1)).scalar() or 0
        for action in actions:
            _run(queue, action)
        with queue.engine.connect() as conn:
            logged = conn.execute(
                select(E.c.kind, T.c.public_id)
                .join(T, T.c.id == E.c.ticket_id)
                .where(E.c.id > since_event, E.c.kind.in_(STEPS))
                .order_by(E.c.id)
            ).all()
            told = conn.execute(select(O.c.kind, O.c.payload).where(O.c.id > since_outbox).order_by(O.c.id)).all()
        assert [(f"ticket.{kind}", ticket) for kind, ticket in logged if f"ticket.{kind}" in wanted] == [
            (kind, payload["ticket"]["id"]) for kind, payload in told
        ]
        for _kind, payload in told:
            assert set(payload["ticket"]) <= set(outbox.TICKET_FIELDS)

    check()


def test_a_webhook_registered_in_the_same_batch_gets_the_taps_after_it(make_queue, config):
    """The group writer commits a batch of actions in one transaction, and the outbox looks up the
    webhooks once per transaction: a registration in the middle of a batch still gets every ticket
    issued after it in that batch, and none before it; a removal, none after it."""
    queue = make_queue(config)
    tapped = outbox.recording(q.issue)
    with queue.engine.begin() as conn:
        before = tapped(conn, queue.site, "HT", check_hours=False)
        hook = outbox.add_webhook(conn, queue.site, "http://127.0.0.1:9/hook", ["ticket.issued"])
        after = [tapped(conn, queue.site, "HT", check_hours=False) for _ in range(2)]
        outbox.remove_webhook(conn, queue.site, hook["id"])
        removed = tapped(conn, queue.site, "HT", check_hours=False)
    assert (before.recorded, [a.recorded for a in after], removed.recorded) == (0, [1, 1], 0)
    with queue.engine.connect() as conn:
        told = conn.execute(select(O.c.payload).order_by(O.c.id)).scalars().all()
    assert [p["ticket"]["id"] for p in told] == [a.ticket["id"] for a in after]
