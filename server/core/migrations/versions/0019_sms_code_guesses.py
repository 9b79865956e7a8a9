"""the wrong codes typed for an SMS code sent when booking: five make the code void; kept report
figures of format k3 become k4 in place where nothing changed

Reports count a remote number that lapsed apart (``lapsed``, after ``cancelled`` in each kept row's
counts: server/core/reports/kept.py format k4), where k3 counted it as expired. A kept row of a day
with no lapsed booking has the same figures with ``lapsed = 0``, so it is rewritten here (a 0 put in
after ``cancelled``; basis ``k3;...`` -> ``k4;...``), and so are the months, years and spans without
such a day. Only the rest is counted again by the first reports after the upgrade (the days with a
lapsed remote number, instead of every kept day: three years took the first reports minutes).
A downgrade leaves the rows as they are: the older code counts again the rows of another format.

Revision ID: 0019
Revises: 0018
"""

import json

import sqlalchemy as sa
from alembic import op

from queuekiosk.server.core.migrations.kept_days import days_by_site, relabel

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

K3_ROW_LENGTH = 19  # key, 11 counts, ratings, and 3 figures each for the waits and the service times
LAPSED_AT = 9  # after the key and issued ... cancelled


def upgrade() -> None:
    op.create_table(
        "sms_code_guesses",
        sa.Column("proof_hash", sa.String(length=64), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("proof_hash", name=op.f("pk_sms_code_guesses")),
    )
    op.create_index("ix_sms_code_guesses_expires_at", "sms_code_guesses", ["expires_at"])
    _kept_k3_to_k4(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_sms_code_guesses_expires_at", table_name="sms_code_guesses")
    op.drop_table("sms_code_guesses")


def _kept_k3_to_k4(conn) -> None:
    lapsed = days_by_site(
        conn.execute(sa.text("SELECT DISTINCT site_id, business_day FROM bookings WHERE status = 'lapsed' ORDER BY 2"))
    )
    relabel(conn, "k3", "k4", lapsed, _with_lapsed)


def _with_lapsed(figures: str) -> str | None:
    """A k3 row's figures as k4's: each report row with lapsed = 0 after cancelled. Peaks (an object)
    and chunk rows (no figures) are the same in both; anything else is left to be counted again."""
    if not figures:
        return figures
    found = json.loads(figures)
    if isinstance(found, dict):
        return figures
    if not isinstance(found, list) or any(not isinstance(row, list) or len(row) != K3_ROW_LENGTH for row in found):
        return None
    for row in found:
        row.insert(LAPSED_AT, 0)
    return json.dumps(found, separators=(",", ":"))
