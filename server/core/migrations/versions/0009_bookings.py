"""bookings and same-day remote numbers: slots' taken places, one number per person and day, and
what marks a ticket booked

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("slot_start", sa.DateTime(), nullable=True),
        sa.Column("slot_end", sa.DateTime(), nullable=True),
        sa.Column("deadline", sa.DateTime(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("phone_masked", sa.String(length=16), nullable=False),
        sa.Column("id_masked", sa.String(length=16), nullable=True),
        sa.Column("person_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_bookings_site_id_sites")),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_bookings_service_id_services")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_bookings_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("code", name=op.f("uq_bookings_code")),
    )
    op.create_index("ix_bookings_site_day", "bookings", ["site_id", "business_day", "status"])
    op.create_index("ix_bookings_person", "bookings", ["person_hash", "business_day"])
    op.create_table(
        "booking_slots",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("slot_start", sa.DateTime(), nullable=False),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_booking_slots_service_id_services")),
        sa.PrimaryKeyConstraint("service_id", "slot_start", name=op.f("pk_booking_slots")),
    )
    op.create_table(
        "person_days",
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("person_hash", sa.String(length=64), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["service_id"], ["services.id"], name=op.f("fk_person_days_service_id_services")),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"], name=op.f("fk_person_days_booking_id_bookings")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_person_days_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("service_id", "business_day", "person_hash", name=op.f("pk_person_days")),
    )
    op.add_column("tickets", sa.Column("origin", sa.String(length=8), nullable=True))
    op.add_column("tickets", sa.Column("due_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    for name in ("due_at", "origin"):  # SQLite 3.35+ drops a column in place
        op.execute(f"ALTER TABLE tickets DROP COLUMN {name}")
    op.drop_table("person_days")
    op.drop_table("booking_slots")
    op.drop_index("ix_bookings_person", table_name="bookings")
    op.drop_index("ix_bookings_site_day", table_name="bookings")
    op.drop_table("bookings")
