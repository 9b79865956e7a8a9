"""Issuing is public but bounded (SPEC: 429 too many): per address, per kiosk, and who is exempt."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, issue

from queuekiosk.server.core.config import ConfigError, parse_config


def limited(config_variant, **limits) -> dict:
    config = config_variant()
    config["limits"] = {"exempt_addresses": [], **limits}
    return config


def test_one_address_taking_too_many_numbers_gets_429_and_a_time_to_retry(live_server, config_variant):
    srv = live_server(limited(config_variant, tickets_per_address="3/minute", tickets_per_kiosk=None))
    http = srv.session()
    numbers = [issue(http, "HT")["number"] for _ in range(3)]
    refused = http.post("/api/v1/tickets", json={"service": "HT"})
    error = assert_error(refused, 429, "too_many_tickets")
    assert "chờ một lát" in error["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    english = http.post("/api/v1/tickets", json={"service": "HT"}, headers={"Accept-Language": "en"})
    assert "wait a moment" in assert_error(english, 429, "too_many_tickets")["message"]
    # a refused request took no number: the queue has exactly the three, without a gap
    queue = http.get("/api/v1/queue").json()
    assert next(s for s in queue["services"] if s["code"] == "HT")["waiting"] == 3
    assert numbers == [1001, 1002, 1003]
    assert http.get("/api/v1/queue").status_code == 200  # only issuing is limited


def test_one_kiosk_id_is_limited_whatever_the_address(live_server, config_variant):
    srv = live_server(limited(config_variant, tickets_per_address=None, tickets_per_kiosk="2/minute"))
    http = srv.session()
    issue(http, "HT", kiosk="kiosk-1")
    issue(http, "CT", kiosk="kiosk-1")
    assert_error(http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}), 429, "too_many_tickets")
    assert issue(http, "HT")["number"] == 1002  # no kiosk named: that limit does not apply


def test_exempt_addresses_are_not_limited(live_server, config_variant):
    config = config_variant()
    config["limits"] = {
        "tickets_per_address": "2/minute",
        "tickets_per_kiosk": "2/minute",
        "exempt_addresses": ["127.0.0.0/8"],
    }  # e.g. a kiosk browser on the server's own PC
    http = live_server(config).session()
    assert [issue(http, "DC", kiosk="kiosk-1")["number"] for _ in range(5)] == [3001, 3002, 3003, 3004, 3005]


@pytest.mark.parametrize(
    "limits, key_path",
    [
        ({"tickets_per_address": "lots"}, "limits.tickets_per_address"),
        ({"tickets_per_kiosk": "5 per fortnight"}, "limits.tickets_per_kiosk"),
        ({"exempt_addresses": ["kiosk-pc"]}, "limits.exempt_addresses"),
    ],
)
def test_a_bad_limit_names_its_key(config_variant, limits, key_path):
    config = config_variant()
    config["limits"] = limits
    with pytest.raises(ConfigError, match=rf"config.yaml: {key_path}"):
        parse_config(config, "config.yaml")


def test_behind_a_proxy_each_forwarded_address_has_its_own_limit(live_server, config_variant):
    config = config_variant()
    config["limits"] = {"tickets_per_address": "2/minute", "tickets_per_kiosk": None}  # loopback exempt
    http = live_server(config, env={"QUEUEKIOSK_PROXIES": "1"}).session()  # as behind nginx on this PC

    def take(address: str):
        return http.post("/api/v1/tickets", json={"service": "HT"}, headers={"X-Forwarded-For": address})

    assert [take("192.168.1.21").status_code for _ in range(2)] == [201, 201]
    assert_error(take("192.168.1.21"), 429, "too_many_tickets")
    assert take("192.168.1.22").status_code == 201  # another kiosk PC or phone
    assert take("127.0.0.1").status_code == 201  # the server's own PC stays exempt
