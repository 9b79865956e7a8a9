"""Properties of the queue engine under any sequence of actions (hypothesis); ``choose_next`` by
itself, and through a database, in tests/test_choose_next.py.

The state machine drives the real engine on a SQLite file with an advancing clock inside
opening hours and checks after every step that:
  * numbers are unique and gap-free per service and business day (start .. start+n-1),
  * no counter holds two tickets and no ticket is held by two counters,
  * every ticket's events replay through ``engine.TRANSITIONS`` to its current status,
  * a refused action (QueueError, rolled back like the web layer does) changes nothing,
  * an action is refused exactly when its precondition does not hold,
  * "next" gives the ticket ``choose_next`` picks from the waiting tickets the counter may serve,
  * every queue's row, of every day, counts its waiting tickets, priority ones, and those of them sent to
    one counter (the lobby's counts come from it), across transfers to counters, closes that send them
    back, midnight and the day end.
(The checks of the numbers and of the event log: tests/engine_check_helpers.py.)
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import functools
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from engine_check_helpers import MON_9, check_events, check_numbers
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from queue_row_helpers import rows_off_their_tickets
from sqlalchemy import bindparam, select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T = m.Ticket.__table__
E = m.Event.__table__
C = m.Counter.__table__
S = m.Service.__table__
SEQ = m.NumberSequence.__table__


def small_ranges(services: list[dict]) -> list[dict]:
    """HT gets 5 numbers a day and the others 12, so that "range_exhausted" happens within a run."""
    return [
        {
            **s,
            "numbers": {
                "start": s["numbers"]["start"],
                "end": s["numbers"]["start"] + (4 if s["code"] == "HT" else 11),
            },
        }
        for s in services
    ]


def local(now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.UTC).astimezone(HCM)


def next_opening(now: dt.datetime) -> dt.datetime:
    """08:00 local on the next working day (Mon-Sat) after ``now``; no holidays in late 2026."""
    day = local(now).date() + dt.timedelta(days=1)
    while day.weekday() == 6:
        day += dt.timedelta(days=1)
    aware = dt.datetime.combine(day, dt.time(8, 0), HCM)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


# --- what the state machine reads ------------------------------------------------------------

# its statements, built once (building one costs more than running it on the small database of an example);
# the tables' rows as SQLite stores them, read straight from its connection (a refused action must leave
# them byte for byte as they were; SQLAlchemy's statement machinery cost more than the reads themselves)
_SNAPSHOT = {
    table.name: f"SELECT * FROM {table.name} ORDER BY {', '.join(c.name for c in table.primary_key.columns)}"
    for table in (T, E, SEQ, C, S)
}
_COUNTERS = select(C)
_HELD = select(T).where(T.c.status.in_(m.HELD_STATES))
_WAITING = (
    select(T).where(T.c.status == "waiting", T.c.business_day == bindparam("day")).order_by(T.c.issued_at, T.c.id)
)
_ISSUED = select(T.c.origin_service_id).where(T.c.business_day == bindparam("day"))
_DONE = select(T.c.number, T.c.started_at, T.c.finished_at).where(T.c.status == "done")


def snapshot(conn) -> dict:
    sqlite = conn.connection.dbapi_connection
    return {name: sqlite.execute(statement).fetchall() for name, statement in _SNAPSHOT.items()}


# --- the state machine ------------------------------------------------------------------------

SERVICES = ["HT", "CT", "DC", "TK", "LD", "VH"]
ISSUED = ["HT", "CT", "HT", "DC", "HT", "TK", "LD", "VH"]  # HT (5 numbers a day) more often, to run out
PRIORITIES = [None, "elderly", None, "disabled", None, "pregnant", "merit"]


class Situation:
    """What the clerks see before an action: who holds what, who is paused, who waits today."""

    def __init__(self, conn, site, now):
        self.site = site
        self.now = now
        self.day = q.business_day(site, now)
        self.counters = {site.counter_numbers[r.id]: r for r in conn.execute(_COUNTERS) if r.active}
        self.held = {site.counter_numbers[r.counter_id]: r for r in conn.execute(_HELD)}
        self.waiting = conn.execute(_WAITING, {"day": self.day}).all()
        self.issued_today = collections.Counter(r.origin_service_id for r in conn.execute(_ISSUED, {"day": self.day}))

    def later(self, now) -> Situation | None:
        """The same tables seen at ``now``, a later moment of the same business day (what is read depends
        on the day alone), or None on another day."""
        if q.business_day(self.site, now) != self.day:
            return None
        seen = copy.copy(self)
        seen.now = now
        return seen

    def eligible(self, counter: int) -> list:
        """Waiting tickets of today that ``counter`` may call, oldest first."""
        counter_id = self.site.counter_ids[counter]
        services = self.site.counter_service_ids[counter]
        return [
            r
            for r in self.waiting
            if r.target_counter_id == counter_id or (r.target_counter_id is None and r.service_id in services)
        ]

    def paused(self, counter: int) -> bool:
        return self.counters[counter].state == "paused"

    def closed(self, counter: int) -> bool:
        return self.counters[counter].state == "closed"


@functools.cache
def _engine_at(path: Path):
    return create_db_engine(f"sqlite:///{path}")


class QueueMachine(RuleBasedStateMachine):
    """Drives the engine; the database is a copy of a migrated template made once per test."""

    config = None
    template = None
    workdir = None

    def __init__(self):
        super().__init__()
        # one engine for every example of the test, on one path: a fresh copy of the template each
        # time (the engine disposed of, so no connection sees the old file), and the statements the
        # engine compiled for the examples before are compiled already (SQLAlchemy caches them per engine)
        path = self.workdir / "example.db"
        shutil.copyfile(self.template, path)
        self.path = path
        self.engine = _engine_at(path)
        self.site = prepare_database(self.engine, self.config, self.workdir)
        self.Session = session_factory(self.engine)
        self.now = MON_9
        self.counters = sorted(self.site.counter_ids)
        self.seen: Situation | None = None  # the queue as tick() last read it, None once an action wrote
        self.checked: set[str] = set()  # the invariants on the database alone checked since the last write
        self.last_snapshot: dict | None = None  # the tables as act() last read them, if nothing wrote since

    def teardown(self):
        self.engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            self.path.with_name(self.path.name + suffix).unlink(missing_ok=True)

    # -- plumbing --

    def tick(self, seconds: int = 1) -> Situation:
        """Move the clock (strictly forward, inside opening hours) and look at the queue."""
        self.now += dt.timedelta(seconds=seconds)
        if local(self.now).time() >= dt.time(16, 30):
            self.now = next_opening(self.now)
        assert self.site.config.site.hours.is_open(local(self.now))
        # only act() writes: with no action since, the queue is the one last seen (at the same time, or
        # later the same day: the tables are those it read), so it is read again after an action only
        if self.seen is not None and self.seen.now != self.now:
            self.seen = self.seen.later(self.now)
        if self.seen is None:
            self.seen = self.read(lambda conn: Situation(conn, self.site, self.now))
        return self.seen

    def read(self, fn):
        with self.engine.connect() as conn:  # a read transaction, rolled back, as a Session's was
            return fn(conn)

    def act(self, expect_error: str | None, action, *args, **kwargs):
        """Run one engine action like the web layer; check refusal <=> ``expect_error``."""
        seen, self.seen = self.seen, None
        # a refused action changed nothing (asserted below): the tables after it are those before the next.
        # The tables before are read only where a refusal is expected: one that is not fails the test
        # whatever it changed
        before = self.last_snapshot
        if before is None and expect_error is not None:
            before = self.read(snapshot)
        self.last_snapshot = None
        before_checked, self.checked = self.checked, set()
        name = action.__name__
        note(f"{local(self.now):%a %H:%M:%S} {name}{args} {kwargs} expecting {expect_error or 'success'}")
        try:
            with self.Session.begin() as s:
                out = action(s, self.site, *args, now=self.now, **kwargs)
        except q.QueueError as error:
            assert before is not None, f"{name}{args}: refused with {error.code}, expected success"
            after = self.read(snapshot)
            changed = [t for t in before if before[t] != after[t]]
            assert not changed, f"refused {name} ({error.code}) changed tables {changed}"
            assert error.code == expect_error, f"{name}{args}: refused with {error.code}, expected {expect_error}"
            self.last_snapshot = after
            self.checked.update(before_checked)
            self.seen = seen  # (the tables it read are unchanged)
            return None
        assert expect_error is None, f"{name}{args} {kwargs} succeeded, expected refusal {expect_error}"
        self._told_the_queues_counts(name, out)
        return out

    def _told_the_queues_counts(self, name: str, out) -> None:
        """What the lobby is told last of each queue the action changed (its ``queue.changed``, a call's
        ``waiting``) is what the queue holds then: the counts kept on the queue's row, as the tickets say.
        Not where the action moved a ticket of an earlier day (held past midnight, the day's end not run
        yet): its queue.changed counts that day's queue, which the event does not name."""
        told = {}
        for happened in out.happened:
            if happened.kind in ("queue.changed", "ticket.called"):
                told.update(happened.detail.get("waiting", {}))
        ids = [happened.ticket["id"] for happened in out.happened if happened.ticket]
        if not told:
            return
        with self.Session() as session:
            today = q.business_day(self.site, self.now)
            days = session.scalars(select(T.c.business_day).where(T.c.public_id.in_(ids))).all() if ids else []
            if any(day != today for day in days):
                return
            counts = q.waiting_counts(session, self.site, now=self.now)
        assert told == {code: counts[code] for code in told}, (
            f"{name}: the lobby was told {told}, the queues hold {counts}"
        )

    def _status(self, public_id: str) -> dict:
        with self.Session() as session:
            return q.ticket_status(session, self.site, public_id, now=self.now)

    def pick_counter(self, data, useful) -> int:
        """Mostly a counter for which the action makes sense, sometimes any counter (to be refused)."""
        useful = sorted(useful)
        if useful and data.draw(st.integers(0, 4), label="sensible") < 4:
            return data.draw(st.sampled_from(useful), label="counter")
        return data.draw(st.sampled_from(self.counters), label="counter")

    # -- start of the day --

    @initialize(tickets=st.lists(st.tuples(st.sampled_from(ISSUED), st.sampled_from(PRIORITIES)), max_size=15))
    def morning_queue(self, tickets):
        for service, priority in tickets:
            self.issue(service, priority)

    # -- clock --

    @rule(minutes=st.integers(1, 50))
    def wait(self, minutes):
        self.tick(minutes * 60)

    @rule()
    def next_day(self):
        self.now = next_opening(self.now) + dt.timedelta(hours=1)

    @rule()
    def day_end(self):
        """The new day's start (run by the server a few seconds after midnight; here at any time, also
        after clerks acted on numbers held past midnight, and again): past days' waiting numbers expire,
        the numbers still held end."""
        self.tick(0)
        self.act(None, q.expire_past_days)

    # -- kiosk --

    @rule(service=st.sampled_from(ISSUED), priority=st.sampled_from(PRIORITIES))
    def issue(self, service, priority):
        now = self.tick()
        numbers = self.site.config.service(service).numbers
        count = now.issued_today[self.site.service_ids[service]]
        full = numbers.start + count > numbers.end
        out = self.act("range_exhausted" if full else None, q.issue, service, priority=priority)
        if out is not None:
            assert out.ticket["number"] == numbers.start + count, (
                f"{service}: got {out.ticket['number']}, next is {numbers.start + count}"
            )
            assert (out.ticket["status"], out.ticket["priority"]) == ("waiting", priority)
            status = self._status(out.ticket["id"])
            assert (status["waiting_ahead"], status["eta_minutes"]) == (
                out.ticket["waiting_ahead"],
                out.ticket["eta_minutes"],
            ), "the kiosk and the tracking page disagree"

    # -- counters --

    @rule(data=st.data())
    def call_next(self, data):
        now = self.tick()
        counter = self.pick_counter(data, [n for n in self.counters if now.eligible(n)])
        waiting = now.eligible(counter)
        oldest = {}
        for row in waiting:
            priority = row.priority_id is not None
            oldest.setdefault(priority, q.Candidate(row.id, row.issued_at, priority))
        expected = q.choose_next(
            oldest.get(False), oldest.get(True), self.site.config.policy, now.counters[counter].normal_streak, self.now
        )

        out = self.act(None, q.call_next, counter)
        if expected is None:
            assert out.ticket is None, f"counter {counter} got {out.ticket['number']} though none was waiting for it"
        else:
            assert out.ticket is not None, f"counter {counter} got nobody though {len(waiting)} wait for it"
            got = next(r for r in waiting if r.public_id == out.ticket["id"])
            assert got.id == expected.id, f"counter {counter}: called {got.number}, choose_next says id {expected.id}"
            assert (out.ticket["status"], out.ticket["counter"]) == ("called", counter)
        after = self.tick(0)
        if counter in now.held:
            held = now.held[counter]
            # a service started ends done; a citizen called and never started, by the site's policy
            expected_end = (
                "done"
                if held.status == "serving" or self.site.config.policy.unstarted_at_next == "served"
                else "no_show"
            )
            assert (
                self.read(lambda c: c.execute(select(T.c.status).where(T.c.id == held.id)).scalar()) == expected_end
            ), f"next ends a {held.status} ticket as {expected_end}"
        assert not after.paused(counter), "next opens a paused counter"

    @rule(data=st.data())
    def call_number(self, data):
        now = self.tick()
        counter = self.pick_counter(data, [n for n in self.counters if now.eligible(n)])
        eligible = [r.number for r in now.eligible(counter)]
        if eligible and data.draw(st.booleans(), label="eligible number"):
            number = data.draw(st.sampled_from(eligible), label="number")
        else:
            number = data.draw(st.sampled_from(sorted(r.number for r in now.waiting) + [1001, 1999]), label="number")
        out = self.act(None if number in eligible else "ticket_not_waiting", q.call_next, counter, number=number)
        if out is not None:
            assert out.ticket["number"] == number

    def _held_action(self, action, data, needs_called: str | None):
        now = self.tick()
        counter = self.pick_counter(data, now.held)
        held = now.held.get(counter)
        if held is None:
            expect = "no_current_ticket"
        elif needs_called and held.status != "called":
            expect = needs_called
        else:
            expect = None
        return self.act(expect, action, counter)

    @rule(data=st.data())
    def recall(self, data):
        self._held_action(q.recall, data, "ticket_not_called")

    @rule(data=st.data())
    def start(self, data):
        self._held_action(q.start, data, "already_serving")

    @rule(data=st.data())
    def finish(self, data):
        out = self._held_action(q.finish, data, None)
        if out is not None:
            assert out.ticket["status"] == "done"

    @rule(data=st.data())
    def no_show(self, data):
        self._held_action(q.no_show, data, "ticket_not_called")

    @rule(
        data=st.data(),
        to=st.one_of(st.builds(dict, service=st.sampled_from(SERVICES)), st.builds(dict, to_counter=st.integers(1, 6))),
    )
    def transfer(self, data, to):
        now = self.tick()
        counter = self.pick_counter(data, now.held)
        held = now.held.get(counter)
        if to.get("to_counter") == counter:
            expect = "transfer_same_counter"
        elif held is None:
            expect = "no_current_ticket"
        else:
            expect = None
        out = self.act(expect, q.transfer, counter, **to)
        if out is not None:
            t = out.ticket
            assert (t["status"], t["number"], t["counter"]) == ("waiting", held.number, None)
            assert t["issued_at"] == held.issued_at.isoformat(timespec="milliseconds") + "Z", (
                "a transfer keeps the issue time"
            )
            assert t["service"] == to.get("service", self.site.service_codes[held.service_id])
            assert t["target_counter"] == to.get("to_counter")

    @rule(data=st.data(), to=st.integers(1, 6))
    def send_to_a_counter(self, data, to):
        """A transfer to one counter alone (the transfer rule's other half, drawn as often as the rest):
        the number leaves its queue's count until that counter calls it or closes."""
        self.transfer(data, {"to_counter": to})

    @rule(data=st.data())
    def pause(self, data):
        now = self.tick()
        counter = self.pick_counter(data, [n for n in self.counters if n not in now.held and not now.paused(n)])
        expect = (
            "counter_paused"
            if now.paused(counter)
            else "counter_closed"
            if now.closed(counter)
            else "counter_busy"
            if counter in now.held
            else None
        )
        self.act(expect, q.pause, counter, reason="break")

    @rule(data=st.data())
    def open_counter(self, data):
        now = self.tick()
        counter = self.pick_counter(data, [n for n in self.counters if now.closed(n)])
        self.act(None, q.open_counter, counter)

    @rule(data=st.data())
    def close_counter(self, data):
        """A number held refuses the close unless the close names it: ``requeue`` (it waits again) or
        ``finish`` (served, a number being served only); naming another, or one the counter does not
        hold, refuses too."""
        now = self.tick()
        # mostly a counter that numbers were sent to, if any (closed already: they go back all the same)
        sent_to = {self.site.counter_numbers[r.target_counter_id] for r in now.waiting if r.target_counter_id}
        counter = self.pick_counter(data, sent_to or [n for n in self.counters if not now.closed(n)])
        held = now.held.get(counter)
        named = data.draw(st.sampled_from([None, held.number if held else 1001, 1999]), label="number")
        how = data.draw(st.sampled_from(["requeue", "finish"]), label="how")
        if now.closed(counter) or (held is None and named is None):
            expect = None
        elif named is None:
            expect = "counter_busy"
        else:
            expect = None if held is not None and held.number == named else "close_requeue_moved"
            if expect is None and how == "finish" and held.status != "serving":
                expect = "close_finish_not_serving"
        out = self.act(expect, q.close_counter, counter, **{how: named})
        if out is None or now.closed(counter):
            return
        assert self.tick(0).closed(counter)
        ended = [h.ticket for h in out.happened if h.kind in ("ticket.requeued", "ticket.finished")]
        # today's numbers transferred to this counter alone and waiting for it go back to their queue
        sent = {r.public_id for r in now.waiting if r.target_counter_id == self.site.counter_ids[counter]}
        back = [(t["id"], t["status"], t["counter"], t["target_counter"]) for t in ended if t["id"] in sent]
        assert sorted(back) == sorted((public_id, "waiting", None, None) for public_id in sent)
        ended = [t for t in ended if t["id"] not in sent]
        if held is None:
            assert not ended
        elif how == "finish":
            assert [(t["number"], t["status"]) for t in ended] == [(held.number, "done")]
        else:
            assert [(t["number"], t["status"], t["counter"], t["target_counter"]) for t in ended] == [
                (held.number, "waiting", None, None)
            ]
            assert ended[0]["issued_at"] == held.issued_at.isoformat(timespec="milliseconds") + "Z"
            assert ended[0]["called_at"] is not None, "its first call (and so its wait) stays"

    @rule(data=st.data())
    def resume(self, data):
        now = self.tick()
        counter = self.pick_counter(data, [n for n in self.counters if now.paused(n)])
        self.act(None if now.paused(counter) else "counter_not_paused", q.resume, counter)

    # -- invariants --

    def _unchanged_since_checked(self, name: str) -> bool:
        """Whether invariant ``name``, which reads the database alone, already held on these very tables
        (no action wrote since it last ran: a refused one is asserted to change nothing)."""
        if name in self.checked:
            return True
        self.checked.add(name)  # (if the check fails the test ends here)
        return False

    @invariant()
    def numbers_are_gap_free(self):
        if not self._unchanged_since_checked("numbers"):
            self.read(lambda c: check_numbers(c, self.site))

    @invariant()
    def events_replay_to_the_tickets(self):
        if not self._unchanged_since_checked("events"):
            self.read(lambda c: check_events(c, self.site))

    @invariant()
    def only_started_services_are_timed(self):
        """A done ticket has a start (and so a service time) unless "next" ended it unstarted under
        ``unstarted_at_next: served``; a service never ends before it starts."""
        if self._unchanged_since_checked("timed"):
            return
        done = self.read(lambda c: c.execute(_DONE).all())
        for number, started_at, finished_at in done:
            if started_at is None:
                assert self.site.config.policy.unstarted_at_next == "served", f"{number} served without a start"
            else:
                assert started_at <= finished_at, f"{number}: finished before it started"

    @invariant()
    def paused_counters_hold_nothing(self):
        now = self.tick(0)
        assert not [n for n in now.held if now.paused(n)], "a paused counter holds a ticket"

    @invariant()
    def queue_rows_count_their_tickets(self):
        """Every queue's row, of every day, counts what its tickets say (waiting, priority, sent to one
        counter and priority among those): its raw columns, not the counts shown (never below 0)."""
        if not self._unchanged_since_checked("rows"):
            assert self.read(lambda c: rows_off_their_tickets(c, self.site)) == []

    @invariant()
    def waiting_counts_match_the_tickets(self):
        now = self.tick(0)
        if self._unchanged_since_checked(f"counts on {now.day}"):  # (the counts of one business day)
            return
        with self.Session() as session:
            counts = q.waiting_counts(session, self.site, now=self.now)
        for code, sid in self.site.service_ids.items():
            # the service's queue: not its numbers sent to one counter, which wait for that counter alone
            rows = [r for r in now.waiting if r.service_id == sid and r.target_counter_id is None]
            expected = {"waiting": len(rows), "priority": sum(r.priority_id is not None for r in rows)}
            assert counts[code] == expected, f"{code}: waiting_counts says {counts[code]}, tickets say {expected}"


