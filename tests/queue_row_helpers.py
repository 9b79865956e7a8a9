"""The queues' rows (number_sequences) against their tickets: what a row counts must be what a count over
the tickets of its service and day says (engine/numbering.py keeps them in step), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

_COLUMNS = ("waiting", "priority_waiting", "sent", "priority_sent")
_OF_ROW = (
    "FROM tickets t WHERE t.service_id = s.service_id AND t.business_day = s.business_day AND t.status = 'waiting'"
)
_ROWS_AND_TICKETS = text(
    "SELECT s.service_id, s.business_day, s.waiting, s.priority_waiting, s.sent, s.priority_sent,"
    f" (SELECT count(*) {_OF_ROW}), (SELECT count(t.priority_id) {_OF_ROW}),"
    f" (SELECT count(*) {_OF_ROW} AND t.target_counter_id IS NOT NULL),"
    f" (SELECT count(t.priority_id) {_OF_ROW} AND t.target_counter_id IS NOT NULL)"
    " FROM number_sequences s ORDER BY s.business_day, s.service_id"
)


def rows_off_their_tickets(conn, site) -> list[str]:
    """Every queue row, of every day, whose counts differ from its tickets': what it says and what they say
    (the raw row, not the counts shown, which never go below 0)."""
    off = []
    for row in conn.execute(_ROWS_AND_TICKETS):
        kept, counted = dict(zip(_COLUMNS, row[2:6], strict=True)), dict(zip(_COLUMNS, row[6:10], strict=True))
        if kept != counted:
            off.append(
                f"{site.service_codes.get(row[0], row[0])} on {row[1]}: the row says {kept}, the tickets {counted}"
            )
    return off
