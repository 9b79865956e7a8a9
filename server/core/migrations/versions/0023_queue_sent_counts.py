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


def upgrade() -> None:
    op.add_column("number_sequences", sa.Column("sent", sa.Integer(), server_default="0", nullable=False))
    op.add_column("number_sequences", sa.Column("priority_sent", sa.Integer(), server_default="0", nullable=False))
    bind = op.get_bind()
    # the few queues with numbers waiting for one counter, from one read of the partial index
    # ix_tickets_transferred (a number row each, not a count of the tickets for each of the years of rows)
    sent = bind.execute(
        sa.text(
            "SELECT service_id, business_day, count(*), count(priority_id) FROM tickets"
            " WHERE target_counter_id IS NOT NULL AND status = 'waiting' GROUP BY service_id, business_day"
        )
    ).all()
    for service_id, business_day, numbers, priority in sent:
        bind.execute(
            sa.text(
                "UPDATE number_sequences SET sent = :numbers, priority_sent = :priority"
                " WHERE service_id = :service AND business_day = :day"
            ),
            {"numbers": numbers, "priority": priority, "service": service_id, "day": business_day},
        )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (as 0022)
    op.execute("ALTER TABLE number_sequences DROP COLUMN priority_sent")
    op.execute("ALTER TABLE number_sequences DROP COLUMN sent")