@pytest.fixture
def template_db(tmp_path, sqlite_template):
    """Load the config once into a copy of the session's migrated template, and copy that file for
    every example (prepare_database on a copy is fast)."""

    def make(config):
        path = tmp_path / "template.db"
        shutil.copyfile(sqlite_template, path)
        engine = create_db_engine(f"sqlite:///{path}")
        prepare_database(engine, config, tmp_path)
        engine.dispose()
        assert not path.with_name("template.db-wal").exists()
        return path

    return make


@pytest.mark.parametrize(
    "policy, examples",
    [
        ({"priority": "interleave", "normal_per_priority": 2, "max_wait_minutes": 45}, 40),
        ({"priority": "strict", "max_wait_minutes": 30}, 20),
        ({"priority": "none", "max_wait_minutes": None, "unstarted_at_next": "served"}, 15),
    ],
    ids=["interleave", "strict", "none"],
)
def test_any_sequence_of_actions_keeps_the_invariants(
    make_config, config_data, template_db, tmp_path, monkeypatch, policy, examples
):
    # durability is not under test here: skip the fsync per commit to keep the run short
    monkeypatch.setenv("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "NORMAL")
    config = make_config(services=small_ranges(config_data["services"]), policy=policy)

    class Machine(QueueMachine):
        pass

    Machine.config = config
    Machine.template = template_db(config)
    Machine.workdir = tmp_path
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
