"""The day simulator: fills a database with realistic days of a centre, through the queue engine.

``queuekiosk simulate --day 2026-11-20 [--days N] --seed 7`` plays each open day of the
configured centre: citizens arrive (a morning peak, a quiet lunch, a second wave in the
afternoon), take numbers for the services in proportion to what the counters can serve, some
with a priority class; each counter's clerk calls the next number, walks the citizen through a
service whose length depends on the service, sometimes recalls and marks a no-show, sometimes
transfers to another service, takes a break, and the citizen rates the service on the tablet
(when the database has the ratings table).

What makes a real day hard to predict is in it too (``Settings``): citizens waiting at the door
come in a burst at opening, some counters close for lunch, clerks work at their own pace (one of
them twice as slow as the others, every day) and a counter may open late. ``Settings.plain()``
leaves those out.

Every step is an engine command (issue, call_next, recall, start, finish, no_show, transfer,
pause, resume, close_counter, rate) with the simulated clock passed as ``now``: the queue's
rules have one implementation, and the tickets, numbers and event log are what the real server
would have written. What the engine refuses is refused here too: once a service's number range
(or daily limit) runs out, the kiosk turns further citizens of that service away and the day
goes on (``DayResult.refused``).

The same seed gives the same days. A day is one transaction (one fsync on SQLite).
Used by the tests, the demo (README), bench/bench_simulate.py and bench/bench_reports.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import math
import random
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from . import bookings
from . import engine as q
from . import models as m
from .db import SiteRuntime
from .reports import has_ratings, kept

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLERK_NAMES = (
    "lan",
    "minh",
    "hoa",
    "tuan",
    "mai",
    "nam",
    "huong",
    "dung",
    "thao",
    "long",
    "linh",
    "quang",
    "trang",
    "hieu",
    "ngoc",
    "phuong",
)
CLERK_PREFIX = "sim."
PERSON_KEY = b"queuekiosk simulate"  # the simulated citizens' phones hashed with it (one number each a day)
NO_PASSWORD = "!"  # matches no password (not a hash), and costs no scrypt per clerk
# arrivals per hour of the local day, relative to the average: the morning peak, the lunch lull
# (11:30-13:30) and a smaller afternoon wave
PROFILE = {7: 0.9, 8: 1.9, 9: 2.0, 10: 1.6, 11: 1.0, 12: 0.4, 13: 0.8, 14: 1.3, 15: 1.2, 16: 0.8}
WEEKDAY_LOAD = {0: 1.2, 1: 1.05, 2: 1.0, 3: 1.0, 4: 1.05, 5: 0.65, 6: 0.5}


class SimulationError(Exception):
    pass


@dataclass
class Settings:
    per_day: int = 300  # tickets on an average weekday
    priority_share: float = 0.08
    no_show_share: float = 0.04
    transfer_share: float = 0.03
    recall_share: float = 0.06  # a recall before the citizen comes
    start_share: float = 0.7  # clerks who press "start" when the citizen sits down
    rating_share: float = 0.55
    breaks: bool = True  # one break per counter and day
    opening_burst: float = 0.06  # share of the day's citizens waiting at the door, in within 10 minutes
    lunch_closures: int = 1  # counters that close for lunch (60-90 minutes from about 11:30)
    slow_clerks: int = 1  # clerks who take twice as long as the others (the same ones every day)
    clerk_spread: float = 0.15  # the other clerks' pace varies by up to this much either way
    late_opening_share: float = 0.08  # the chance that a counter opens 20-60 minutes late on a day
    # citizens (without a priority, of a service offering remote numbers) who take their number on the
    # phone (/book) 10-50 minutes before they come, and check in at the kiosk when they do
    remote_share: float = 0.0

    @classmethod
    def plain(cls, **values) -> Settings:
        """The simulator's first days: no opening burst, no lunch closures, even clerks, punctual counters."""
        return cls(
            **{
                "opening_burst": 0.0,
                "lunch_closures": 0,
                "slow_clerks": 0,
                "clerk_spread": 0.0,
                "late_opening_share": 0.0,
                **values,
            }
        )


