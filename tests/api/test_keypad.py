"""The keypad client (``queuekiosk keypad``) against the real server, driven through a pseudo-terminal.

The client runs as its own process with a pty for its terminal, as on a counter PC with a USB
numeric keypad; the test types the keypad's keys into the pty and reads the screen it draws.
What it must do: keys call, recall and finish; the number and the waiting count follow the
queue by themselves; a press while the server is away is done once it is back, and never
twice, even when the answer to a press is lost on the way back.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from api_helpers import issue
from keypad_helpers import drain, keypads, ticket

keypad = pytest.fixture(keypads, name="keypad")  # (tests/api/keypad_helpers.py)
drained = pytest.fixture(drain, name="drained")


def test_keys_call_recall_and_finish(drained, http, keypad, sio_client):
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    first, second = issue(http, "HT"), issue(http, "HT")
    term = keypad(1)
    term.wait_for(r"Đang chờ: 2")
    assert "đã kết nối" in term.screen()

    term.press("\r")  # Enter: call the next ticket
    n = first["display"]
    screen = term.wait_for(rf"Số hiện tại: {n}")
    assert "Đang chờ: 1" in term.wait_for(r"Đang chờ: 1")
    assert f"Đã gọi số {n}" in screen
    assert ticket(http, first["id"])["status"] == "called"
    display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == first["id"] and e["counter"] == 1)

    term.press("+")  # recall: the lobby hears it again
    term.wait_for(rf"Đã gọi lại số {n}")
    display.wait_for("ticket.recalled", lambda e: e["ticket"]["id"] == first["id"])

    term.press("/")  # finish
    term.wait_for(rf"Đã kết thúc số {n}")
    term.wait_for(r"Số hiện tại: —")
    assert ticket(http, first["id"])["status"] == "done"
    assert ticket(http, second["id"])["status"] == "waiting"

    # a ticket issued at the kiosk shows up in the waiting count by itself
    issue(http, "HT")
    term.wait_for(r"Đang chờ: 2")

    # a typed number is called out of turn; Backspace erases a digit
    third_number = second["number"] + 1
    term.press(str(third_number) + "9\x7f")
    term.wait_for(rf"Số đã nhập: {third_number}_")
    term.press("\r")
    term.wait_for(rf"Số hiện tại: {third_number}")
    assert ticket(http, second["id"])["status"] == "waiting"

    # a held key (auto-repeat) acts once: "-" three times at once marks one no-show, then nothing to mark
    term.press("---")
    term.wait_for(rf"Số {third_number}: vắng mặt")
    time.sleep(1)
    assert "không có số nào" not in term.screen(), "the repeated key was sent again"
    assert ticket(http, second["id"])["status"] == "waiting"


def test_a_press_while_the_server_restarts_is_done_once(drained, server, http, keypad):
    first, second = issue(http, "HT"), issue(http, "HT")
    term = keypad(1)
    term.wait_for(r"Đang chờ: 2")

    server.stop()
    term.wait_for(r"MẤT KẾT NỐI")
    term.press("\r")
    term.wait_for(r"đang gửi lại")
    server.start()
    term.wait_for(rf"Đã gọi số {first['display']}", timeout=30)
    term.wait_for(r"đã kết nối", timeout=30)
    term.wait_for(r"Đang chờ: 1")
    time.sleep(1.5)  # any second sending of the press would have landed by now
    assert ticket(http, first["id"])["status"] == "called"
    assert ticket(http, second["id"])["status"] == "waiting", "the press was done twice"


class AnswerDropper:
    """A TCP proxy in front of the server that forwards everything, except that it swallows the
    answer to the next counter action and cuts the connection: the server acted, the client
    never heard. (What a restart or a network drop at the wrong moment does.) With ``hold_next``
    set instead, that answer is swallowed and the connection left open: no answer comes at all; with
    ``deaf`` set, no answer of any connection comes (the server out of reach: its Socket.IO too)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.drop_next = threading.Event()
        self.hold_next = threading.Event()
        self.deaf = threading.Event()
        self.dropped = self.held = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            state = {"drop": False, "hold": False}
            threading.Thread(target=self._pump, args=(client, upstream, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, state, False), daemon=True).start()

    def _pump(self, source, sink, state, to_server):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if to_server and data.startswith(b"POST /api/v1/counters/"):
                    for kind, wanted in (("drop", self.drop_next), ("hold", self.hold_next)):
                        if wanted.is_set():
                            wanted.clear()
                            state[kind] = True
                if not to_server and state["drop"]:
                    self.dropped += 1
                    break  # the answer is lost
                if not to_server and (state["hold"] or self.deaf.is_set()):
                    self.held += 1
                    continue  # the answer never comes
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()


def test_a_lost_answer_is_not_acted_on_twice(drained, server, http, keypad):
    first, second = issue(http, "HT"), issue(http, "HT")
    proxy = AnswerDropper(server.port)
    try:
        term = keypad(1, url=f"http://127.0.0.1:{proxy.port}")
        term.wait_for(r"Đang chờ: 2")
        proxy.drop_next.set()
        term.press("\r")
        term.wait_for(rf"Đã gọi số {first['display']}", timeout=30)
        assert proxy.dropped == 1, "the first answer should have been lost"
        time.sleep(1)
        assert ticket(http, first["id"])["status"] == "called"
        assert ticket(http, second["id"])["status"] == "waiting", "the lost answer made the client act twice"
    finally:
        proxy.close()


