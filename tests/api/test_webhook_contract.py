"""What an integrator is promised (docs/integrations.md, the OpenAPI document) is what is sent
(issue 15): every one of the 14 events reaches a receiver on 127.0.0.1, each body valid against
openapi.yaml's WebhookEvent with no field the document does not name, its `data` holding what the
events table of integrations.md says; and the receiver printed in integrations.md, run as it is,
takes signed deliveries and refuses a wrong signature.

The server runs on a faked working morning (libfaketime, tests/faked_clock.py): a remote number
lapses when its deadline passes, and the waiting tickets expire when it starts on the next day.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jsonschema_rs
import requests
import yaml
from api_helpers import issue
from faked_clock import FakedClock, next_working_morning
from ports import free_port
from webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "integrations.md"
FAST = {"QUEUEKIOSK_WEBHOOK_RETRY_SECONDS": "1,1,1,86400", "QUEUEKIOSK_WEBHOOK_TIMEOUT": "2"}


def strict(schema):
    """OpenAPI 3.0 -> JSON Schema: ``nullable`` as a null type, and an object with named
    properties takes no others (a field the document does not name fails)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items() if key not in ("nullable", "example")}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def event_validator():
    document = yaml.safe_load((ROOT / "server" / "web" / "openapi.yaml").read_text(encoding="utf-8"))
    schemas = strict(document["components"]["schemas"])
    return jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/WebhookEvent", "components": {"schemas": schemas}}
    )


def documented_data() -> dict[str, set[str]]:
    """integrations.md's events table: event -> the keys of `data` (outside the brackets)."""
    table = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[a-z]+\.[a-z_]+`", cells[0]):
            table[cells[0].strip("`")] = set(re.findall(r"`([a-z_]+)`", re.sub(r"\(.*?\)", "", cells[2])))
    return table


def the_receiver_of_the_docs() -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## A receiver in Python") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def counter(srv, action: str, number: int = 1, **body) -> dict:
    answer = srv.session().post(
        f"/api/v1/counters/{number}/{action}",
        json=body or None,
        headers={"Authorization": f"Bearer {srv.token('counter', number)}"},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def wait_for_events(receiver: Receiver, wanted: set[str], timeout: float = 60) -> list:
    deadline = time.monotonic() + timeout
    while not wanted <= {r.event for r in receiver.received}:
        missing = wanted - {r.event for r in receiver.received}
        assert time.monotonic() < deadline, f"never delivered: {sorted(missing)}"
        time.sleep(0.2)
    return list(receiver.received)


def expired_of(receiver: Receiver) -> list:
    return [r for r in list(receiver.received) if r.event == "ticket.expired"]


def test_every_event_is_delivered_as_the_openapi_document_and_integrations_md_say(
    live_server, config_variant, tmp_path
):
    clock = FakedClock(tmp_path / "faketime", next_working_morning("09:00"))
    config = config_variant()
    service = next(s for s in config["services"] if s["code"] == "HT")
    service["booking"] = {**service["booking"], "remote_checkin_minutes": 5}
    srv = live_server(config, env={**FAST, **clock.env(), "QUEUEKIOSK_LAPSE_SECONDS": "1"})
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    events = http.get("/api/v1/admin/webhooks", headers=admin).json()["events"]
    documented = documented_data()
    assert sorted(events) == sorted(documented), "integrations.md's table lists every event, and only those"
    receiver = Receiver()
    try:
        made = http.post("/api/v1/admin/webhooks", json={"url": receiver.url, "events": events}, headers=admin)
        assert made.status_code == 201, made.text

        first, second, third, last = (issue(http, "HT") for _ in range(4))
        assert first["business_day"] == clock.start.date().isoformat(), "not the faked clock"
        counter(srv, "next")  # first: called
        counter(srv, "recall")
        counter(srv, "start")
        counter(srv, "finish")
        rated = http.post(
            f"/api/v1/tickets/{first['id']}/rating",
            json={"level": "unsatisfied", "reasons": ["slow"]},
            headers={"Authorization": f"Bearer {srv.token('rating', 1)}"},
        )
        assert rated.status_code == 201, rated.text
        counter(srv, "next")  # second
        counter(srv, "no-show")
        counter(srv, "next")  # third
        counter(srv, "transfer", service="CT")
        counter(srv, "next")  # last: called, then back in the queue as its counter closes
        counter(srv, "close", requeue=last["number"])

        for ahead in range(1, 7):  # a slot on a coming day, booked then cancelled
            day = (clock.start.date() + dt.timedelta(days=ahead)).isoformat()
            free = [s for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json() if s["free"]]
            if free:
                break
        person = {"name": "Nguyễn Văn An", "phone": "0912345678", "id_number": "001099012345"}
        slot = http.post("/api/v1/bookings", json={"service": "HT", "date": day, "start": free[0]["start"], **person})
        assert slot.status_code == 201, slot.text
        assert http.delete(f"/api/v1/bookings/{slot.json()['code']}").status_code == 200
        remote = http.post("/api/v1/bookings", json={"service": "HT", "remote": True, **person})
        assert remote.status_code == 201, remote.text
        checked_in = http.post("/api/v1/check-in", json={"code": remote.json()["code"]})
        assert checked_in.status_code in (200, 201), checked_in.text
        gone = http.post(
            "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Lê Thị Hoa", "phone": "0987654321"}
        )
        assert gone.status_code == 201, gone.text

        clock.set(clock.start + dt.timedelta(minutes=15))  # past the second remote number's deadline
        wait_for_events(receiver, set(events) - {"ticket.expired"})
        clock.set(clock.start + dt.timedelta(days=1, hours=-1))  # 08:00 the next day
        srv.restart()  # a server that starts on a new day ends the days before: the waiting tickets expire
        wait_for_events(receiver, set(events))
        deadline = time.monotonic() + 30  # the day's end expires every waiting ticket, one event each
        while not {last["id"], third["id"]} <= {r.json["data"]["ticket"]["id"] for r in expired_of(receiver)}:
            assert time.monotonic() < deadline, [r.json for r in expired_of(receiver)]
            time.sleep(0.2)
        got = list(receiver.received)
    finally:
        receiver.close()

    validator = event_validator()
    for delivery in got:
        body = delivery.json
        problems = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
        assert not problems, (body["event"], problems, body)
        assert body["event"] == delivery.event
        assert set(body["data"]) == documented[body["event"]], (body["event"], sorted(body["data"]))
        for secret in ("0912345678", "001099012345", "Nguy", "Nguy\\u1ec5n", slot.json()["code"]):
            assert secret not in delivery.body.decode(), (body["event"], secret)
    kinds = {r.event: r.json for r in got}
    # where its wait starts, as the reports count it: a walk-in's issue (a remote number's check-in)
    tickets = [r.json["data"]["ticket"] for r in got if r.event.startswith("ticket.")]
    assert all(ticket["queued_at"] for ticket in tickets), tickets
    issued = {t["id"]: t for t in (r.json["data"]["ticket"] for r in got if r.event == "ticket.issued")}
    assert issued[first["id"]]["queued_at"] == issued[first["id"]]["issued_at"], issued[first["id"]]
    (remote_ticket,) = [t for t in issued.values() if t["queued_at"] != t["issued_at"]]  # the remote number
    assert remote_ticket["queued_at"] > remote_ticket["issued_at"], remote_ticket
    assert kinds["ticket.transferred"]["data"]["ticket"]["service"] == "CT"
    assert kinds["rating.created"]["data"]["rating"]["reasons"] == ["slow"]
    assert kinds["booking.lapsed"]["data"]["booking"]["kind"] == "remote"
    expired = {r.json["data"]["ticket"]["id"] for r in got if r.event == "ticket.expired"}
    assert {last["id"], third["id"]} <= expired  # still waiting (the third in CT) when the day ended