@dataclass
class DayResult:
    day: dt.date
    tickets: int = 0
    served: int = 0
    no_shows: int = 0
    transfers: int = 0
    ratings: int = 0
    refused: int = 0  # citizens the kiosk turned away: their service's numbers (or daily limit) ran out
    skipped: str | None = None


@dataclass
class Result:
    days: list[DayResult] = field(default_factory=list)

    @property
    def tickets(self) -> int:
        return sum(d.tickets for d in self.days)

    @property
    def refused(self) -> int:
        return sum(d.refused for d in self.days)


def open_on(site: SiteRuntime, day: dt.date) -> bool:
    hours = site.config.site.hours
    return WEEKDAYS[day.weekday()] in hours.days and day not in hours.holidays


def clerks(engine: Engine, site: SiteRuntime) -> dict[int, list[int]]:
    """Simulated clerks (``sim.<name>``, clerk role, no password, disabled: nobody can sign in as one,
    and /admin and `user list` show them as disabled): per counter, its usual clerk first, then the
    reserves who stand in for a day. Made once, then reused (and disabled, if an older run left them
    active). The engine takes them as the actors of the simulated steps all the same."""
    numbers = sorted(site.counter_ids)
    names = [
        f"{CLERK_PREFIX}{CLERK_NAMES[i % len(CLERK_NAMES)]}{'' if i < len(CLERK_NAMES) else i}"
        for i in range(len(numbers) + 2)
    ]
    U = m.users
    with engine.begin() as conn:
        existing = dict(conn.execute(select(U.c.username, U.c.id).where(U.c.username.in_(names))).all())
        for i, name in enumerate(names):
            if name not in existing:
                counter = numbers[i] if i < len(numbers) else None
                existing[name] = conn.execute(
                    U.insert()
                    .values(
                        username=name,
                        password_hash=NO_PASSWORD,
                        role="clerk",
                        site_id=site.id,
                        counter_number=counter,
                        active=False,
                        created_at=q.utcnow(),
                    )
                    .returning(U.c.id)
                ).scalar_one()
        conn.execute(U.update().where(U.c.username.in_(names), U.c.active.is_(True)).values(active=False))
    ids = [existing[name] for name in names]
    reserves = ids[len(numbers) :]
    return {number: [ids[i], *reserves] for i, number in enumerate(numbers)}


def clerk_paces(staff: dict[int, list[int]], site: SiteRuntime, seed: int, settings: Settings) -> dict[int, float]:
    """Each clerk's service time relative to the usual (2.0: twice as slow), fixed by the seed.

    The slow clerks are usual clerks of counters whose every service another counter also serves,
    so that a slow clerk lengthens waits without leaving a service to one overwhelmed counter.
    """
    rng = random.Random(f"{seed}:clerks")
    everyone = sorted({clerk for candidates in staff.values() for clerk in candidates})
    paces = {clerk: 1.0 + rng.uniform(-settings.clerk_spread, settings.clerk_spread) for clerk in everyone}
    served_by = site.counter_service_ids
    shared = [
        number
        for number in sorted(staff)
        if all(
            any(service in services for other, services in served_by.items() if other != number)
            for service in served_by[number]
        )
    ]
    for number in rng.sample(shared, k=min(settings.slow_clerks, len(shared))):
        paces[staff[number][0]] = 2.0
    return paces


def simulate(
    engine: Engine,
    site: SiteRuntime,
    first_day: dt.date,
    days: int = 1,
    seed: int = 7,
    settings: Settings | None = None,
    report=None,
) -> Result:
    """Simulate ``days`` calendar days from ``first_day`` (closed days are skipped), each open day
    through the engine in one transaction."""
    settings = settings or Settings()
    staff = clerks(engine, site)
    paces = clerk_paces(staff, site, seed, settings)
    result = Result()
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        if not open_on(site, day):
            result.days.append(DayResult(day, skipped="closed"))
            continue
        with engine.begin() as conn:
            taken = conn.execute(
                select(func.count())
                .select_from(m.tickets)
                .where(m.tickets.c.site_id == site.id, m.tickets.c.business_day == day)
            ).scalar_one()
            if taken:
                raise SimulationError(
                    f"{day.isoformat()} already has {taken} tickets in this database; simulate other days "
                    "or use an empty database (QUEUEKIOSK_DATABASE_URL)"
                )
            rng = random.Random(f"{seed}:{day.isoformat()}")
            steps = EngineSteps(conn, site, day)
            outcome = Day(site, day, rng, settings, staff, steps, has_ratings(conn), paces).run()
            kept.forget(conn, site, day, day)  # a past day kept without tickets: its reports count it again
        result.days.append(outcome)
        if report:
            report(outcome)
    return result


