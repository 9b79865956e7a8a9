"""the dossier code ("mã hồ sơ") and the procedure served, set by the clerk at the counter

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("dossier_code", sa.String(length=40), nullable=True))
    op.add_column("tickets", sa.Column("procedure", sa.String(length=32), nullable=True))


def downgrade() -> None:
    for name in ("procedure", "dossier_code"):  # SQLite 3.35+ drops a column in place
        op.execute(f"ALTER TABLE tickets DROP COLUMN {name}")
