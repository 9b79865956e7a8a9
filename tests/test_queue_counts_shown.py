"""A queue's counts as the lobby is shown them come from its row (``waiting - sent``: engine/numbering.py).
Should the row ever drift from its tickets (a command that forgot a count), every path shows the same:
never a negative count (an empty queue), and the drift is logged, naming the service."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import update

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m

NOW = dt.datetime(2026, 11, 23, 3, 0)  # 10:00 in Hà Nội, a Monday
SEQ = m.NumberSequence.__table__


def _told(outcome, code: str) -> dict:
    return [h for h in outcome.happened if h.kind == "queue.changed"][-1].detail["waiting"][code]


def test_a_drifted_row_shows_an_empty_queue_on_every_path_and_is_logged(make_queue, config, caplog):
    queue = make_queue(config)
    site = queue.site
    queue.run(q.issue, "DC", now=NOW, check_hours=False)
    with queue.engine.begin() as conn:  # the row counts 2 more sent away than wait: a drift
        conn.execute(update(SEQ).where(SEQ.c.service_id == site.service_ids["DC"]).values(sent=SEQ.c.waiting + 2))
    with caplog.at_level(logging.WARNING, logger="queuekiosk.server.core.engine.numbering"):
        issued = queue.run(q.issue, "DC", now=NOW, check_hours=False)  # the row: 2 waiting, 3 sent
        assert _told(issued, "DC") == {"waiting": 0, "priority": 0}  # as the lobby's first look says
        assert issued.ticket["waiting_ahead"] == 0
        assert queue.run(q.waiting_counts, now=NOW)["DC"] == {"waiting": 0, "priority": 0}
        called = queue.run(q.call_next, 4, now=NOW + dt.timedelta(minutes=1))
        assert _told(called, "DC") == {"waiting": 0, "priority": 0}
    drifts = [r.getMessage() for r in caplog.records if "drifted" in r.getMessage()]
    assert len(drifts) == 3 and all(message.startswith("queue DC:") for message in drifts), drifts