def test_a_press_whose_answer_never_comes_is_said_unconfirmed_with_the_counter_as_the_server_has_it(
    drained, server, http, keypad
):
    """A press sent whose answer does not come within the keypad's timeout may have been done, as one
    answered database_outcome_unknown: given up, the keypad shows the counter as the server has it and
    says to check it before pressing again, not "the server did not answer, check the network and press
    again" (it showed the number of before, and a clerk who pressed again called the next citizen too)."""
    first, second = issue(http, "HT"), issue(http, "HT")
    proxy = AnswerDropper(server.port)
    try:
        term = keypad(1, url=f"http://127.0.0.1:{proxy.port}", extra=["--retry-seconds", "1"])
        term.wait_for(r"Đang chờ: 2")
        proxy.hold_next.set()
        term.press("\r")
        shown = term.wait_for(r"Chưa xác nhận được “", timeout=30)
        assert proxy.held >= 1
        assert ticket(http, first["id"])["status"] == "called"
        assert ticket(http, second["id"])["status"] == "waiting"
        assert f"Số hiện tại: {first['display']}" in shown and "Đang chờ: 1" in shown, shown
    finally:
        proxy.close()


def test_a_press_unconfirmed_while_the_counter_cannot_be_asked_either_says_the_screen_may_be_out_of_date(
    drained, server, http, keypad
):
    """Given up on a press whose answer never came, the keypad asks the server for the counter's state; when
    that does not come either (the server out of reach), it says the screen may be out of date and not to
    press again before the queue is checked, rather than "the screen has just been updated"."""
    first = issue(http, "HT")
    proxy = AnswerDropper(server.port)
    try:
        term = keypad(1, url=f"http://127.0.0.1:{proxy.port}", extra=["--retry-seconds", "1"])
        term.wait_for(r"Đang chờ: 1")
        proxy.deaf.set()
        term.press("\r")
        shown = term.wait_for(r"chưa lấy lại được số hiện tại", timeout=45)
        assert "Màn hình vừa cập nhật" not in shown, shown
        assert ticket(http, first["id"])["status"] == "called"  # (the press was done: the server only went unheard)
    finally:
        proxy.close()


def test_keys_can_be_bound_and_a_bad_binding_is_refused(drained, server, http, keypad):
    ticket_ = issue(http, "HT")
    term = keypad(1, extra=["--key", "n=next", "--key", "enter=none"])
    term.wait_for(r"Đang chờ: 1")
    term.press("\r")
    time.sleep(0.8)
    assert ticket(http, ticket_["id"])["status"] == "waiting", "Enter was unbound"
    term.press("n")
    term.wait_for(rf"Số hiện tại: {ticket_['display']}")

    refused = server.run("keypad", "--server", server.url, "--token", "x", "--counter", "1", "--key", "5=finish")
    assert refused.returncode != 0 and "digits" in refused.stderr


def test_a_busy_database_is_shown_while_the_press_is_sent_again(drained, server, http, keypad):
    """The server answers 503 database_busy (another program holds SQLite's write lock): the keypad
    shows the server's words while it retries, and the press is done once the lock is gone."""
    import sqlite3

    first = issue(http, "HT")
    term = keypad(1)
    term.wait_for(r"Đang chờ: 1")
    other = sqlite3.connect(server.instance / "queuekiosk.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        term.press("\r")
        term.wait_for(r"đang gửi lại[\s\S]*✗ Cơ sở dữ liệu đang bận", timeout=10)
    finally:
        other.execute("ROLLBACK")
        other.close()
    term.wait_for(rf"Đã gọi số {first['display']}", timeout=15)
    assert ticket(http, first["id"])["status"] == "called"


def test_a_refused_token_is_said_on_the_screen(server, keypad):
    """A wrong (or revoked) token: the keypad says so and how to make a new one (python-socketio 5.18's
    error never said "rejected": the keypad showed "no connection" for ever)."""
    term = keypad(1, token="qk_not_a_token")
    term.wait_for(r"Máy chủ không nhận mã truy cập này", timeout=15)


def test_a_keypad_of_a_second_site_drives_that_sites_counter(drained, server, keypad):
    """``--server http://host/s/SITE`` with a counter token of SITE: the keypad shows SITE's queue, live, and
    calls SITE's number (its live link reached the first site, which refused SITE's token)."""
    site = "xa-ben-kia"
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    with server.session() as http:
        added = http.post("/api/v1/admin/sites", json={"id": site, "name": "Xã Bến Kia"}, headers=admin)
        assert added.status_code == 201, added.text
        made = http.post(f"/api/v1/sites/{site}/admin/tokens", json={"role": "counter", "counter": 1}, headers=admin)
        assert made.status_code == 201, made.text
        term = keypad(1, url=f"{server.url}/s/{site}", token=made.json()["token"])
        taken = http.post(f"/api/v1/sites/{site}/tickets", json={"service": "HT"})
        assert taken.status_code == 201, taken.text
        term.wait_for(r"Đang chờ: 1")
        term.press("\r")
        term.wait_for(rf"Đã gọi số {taken.json()['display']}", timeout=15)
        assert http.get(f"/api/v1/sites/{site}/tickets/{taken.json()['id']}").json()["status"] == "called"


def test_a_page_address_given_as_server_is_refused_with_a_sentence(server):
    """``--server`` naming a page of a site (pasted from the browser): refused at once, exit code 2, saying
    what an address looks like (the link tried /s/SITE/kiosk/.../socket.io for ever)."""
    for command in (
        ["keypad", "--token", "t", "--counter", "1"],
        ["kiosk-agent", "--token", "t", "--printer", "file:/tmp"],
    ):
        done = server.run(*command, "--server", f"{server.url}/s/xa-a/kiosk/kiosk-1")
        assert done.returncode == 2, done
        assert "không phải địa chỉ của máy chủ" in done.stderr and "nothing after the site's id" in done.stderr