class Day:
    """One open day, played as a sequence of timed steps (a heap ordered by time)."""

    def __init__(
        self,
        site: SiteRuntime,
        day: dt.date,
        rng: random.Random,
        settings: Settings,
        staff,
        steps,
        ratings: bool,
        paces: dict[int, float] | None = None,
    ):
        self.site, self.day, self.rng, self.settings, self.steps = site, day, rng, settings, steps
        config = site.config
        zone = config.site.zone
        self.open = self._utc(dt.datetime.combine(day, config.site.hours.open, zone))
        self.close = self._utc(dt.datetime.combine(day, config.site.hours.close, zone))
        self.zone = zone
        self.heap: list = []
        self.sequence = 0
        self.result = DayResult(day)
        self.idle: set[int] = set()
        self.breaks: dict[int, dt.datetime] = {}
        self.lunches: dict[int, tuple[dt.datetime, float]] = {}  # counter -> (closes from, minutes)
        self.paces = paces or {}
        self.rates = settings.rating_share > 0 and ratings
        self.reasons = [r.code for r in getattr(getattr(config, "rating", None), "reasons", [])] or []
        self.serves = {n: [site.service_codes[s] for s in ids] for n, ids in site.counter_service_ids.items()}
        self.servers = {code: [n for n, codes in self.serves.items() if code in codes] for code in site.service_ids}
        self.closed: set[int] = set(self.serves)  # counters are closed until their clerk's first "next"
        self.actors = {}
        for number, candidates in staff.items():
            clerk = candidates[0]
            if len(candidates) > 1 and rng.random() < 0.1:  # a reserve stands in today
                clerk = rng.choice(candidates[1:])
            self.actors[number] = q.Actor(user_id=clerk)
        self.kiosk = {
            code: next((k.id for k in config.kiosks if code in config.kiosk_services(k)), None)
            for code in site.service_ids
        }
        self.weights = self._service_weights()
        self.priorities = [p.code for p in config.priorities]
        # the services offering remote numbers, and the minutes one has to check in
        self.remote = {
            s.code: s.booking.remote_checkin_minutes
            for s in config.services
            if s.booking is not None and s.booking.remote
        }
        self.phones = 0

    @staticmethod
    def _utc(local: dt.datetime) -> dt.datetime:
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    def _service_weights(self) -> dict[str, float]:
        """Demand in proportion to what the counters can serve: a counter's time is shared by its services."""
        weights = dict.fromkeys(self.site.service_ids, 0.0)
        for codes in self.serves.values():
            for code in codes:
                minutes = self.site.config.service(code).default_service_minutes
                weights[code] += 1.0 / len(codes) / minutes
        return weights

    # --- the timeline ------------------------------------------------------------------------

    def at(self, when: dt.datetime, step, *args) -> None:
        # whole milliseconds, as SQLite's date functions read them: the reports then count the same
        # seconds on SQLite and PostgreSQL (microseconds would differ by up to a millisecond per time)
        when = when.replace(microsecond=when.microsecond // 1000 * 1000)
        self.sequence += 1
        heapq.heappush(self.heap, (when, self.sequence, step, args))

    def run(self) -> DayResult:
        settings, rng = self.settings, self.rng
        for when, service, priority in self._arrivals():
            # (no draw at all without remote numbers: the same seed gives the same days as before)
            if (
                settings.remote_share
                and priority is None
                and service in self.remote
                and rng.random() < settings.remote_share
            ):
                span = min(50, self.remote[service])  # checked in before the deadline
                taken = max(self.open, when - dt.timedelta(minutes=rng.uniform(span / 5, span * 0.9)))
                self.at(taken, self.phone, service, when)
            else:
                self.at(when, self.arrive, service, priority)
        for number in sorted(self.serves):
            late = rng.random() < settings.late_opening_share
            first = rng.uniform(20 * 60, 60 * 60) if late else rng.uniform(0, 240)
            self.at(self.open + dt.timedelta(seconds=first), self.counter_free, number)
            if settings.breaks:
                local_start = dt.datetime.combine(self.day, dt.time(9, 30), self.zone)
                self.breaks[number] = self._utc(local_start) + dt.timedelta(minutes=rng.uniform(0, 360))
            self.at(self.close + dt.timedelta(seconds=rng.uniform(0, 300)), self.closing_time, number)
        lunch_local = self._utc(dt.datetime.combine(self.day, dt.time(11, 30), self.zone))
        for number in rng.sample(sorted(self.serves), k=min(settings.lunch_closures, len(self.serves))):
            self.lunches[number] = (lunch_local + dt.timedelta(minutes=rng.uniform(-10, 20)), rng.uniform(60, 90))
        while self.heap:
            when, _seq, step, args = heapq.heappop(self.heap)
            step(when, *args)
        return self.result

    def _arrivals(self) -> list[tuple[dt.datetime, str, str | None]]:
        rng = self.rng
        span = (self.close - self.open).total_seconds()
        expected = self.settings.per_day * WEEKDAY_LOAD[self.day.weekday()] * rng.uniform(0.9, 1.1)
        count = max(0, int(round(rng.gauss(expected, math.sqrt(max(expected, 1))))))
        # draw times from the hourly profile of the local day (rejection sampling)
        open_local = self.open.replace(tzinfo=dt.UTC).astimezone(self.zone)
        top = max(PROFILE.values())
        burst = int(round(count * self.settings.opening_burst))
        times = sorted(rng.uniform(0, 600) for _ in range(burst))  # those who waited at the door
        while len(times) < count:
            offset = rng.uniform(0, span)
            hour = (open_local + dt.timedelta(seconds=offset)).hour
            if rng.uniform(0, top) <= PROFILE.get(hour, 0.5):
                times.append(offset)
        times.sort()
        codes, weights = list(self.weights), list(self.weights.values())
        arrivals = []
        for offset in times:
            service = rng.choices(codes, weights)[0]
            priority = (
                rng.choice(self.priorities) if self.priorities and rng.random() < self.settings.priority_share else None
            )
            arrivals.append((self.open + dt.timedelta(seconds=offset), service, priority))
        return arrivals

    def _minutes(self, code: str, number: int) -> float:
        """A service's length: log-normal around the service's usual minutes (a few long cases), at the
        pace of the counter's clerk today."""
        mean = self.site.config.service(code).default_service_minutes
        mean *= self.paces.get(self.actors[number].user_id, 1.0)
        sigma = 0.55
        return max(0.5, self.rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma))

    # --- steps -----------------------------------------------------------------------------------

    def arrive(self, now, service, priority) -> None:
        try:
            self.steps.issue(now, service, priority, self.kiosk.get(service))
        except (q.QueueError, q.TooMany) as refusal:
            self._turned_away(refusal)
            return
        self.result.tickets += 1
        self.wake(now, self.servers[service])

    def phone(self, now, service, comes) -> None:
        """A citizen takes a remote number on the phone, and comes to check in at ``comes``."""
        self.phones += 1
        try:
            code = self.steps.take_remote(now, service, f"09{self.phones:08d}")
        except (q.QueueError, q.TooMany) as refusal:
            self._turned_away(refusal)
            return
        self.result.tickets += 1
        self.at(comes, self.check_in, service, code)

    def _turned_away(self, refusal: Exception) -> None:
        if type(refusal) not in (q.QueueError, q.TooMany):  # NotFound, Invalid: a fault of the simulation
            raise refusal
        self.result.refused += 1  # the kiosk's refusal (range exhausted, daily limit): the citizen leaves

    def check_in(self, now, service, code) -> None:
        self.steps.check_in(now, code)
        self.wake(now, self.servers[service])

    def wake(self, now, numbers) -> None:
        """Idle counters call the newcomer; after closing time a closed one opens again for a late transfer."""
        woken = [n for n in numbers if n in self.idle]
        if not woken and now >= self.close and all(n in self.closed for n in numbers):
            woken = [n for n in numbers if n in self.closed][:1]
        for number in woken:
            self.idle.discard(number)
            self.closed.discard(number)
            self.at(now + dt.timedelta(seconds=self.rng.uniform(3, 25)), self.counter_free, number)

    def closing_time(self, now, number) -> None:
        """The clerk of an idle counter closes it at the end of the day (a busy one after its last citizen)."""
        if number in self.idle:
            self.idle.discard(number)
            self._close(now, number)

    def _close(self, now, number) -> None:
        self.closed.add(number)
        self.breaks.pop(number, None)
        self.lunches.pop(number, None)
        self.steps.close(now, number, self.actors[number])

    def counter_free(self, now, number) -> None:
        actor = self.actors[number]
        opening = number in self.closed  # "next" opens a closed counter; no break before it
        self.closed.discard(number)
        lunch = self.lunches.get(number)
        if lunch is not None and now >= lunch[0] and not opening:
            del self.lunches[number]
            self.breaks.pop(number, None)  # lunch is this counter's break today
            self.steps.pause(now, number, actor, "Nghỉ trưa")
            self.at(now + dt.timedelta(minutes=lunch[1]), self.back_from_break, number)
            return
        due = self.breaks.get(number)
        if due is not None and now >= due and not opening:
            del self.breaks[number]
            self.steps.pause(now, number, actor, "Nghỉ giải lao")
            self.at(now + dt.timedelta(minutes=self.rng.uniform(8, 20)), self.back_from_break, number)
            return
        ticket = self.steps.call_next(now, number, actor)
        if ticket is None:
            if now >= self.close:
                self._close(now, number)
            else:
                self.idle.add(number)
            return
        rng = self.rng
        if rng.random() < self.settings.no_show_share:
            later = now + dt.timedelta(seconds=rng.uniform(40, 90))
            self.at(later, self.recall, number)
            self.at(later + dt.timedelta(seconds=rng.uniform(40, 90)), self.absent, number)
            return
        walk = dt.timedelta(seconds=rng.uniform(10, 60))
        if rng.random() < self.settings.recall_share:
            self.at(now + walk, self.recall, number)
            walk += dt.timedelta(seconds=rng.uniform(10, 40))
        began = now + walk
        if rng.random() < self.settings.start_share:
            self.at(began, self.start, number)
        if not ticket.transferred and rng.random() < self.settings.transfer_share and len(self.servers) > 1:
            target = rng.choice([code for code in self.servers if code != ticket.service])
            self.at(began + dt.timedelta(minutes=rng.uniform(0.5, 3)), self.transfer, number, target)
            return
        self.at(
            began + dt.timedelta(minutes=self._minutes(ticket.service, number)), self.finish, number, ticket.public_id
        )

    def back_from_break(self, now, number) -> None:
        self.steps.resume(now, number, self.actors[number])
        self.counter_free(now, number)

    def recall(self, now, number) -> None:
        self.steps.recall(now, number, self.actors[number])

    def start(self, now, number) -> None:
        self.steps.start(now, number, self.actors[number])

    def absent(self, now, number) -> None:
        self.steps.no_show(now, number, self.actors[number])
        self.result.no_shows += 1
        self.at(now + dt.timedelta(seconds=self.rng.uniform(3, 15)), self.counter_free, number)

    def transfer(self, now, number, service) -> None:
        self.steps.transfer(now, number, self.actors[number], service)
        self.result.transfers += 1
        self.wake(now, self.servers[service])
        self.at(now + dt.timedelta(seconds=self.rng.uniform(5, 20)), self.counter_free, number)

    def finish(self, now, number, public_id) -> None:
        self.steps.finish(now, number, self.actors[number])
        self.result.served += 1
        rng = self.rng
        if self.rates and rng.random() < self.settings.rating_share:
            self.at(now + dt.timedelta(seconds=rng.uniform(2, 6)), self.rate, number, public_id)
        self.at(now + dt.timedelta(seconds=rng.uniform(7, 30)), self.counter_free, number)

    def rate(self, now, number, public_id) -> None:
        rng = self.rng
        draw = rng.random()
        level = "very_satisfied" if draw < 0.62 else "satisfied" if draw < 0.95 else "unsatisfied"
        reasons = (
            rng.sample(self.reasons, k=min(len(self.reasons), rng.choice((0, 1, 1, 2))))
            if level == "unsatisfied" and self.reasons
            else []
        )
        if self.steps.rate(now, number, public_id, level, reasons):
            self.result.ratings += 1


