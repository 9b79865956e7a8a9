"""TCP links to the machine's PostgreSQL that a test can cut or fail over (the machine's PostgreSQL
itself is never stopped): tests/api/test_postgres_outage.py."""

from __future__ import annotations

import socket
import struct
import threading


class _Link:
    """127.0.0.1:<port> forwarded to PostgreSQL: each connection accepted is handed to ``_joined``."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self._joined(client)

    def _joined(self, client: socket.socket) -> None:
        raise NotImplementedError


class CuttableLink(_Link):
    """A link until ``cut()``: then every connection through it closes and new ones are closed at
    once, as when the database machine drops off the network; ``mend()`` lets them through again."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.down, self.silent = threading.Event(), threading.Event()
        self.open: list[socket.socket] = []
        super().__init__(target)

    def _joined(self, client: socket.socket) -> None:
        if self.silent.is_set():  # accepted, then never a word (held open until close())
            self.open.append(client)
            return
        if self.down.is_set():
            client.close()
            return
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

    def silence(self) -> None:
        """``cut()``, then new connections are accepted and never answered: a host that takes the address
        and says nothing (a failover to a server still starting, a cable pulled behind a proxy)."""
        self.cut()
        self.silent.set()

    def mend(self) -> None:
        self.silent.clear()
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()


class MovedAddressLink(_Link):
    """A link whose ``fail_over()`` is a failover that moves the address (a virtual IP) while the old
    primary dies: the old sessions end without a word to their clients (nothing arrives on an idle
    socket), and the first bytes a client sends on one get a reset, as from the address's new
    holder; new connections reach PostgreSQL again."""

    def __init__(self, target=("127.0.0.1", 5432)):
        self.generation = 0
        self.links: list[tuple[int, socket.socket, socket.socket]] = []
        super().__init__(target)

    def _joined(self, client: socket.socket) -> None:
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
