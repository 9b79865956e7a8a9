"""a queue's numbers sent to one counter counted on its number row, under the row's lock

A number sent to one counter (a transfer) waits for that counter alone and is out of its service's
queue: the lobby's count, ``queue.changed`` and a walk-in's people ahead leave it out. Counted from
the tickets in the same statement as the row's ``waiting``, two server processes on PostgreSQL read
the two from different moments (the lobby said 0 waiting with one waiting, a walk-in -1 ahead); kept
on the row (``sent``, ``priority_sent``), every command changes them with ``waiting`` under the row's
lock (engine/numbering.py). The rows of existing days get their counts from the tickets
(tests/test_migrations.py). A downgrade drops the columns.

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_SENT = (
    "FROM tickets t WHERE t.service_id = number_sequences.service_id"
    " AND t.business_day = number_sequences.business_day AND t.status = 'waiting' AND t.target_counter_id IS NOT NULL"
)


def upgrade() -> None:
    op.add_column("number_sequences", sa.Column("sent", sa.Integer(), server_default="0", nullable=False))
    op.add_column("number_sequences", sa.Column("priority_sent", sa.Integer(), server_default="0", nullable=False))
    op.get_bind().execute(
        sa.text(
            f"UPDATE number_sequences SET sent = (SELECT count(*) {_SENT}), priority_sent = (SELECT count(t.priority_id) {_SENT})"
        )
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (as 0022)
    op.execute("ALTER TABLE number_sequences DROP COLUMN priority_sent")
    op.execute("ALTER TABLE number_sequences DROP COLUMN sent")
