"""A remote number ("lấy số từ xa") cancelled before its holder came, or lapsed (not checked in by
its deadline), is counted in the summary as cancelled or lapsed, not as a number the day ended on
("hết hạn cuối ngày"): its ticket is "expired" like one the day ended on, and only its booking tells
them apart. Hypothesis: for any mix of walk-ins, remote numbers cancelled, lapsed or checked in and
numbers left waiting at the day's end, the summary's counts (from the kept figures, and from the
tickets) are those of the tickets and bookings themselves, and issued = called + not called + expired
+ cancelled + lapsed; on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_db import migrate_down_and_up
from sqlalchemy import func, select, update

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.reports.sites import compare_sites

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
KEY = b"test person key"
FIRST_DAY = dt.date(2026, 11, 2)  # a Monday; each example takes the next day
T, B, K = m.tickets.c, m.bookings.c, m.report_day_figures.c
SITE_DAYS = m.site_day_figures
FATES = ("walk_in", "cancelled", "lapsed", "checked_in", "left_waiting", "late_called")


def morning(day: dt.date, minute: int = 0) -> dt.datetime:
    """08:00 (plus ``minute``) of ``day`` there, as the naive UTC the engine keeps."""
    local = dt.datetime.combine(day, dt.time(8, 0), ZONE) + dt.timedelta(minutes=minute)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def live_a_day(db, day: dt.date, fates: list[str], phones) -> None:
    """Each citizen of ``fates`` comes (or not) as it says; counter 1 serves the checked-in ones; the
    next morning the day ends (what waits expires, what was not checked in lapsed at its deadline).
    "late_called": checked in 30 minutes after the phone request, called by its number 5 minutes later
    and served (its lobby wait 5 minutes, within the target; 35 from the phone request, past it)."""
    site = db.site
    counter = q.Actor()
    for i, fate in enumerate(fates):
        now = morning(day, i)
        if fate == "walk_in":
            db.run(q.issue, "HT", now=now, check_hours=False)
            continue
        taken = db.run(bk.take_remote, "HT", f"Người {i}", next(phones), None, KEY, now=now, check_hours=False)
        code = taken.ticket["code"]
        if fate == "cancelled":
            db.run(bk.cancel, code, now=now + dt.timedelta(seconds=30))
        elif fate == "late_called":
            late = now + dt.timedelta(minutes=30)
            number = db.run(bk.check_in, KEY, code=code, now=late, check_hours=False).ticket["number"]
            db.run(q.call_next, 1, counter, number=number, now=late + dt.timedelta(minutes=5))
            db.run(q.finish, 1, counter, now=late + dt.timedelta(minutes=6))
        elif fate in ("checked_in", "left_waiting"):
            db.run(bk.check_in, KEY, code=code, now=now + dt.timedelta(seconds=30), check_hours=False)
            if fate == "checked_in":
                called = db.run(q.call_next, 1, counter, now=now + dt.timedelta(seconds=40))
                assert called.ticket is not None
                db.run(q.finish, 1, counter, now=now + dt.timedelta(seconds=50))
    evening = morning(day) + dt.timedelta(hours=12)
    db.run(bk.lapse_overdue, now=evening)
    db.run(q.expire_past_days, now=morning(day + dt.timedelta(days=1)) - dt.timedelta(hours=7))
    assert site is db.site


def truth(db, day: dt.date) -> dict:
    """What the tickets and bookings of ``day`` themselves say."""
    with db.Session() as session:
        of_day = (T.site_id == db.site.id, T.business_day == day)

        def ended_unclaimed(status: str) -> int:
            return session.scalar(
                select(func.count())
                .select_from(m.tickets.join(m.bookings, B.ticket_id == T.id))
                .where(*of_day, B.status == status)
            )

        cancelled, lapsed = ended_unclaimed("cancelled"), ended_unclaimed("lapsed")
        expired = session.scalar(select(func.count()).where(*of_day, T.status == "expired"))
        return {
            "issued": session.scalar(select(func.count()).where(*of_day)),
            "served": session.scalar(select(func.count()).where(*of_day, T.status == "done")),
            "cancelled": cancelled,
            "lapsed": lapsed,
            "expired": expired - cancelled - lapsed,  # the day ended on them
        }


def summary_of(db, day: dt.date, from_tickets: bool = False) -> dict:
    """The day's summary three days later: from its kept figures (kept.py), or from its tickets."""
    with db.Session() as session:
        period = periods.named_period(day.isoformat(), ZONE)
        later = morning(day + dt.timedelta(days=3))
        return reports.summary(session, db.site, period, "service", now=later, from_tickets=from_tickets)


