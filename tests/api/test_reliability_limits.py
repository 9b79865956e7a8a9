"""Rate limits under outage and abuse (issue 20): Redis down, racing password guesses, a kiosk
name typed by someone else. Each drives a real server process; Redis is a private redis-server
started and killed here (the machine's shared Redis on 6379 is left alone).
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from api_helpers import assert_error, issue
from redis_server import RedisServer


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test only, on a free port: ``.url``, ``.kill()``."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


def test_while_redis_is_down_issuing_and_login_keep_working_on_a_local_limit_and_share_it_again_after(
    live_server, config_variant, private_redis, sio_client
):
    config = config_variant()
    config["limits"] = {"tickets_per_address": "5/minute", "tickets_per_kiosk": None, "exempt_addresses": []}
    env = {"QUEUEKIOSK_MESSAGE_QUEUE": private_redis.url}
    with ThreadPoolExecutor(2) as pool:  # two server processes counting this address's tickets in one Redis
        srv, other = pool.map(lambda _: live_server(config, env=env), range(2))
    srv.add_user("lan", "mat-khau-dung-1", "clerk", counter=1)
    http = srv.session()
    issue(http, "HT")  # counted in Redis
    private_redis.kill()
    # the process counts alone now: this address's 5 a minute start again from its own memory
    numbers = [issue(http, "HT")["number"] for _ in range(5)]
    assert numbers == [1002, 1003, 1004, 1005, 1006]
    assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 429, "too_many_tickets")
    login = http.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dung-1"})
    assert login.status_code == 200, login.text
    assert_error(
        srv.session().post("/api/v1/auth/login", json={"username": "lan", "password": "sai-roi-1"}), 401, "bad_login"
    )
    dashboard = sio_client(srv, auth={"token": srv.token("admin")})
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    notes = {n["item"]: n for n in dashboard.wait_for("state")["system"]}
    assert "Redis" in notes["rate_limits"]["message"], notes
    log = srv.log()
    assert log.count("Rate limits: Redis is unreachable") == 1, log[-3000:]

    # Redis is back (empty: it kept nothing). Until this process tries it again (every 5 s) it
    # counts alone, where the address has used its 5; then it counts in Redis from zero
    private_redis.start()
    mark = dashboard.mark()
    for _ in range(120):
        answer = http.post("/api/v1/tickets", json={"service": "HT"})
        if answer.status_code != 429:
            break
        time.sleep(0.5)
    assert answer.status_code == 201, answer.text
    assert [http.post("/api/v1/tickets", json={"service": "HT"}).status_code for _ in range(2)] == [201, 201]
    # shared again: the other process has only the 2 left of this address's 5, not 5 of its own
    take_at_other = other.session()
    assert [take_at_other.post("/api/v1/tickets", json={"service": "HT"}).status_code for _ in range(2)] == [201, 201]
    assert_error(take_at_other.post("/api/v1/tickets", json={"service": "HT"}), 429, "too_many_tickets")
    assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 429, "too_many_tickets")
    # the dashboard takes a fresh snapshot on a new ticket, as its page does: the warning is gone
    dashboard.wait_for("ticket.issued", since=mark, timeout=15)
    mark = dashboard.mark()
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    notes = {n["item"]: n for n in dashboard.wait_for("state", since=mark)["system"]}
    assert "rate_limits" not in notes, notes
    log = srv.log()
    assert log.count("Rate limits: Redis answers again") == 1, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def test_parallel_wrong_passwords_are_all_counted_before_any_is_checked(live_server):
    srv = live_server()
    srv.add_user("lan", "mat-khau-dung-1", "clerk", counter=1)

    def guess(i):
        return requests.post(
            srv.url + "/api/v1/auth/login", json={"username": "lan", "password": f"doan-{i:04d}"}, timeout=60
        ).status_code

    with ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(guess, range(120)))
    assert answers.count(401) <= 10, answers  # LOGIN_ATTEMPTS: 10 a minute are checked, no more
    assert answers.count(429) == 120 - answers.count(401), answers


def test_a_kiosk_name_without_its_token_does_not_use_up_that_kiosk(live_server, config_variant):
    config = config_variant()
    config["limits"] = {"tickets_per_address": None, "tickets_per_kiosk": "3/minute", "exempt_addresses": []}
    srv = live_server(config, env={"QUEUEKIOSK_PROXIES": "1"})
    http = srv.session()

    def take(address: str, token: str | None = None):
        headers = {"X-Forwarded-For": address, **({"Authorization": f"Bearer {token}"} if token else {})}
        return http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, headers=headers)

    # someone on the lobby Wi-Fi names kiosk-1 from many addresses
    for i in range(10):
        assert take(f"192.168.1.{100 + i}").status_code == 201
    # one address naming it is still limited, as a kiosk page without a token is
    assert [take("192.168.1.99").status_code for _ in range(4)] == [201, 201, 201, 429]
    # the real kiosk, holding kiosk-1's token, has its whole limit
    token = srv.kiosk_token("kiosk-1")
    assert [take("192.168.1.10", token).status_code for _ in range(3)] == [201, 201, 201]
    assert_error(take("192.168.1.11", token), 429, "too_many_tickets")  # its limit follows the token
