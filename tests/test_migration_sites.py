"""A centre's database from before sites were data (issue 16), upgraded: every ticket, event and
report is as it was, also once a second site is added; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import MetaData, inspect, select

from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports, sites
from queuekiosk.server.core.db import MIGRATIONS, schema_revision, site_setup
from queuekiosk.server.core.reports.sites import compare_sites
from queuekiosk.server.core.simulate import Settings, simulate

FIRST_DAY = dt.date(2026, 11, 16)  # a Monday: three working days
BEFORE_SITES = "0012"  # the newest revision before site_day_figures (0013)


def _alembic(engine, action, revision: str) -> None:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        action(cfg, revision)


def _tables(engine) -> dict:
    """The tables as the old database has them (a later migration may add columns the model has)."""
    found = MetaData()
    found.reflect(engine, only=("tickets", "events", "ratings"))
    return found.tables


def _everything(engine, site, tables) -> dict:
    """Every ticket, event and rating as rows, and the site's reports over the three days."""
    return {**_rows(engine, tables), **_reports(engine, site)}


def _rows(engine, tables) -> dict:
    with engine.connect() as conn:
        return {
            name: conn.execute(query).all()
            for name, query in (
                ("tickets", select(tables["tickets"]).order_by(tables["tickets"].c.id)),
                (
                    "events",
                    select(tables["events"])
                    .where(tables["events"].c.kind != "site_added")
                    .order_by(tables["events"].c.id),
                ),
                ("ratings", select(tables["ratings"]).order_by(tables["ratings"].c.id)),
            )
        }


def _reports(engine, site) -> dict:
    """The reports as today's code counts them (on the newest schema: the code reads its columns)."""
    period = periods.range_period("2026-11-16", "2026-11-18", site.config.site.zone)
    kept = {}
    with engine.connect() as conn:
        for group_by in reports.GROUPS:
            report = reports.summary(conn, site, period, group_by)
            kept[f"summary by {group_by}"] = {"rows": report["rows"], "total": report["total"]}
        kept["peak hours"] = reports.peak_hours(conn, site, period)["hours"]
    return kept


def test_a_single_site_database_keeps_every_ticket_and_report_after_the_upgrade_and_a_second_site(
    make_queue, config, db_url
):
    queue = make_queue(config, db_url, staffed=False)
    result = simulate(queue.engine, queue.site, FIRST_DAY, 3, seed=5, settings=Settings(per_day=60))
    assert result.tickets > 100
    reported = _reports(queue.engine, queue.site)
    _alembic(queue.engine, command.downgrade, BEFORE_SITES)  # as the centre's database was before
    assert schema_revision(queue.engine) == BEFORE_SITES
    assert not inspect(queue.engine).has_table("site_day_figures")
    tables = _tables(queue.engine)
    before = {**_rows(queue.engine, tables), **reported}
    assert (
        len(before["tickets"]) == result.tickets and before["summary by service"]["total"]["issued"] == result.tickets
    )

    _alembic(queue.engine, command.upgrade, "head")
    assert _everything(queue.engine, queue.site, tables) == before

    with queue.Session.begin() as db:
        commune = sites.create_site(db, "xa-tan-phu", "Xã Tân Phú", "Asia/Bangkok")
    simulate(queue.engine, commune, FIRST_DAY, 1, seed=6, settings=Settings(per_day=30))
    with queue.Session() as db:
        first = site_setup(db)  # the single-site paths still serve the centre that was there
    assert first.id == queue.site.id
    assert _everything(queue.engine, first, tables)["summary by service"] == before["summary by service"]
    after = _everything(queue.engine, first, tables)
    for name in before:  # the first site's rows and reports, and nothing of the new site among them
        mine = (
            [r for r in after[name] if r.site_id == first.id]
            if name in ("tickets", "events", "ratings")
            else after[name]
        )
        assert mine == before[name], name
    assert len(after["tickets"]) > len(before["tickets"])

    # the province's comparison agrees with the centre's own report, and is the same once the days are kept
    with queue.engine.begin() as conn:
        compared = compare_sites(conn, FIRST_DAY, FIRST_DAY + dt.timedelta(days=2), now=dt.datetime(2026, 12, 1))
    with queue.engine.begin() as conn:
        again = compare_sites(conn, FIRST_DAY, FIRST_DAY + dt.timedelta(days=2), now=dt.datetime(2026, 12, 1))
        assert conn.execute(select(m.SiteDayFigures.__table__)).all()  # kept
    assert again == compared
    rows = {row["site"]: row for row in compared["sites"]}
    total = before["summary by service"]["total"]
    assert (rows[first.id]["issued"], rows[first.id]["served"], rows[first.id]["called"]) == (
        total["issued"],
        total["served"],
        total["called"],
    )
    assert rows[first.id]["wait"]["avg"] == total["wait"]["avg"]
    assert rows[first.id]["target_met_pct"] == total["target_met_pct"]
    assert rows[first.id]["ratings"]["satisfied_pct"] == total["ratings"]["satisfied_pct"]
    assert abs(rows[first.id]["wait"]["p90"] - total["wait"]["p90"]) <= 60
    assert rows["xa-tan-phu"]["issued"] > 0