def check_day(db, day: dt.date, fates: list[str], phones) -> None:
    live_a_day(db, day, fates, phones)
    kept = summary_of(db, day)
    assert kept == summary_of(db, day, from_tickets=True)
    total = kept["total"]
    expected = truth(db, day)
    assert {key: total[key] for key in expected} == expected, (fates, total)
    assert total["issued"] == sum(total[key] for key in ("called", "not_called", "expired", "cancelled", "lapsed"))
    assert (total["cancelled"], total["lapsed"]) == (fates.count("cancelled"), fates.count("lapsed"))


def new_phones():
    return (f"09{n:08d}" for n in itertools.count(10_000_000))


def test_cancelled_and_lapsed_remote_numbers_are_counted_apart_not_expired(make_queue, config):
    db = make_queue(config)
    day = FIRST_DAY
    check_day(db, day, ["walk_in", "cancelled", "cancelled", "lapsed", "checked_in", "left_waiting"], new_phones())
    total = summary_of(db, day)["total"]
    # counter 1 served the walk-in, first in line: the two checked in were left waiting at the day's end
    assert (total["cancelled"], total["lapsed"], total["expired"], total["not_called"]) == (2, 1, 2, 0), total
    with db.Session() as session:
        daily = reports.daily_summary(
            session, db.site, periods.named_period(day.isoformat(), ZONE), now=morning(day + dt.timedelta(days=3))
        )
    assert daily["cancelled"] == 2 and "2 số lấy từ xa đã được hủy" in daily["text"], daily["text"]
    assert daily["lapsed"] == 1 and "1 số lấy từ xa đã hết hạn vì công dân không đến" in daily["text"], daily["text"]
    assert "1 number taken remotely lapsed: its holder did not" in daily["text_en"], daily["text_en"]
    assert "2 numbers taken remotely were cancelled before their holders came" in daily["text_en"]
    assert "2 lượt hết hạn cuối ngày" in daily["text"], daily["text"]


def test_the_summary_counts_what_the_tickets_and_bookings_say(make_queue, config):
    db = make_queue(config)
    days, phones = itertools.count(), new_phones()

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(FATES), max_size=8))
    def any_day(fates):
        check_day(db, FIRST_DAY + dt.timedelta(days=next(days)), fates, phones)

    any_day()


@pytest.mark.postgres
def test_the_summary_counts_cancelled_and_lapsed_numbers_on_postgresql(make_queue, config, migrated_pg_url):
    db = make_queue(config, migrated_pg_url)
    phones = new_phones()
    check_day(db, FIRST_DAY, ["cancelled", "walk_in", "lapsed"], phones)
    check_day(db, FIRST_DAY + dt.timedelta(days=1), ["cancelled", "checked_in", "left_waiting", "cancelled"], phones)


def kept_rows(db) -> dict:
    """(grouping, day) -> (basis, figures) of every kept row."""
    with db.engine.connect() as conn:
        return {
            (g, d): (basis, f)
            for g, d, basis, f in conn.execute(select(K.grouping, K.business_day, K.basis, K.figures))
        }


def as_k3(figures: str) -> str:
    """A kept row's figures as format k3 wrote them: no lapsed count."""
    if not figures.startswith("[["):  # peaks, chunks: the same
        return figures
    return json.dumps([row[:9] + row[10:] for row in json.loads(figures)], separators=(",", ":"))


