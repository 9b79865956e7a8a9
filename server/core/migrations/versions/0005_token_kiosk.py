"""a kiosk token may be bound to one kiosk

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("kiosk_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (a batch copy would trip the foreign keys to api_tokens)
    op.execute("ALTER TABLE api_tokens DROP COLUMN kiosk_id")
