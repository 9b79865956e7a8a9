"""The values a Prepared statement sends SQLite (server/core/engine/prepared.py) are those SQLAlchemy's
bind processors make, for any date and time (its faster isoformat where the text is the same,
SQLAlchemy's own processor for anything else), and a None parameter is bound as NULL."""

from __future__ import annotations

import datetime as dt
import sqlite3

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Date, DateTime, Integer, String, bindparam, text
from sqlalchemy.dialects import sqlite

from queuekiosk.server.core import writer  # noqa: F401 - registers the None adapter, as the server does
from queuekiosk.server.core.engine.prepared import _sqlite_values

DIALECT = sqlite.dialect()
STATEMENT = text("SELECT :at, :day, :n, :s").bindparams(
    bindparam("at", type_=DateTime()),
    bindparam("day", type_=Date()),
    bindparam("n", type_=Integer()),
    bindparam("s", type_=String()),
)
COMPILED = STATEMENT.compile(dialect=DIALECT)
VALUES = _sqlite_values(COMPILED, DIALECT)


def sqlalchemys(params: dict) -> list:
    return [
        params[name]
        if (process := COMPILED.binds[name].type._cached_bind_processor(DIALECT)) is None
        else process(params[name])
        for name in COMPILED.positiontup
    ]


@given(
    at=st.one_of(
        st.none(),
        st.datetimes(),
        st.datetimes(timezones=st.timezones()),  # aware: SQLAlchemy's own processor (isoformat would add the offset)
        st.dates(),  # a date given for a time
    ),
    day=st.one_of(st.none(), st.dates(), st.datetimes()),  # a datetime given for a date: SQLAlchemy's
    n=st.one_of(st.none(), st.integers()),
    s=st.one_of(st.none(), st.text()),
)
def test_values_are_sqlalchemys(at, day, n, s):
    params = {"at": at, "day": day, "n": n, "s": s}
    assert list(VALUES(params)) == sqlalchemys(params)


def test_a_none_parameter_is_null():
    with sqlite3.connect(":memory:") as raw:
        assert raw.execute("SELECT ? IS NULL, typeof(?)", (None, None)).fetchone() == (1, "null")


def test_sample_values_by_hand():
    params = {"at": dt.datetime(2026, 12, 4, 15, 3, 7), "day": dt.date(2026, 12, 4), "n": 3, "s": "HT"}
    assert list(VALUES(params)) == ["2026-12-04 15:03:07.000000", "2026-12-04", 3, "HT"]
