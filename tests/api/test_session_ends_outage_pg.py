"""The server's look at the session-ending events (server/web/realtime.py follow_session_ends, one loop a
process, every RECHECK_SECONDS) while PostgreSQL is out of reach, over a TCP link the test cuts (the
machine's PostgreSQL itself is never stopped): the log says so once, not once a round; the connections
open meanwhile stay open; once the link is back, a token revoked and a clerk disabled on the command line
are still closed off Socket.IO and the dashboard still hears the sign-out: the loop outlived the outage,
the log says when the events are read again, and a later outage is said again (once a round worked)."""

from __future__ import annotations

import secrets
import time

import pytest
from api_helpers import PASSWORD, log_in
from faked_clock import on_a_working_morning
from ops_helpers import dashboards
from pg_link_helpers import CuttableLink
from site_helpers import until

from queuekiosk.server.web.realtime import RECHECK_SECONDS

pytestmark = pytest.mark.postgres

BOUND = 30  # seconds: far more than a round of the look takes, on a machine shared by many tests
SAID = "could not read the session-ending events (trying again)"
BACK = "the session-ending events are read again"


def test_the_session_ending_look_outlives_an_outage(live_server, migrated_pg_url, sio_client, tmp_path):
    link = CuttableLink()
    try:
        env = {
            "QUEUEKIOSK_DATABASE_URL": migrated_pg_url.replace(":5432/", f":{link.port}/"),
            "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
            **on_a_working_morning(tmp_path),  # (a sign-out is told for a login of the same day)
        }
        srv = live_server(env=env)
        srv.add_user("hoa", PASSWORD, "clerk", 2)
        http = log_in(srv, "hoa")  # hoa signed in at counter 2
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        keypad = sio_client(srv, auth={"token": srv.token("counter", 1)})  # counter 1's device
        token_id = next(
            line.split("\t")[0] for line in srv.cli("token", "list").stdout.splitlines() if "\tcounter\t" in line
        )
        console = sio_client(srv, headers={"Cookie": cookie})
        assert keypad.subscribe({"counter": 1}) == {"ok": True} and console.subscribe({"counter": 2}) == {"ok": True}
        with dashboards(srv, srv.token("admin"), None) as (dashboard,):
            link.cut()
            until(lambda: SAID in srv.log(), BOUND)
            # three more rounds of the look, all failing: a silence can only be waited for
            time.sleep(3 * RECHECK_SECONDS)
            assert srv.log().count(SAID) == 1, srv.log()[-3000:]
            assert "a fault of the server" not in srv.log() and BACK not in srv.log()
            link.mend()
            until(lambda: BACK in srv.log(), BOUND)  # IT reads the recovery in the log too
            # an outage lapses nobody: the device and the clerk are still connected
            assert keypad.disconnects == 0 and console.disconnects == 0

            mark = dashboard.mark()
            srv.cli("token", "revoke", token_id)
            srv.cli("user", "disable", "hoa")
            until(lambda: keypad.disconnects > 0, BOUND)  # the revoked token's connection closed
            until(lambda: console.disconnects > 0, BOUND)  # and the disabled clerk's
            dashboard.wait_for("counter.signed_out", lambda data: data == {"counter": 2}, timeout=BOUND, since=mark)
            # a round worked: the next outage is said again, once, and its end too
            assert srv.log().count(SAID) == 1 and srv.log().count(BACK) == 1
            link.cut()
            until(lambda: SAID in srv.log().split(SAID, 1)[1], BOUND)
            link.mend()
            until(lambda: srv.log().count(BACK) == 2, BOUND)
    finally:
        link.close()
