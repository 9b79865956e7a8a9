"""the setup lives in the database; users have full names; a print job may be a test print (no ticket)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_setups",
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_site_setups_site_id_sites")),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_setups")),
    )
    op.add_column("users", sa.Column("full_name", sa.String(length=200), nullable=True))
    with op.batch_alter_table("print_jobs") as batch:  # SQLite: the table is copied (nothing refers to it)
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM print_jobs WHERE ticket_id IS NULL")
    with op.batch_alter_table("print_jobs") as batch:
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
    op.execute("ALTER TABLE users DROP COLUMN full_name")
    op.drop_table("site_setups")
