"""the waiting tickets "next" looks for first, each kind in an index of its own: priority tickets per
service in order of issue, tickets transferred to a counter, booked tickets by the time they are due

"next" takes the first ticket of each kind from each of the counter's queues
(server/core/engine/choosing.py); with ix_tickets_queue alone, a queue's first priority ticket,
transferred ticket or due booking was found by reading every waiting ticket of the queue (or of the
site). Partial indexes: each holds only the tickets of its kind.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# (name, columns, rows): as server/core/models.py declares them
INDEXES = (
    ("ix_tickets_priority_queue", ["site_id", "status", "service_id", "issued_at"], "priority_id IS NOT NULL"),
    ("ix_tickets_transferred", ["target_counter_id", "status", "issued_at"], "target_counter_id IS NOT NULL"),
    ("ix_tickets_due", ["site_id", "status", "due_at"], "due_at IS NOT NULL"),
)


def upgrade() -> None:
    for name, columns, where in INDEXES:
        op.create_index(name, "tickets", columns, sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def downgrade() -> None:
    for name, _columns, _where in INDEXES:
        op.drop_index(name, table_name="tickets")
