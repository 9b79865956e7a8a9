"""models.utcnow and clock.local_time work without datetime.replace (issue 21): the same values as
``datetime.now(UTC).replace(tzinfo=None)`` and ``now.replace(tzinfo=UTC).astimezone(zone)``."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from queuekiosk.server.core import models
from queuekiosk.server.core.engine.clock import business_day, local_time

ZONES = ["Asia/Ho_Chi_Minh", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]
# naive UTC times whose local time exists in every zone (a day's margin at both ends of datetime's range)
TIMES = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))


def _site(zone: str):
    return SimpleNamespace(config=SimpleNamespace(site=SimpleNamespace(zone=ZoneInfo(zone))))


@given(now=TIMES, zone=st.sampled_from(ZONES))
def test_local_time_is_replace_then_astimezone(now, zone):
    site = _site(zone)
    expected = now.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone)
    got = local_time(site, now)
    assert got == expected
    assert (got.replace(tzinfo=None), got.utcoffset(), got.tzinfo, got.fold) == (
        expected.replace(tzinfo=None),
        expected.utcoffset(),
        expected.tzinfo,
        expected.fold,
    )
    assert business_day(site, now) == expected.date()


def test_local_time_across_a_change_of_summer_time():
    site = _site("Europe/Berlin")
    for minutes in range(-90, 91, 15):  # 2026-10-25 01:00 UTC: Berlin's clocks go from 03:00 back to 02:00
        now = dt.datetime(2026, 10, 25, 1, 0) + dt.timedelta(minutes=minutes)
        expected = now.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone)
        got = local_time(site, now)
        assert (got, got.fold, got.utcoffset()) == (expected, expected.fold, expected.utcoffset())


def test_local_time_of_an_aware_time_reads_its_wall_clock_as_utc():
    site = _site("Asia/Ho_Chi_Minh")
    aware = dt.datetime(2026, 12, 4, 20, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert local_time(site, aware) == aware.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone)


def test_utcnow_is_naive_utc_now():
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    now = models.utcnow()
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert now.tzinfo is None
    assert type(now) is dt.datetime
    assert before <= now <= after


@given(aware=st.datetimes(min_value=dt.datetime(1970, 1, 1), timezones=st.just(dt.UTC)))
def test_the_epoch_arithmetic_is_replace(aware):
    assert aware - models.EPOCH_UTC + models.EPOCH == aware.replace(tzinfo=None)
