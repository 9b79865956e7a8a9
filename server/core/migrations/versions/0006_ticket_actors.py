"""who called and who ended each ticket, kept on the ticket (filled in from the events)

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("called_by_user_id", "called_by_token_id", "ended_by_user_id", "ended_by_token_id")


def _latest(kinds: str, column: str) -> str:
    return (f"(SELECT e.{column} FROM events e WHERE e.ticket_id = tickets.id AND e.kind IN ({kinds}) "
            f"ORDER BY e.id DESC LIMIT 1)")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("tickets", sa.Column(name, sa.Integer(), nullable=True))
    called, ended = "'called'", "'finished', 'no_show'"
    op.execute(f"UPDATE tickets SET called_by_user_id = {_latest(called, 'user_id')}, "
               f"called_by_token_id = {_latest(called, 'token_id')} WHERE called_at IS NOT NULL")
    op.execute(f"UPDATE tickets SET ended_by_user_id = {_latest(ended, 'user_id')}, "
               f"ended_by_token_id = {_latest(ended, 'token_id')} WHERE status IN ('done', 'no_show')")


def downgrade() -> None:
    for name in COLUMNS:  # SQLite 3.35+ drops a column in place (a batch copy would trip the foreign keys)
        op.execute(f"ALTER TABLE tickets DROP COLUMN {name}")
