"""Kept figures on PostgreSQL: tests/test_reports_kept.py's check of every report against the count
from the tickets, in a file of its own so that a run on several workers checks SQLite and
PostgreSQL at once (with ``--dist loadfile`` a file runs whole on one worker)."""

from __future__ import annotations

import pytest
from reports_kept_helpers import check_kept_figures


@pytest.mark.postgres
def test_kept_figures_are_the_figures_counted_from_the_tickets_on_postgresql(
    make_queue, config, migrated_pg_url, migrated_sqlite_url
):
    """Most of the history simulated on SQLite and copied: simulating it all here took ~6 s of round
    trips (two savepoint statements a step), a third of the test. Its first day is simulated here, so
    that PostgreSQL's own write paths made some of what is counted. The figures, kept and counted,
    are PostgreSQL's."""
    check_kept_figures(make_queue(config, migrated_pg_url), simulated_in=make_queue(config, migrated_sqlite_url))
