"""The "issued" event of a ticket on SQLite (issuing.py writes its JSON itself, issue 21): the
stored text is what record_event stored, json.dumps of the detail, byte for byte, for every
priority and kiosk, and it reads back as the same detail."""

import json

from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.db import create_db_engine, prepare_database


def test_issued_events_store_the_json_record_event_stored(migrated_sqlite_url, config, tmp_path):
    engine = create_db_engine(migrated_sqlite_url)
    site = prepare_database(engine, config, tmp_path)
    asked = [(p, k) for p in (None, "elderly", "merit") for k in (None, "kiosk-1")] * 2
    try:
        issued = []
        for priority, kiosk in asked:
            with engine.begin() as conn:
                outcome = q.issue(conn, site, "HT", priority=priority, kiosk=kiosk, check_hours=False)
            issued.append((outcome.ticket["number"], priority, kiosk))
        with engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT detail FROM events WHERE kind = 'issued' ORDER BY id").scalars().all()
            read = (
                conn.execute(select(m.Event.detail).where(m.Event.kind == "issued").order_by(m.Event.id))
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    expected = [{"number": number, "priority": priority, "kiosk": kiosk} for number, priority, kiosk in issued]
    assert stored == [json.dumps(detail) for detail in expected]
    assert read == expected
    assert [number for number, *_ in issued] == list(range(issued[0][0], issued[0][0] + len(asked)))