def rewrite_kept(db, basis_of, figures_of) -> None:
    rows = kept_rows(db)
    with db.engine.begin() as conn:
        for (grouping, day), (basis, figures) in rows.items():
            conn.execute(
                update(m.report_day_figures)
                .where(K.grouping == grouping, K.business_day == day)
                .values(basis=basis_of(basis), figures=figures_of(figures))
            )


def test_a_kept_row_of_the_previous_shape_is_counted_again(make_queue, config):
    """Rows of k3's shape (one count fewer) are not read as k4's, even under k4's basis (FORMAT not
    changed with COUNTS): the figures are those of the tickets, not shifted by one."""
    db = make_queue(config)
    check_day(db, FIRST_DAY, ["lapsed", "walk_in", "checked_in", "cancelled"], new_phones())
    rewrite_kept(db, lambda basis: basis, as_k3)
    assert summary_of(db, FIRST_DAY) == summary_of(db, FIRST_DAY, from_tickets=True)
    assert summary_of(db, FIRST_DAY)["total"]["lapsed"] == 1


def test_the_upgrade_turns_k3_rows_into_k4_where_no_number_lapsed(make_queue, config, db_url):
    """Migration 0019 rewrites the kept rows of k3 in place (lapsed = 0) for the days, months and spans
    without a lapsed remote number: the first reports after the upgrade do not count years again.
    The days with one stay k3 and are counted again; the figures are those of the tickets."""
    db = make_queue(config, db_url)
    phones = new_phones()
    quiet, lapsing = FIRST_DAY, FIRST_DAY + dt.timedelta(days=1)
    check_day(db, quiet, ["walk_in", "cancelled", "checked_in", "left_waiting"], phones)
    check_day(db, lapsing, ["lapsed", "walk_in"], phones)
    as_kept = kept_rows(db)
    assert {basis[:3] for basis, _ in as_kept.values()} == {kept.FORMAT + ";"}
    rewrite_kept(db, lambda basis: "k3" + basis[2:], as_k3)  # a database kept by the code before

    migrate_down_and_up(db.engine, "0018")
    upgraded = kept_rows(db)
    # k4 after 0019, k5 after 0020 (no day-end finish); 0021 leaves them k5 (the day holds remote
    # numbers, whose waits k6 measures anew)
    assert {key: row for key, row in upgraded.items() if key[1] == quiet} == {
        key: ("k5" + basis[2:], figures) for key, (basis, figures) in as_kept.items() if key[1] == quiet
    }
    assert {basis[:3] for (_g, day), (basis, _f) in upgraded.items() if day == lapsing} == {"k3;"}
    for day in (quiet, lapsing):
        assert summary_of(db, day) == summary_of(db, day, from_tickets=True)
    assert summary_of(db, lapsing)["total"]["lapsed"] == 1


def peaks_of(db, day: dt.date, from_tickets: bool = False) -> dict:
    """The day's peak hours three days later: from its kept figures, or from its tickets."""
    with db.Session() as session:
        period = periods.named_period(day.isoformat(), ZONE)
        later = morning(day + dt.timedelta(days=3))
        return reports.peak_hours(session, db.site, period, now=later, from_tickets=from_tickets)


def serve_past_the_day_end(db, day: dt.date) -> None:
    """A walk-in of ``day`` still being served when the day ends: the day end finishes it, untimed."""
    counter = q.Actor()
    number = db.run(q.issue, "HT", now=morning(day), check_hours=False).ticket["number"]
    db.run(q.call_next, 1, counter, number=number, now=morning(day, 1))
    db.run(q.start, 1, counter, now=morning(day, 2))
    db.run(q.expire_past_days, now=morning(day + dt.timedelta(days=1)) - dt.timedelta(hours=7))


