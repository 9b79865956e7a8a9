"""The day simulator: the bulk path writes exactly what the engine path writes, the seed fixes the days,
closed days are skipped, a day with tickets is refused, and the days look like a centre's day."""

from __future__ import annotations

import datetime as dt

import pytest
from queuekiosk.server import models as m
from queuekiosk.server import periods, reports
from queuekiosk.server.simulate import Settings, SimulationError, simulate
from sqlalchemy import select

FRIDAY = dt.date(2026, 11, 20)


def _content(queue) -> dict:
    """Every table the simulation writes, without the random public ids."""
    tables = [m.Ticket.__table__, m.Event.__table__, m.NumberSequence.__table__, m.Service.__table__,
              m.Counter.__table__, m.Base.metadata.tables["ratings"]]
    out = {}
    with queue.engine.connect() as conn:
        for table in tables:
            rows = [dict(r._mapping) for r in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for r in rows:
                r.pop("public_id", None)
            out[table.name] = rows
    return out


def test_bulk_steps_write_what_the_engine_writes(make_queue, config, migrated_sqlite):
    settings = Settings(per_day=120)
    through_engine = make_queue(config, migrated_sqlite('engine.db'))
    bulk = make_queue(config, migrated_sqlite('bulk.db'))
    a = simulate(through_engine.engine, through_engine.site, FRIDAY, 2, seed=11, settings=settings, through_engine=True)
    b = simulate(bulk.engine, bulk.site, FRIDAY, 2, seed=11, settings=settings)
    assert a.tickets == b.tickets > 150
    engine_rows, bulk_rows = _content(through_engine), _content(bulk)
    for table, rows in engine_rows.items():
        assert rows == bulk_rows[table], f"the bulk simulation wrote other {table} than the engine"
    kinds = {e["kind"] for e in engine_rows["events"]}
    assert {"issued", "called", "recalled", "started", "finished", "no_show", "transferred", "paused",
            "resumed", "rated"} <= kinds


def test_the_seed_fixes_the_days_and_closed_days_are_skipped(make_queue, config, migrated_sqlite):
    def run(seed, name):
        queue = make_queue(config, migrated_sqlite(name))
        result = simulate(queue.engine, queue.site, dt.date(2026, 11, 21), 3, seed=seed, settings=Settings(per_day=80))
        with queue.engine.connect() as conn:
            summary = reports.summary(conn, queue.site, periods.named_period("2026-W47", queue.site.config.site.zone),
                                      "day")
        return result, summary

    first, first_report = run(5, "a.db")
    again, again_report = run(5, "b.db")
    other, other_report = run(6, "c.db")
    # Saturday 21/11 and Monday 23/11 are open; Sunday 22/11 is not (config hours.days)
    assert [(d.day.isoformat(), d.skipped) for d in first.days] == [
        ("2026-11-21", None), ("2026-11-22", "closed"), ("2026-11-23", None)]
    assert first_report["rows"] == again_report["rows"] and first_report["total"] == again_report["total"]
    assert other_report["total"] != first_report["total"]


def test_a_day_that_has_tickets_is_refused(queue):
    simulate(queue.engine, queue.site, FRIDAY, 1, settings=Settings(per_day=20))
    before = len(queue.tickets())
    with pytest.raises(SimulationError, match="2026-11-20 already has"):
        simulate(queue.engine, queue.site, FRIDAY, 1, settings=Settings(per_day=20))
    assert len(queue.tickets()) == before


def test_a_simulated_day_looks_like_a_centre_s_day(queue):
    simulate(queue.engine, queue.site, FRIDAY, 1, seed=7, settings=Settings(per_day=300))
    zone = queue.site.config.site.zone
    with queue.engine.connect() as conn:
        day = periods.named_period("2026-11-20", zone)
        total = reports.summary(conn, queue.site, day, "service")["total"]
        peaks = reports.peak_hours(conn, queue.site, day)
        clerks = reports.summary(conn, queue.site, day, "clerk")["rows"]
    assert 250 <= total["issued"] <= 380 and total["not_called"] == 0  # everyone who came is called
    assert total["served"] + total["no_show"] == total["issued"]
    assert 0 < total["no_show"] < total["issued"] * 0.1 and 0 < total["transferred"] < total["issued"] * 0.1
    assert total["ratings"]["total"] > total["served"] * 0.3 and total["ratings"]["satisfied_pct"] > 80
    hours = {h["hour"]: h["arrivals"] for h in peaks["hours"]}
    assert peaks["peak"]["hour"] in (8, 9, 10)  # the morning peak
    assert hours[12] < hours[9] / 2  # and the lunch lull
    assert all(row["label"].startswith("sim.") for row in clerks) and len(clerks) >= 6
    local_issues = [t.issued_at.replace(tzinfo=dt.timezone.utc).astimezone(zone) for t in queue.tickets()]
    assert all(dt.time(7, 30) <= t.time() < dt.time(17, 0) for t in local_issues)
