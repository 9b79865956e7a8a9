"""A kiosk agent's ``print.fetch`` answers carry their jobs' ESC/POS bytes as a binary attachment:
every one reaches the client whole, also when many come at once and the client's threads are switched
often (python-socketio's own client lost about one in ten of them so: kiosk/socketio_client.py)."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from api_helpers import issue

from queuekiosk.kiosk.socketio_client import InOrderClient

AGENTS = 8
FETCHES = 35  # each agent's, at once (under the connection's burst of 40 events)
BURST = 60  # tickets issued at once


def test_every_binary_answer_reaches_the_agent_whole(live_server, config_variant):
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]  # (the jobs wait for the agents below)
    srv = live_server(config)
    http = srv.session()
    tickets = [http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}).json() for _ in range(3)]
    token = srv.token("admin")
    agents = []
    answers: list[dict] = []
    all_answered = threading.Event()

    def answered(answer):
        answers.append(answer)
        if len(answers) == AGENTS * FETCHES:
            all_answered.set()

    switch_interval = sys.getswitchinterval()
    try:
        for _ in range(AGENTS):
            agent = InOrderClient(handle_sigint=False, reconnection=False)
            agents.append(agent)
            agent.connect(srv.url, auth={"token": token}, wait_timeout=5)
            assert agent.call("agent.hello", {"kiosk": "kiosk-1"}, timeout=5)["printer"] == "kiosk-1"
        sys.setswitchinterval(1e-4)  # the client's threads switched often, as on a loaded kiosk PC
        for agent in agents:
            for _ in range(FETCHES):
                agent.emit("print.fetch", None, callback=answered)
        all_answered.wait(20)  # a lost answer never comes; all come within a few seconds
    finally:
        sys.setswitchinterval(switch_interval)
        for agent in agents:
            agent.shutdown()
    assert len(answers) == AGENTS * FETCHES, f"{AGENTS * FETCHES - len(answers)} answers lost"
    for answer in answers:
        assert [job["content"]["number"] for job in answer["jobs"]] == [t["display"] for t in tickets]
        assert all(job["data"].startswith(b"\x1b@") for job in answer["jobs"])  # ESC/POS bytes, whole


class _HeldReader(InOrderClient):
    """Its reading held while ``holding`` is set, after a ticket's event (a busy kiosk PC): what the server
    sends meanwhile waits for its next poll, all of it in that one."""

    def __init__(self):
        super().__init__(handle_sigint=False, reconnection=False)
        self.holding, self.released = threading.Event(), threading.Event()
        self.issued: list[int] = []
        self.on("ticket.issued", lambda data: self.issued.append(data["ticket"]["number"]))

    def _handle_eio_message(self, data):
        super()._handle_eio_message(data)
        if self.holding.is_set() and '"ticket.issued"' in str(data):  # (a ticket's event: the test waits on it)
            self.released.wait(15)


def test_a_client_left_on_long_polling_keeps_its_connection_through_a_burst(live_server):
    """A kiosk agent or keypad behind a proxy that refuses WebSocket stays on long-polling: one poll then
    brings every packet queued since the last (python-engineio's client dropped the connection beyond 16)."""
    srv = live_server()
    keypad = _HeldReader()
    try:
        keypad.connect(srv.url, auth={"token": srv.token("counter", 1)}, transports=["polling"], wait_timeout=5)
        assert keypad.call("subscribe", {"counter": 1}, timeout=15) == {"ok": True}
        keypad.holding.set()
        numbers = [issue(srv.session(), "HT")["number"]]  # its event read, the reading held after it
        deadline = time.monotonic() + 15
        while not keypad.issued and time.monotonic() < deadline:
            time.sleep(0.05)
        with ThreadPoolExecutor(8) as kiosks:  # a morning's rush meanwhile
            numbers += kiosks.map(lambda _: issue(srv.session(), "HT")["number"], range(BURST))
        keypad.holding.clear()
        keypad.released.set()
        deadline = time.monotonic() + 15
        while len(keypad.issued) < len(numbers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sorted(keypad.issued) == sorted(numbers)
        assert keypad.connected
    finally:
        keypad.shutdown()
