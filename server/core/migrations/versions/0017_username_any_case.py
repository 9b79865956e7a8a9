"""login names unique regardless of case: a unique index on lower(username), where the names allow it

A database from before may hold names that differ only in case ("Lan" and "lan", two accounts): the
index is then left out, so that the upgrade goes through and both accounts keep working; the code
refuses every new such name all the same (server/core/auth.py add_user), and `queuekiosk migrate`
and `queuekiosk user list` name the pairs (docs/admin.md, "Login names").

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEX = "uq_users_username_lower"


def upgrade() -> None:
    clashing = op.get_bind().execute(
        sa.text("SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1")
    )
    if clashing.first() is not None:  # (`queuekiosk migrate` names them)
        return
    op.create_index(INDEX, "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
