"""Login names are one name in any case (server/core/auth.py): whatever the name and however its
letters are turned, with spaces around it or not, a second account of that name is refused, naming
the first, and the sign-in's lookup finds the first. On SQLite and PostgreSQL, whose lower() the
unique index and the lookups share."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queuekiosk.server.core import auth
from queuekiosk.server.core.db import create_db_engine, session_factory

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=1, max_size=20)


@st.composite
def name_and_spelling(draw):
    """A login name and another spelling of it: each letter's case drawn, spaces around it or not."""
    name = draw(NAMES)
    turned = "".join(c.swapcase() if draw(st.booleans()) else c for c in name)
    return name, draw(st.sampled_from(["", " ", "  "])) + turned + draw(st.sampled_from(["", " ", "\t"]))


def test_a_name_in_any_spelling_is_the_one_account(migrated_db_url):
    engine = create_db_engine(migrated_db_url)
    Session = session_factory(engine)

    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(name_and_spelling())
    def check(pair):
        name, spelling = pair
        with Session() as db:
            try:
                first = auth.add_user(db, name, "mat-khau-dai", "supervisor")
                db.flush()
                with pytest.raises(auth.AccountRefused) as refused:
                    auth.add_user(db, spelling, "mat-khau-khac", "clerk")
                assert refused.value.problem.params == {"username": name}
                assert auth.find_user(db, spelling) is first
                assert auth.principal_for_login(db, spelling, "mat-khau-dai") is first
            finally:
                db.rollback()

    try:
        check()
    finally:
        engine.dispose()
