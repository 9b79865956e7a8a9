"""the wrong codes typed for an SMS code sent when booking: five make the code void

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sms_code_guesses",
        sa.Column("proof_hash", sa.String(length=64), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("proof_hash", name=op.f("pk_sms_code_guesses")),
    )
    op.create_index("ix_sms_code_guesses_expires_at", "sms_code_guesses", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_code_guesses_expires_at", table_name="sms_code_guesses")
    op.drop_table("sms_code_guesses")
