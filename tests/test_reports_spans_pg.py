"""Kept spans on PostgreSQL: tests/test_reports_spans.py's check, in a file of its own so that a run
on several workers checks SQLite and PostgreSQL at once (with ``--dist loadfile`` a file runs whole
on one worker)."""

from __future__ import annotations

import pytest
from reports_spans_helpers import check_spans


@pytest.mark.postgres
def test_spans_give_the_figures_of_their_units_and_of_the_tickets_on_postgresql(make_queue, config, migrated_pg_url):
    check_spans(make_queue(config, migrated_pg_url))
