"""A TCP link to the machine's PostgreSQL that a test can fail over (tests/api/test_postgres_outage.py)."""

from __future__ import annotations

import socket
import struct
import threading


class MovedAddressLink:
    """127.0.0.1:<port> forwarded to PostgreSQL. ``fail_over()`` is a failover that moves the address
    (a virtual IP) while the old primary dies: the old sessions end without a word to their clients
    (nothing arrives on an idle socket), and the first bytes a client sends on one get a reset, as
    from the address's new holder; new connections reach PostgreSQL again."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.generation = 0
        self.links: list[tuple[int, socket.socket, socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            link = (self.generation, client, upstream)
            self.links.append(link)
            threading.Thread(target=self._up, args=link, daemon=True).start()
            threading.Thread(target=self._down, args=link, daemon=True).start()

    def _up(self, generation: int, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := client.recv(65536):
                if generation != self.generation:  # the address's new holder knows no such session
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    client.close()
                    return
                upstream.sendall(data)
        except OSError:
            pass

    def _down(self, generation: int, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while data := upstream.recv(65536):
                client.sendall(data)
        except OSError:
            pass
        if generation == self.generation:  # (PostgreSQL ended it: its client hears so)
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def fail_over(self) -> None:
        self.generation += 1
        old, self.links = self.links, []
        for _generation, _client, upstream in old:
            upstream.close()  # the old primary's sessions are gone; their clients hear nothing

    def close(self) -> None:
        self.listener.close()
        self.fail_over()
