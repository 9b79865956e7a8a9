"""PostgreSQL out of reach while screens are open: the server reaches PostgreSQL through a TCP link
the test can cut (the machine's PostgreSQL itself is never stopped). A request answers 503
database_busy; a screen that subscribes is told the same in its acknowledgement, not left without
an answer; once the link is back, both are served again without a restart.
"""

from __future__ import annotations

import socket
import threading

import pytest
from api_helpers import assert_error, issue


class CuttableLink:
    """127.0.0.1:<port> forwarded to PostgreSQL until ``cut()``: then every connection through it
    closes and new ones are closed at once, as when the database machine drops off the network."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.down.set()
        for end in self.open:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open.clear()

    def mend(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.mark.postgres
def test_a_screen_subscribing_while_postgresql_is_out_of_reach_is_told_so(live_server, pg_url, sio_client):
    link = CuttableLink()
    try:
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": pg_url.replace(":5432/", f":{link.port}/")})
        http = srv.session()
        assert issue(http, "HT")["number"] == 1001
        display = sio_client(srv)

        link.cut()
        assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 503, "database_busy")
        answer = display.subscribe({"display": "lobby"}, timeout=15)
        assert answer["error"]["code"] == "database_busy", answer
        assert answer["error"]["message"].startswith("Cơ sở dữ liệu đang bận")

        link.mend()  # back: the same screen subscribes, issuing goes on where it stopped
        assert display.subscribe({"display": "lobby"}, timeout=15) == {"ok": True}
        assert display.wait_for("state")["kind"] == "display"
        assert issue(http, "HT")["number"] == 1002
        assert "message handler error" not in srv.log()
    finally:
        link.close()