def test_the_upgrade_relabels_k5_rows_as_k6_where_no_remote_number_was_taken(make_queue, config, db_url):
    """Migration 0021: a remote number's wait runs from its check-in in format k6 (from the phone request
    in k5, and one never checked in counted as waiting). The kept rows of a day without a remote number
    are the same, relabelled k6 in place; a day holding one stays k5 and is counted again, its figures
    (peak hours too) those of the tickets. A day 0020 left k4 (a day end finished a number) stays k4:
    relabelled k6 it would keep the service timed up to the closing time."""
    db = make_queue(config, db_url)
    phones = new_phones()
    quiet, remote_day, ended = FIRST_DAY, FIRST_DAY + dt.timedelta(days=1), FIRST_DAY + dt.timedelta(days=2)
    check_day(db, quiet, ["walk_in", "walk_in", "walk_in"], phones)
    check_day(db, remote_day, ["walk_in", "checked_in", "late_called", "lapsed", "left_waiting"], phones)
    serve_past_the_day_end(db, ended)
    assert peaks_of(db, remote_day) == peaks_of(db, remote_day, from_tickets=True)
    assert summary_of(db, ended)["total"]["service_time"]["count"] == 0
    as_kept = kept_rows(db)
    assert {basis[:3] for basis, _ in as_kept.values()} == {kept.FORMAT + ";"}

    # a database kept by the code before, upgraded by 0020: k5, the day a day end finished a number k4
    rewrite_kept(db, lambda basis: "k5" + basis[2:], lambda figures: figures)
    with db.engine.begin() as conn:
        conn.execute(
            update(m.report_day_figures).where(K.business_day == ended).values(basis="k4" + func.substr(K.basis, 3))
        )
    later = morning(remote_day + dt.timedelta(days=3))
    with db.engine.begin() as conn:  # the sites' comparison keeps both days (no format of its own)
        compared = compare_sites(conn, quiet, remote_day, now=later)
    site_days = SITE_DAYS.select().order_by(SITE_DAYS.c.business_day)
    with db.engine.begin() as conn:
        assert [row.business_day for row in conn.execute(site_days)] == [quiet, remote_day]
        # as the code before kept it: the late remote number's wait from the phone request, past the target
        conn.execute(
            update(SITE_DAYS)
            .where(SITE_DAYS.c.business_day == remote_day)
            .values(wait_sum=SITE_DAYS.c.wait_sum + 30 * 60, target_met=SITE_DAYS.c.target_met - 1)
        )
        assert compare_sites(conn, quiet, remote_day, now=later)["sites"] != compared["sites"]

    migrate_down_and_up(db.engine, "0020")
    with db.engine.begin() as conn:  # the day holding remote numbers dropped, to be counted again
        assert [row.business_day for row in conn.execute(site_days)] == [quiet]
        (site,) = compare_sites(conn, remote_day, remote_day, now=later)["sites"]
        assert compare_sites(conn, quiet, remote_day, now=later)["sites"] == compared["sites"]
    own = summary_of(db, remote_day, from_tickets=True)["total"]
    assert (site["wait"]["avg"], site["target_met"]) == (own["wait"]["avg"], own["target_met"]), (site, own)
    upgraded = kept_rows(db)
    assert {key: row for key, row in upgraded.items() if key[1] == quiet} == {
        key: row for key, row in as_kept.items() if key[1] == quiet
    }
    assert {basis[:3] for (_g, day), (basis, _f) in upgraded.items() if day == remote_day} == {"k5;"}
    assert {basis[:3] for (_g, day), (basis, _f) in upgraded.items() if day == ended} == {"k4;"}
    for day in (quiet, remote_day, ended):
        assert summary_of(db, day) == summary_of(db, day, from_tickets=True)
        assert peaks_of(db, day) == peaks_of(db, day, from_tickets=True)
    assert summary_of(db, ended)["total"]["service_time"]["count"] == 0
    assert {basis[:3] for basis, _ in kept_rows(db).values()} == {kept.FORMAT + ";"}  # all counted again
