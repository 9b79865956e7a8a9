"""a site's report figures per business day that is over and grouping, kept for the summary reports

Filled as the reports first count each finished day (server/core/reports/kept.py), so this
migration adds only the table.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_day_figures",
        sa.Column("site_id", sa.String(length=32), nullable=False),
        sa.Column("business_day", sa.Date(), nullable=False),
        sa.Column("grouping", sa.String(length=8), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("times", sa.LargeBinary(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_report_day_figures_site_id_sites")),
        sa.PrimaryKeyConstraint("site_id", "grouping", "business_day", name=op.f("pk_report_day_figures")),
    )


def downgrade() -> None:
    op.drop_table("report_day_figures")
