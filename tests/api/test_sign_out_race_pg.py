"""A login committing while ``queuekiosk user password`` runs, on PostgreSQL (ids are handed out before
commit): the command's change ends that session, so the dashboard must hear it signed out, as for a
login committed before. The login here is held open on a connection of the test, between the audit
event it writes (as the login route does, auth.record_login) and its commit, while the real command runs."""

from __future__ import annotations

import secrets
import threading
from types import SimpleNamespace

import pytest
from api_helpers import PASSWORD
from faked_clock import faked_now, on_a_working_morning
from ops_helpers import dashboards
from pg_lock_helpers import until_one_waits_for_a_lock
from sqlalchemy import select, update

from queuekiosk.server.core import models as m
from queuekiosk.server.core.auth import record_login
from queuekiosk.server.core.db import create_db_engine

pytestmark = pytest.mark.postgres

BOUND = 30  # seconds: far more than the server's look at the events (every 2 s) takes on a loaded machine


def test_a_login_committing_during_a_password_change_is_heard_signed_out(live_server, migrated_pg_url, tmp_path):
    # the server and the command at 09:00 of a working day: on the real clock, a login written before
    # the site's midnight and a change made after it would not be of one day (signed_in_where)
    clock = on_a_working_morning(tmp_path)
    env = {"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16), **clock}
    srv = live_server(env=env)
    srv.add_user("quantri", PASSWORD, "admin")
    engine = create_db_engine(migrated_pg_url)
    try:
        with engine.connect() as conn:
            user = conn.execute(select(m.users).where(m.users.c.username == "quantri")).one()  # (its password checked)
            site = SimpleNamespace(id=conn.scalar(select(m.site_setups.c.site_id)))
        with dashboards(srv, srv.token("admin"), None) as (dashboard,):
            mark = dashboard.mark()
            with engine.connect() as logging_in:  # quantri signs in at counter 3: written, not committed yet
                login = record_login(logging_in, site, user, counter=3, at_counter=True)
                logging_in.execute(update(m.events).where(m.events.c.id == login).values(at=faked_now(clock)))
                changed = threading.Event()

                def change_password():
                    srv.cli("user", "password", "quantri", input="another-" + PASSWORD + "\n")
                    changed.set()

                command = threading.Thread(target=change_password)
                command.start()
                # the command waits (in its own lock: only staffing.signed_in_where locks FOR NO KEY UPDATE,
                # so no other wait of the server's lets the login commit early), or is done
                until_one_waits_for_a_lock(engine, BOUND, unless=changed.is_set, statement="%FOR NO KEY UPDATE%")
                logging_in.commit()
            command.join(60)
            assert changed.is_set()
            with engine.connect() as conn:
                ended_by = conn.execute(
                    select(m.events.c.id, m.events.c.detail).where(m.events.c.kind == "password_changed")
                ).one()
            assert ended_by.id > login  # the change ends that session
            assert ended_by.detail.get("signed_out") == [[site.id, 3]]
            dashboard.wait_for("counter.signed_out", lambda data: data == {"counter": 3}, timeout=BOUND, since=mark)
    finally:
        engine.dispose()