# --- the steps as engine commands ---------------------------------------------------------------


@dataclass
class Called:
    """What the simulated clerk learns from a call."""

    public_id: str
    service: str
    transferred: bool


class EngineSteps:
    """Each step is the engine command at the simulated time, in the day's transaction."""

    def __init__(self, conn, site: SiteRuntime, day: dt.date):
        self.conn, self.site = conn, site
        # SQLite's own connection, in the day's transaction (BEGIN IMMEDIATE): the savepoints go straight
        # to it. SQLAlchemy's begin_nested compiles and runs each SAVEPOINT and RELEASE as a statement of
        # its own, a tenth of a simulated day's CPU (two a ticket)
        self.sqlite = conn.connection.dbapi_connection if conn.dialect.name == "sqlite" else None

    @contextlib.contextmanager
    def taken_back_if_refused(self):
        """A savepoint around one step: a refusal (an exception) undoes what the step wrote, and only that."""
        if self.sqlite is None:
            with self.conn.begin_nested():
                yield
            return
        self.sqlite.execute("SAVEPOINT simulated_step")
        try:
            yield
        except BaseException:
            self.sqlite.execute("ROLLBACK TO simulated_step")
            self.sqlite.execute("RELEASE simulated_step")
            raise
        self.sqlite.execute("RELEASE simulated_step")

    def issue(self, now, service, priority, kiosk):
        # a refusal has moved the number sequence already: the savepoint takes back just this issue,
        # as a real server's rollback would, and the day goes on
        with self.taken_back_if_refused():
            q.issue(self.conn, self.site, service, priority, kiosk, now=now, check_hours=False)

    def take_remote(self, now, service, phone) -> str:
        with self.taken_back_if_refused():
            taken = bookings.take_remote(
                self.conn, self.site, service, "Công dân", phone, None, PERSON_KEY, now=now, check_hours=False
            )
        return taken.ticket["code"]

    def check_in(self, now, code):
        bookings.check_in(self.conn, self.site, PERSON_KEY, code=code, now=now, check_hours=False)

    def call_next(self, now, number, actor):
        ticket = q.call_next(self.conn, self.site, number, actor=actor, now=now).ticket
        if ticket is None:
            return None
        return Called(
            ticket["id"],
            ticket["service"],
            ticket["origin_service"] != ticket["service"] or ticket["target_counter"] is not None,
        )

    def recall(self, now, number, actor):
        q.recall(self.conn, self.site, number, actor=actor, now=now)

    def start(self, now, number, actor):
        q.start(self.conn, self.site, number, actor=actor, now=now)

    def finish(self, now, number, actor):
        q.finish(self.conn, self.site, number, actor=actor, now=now)

    def no_show(self, now, number, actor):
        q.no_show(self.conn, self.site, number, actor=actor, now=now)

    def transfer(self, now, number, actor, service):
        q.transfer(self.conn, self.site, number, actor=actor, now=now, service=service)

    def pause(self, now, number, actor, reason):
        q.pause(self.conn, self.site, number, reason, actor=actor, now=now)

    def resume(self, now, number, actor):
        q.resume(self.conn, self.site, number, actor=actor, now=now)

    def close(self, now, number, actor):
        q.close_counter(self.conn, self.site, number, actor=actor, now=now)

    def rate(self, now, number, public_id, level, reasons) -> bool:
        try:
            with self.taken_back_if_refused():
                q.rate(self.conn, self.site, public_id, number, level, reasons, now=now)
        except q.QueueError:
            return False
        return True
