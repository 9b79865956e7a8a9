"""citizens told when their turn nears: subscriptions (addresses sealed) and the notices sent to them

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address_sealed", sa.String(length=1000), nullable=True),
        sa.Column("address_masked", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_notification_subscriptions_site_id_sites")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"],
                                name=op.f("fk_notification_subscriptions_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_subscriptions")),
        sa.UniqueConstraint("ticket_id", "channel", name=op.f("uq_notification_subscriptions_ticket_id")),
    )
    op.create_index("ix_notification_subscriptions_active", "notification_subscriptions", ["ended_at"])
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["subscription_id"], ["notification_subscriptions.id"],
                                name=op.f("fk_notices_subscription_id_notification_subscriptions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("subscription_id", "key", name=op.f("uq_notices_subscription_id")),
    )
    op.create_index("ix_notices_due", "notices", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_due", table_name="notices")
    op.drop_table("notices")
    op.drop_index("ix_notification_subscriptions_active", table_name="notification_subscriptions")
    op.drop_table("notification_subscriptions")
