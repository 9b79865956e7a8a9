"""Many kiosks and counters at once through the real server's HTTP API.

On SQLite the server group-commits: requests that arrive together share one transaction,
each in its own savepoint. These tests mix refused requests (unknown service, exhausted
range) into the same bursts and check that they spoil nothing for the others: every
acknowledged ticket exists, numbers are gap-free and unique, nobody is called twice.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

ISSUERS = 16
REQUESTS_EACH = 30
SMALL_RANGE = (6001, 6040)  # TK: exhausted during the burst


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def busy_server(request, live_server, config_variant):
    config = config_variant()
    for service in config["services"]:
        if service["code"] == "TK":
            service["numbers"] = {"start": SMALL_RANGE[0], "end": SMALL_RANGE[1]}
    env = (
        {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")}
        if request.param == "postgresql"
        else None
    )
    return live_server(config, env=env)


def test_kiosks_and_counters_at_once_lose_nothing_and_give_nothing_twice(busy_server):
    services = ["HT", "CT", "TK", "XX", "DC"]
    acknowledged: list[dict] = []
    refusals: dict[str, list[str]] = defaultdict(list)
    calls: list[tuple[int, dict]] = []
    lock = threading.Lock()
    issuing_done = threading.Event()
    errors: list[BaseException] = []

    def issuer(k: int):
        try:
            http = busy_server.session()
            for i in range(REQUESTS_EACH):
                service = services[(k + i) % len(services)]
                response = http.post("/api/v1/tickets", json={"service": service})
                with lock:
                    if response.status_code == 201:
                        acknowledged.append(response.json())
                    else:
                        refusals[service].append(f"{response.status_code} {response.json()['error']['code']}")
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    def counter(number: int, token: str):
        try:
            http = busy_server.session()
            http.headers["Authorization"] = f"Bearer {token}"
            while True:
                response = http.post(f"/api/v1/counters/{number}/next")
                if response.status_code == 200:
                    with lock:
                        calls.append((number, response.json()))
                elif response.status_code == 204:
                    if issuing_done.is_set():
                        return
                else:
                    raise AssertionError(f"counter {number}: {response.status_code} {response.text}")
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    tokens = {n: busy_server.token("counter", n) for n in (1, 2, 3, 6)}
    issuers = [threading.Thread(target=issuer, args=(k,)) for k in range(ISSUERS)]
    counters = [threading.Thread(target=counter, args=(n, t)) for n, t in tokens.items()]
    for thread in issuers + counters:
        thread.start()
    for thread in issuers:
        thread.join(120)
    issuing_done.set()
    for thread in counters:
        thread.join(120)
    assert not errors, errors

    # refused requests were refused for their own reason, and only they
    assert set(refusals) <= {"XX", "TK"}, dict(refusals)
    assert refusals["XX"] and all(r == "404 unknown_service" for r in refusals["XX"])
    assert all(r == "409 range_exhausted" for r in refusals["TK"]), refusals["TK"]

    # numbers: unique and gap-free per service; the small range given exactly to its end
    by_service = defaultdict(list)
    for ticket in acknowledged:
        by_service[ticket["service"]].append(ticket["number"])
    starts = {"HT": 1001, "CT": 2001, "DC": 3001, "TK": SMALL_RANGE[0]}
    for service, numbers in by_service.items():
        expected = list(range(starts[service], starts[service] + len(numbers)))
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        missing = sorted(set(expected) - set(numbers))
        assert not duplicates and not missing, f"{service}: duplicated {duplicates}, missing {missing}"
    assert len(by_service["TK"]) == SMALL_RANGE[1] - SMALL_RANGE[0] + 1

    # every ticket was called exactly once, by a counter serving it (counter 4, for DC, is not calling)
    called_ids = [ticket["id"] for _, ticket in calls]
    assert len(called_ids) == len(set(called_ids)), "a ticket was called twice"
    assert set(called_ids) == {t["id"] for t in acknowledged if t["service"] != "DC"}
    serves = {1: {"HT"}, 2: {"HT", "CT"}, 3: {"CT"}, 6: {"TK", "CT"}}
    for number, ticket in calls:
        assert ticket["service"] in serves[number], (number, ticket)

    # every acknowledged ticket is stored as answered; the counters' last "next" (answered 204)
    # ended the ticket each held, so all called tickets are ended: the counters pressed only "next",
    # so each was called and never started, a no-show (policy.unstarted_at_next, docs/configuration.md)
    http = busy_server.session()
    for ticket in acknowledged:
        stored = http.get(f"/api/v1/tickets/{ticket['id']}").json()
        assert stored["number"] == ticket["number"]
        assert stored["status"] == ("waiting" if ticket["service"] == "DC" else "no_show"), (ticket, stored)
