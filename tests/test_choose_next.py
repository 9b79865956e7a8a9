"""``choose_next``, the rule of who "next" calls: the pure rule (examples, and hypothesis: it returns one
of its candidates), the same rules through a real database, and hypothesis: under interleave N no counter
calls more than N normal tickets in a row while a priority one waits.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass

import pytest
from engine_check_helpers import MIN, MON_9, check_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import Policy
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

C = m.Counter.__table__

# --- choose_next: the pure rule ---------------------------------------------------------------

NOW = MON_9 + 30 * MIN


def cand(id_: int, minutes_ago: float, priority: bool = False) -> q.Candidate:
    return q.Candidate(id_, NOW - dt.timedelta(minutes=minutes_ago), priority)


def policy(kind="interleave", n=2, max_wait=45) -> Policy:
    return Policy(priority=kind, normal_per_priority=n, max_wait_minutes=max_wait)


def test_choose_next_with_nobody_waiting():
    for kind in ("strict", "interleave", "none"):
        assert q.choose_next(None, None, policy(kind), 0, NOW) is None


def test_choose_next_with_one_kind_waiting():
    normal, prio = cand(1, 10), cand(2, 5, True)
    for kind in ("strict", "interleave", "none"):
        assert q.choose_next(normal, None, policy(kind), 5, NOW) is normal
        assert q.choose_next(None, prio, policy(kind), 0, NOW) is prio


def test_strict_always_takes_the_priority_ticket():
    normal, prio = cand(1, 20), cand(2, 1, True)
    for streak in (0, 1, 5):
        assert q.choose_next(normal, prio, policy("strict"), streak, NOW) is prio


def test_none_is_first_come_first_served():
    normal, prio = cand(1, 20), cand(2, 1, True)
    assert q.choose_next(normal, prio, policy("none"), 0, NOW) is normal
    assert q.choose_next(cand(3, 1), cand(4, 2, True), policy("none"), 0, NOW).id == 4


def test_interleave_at_most_n_normal_in_a_row():
    normal, prio = cand(1, 20), cand(2, 1, True)
    assert q.choose_next(normal, prio, policy(n=2), 0, NOW) is normal
    assert q.choose_next(normal, prio, policy(n=2), 1, NOW) is normal
    assert q.choose_next(normal, prio, policy(n=2), 2, NOW) is prio
    assert q.choose_next(normal, prio, policy(n=3), 2, NOW) is normal
    assert q.choose_next(normal, prio, policy(n=1), 1, NOW) is prio


def test_interleave_is_fifo_when_the_priority_ticket_is_older():
    normal, prio = cand(1, 5), cand(2, 10, True)
    assert q.choose_next(normal, prio, policy(n=2), 0, NOW) is prio


def test_equal_issue_times_go_by_id():
    normal, prio = cand(7, 5), cand(3, 5, True)
    assert q.choose_next(normal, prio, policy("none"), 0, NOW) is prio
    assert q.choose_next(cand(2, 5), cand(3, 5, True), policy("none"), 0, NOW).id == 2


def test_max_wait_aging_goes_first():
    aged, prio = cand(1, 45), cand(2, 1, True)  # exactly 45 minutes counts as too long
    assert q.choose_next(aged, prio, policy("strict", max_wait=45), 0, NOW) is aged
    assert q.choose_next(aged, prio, policy("interleave", n=1, max_wait=45), 9, NOW) is aged
    young = cand(1, 44.9)
    assert q.choose_next(young, prio, policy("strict", max_wait=45), 0, NOW) is prio
    assert q.choose_next(aged, prio, policy("strict", max_wait=None), 0, NOW) is prio


def test_max_wait_takes_the_oldest_when_both_are_aged():
    normal, prio = cand(1, 50), cand(2, 60, True)
    assert q.choose_next(normal, prio, policy("none", max_wait=45), 0, NOW) is prio
    assert q.choose_next(cand(1, 70), prio, policy("strict", max_wait=45), 0, NOW).id == 1


candidates = st.builds(
    q.Candidate,
    id=st.integers(1, 50),
    issued_at=st.integers(0, 120).map(lambda m_: NOW - dt.timedelta(minutes=m_)),
    priority=st.booleans(),
)


@given(
    normal=st.none() | candidates,
    prio=st.none() | candidates,
    kind=st.sampled_from(["strict", "interleave", "none"]),
    n=st.integers(1, 4),
    max_wait=st.none() | st.integers(1, 90),
    streak=st.integers(0, 6),
)
def test_choose_next_returns_one_of_the_candidates(normal, prio, kind, n, max_wait, streak):
    got = q.choose_next(normal, prio, policy(kind, n, max_wait), streak, NOW)
    if normal is None and prio is None:
        assert got is None
    else:
        assert got is normal or got is prio
        if normal is None or prio is None:
            assert got is (normal or prio)


# --- the same rules through a real database ---------------------------------------------------


def issue_at(db, minute: int, priority: str | None = None, service: str = "HT") -> int:
    return db.run(q.issue, service, priority=priority, now=MON_9 + minute * MIN).ticket["number"]


def next_number(db, counter: int, minute: int):
    ticket = db.run(q.call_next, counter, now=MON_9 + minute * MIN).ticket
    return ticket and ticket["number"]


def test_interleave_through_the_database(make_queue, make_config):
    db = make_queue(make_config(policy={"priority": "interleave", "normal_per_priority": 2, "max_wait_minutes": 45}))
    for minute in range(5):
        issue_at(db, minute)  # 1001..1005
    issue_at(db, 6, "elderly")  # 1006
    issue_at(db, 7, "disabled")  # 1007
    calls = [next_number(db, 1, 10 + i) for i in range(8)]
    assert calls == [1001, 1002, 1006, 1003, 1004, 1007, 1005, None]


def test_strict_through_the_database(make_queue, make_config):
    db = make_queue(make_config(policy={"priority": "strict", "max_wait_minutes": 45}))
    issue_at(db, 0)
    issue_at(db, 1)
    issue_at(db, 2, "merit")
    assert [next_number(db, 2, 5 + i) for i in range(3)] == [1003, 1001, 1002]


def test_priority_older_than_normal_goes_first(make_queue, make_config):
    db = make_queue(make_config(policy={"priority": "interleave", "normal_per_priority": 2, "max_wait_minutes": 45}))
    issue_at(db, 0, "pregnant")
    issue_at(db, 1)
    assert next_number(db, 1, 2) == 1001


def test_max_wait_aging_through_the_database(make_queue, make_config):
    db = make_queue(make_config(policy={"priority": "strict", "max_wait_minutes": 45}))
    issue_at(db, 0)  # 1001, normal, at 09:00
    issue_at(db, 40, "elderly")  # 1002, priority, at 09:40
    issue_at(db, 41)  # 1003
    assert next_number(db, 1, 44) == 1002, "strict: the priority ticket first while nobody waited 45 minutes"
    assert next_number(db, 2, 45) == 1001, "1001 has waited 45 minutes: it goes before the priority rule"
    assert next_number(db, 1, 46) == 1003


@dataclass
class ExampleQueue:
    """A centre on a fresh copy of a template for one example, driven like ``make_queue``'s."""

    engine: object
    site: object

    def run(self, action, *args, **kwargs):
        with session_factory(self.engine).begin() as session:
            return action(session, self.site, *args, **kwargs)


