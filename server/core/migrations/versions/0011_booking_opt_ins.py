"""a citizen opts in to notifications when booking: kept (sealed) until the booking's ticket exists

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_opt_ins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_sealed", sa.String(length=1000), nullable=False),
        sa.Column("address_masked", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_booking_opt_ins_booking_id_bookings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_opt_ins")),
        sa.UniqueConstraint("booking_id", "channel", name=op.f("uq_booking_opt_ins_booking_id")),
    )


def downgrade() -> None:
    op.drop_table("booking_opt_ins")
