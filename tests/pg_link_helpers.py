"""TCP links to the machine's PostgreSQL that a test can cut or fail over (the machine's PostgreSQL
itself is never stopped): tests/api/test_postgres_outage.py."""

from __future__ import annotations

import fcntl
import functools
import re
import selectors
import socket
import struct
import termios
import threading
import time

import pytest


def _no_delay(end: socket.socket) -> socket.socket:
    """``end`` with TCP_NODELAY: each message forwarded goes at once. Without it, a message sent after
    another whose ACK had not come waited for it (Nagle), up to the peer's delayed ACK (~40 ms): every
    round trip through a link was that slow (a core-level test of test_postgres_commit_lost.py, its
    setup through a link, took ~3.3 s instead of ~0.5 s)."""
    end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return end


def _upstream(target) -> socket.socket:
    """A connection to PostgreSQL for one accepted through a link."""
    return _no_delay(socket.create_connection(target))


def _shut(*ends: socket.socket) -> None:
    """Both ways of each socket shut (its peer reads the end), whatever state it is in."""
    for end in ends:
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
            try:
                self._joined(_no_delay(client))
            except OSError:  # PostgreSQL refused it (restarting, say): this one closed, the next taken
                _shut(client)
                client.close()

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
        upstream = _upstream(self.target)
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
            _shut(source, sink)

    def cut(self) -> None:
        self.down.set()
        _shut(*self.open)
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


# linux/tcp.h: a socket in repair mode closes without a word (no FIN, no RST); needs CAP_NET_ADMIN (the
# tests run as root: .ci/run)
TCP_REPAIR = 19


@functools.cache
def _can_vanish() -> bool:
    """Whether this process may put a socket in repair mode (CAP_NET_ADMIN)."""
    with socket.socket() as trial:
        try:
            trial.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
        except OSError:  # no CAP_NET_ADMIN, or a sandbox that has no such option
            return False
    return True