@pytest.fixture
def interleave_queue(make_config, tmp_path, sqlite_template):
    """``interleave_queue(n)``: the repo's centre under interleave N (no aging) with every counter open, on a
    fresh copy of a file where it was loaded once per N; one engine for every copy (disposed of between
    them, so no connection sees the copy before), its statements compiled once."""
    templates: dict[int, tuple] = {}
    path = tmp_path / "example.db"
    engine = create_db_engine(f"sqlite:///{path}")

    def make(n: int) -> ExampleQueue:
        engine.dispose()
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        if n not in templates:
            config = make_config(policy={"priority": "interleave", "normal_per_priority": n, "max_wait_minutes": None})
            template = tmp_path / f"interleave-{n}.db"
            shutil.copyfile(sqlite_template, template)
            loading = create_db_engine(f"sqlite:///{template}")
            prepare_database(loading, config, tmp_path)
            with loading.begin() as conn:  # staffed: every counter open, as after each clerk signed in
                conn.execute(update(C).values(state="open"))
            loading.dispose()
            templates[n] = config, template
        config, template = templates[n]
        shutil.copyfile(template, path)
        return ExampleQueue(engine, prepare_database(engine, config, tmp_path))

    yield make
    engine.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 3),
    steps=st.lists(
        st.one_of(st.just(("issue", None)), st.just(("issue", "elderly")), st.sampled_from([("call", 1), ("call", 2)])),
        min_size=5,
        max_size=40,
    ),
)
def test_interleave_never_more_than_n_normal_in_a_row_while_priority_waits(interleave_queue, n, steps):
    """Counters 1 and 2 both serve HT; max-wait aging is off (it may break the rule on purpose)."""
    db = interleave_queue(n)
    run = {1: 0, 2: 0}  # normal tickets called in a row by a counter while a priority ticket waited
    waiting: list[tuple[int, bool]] = []  # (number, priority), oldest first
    for minute, (kind, arg) in enumerate(steps):
        if kind == "issue":
            waiting.append((issue_at(db, minute, arg), arg is not None))
            continue
        got = next_number(db, arg, minute)
        if not waiting:
            assert got is None
            continue
        entry = next(w for w in waiting if w[0] == got)
        if waiting[0][1]:
            assert entry == waiting[0], f"the oldest ticket {waiting[0][0]} is a priority one: FIFO, got {got}"
        priority_waiting = any(p for _, p in waiting)
        waiting.remove(entry)
        if entry[1]:
            run[arg] = 0
        elif priority_waiting:
            run[arg] += 1
            assert run[arg] <= n, (
                f"counter {arg} called {run[arg]} normal tickets in a row while a priority one waited (N={n})"
            )
        else:
            run[arg] = 0
            assert got == min([num for num, _ in waiting] + [got]), "first come first served when no priority waits"
        oldest_normal = min((num for num, p in waiting + [entry] if not p), default=None)
        oldest_prio = min((num for num, p in waiting + [entry] if p), default=None)
        assert got in (oldest_normal, oldest_prio), f"{got} is not the oldest of its class"
        with db.engine.connect() as conn:
            check_events(conn, db.site)