def test_the_receiver_in_integrations_md_takes_signed_events_and_refuses_others(live_server, tmp_path):
    srv = live_server(env=FAST)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    script = tmp_path / "receiver.py"
    script.write_text(the_receiver_of_the_docs(), encoding="utf-8")
    port = free_port()
    made = http.post(
        "/api/v1/admin/webhooks",
        json={"url": f"http://127.0.0.1:{port}/queue-events", "events": ["ticket.issued", "ticket.called"]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    webhook = made.json()
    forged = http.post(  # another webhook to the same receiver, with a secret the receiver does not know
        "/api/v1/admin/webhooks",
        json={"url": f"http://127.0.0.1:{port}/queue-events", "events": ["ticket.called"], "secret": "x" * 32},
        headers=admin,
    ).json()
    receiver = subprocess.Popen(
        [sys.executable, str(script)],
        env={**os.environ, "WEBHOOK_SECRET": webhook["secret"], "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_listening(port)
        ticket = issue(http, "HT")
        counter(srv, "next")
        lines = [receiver.stdout.readline().strip() for _ in range(2)]
        assert lines == [f"ticket.issued {ticket['number']}", f"ticket.called {ticket['number']}"]

        def log(hook):
            return http.get(f"/api/v1/admin/webhooks/{hook['id']}/deliveries", headers=admin).json()["deliveries"]

        deadline = time.monotonic() + 15
        while not (log(webhook) and all(d["status"] == "delivered" for d in log(webhook)) and log(forged)):
            assert time.monotonic() < deadline, (log(webhook), log(forged))
            time.sleep(0.2)
        assert [d["last_status_code"] for d in log(webhook)] == [204, 204]
        while log(forged)[0]["last_status_code"] is None:
            assert time.monotonic() < deadline, log(forged)
            time.sleep(0.2)
        [refused] = log(forged)
        assert (refused["status"], refused["last_status_code"]) == ("pending", 401)  # retried later, not taken
    finally:
        receiver.terminate()
        receiver.wait(10)


def wait_listening(port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)  # the example answers GET with 501
            return
        except requests.ConnectionError:
            assert time.monotonic() < deadline, "the receiver of integrations.md did not start"
            time.sleep(0.1)
