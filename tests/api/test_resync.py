"""After a message-queue outage every screen is whole again (issue 20, point 3): a call made on
process B while Redis was down reaches a lobby display connected to process A once Redis is back.
Two real server processes on PostgreSQL and a redis-server of the test's own, stopped and started.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import issue

pytestmark = pytest.mark.postgres


def test_a_call_made_while_redis_was_down_reaches_the_other_process_display_when_it_returns(
    migrated_pg_url, redis_server, live_server, sio_client
):
    env = {
        "QUEUEKIOSK_DATABASE_URL": migrated_pg_url,
        "QUEUEKIOSK_MESSAGE_QUEUE": redis_server.url,
        "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16),
    }
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: live_server(env=env), range(2))
    display = sio_client(a)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    ticket = issue(b.session(), "HT")
    display.wait_for("queue.changed")  # through Redis: the two processes hear each other

    redis_server.kill()
    mark = display.mark()
    called = b.session().post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {b.token('admin')}"})
    assert called.status_code == 200, called.text  # the call itself never waits for Redis
    display.assert_silent(mark, duration=1.0)  # A's screen cannot hear it while Redis is down

    redis_server.start()
    display.wait_for("resync", since=mark, timeout=10)
    display.subscribe({"display": "lobby"})
    counters = {c["number"]: c for c in display.received("state")[-1]["counters"]}
    assert counters[1]["ticket"]["id"] == ticket["id"], "after the outage the display shows the call"
