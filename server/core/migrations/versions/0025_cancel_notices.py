"""a message to each citizen who opted in to be told, when the centre cancels their booking

A booking the centre cancels (its day made a holiday or no longer a working day, its hours changed,
its site retired) had its opt-ins erased with nothing sent: its citizen walked to a closed door.
Now each opt-in becomes one notice of this table, in the cancel's own transaction, sent by the
delivery worker (server/core/cancel_notices.py); its address is erased once it is sent or given up.
A downgrade drops the table (with any notice not yet sent).

Revision ID: 0025
Revises: 0024
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cancel_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_sealed", sa.String(length=1000), nullable=True),
        sa.Column("address_masked", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_cancel_notices_booking_id_bookings")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_cancel_notices_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cancel_notices")),
        sa.UniqueConstraint("booking_id", "channel", name=op.f("uq_cancel_notices_booking_id")),
    )
    op.create_index("ix_cancel_notices_due", "cancel_notices", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_cancel_notices_due", table_name="cancel_notices")
    op.drop_table("cancel_notices")
