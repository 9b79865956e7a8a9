"""a service's time runs from its start only: a ticket finished without "start" gets the call as its start

Before, a report dated the start of a service that nobody started at the call, whatever ended it.
Now a "finish" dates it so itself (engine/counter_actions.py), and a ticket that "next" ended without
a start has no service time (docs/reports.md). This fills in the past: tickets finished by "finish"
get their call as their start; those "next" ended stay without one (data only, no schema change).

Revision ID: 0012
Revises: 0011
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _ended_by_next(detail) -> bool:
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return False
    return isinstance(detail, dict) and detail.get("by") == "next"


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT t.id, e.detail FROM tickets t JOIN events e ON e.ticket_id = t.id AND e.kind = 'finished' "
            "WHERE t.status = 'done' AND t.started_at IS NULL"
        )
    ).all()
    by_next = {ticket_id for ticket_id, detail in rows if _ended_by_next(detail)}
    dated = sorted({ticket_id for ticket_id, _ in rows} - by_next)
    for start in range(0, len(dated), 500):
        conn.execute(
            sa.text("UPDATE tickets SET started_at = last_called_at WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": dated[start : start + 500]},
        )


def downgrade() -> None:
    """Nothing to undo: the version before read a missing start as the call, the same time."""