def _unacknowledged(end: socket.socket) -> int:
    """The bytes ``end`` sent that its peer has not acknowledged yet (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(end.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]


def _vanish(end: socket.socket, unread_reset: bool = True) -> None:
    """``end`` closed without a word to its peer, as a host that dies says nothing: the peer's next
    segment (data, a TCP keepalive probe) then finds no connection there, and the kernel answers it
    with a reset, as the host that took the address over does. What came from the peer is acknowledged
    first, as the old primary's machine had (a delayed ACK goes within ~40 ms; unacknowledged, the
    peer's retransmission would meet the reset within its first timeout, ~0.2 s), and what went to the
    peer acknowledged by it (its ACK, delayed up to ~40 ms, would meet the reset and tell it at once).
    ``unread_reset``: what came from the peer and was not read yet came after the failover, to the
    address's new holder: the peer gets its reset at once (else its round trip would wait for its
    first keepalive probe)."""
    deadline = time.monotonic() + 1
    while _unacknowledged(end) and time.monotonic() < deadline:
        time.sleep(0.005)  # (the peer's delayed ACK, ~40 ms, would meet the reset: a real primary's came long ago)
    if unread_reset and _unread(end):  # sent since the failover (a round trip begun meanwhile): the new holder's reset
        _reset(end)
        return
    end.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)  # (the ACK owed, sent now)
    end.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    end.close()


def _unread(end: socket.socket) -> int:
    """The bytes that came on ``end`` and wait to be read (FIONREAD); 0 for a socket closed."""
    try:
        return struct.unpack("i", fcntl.ioctl(end.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    except (OSError, ValueError):
        return 0


def _reset(end: socket.socket) -> None:
    """``end`` closed with a reset to its peer, as a host answers a segment of a connection it does not know."""
    try:
        end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    end.close()


class MovedAddressLink(_Link):
    """A link whose ``fail_over()`` is a failover that moves the address (a virtual IP) while the old
    primary dies: the old primary's sessions end (PostgreSQL's end of each old connection is closed:
    their transactions roll back, their locks go, as with the machine), and the link's end of each
    old connection vanishes without a word (``_vanish``): nothing arrives on an idle socket, and the
    next thing its client sends on one, a query or a TCP keepalive probe, gets a reset, as from the
    address's new holder. New connections reach PostgreSQL again.

    ``fail_over()`` is a failover while the client is at rest: it comes once no connection has a
    round trip under way (``_Forwarding.at_rest``; a server's own work, its background looks every
    half second, takes a few milliseconds of them), and what a client sends from then on is the new
    holder's to answer, with a reset. (Before, a look or a background write of the server under way
    at that moment was never answered: its client hears of that at its first keepalive probe, which
    ``?keepalives_idle=600`` puts off for 10 minutes; the group writer's lane, or the request behind
    it, waited past the test's 15 s, 3 of 6 loaded suite runs.) One still under way after
    ``SETTLE_SECONDS`` (a machine too loaded to end a round trip in that time) gets the reset its
    first keepalive probe would have got.

    ``fail_over_at(marker)``: the failover comes as the next chunk a client sends that holds
    ``marker`` arrives (e.g. the group writer's BEGIN or COMMIT): the old primary took it and died
    before answering (``failed_over`` is set then); a query sent before the failover and not yet
    answered is never answered: its client hears of it at its first keepalive probe. Vanishing needs
    CAP_NET_ADMIN (TCP_REPAIR; the tests run as root): without it, the next data a client sends on
    an old connection gets the reset, but its keepalive probes are acknowledged (``fail_over_at``
    then skips its test). ``fail_over_before(marker)``: the failover came, the client at rest, just
    before that chunk, which the new holder answers with a reset: its round trip is certainly the
    first to find its connection lost (after a plain ``fail_over()``, a look of the server's own may
    come first, and it is then that look's)."""

    SETTLE_SECONDS = 10.0

    def __init__(self, target=("127.0.0.1", 5432)):
        self.vanishes = _can_vanish()
        self.links: list[_Forwarding] = []
        self.failed_over = threading.Event()
        self._marker: tuple[bytes, str] | None = None  # (marker, "at" or "before")
        self._lock = threading.Lock()
        super().__init__(target)

    def _joined(self, client: socket.socket) -> None:
        forwarding = _Forwarding(self, client, _upstream(self.target))
        with self._lock:
            self.links.append(forwarding)
        forwarding.start()

    def fail_over_at(self, marker: bytes) -> None:
        if not self.vanishes:  # (its client would wait for ever: the link's kernel acknowledges its probes)
            pytest.skip("a query under way at a failover needs the link's end to vanish: CAP_NET_ADMIN (root)")
        self._arm(marker, "at")

    def fail_over_before(self, marker: bytes) -> None:
        self._arm(marker, "before")

    def _arm(self, marker: bytes, when: str) -> None:
        with self._lock:
            self.failed_over.clear()
            self._marker = (marker, when)

    def _takes_over(self, forwarding: _Forwarding, data: bytes) -> tuple[str, list] | None:
        """With the link's lock held, as ``data`` came from ``forwarding``'s client: where the armed
        failover comes (once), "at" or "before" it, and the old connections to end; else None (``data``
        goes on its way: a round trip under way)."""
        if self._marker is not None and self._marker[0] in data:
            when, self._marker = self._marker[1], None
            return when, self._ended(forwarding, under_way="vanish" if when == "at" else "reset")
        forwarding.answered = False
        return None

    def _ended(self, during: _Forwarding | None, under_way: str) -> list[_Forwarding]:
        """With the link's lock held: the failover, now. Each old connection (but ``during``, which its
        own thread ends) is told how its client's end goes: vanishing, or with a reset if a round trip
        is under way on it and ``under_way`` says "reset"; what its client sends from now on gets a
        reset (the new holder's). The old ones, to end."""
        old, self.links = [forwarding for forwarding in self.links if forwarding is not during], []
        for forwarding in old:
            forwarding.gone = under_way if not forwarding.at_rest() else "vanish"
        if during is not None:
            during.gone = "vanish"
        return old

    def fail_over(self) -> None:
        """The failover, once the client's connections are at rest (see the class)."""
        deadline = time.monotonic() + self.SETTLE_SECONDS
        while True:
            with self._lock:
                if all(forwarding.at_rest() for forwarding in self.links) or time.monotonic() > deadline:
                    old = self._ended(None, under_way="reset")
                    break
            time.sleep(0.002)
        self._end(old)
        self.failed_over.set()

    @staticmethod
    def _end(old: list[_Forwarding]) -> None:
        for forwarding in old:
            forwarding.end()
        for forwarding in old:
            forwarding.ended.wait(10)

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            old = self._ended(None, under_way="reset")
        self._end(old)


# PostgreSQL's ReadyForQuery ('Z', its length, the transaction's status): the end of its answer to a query
_READY = re.compile(rb"Z\x00\x00\x00\x05[ITE]\Z")


class _Forwarding:
    """A client's connection through a MovedAddressLink, forwarded both ways by one thread that waits
    on both ends, and on a wake-up, at once: the link ends it between two chunks. (A thread left
    reading a socket that another closed keeps it open on Linux for as long as its read waits: before,
    the old primary's sessions lived on, and a query a client had just sent could be dropped with its
    connection kept open, its client waiting for ever.)"""

    def __init__(self, link: MovedAddressLink, client: socket.socket, upstream: socket.socket):
        self.link, self.client, self.upstream = link, client, upstream
        self._wake, self._woken = socket.socketpair()
        self.ended = threading.Event()
        # no round trip under way: all the client sent was answered to its end (a ReadyForQuery last)
        self.answered = True
        self._others: list[_Forwarding] = []  # ("before": the other old connections, ended after this one's reset)
        self._tail = b""  # the last bytes PostgreSQL sent (a ReadyForQuery split between two chunks)
        self._sealed = False  # TLS (PostgreSQL said "S" to an SSLRequest): an answer's end not seen, its start taken
        self.gone: str | None = None  # failed over (the link's lock held): "vanish", or "reset" its client

    def at_rest(self) -> bool:
        """With the link's lock held: whether no round trip is under way, nor anything the client sent
        waits to be read."""
        return self.answered and not _unread(self.client)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def end(self) -> None:
        """Ended by a failover: the thread vanishes from its client and closes PostgreSQL's end."""
        try:
            self._wake.send(b"!")
        except OSError:  # (ended already: its client or PostgreSQL closed it)
            pass

    def _run(self) -> None:
        failover = None
        try:
            failover = self._forward()
        except OSError:  # (a reset by either end)
            _shut(self.client, self.upstream)
        if failover:
            _shut(self.upstream)  # the old primary is gone: its session ends, its transaction rolled back
            if failover == "before":  # (said before the reset, which the client's retry follows)
                self.link.failed_over.set()
            if failover in ("reset", "before") or not self.link.vanishes:
                self._reset_when_used(at_once=failover in ("reset", "before"))
            else:
                # (the address's new holder knows no such session; what the old primary took is never answered)
                _vanish(self.client, unread_reset=failover != "here")
            if failover == "before":  # this round trip, reset first, is the first to find its connection lost
                self.link._end(self._others)
        for end in (self.client, self.upstream, self._wake, self._woken):
            end.close()
        with self.link._lock:
            if self in self.link.links:
                self.link.links.remove(self)
        self.ended.set()
        if failover == "here":
            self.link.failed_over.set()

    def _reset_when_used(self, at_once: bool) -> None:
        """The client's end reset, as the address's new holder answers what comes on a session it does
        not know: ``at_once`` (a round trip under way, or data sent since the failover), else (without
        CAP_NET_ADMIN) once the client sends something more on the old connection."""
        self.ended.set()  # (for the failover: the client's end waits here)
        try:
            if at_once or self.client.recv(1):
                _reset(self.client)
        except OSError:
            pass

    def _forward(self) -> str | None:
        """Forward until either end closes (None: the other end is told) or a failover: "here", at the
        chunk ``fail_over_at`` awaited (the old primary took it); a reset of the client's end at the chunk
        ``fail_over_before`` awaited ("before"), at data its client sent after the failover, or at the
        link's failover with a round trip under way (see MovedAddressLink.fail_over); else "link's"."""
        other = {self.client: self.upstream, self.upstream: self.client}
        with selectors.DefaultSelector() as selector:
            for end in (self.client, self.upstream, self._woken):
                selector.register(end, selectors.EVENT_READ)
            while True:
                for key, _events in selector.select():
                    source = key.fileobj
                    if source is self._woken:
                        return "reset" if self.gone == "reset" else "link's"
                    data = source.recv(65536)
                    if not data:  # (its end closed: the other hears so; PostgreSQL's, a session it ended)
                        _shut(other[source])
                        return None
                    if source is self.client:
                        with self.link._lock:
                            if self.gone is not None:  # (after the failover: the new holder's)
                                return "reset"
                            failover = self.link._takes_over(self, data)
                        if failover is not None:  # (the old primary took it, and died; or it came just after)
                            when, self._others = failover
                            if when == "at":
                                self.link._end(self._others)
                                return "here"
                            return "before"  # (the others ended once this one's reset is sent: run)
                        self.upstream.sendall(data)
                    else:
                        if self.gone is not None:  # (the old primary is gone: nothing more of it)
                            return "reset" if self.gone == "reset" else "link's"
                        self._sealed = self._sealed or (data == b"S" and not self._tail)
                        self.client.sendall(data)
                        self._tail = (self._tail + data)[-6:]
                        if self._sealed or _READY.search(self._tail):  # (after it reached the client: at rest)
                            self.answered = True


class CommitCutLink(_Link):
    """A link that reads what the client sends (PostgreSQL's frontend messages) and, once ``arm()``ed,
    cuts the first connection that sends a COMMIT (a simple Query 'Q' one of whose statements is
    COMMIT, or a Parse 'P' of COMMIT): ``after`` PostgreSQL answered the COMMIT (it committed, before
    any question on another connection; its answer never reaches the client), or ``before`` it
    reached PostgreSQL (which rolls back as the session ends), or ``hold``: the COMMIT never reaches
    PostgreSQL, whose end of the connection is kept open (its session still in the transaction, as
    when a client vanished without a word) until PostgreSQL ends it (``held_ended``). The client sees
    its connection closed; PostgreSQL sees the end of its input (held: nothing). Other connections, and new
    ones, go through."""

    _NEGOTIATIONS = (80877103, 80877104)  # SSLRequest, GSSENCRequest: the client's startup goes on after them

    def __init__(self, target=("127.0.0.1", 5432)):
        self.armed: tuple[str, str] | None = None
        self.times = 0
        self._then_refuse = False
        self.cuts = 0
        self.refusing = False  # new connections closed at once (PostgreSQL out of reach for the asking)
        self.held_ended = threading.Event()  # PostgreSQL ended a session held open (``hold``)
        self._then_cut = self.cut_next = ""  # (arm's then_cut; cut_next: armed by a cut)
        self._lock = threading.Lock()
        super().__init__(target)

    def arm(
        self,
        when: str,
        sql_holds: str = "",
        times: int = 1,
        then_refuse: bool = False,
        at: str = "COMMIT",
        then_cut: str = "",
    ) -> None:
        """Cut at the next ``times`` COMMITs (``when``: "after" or "before" each reaches PostgreSQL, or
        "hold" it back with PostgreSQL's end kept open) whose transaction's statements (since the
        connection's last COMMIT or ROLLBACK, prepared ones by their SQL) hold ``sql_holds`` (e.g.
        "RELEASE SAVEPOINT": the group writer's; "INSERT INTO tickets": a ticket's, not a background
        loop's or the delivery worker's). ``at``: another statement to cut at instead of the COMMIT
        (e.g. "ROLLBACK TO SAVEPOINT qk_action"; "before" only). ``then_refuse``: once cut, new
        connections are refused (``refusing``) until told otherwise. ``then_cut``: once cut, the next
        statement that holds it, on any connection, is cut before it reaches PostgreSQL (e.g.
        "pg_xact_status": the server's question about the lost COMMIT fails, at once)."""
        assert when in ("after", "before", "hold") and (at == "COMMIT" or when == "before")
        with self._lock:
            self.armed, self.times, self._then_refuse = (when, sql_holds, at.upper()), times, then_refuse
            self._then_cut, self.cut_next = then_cut, ""

    def _joined(self, client: socket.socket) -> None:
        if self.refusing:
            _shut(client)
            client.close()
            return
        upstream = _upstream(self.target)
        committing = threading.Event()  # (set by _up as it forwards a COMMIT it cuts after)
        holding = threading.Event()  # (set by _up as it holds a COMMIT back: _down keeps PostgreSQL's end)
        threading.Thread(target=self._up, args=(client, upstream, committing, holding), daemon=True).start()
        threading.Thread(target=self._down, args=(client, upstream, committing, holding), daemon=True).start()

    def _up(
        self, client: socket.socket, upstream: socket.socket, committing: threading.Event, holding: threading.Event
    ) -> None:
        reader = client.makefile("rb")
        transaction: dict = {"prepared": {}, "sql": []}  # this connection's statements since its last end
        try:
            starting = True
            while True:
                if starting:  # untyped: length, then the body
                    head = reader.read(4)
                    if len(head) < 4:
                        break
                    body = reader.read(struct.unpack("!i", head)[0] - 4)
                    starting = struct.unpack("!i", body[:4])[0] in self._NEGOTIATIONS
                    upstream.sendall(head + body)
                    continue
                head = reader.read(5)
                if len(head) < 5:
                    break
                body = reader.read(struct.unpack("!i", head[1:])[0] - 4)
                when = self._cut_at(head[:1], body, transaction)
                if when is None:
                    upstream.sendall(head + body)
                    continue
                if when == "after":  # (_down cuts once PostgreSQL answered the COMMIT: it committed)
                    committing.set()
                    upstream.sendall(head + body)
                    continue
                if when == "hold":
                    holding.set()
                client.shutdown(socket.SHUT_RDWR)  # the client hears nothing more: its connection is lost
                client.close()
                if when == "before":
                    upstream.shutdown(socket.SHUT_WR)  # PostgreSQL reads what came, then the end
                return
        except OSError:
            pass
        _shut(client, upstream)

    def _cut_at(self, kind: bytes, body: bytes, transaction: dict) -> str | None:
        if kind == b"Q":
            sql = body.rstrip(b"\0").decode()
        elif kind == b"P":  # (a statement's name, then its SQL)
            name, sql = (part.decode() for part in body.split(b"\0")[:2])
            transaction["prepared"][name] = sql
        elif kind == b"B":  # (a portal's name, then its statement's: one prepared earlier, maybe)
            sql = transaction["prepared"].get(body.split(b"\0")[1].decode(), "")
        else:
            return None
        with self._lock:
            if self.cut_next and self.cut_next in sql:
                self.cut_next = ""
                return "before"
        statements = [part.strip().upper() for part in sql.split(";")]
        transaction["sql"].append(sql)
        held = " ".join(transaction["sql"])
        if "COMMIT" in statements or "ROLLBACK" in statements:
            transaction["sql"].clear()
        with self._lock:
            if self.armed is None:
                return None
            when, holds, at = self.armed
            if at not in statements or holds not in held:
                return None
            self.times -= 1
            if not self.times:
                self.armed = None
            self.cuts += 1
            self.refusing = self._then_refuse
            self.cut_next = self._then_cut
            return when

    # PostgreSQL's CommandComplete of a COMMIT; its ReadyForQuery (the query's end, had it not committed)
    _ANSWERED = (b"C\x00\x00\x00\x0bCOMMIT\x00", b"Z\x00\x00\x00\x05")

    def _down(
        self, client: socket.socket, upstream: socket.socket, committing: threading.Event, holding: threading.Event
    ) -> None:
        answer = b""  # PostgreSQL's answers since the COMMIT was forwarded: never the client's
        try:
            while data := upstream.recv(65536):
                if holding.is_set():  # (the client is gone: PostgreSQL's end stays open until it ends)
                    continue
                if not committing.is_set():
                    client.sendall(data)
                    continue
                answer += data
                if any(end in answer for end in CommitCutLink._ANSWERED):  # the client hears nothing more
                    committing.clear()
                    _shut(client)
                    client.close()
                    upstream.shutdown(socket.SHUT_WR)  # PostgreSQL reads the end (its session ends)
        except OSError:
            pass
        if holding.is_set():  # (PostgreSQL ended the held session)
            self.held_ended.set()
        _shut(client, upstream)
        for end in (client, upstream):
            end.close()

    def close(self) -> None:
        self.listener.close()
