"""printers' last known states, shared by every server process

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "printer_states",
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("printer_id", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_printer_states_site_id_sites")),
        sa.PrimaryKeyConstraint("site_id", "printer_id", name=op.f("pk_printer_states")),
    )


def downgrade() -> None:
    op.drop_table("printer_states")
