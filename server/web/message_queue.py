"""Socket.IO's Redis message queue, bounded in time and made whole after an outage.

With several processes (``QUEUEKIOSK_MESSAGE_QUEUE=redis://…``) every live message goes to this
process's own clients at once and to the other processes through Redis. python-socketio's
RedisManager did that with no time limit and slow recovery:

- its publish, made inside the request that issued a ticket or called a number, had no socket
  timeout: a Redis that accepts connections and never answers (a stopped process, a paused VM, a
  host whose packets are dropped) held every issuing and counter request until Redis came back;
- it logged two ERROR lines for every message while Redis was down (hundreds a second);
- its listener waited 1, 2, 4 … up to 60 s between attempts to subscribe again, so for up to a
  minute after Redis returned this process heard nothing of the others, even though its screens had
  been told to take a fresh state already: a call made meanwhile never reached them.

Here a publish waits at most ``TIMEOUT_SECONDS`` and, once one failed, the messages of the next
``RETRY_SECONDS`` are dropped at once (one warning per outage); the first publish that goes through
again tells every screen of every process ``resync``. The listener tries again every
``RETRY_SECONDS``, waits for Redis to confirm the subscription, and only then tells this process's
own screens ``resync``: a snapshot taken after that misses nothing published later.
Every read from Redis has the same bound. ``drop_listener`` (called by server/web/resync.py when
Redis stops answering pings) ends a subscription whose connection went silent.

A request does not wait for Redis at all: its messages (a ticket is told to a dozen rooms) go to
this process's clients at once and into a list that one publishing greenlet sends as one Redis
message, with whatever other requests added meanwhile: one round trip, and one decoding on each
other process, for a busy moment's tickets instead of one per room per ticket. Each process publishes
on a channel of its own (the installation's channel, a dot, its ``host_id``: ``publishing_channel``) and
listens on patterns that match every such channel but its own (``others_patterns``): Redis never sends a
process its own batches back (a process alone is sent nothing), where a shared channel had every process
hear every batch, its own included, and skip it (a wake-up, a read of the batch's bytes and redis-py's
~80 calls a batch, in every process). The installation's channel itself is still listened to, for
python-socketio's messages of another program (an emitter). A ticket's message is one payload
told to a dozen rooms: in a batch it is one entry naming every room, which a receiving process tells
each of its rooms that has clients, as the sending process tells its own; a room without clients here
costs nothing, where python-socketio encoded the message for nobody. A payload's JSON is written once,
when first emitted (orjson; a payload is not changed once emitted), its further rooms only join its
entry. A batch is a one-line header of its entries (event, namespace, rooms, length) followed by
their payloads' JSON as written: a receiving process reads the header and puts the payloads of its
rooms into its clients' packets as they are, never reading one into Python objects (with every
process hearing every other's batches, that reading grew with the processes). Processes of an
earlier version wrote each payload inside the batch's JSON; such a batch is still heard (and the log
says so once), but they do not hear these: upgrade every process of an installation together
(docs/deployment.md). A batch goes to Redis in one send; the connections speak RESP2 (redis-py 8's
RESP3 reader formats each message received into a debug string). The channel is named by the Redis
database of the address: Redis delivers a channel's messages whatever database a client selected, so
two installations on one Redis (``/0`` and ``/1``) would otherwise each hear the other's calls.
"""

from __future__ import annotations

import json
import logging
import time
import uuid

import orjson
import redis
import socketio
from engineio import packet as eio_packet
from redis.backoff import NoBackoff
from redis.retry import Retry
from socketio import packet

from .extensions import PacketJSON

log = logging.getLogger("queuekiosk.message_queue")

TIMEOUT_SECONDS = 1.0  # the longest a request waits for Redis to take one message
RETRY_SECONDS = 1.0  # after a failure: messages dropped at once, the listener tries again this often
RESYNC = {"reason": "message_queue"}
BATCH = "queuekiosk.batch"  # a published message that carries several of Socket.IO's, each whole (JSON)
FRAMED = "queuekiosk.framed"  # the same, each emit's payload after the header as written (see _encode_batch)
WHOLE = "queuekiosk.whole"  # a BATCH by a process that writes FRAMED ones, of what orjson does not write
MAX_BATCH = 500  # messages in one published message
MAX_PENDING = 20_000  # messages waiting for a Redis that hangs (a second's worth at most); past it they are dropped


MAX_PACKET_HEADS = 64  # events whose packet head is kept (the app emits a few dozen kinds)
CHECKED_PAYLOADS = 4  # payloads whose JSON emit remembers (a ticket's payload and the displays' copy)
EACH_ROOM = "queuekiosk.each_room"  # an emit entry whose "room" lists rooms each told on its own
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS  # a date, a dataclass: refused


class _Written:
    """An emit's payload with its JSON written once for all its rooms: ``payload_json`` goes after the
    batch's header and into this process's clients' packets; ``data`` (``[payload]``) where the standard
    library's JSON writes the batch instead."""

    __slots__ = ("data", "payload_json")

    def __init__(self, data: list, payload_json: bytes):
        self.data, self.payload_json = data, payload_json


def has_binary_parts(data) -> bool:
    """``Packet.data_is_binary``'s answer (bytes or a bytearray anywhere in lists and in dicts' values),
    stopping at the first found instead of building a list at every level: a ticket's payloads are
    looked through three times a ticket."""
    if isinstance(data, dict):
        data = data.values()
    elif not isinstance(data, list):
        return isinstance(data, (bytes, bytearray))
    for item in data:
        if isinstance(item, (dict, list)):
            if has_binary_parts(item):
                return True
        elif isinstance(item, (bytes, bytearray)):
            return True
    return False


def channel_of(url: str) -> str:
    """The Socket.IO channel of a Redis address: python-socketio's usual name for database 0."""
    database = redis.connection.parse_url(url).get("db", 0) or 0
    return "flask-socketio" if int(database) == 0 else f"flask-socketio-db{database}"


def publishing_channel(channel: str, host_id: str) -> str:
    """The channel a process publishes its batches on: the installation's, a dot, the process's id."""
    return f"{channel}.{host_id}"


def others_patterns(channel: str, host_id: str) -> list[str]:
    """Redis glob patterns that match the publishing channel of every process of ``channel`` but the one
    of ``host_id``, each such channel exactly one of them (the one of the first character where its id
    differs: ``channel.`` then the id's first ``i`` characters, then any but the id's next one, then
    anything); then ``channel`` itself, matched as it is (python-socketio's messages of another program)."""
    base = _glob_escaped(channel) + "."
    patterns = [f"{base}{_glob_escaped(host_id[:i])}[^{_glob_escaped(host_id[i])}]*" for i in range(len(host_id))]
    return [*patterns, _glob_escaped(channel)]


def every_process_pattern(url: str) -> str:
    """A Redis glob pattern matching the batches of every process of the installation at ``url`` (a look at
    what goes through Redis: tests, benchmarks)."""
    return _glob_escaped(channel_of(url)) + ".*"


_GLOB_SPECIAL = "\\*?[]^-"


def _glob_escaped(text: str) -> str:
    return "".join("\\" + character if character in _GLOB_SPECIAL else character for character in text)


def redis_client(url: str, **options) -> redis.Redis:
    """A client making one attempt per call (redis-py would retry three times with back-off: the caller
    decides), speaking RESP2 (``protocol=2``; ``?protocol=3`` in the address chooses otherwise): redis-py
    8 speaks RESP3 by default, and its RESP3 reader formats every pub/sub message it receives into a
    string for a debug line whether or not that line is logged (``str()`` of the message, its bytes
    escaped one by one: ~45 instructions a byte, of each batch in each process; 3 % of a ticket's)."""
    options.setdefault("protocol", 2)
    return redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0), **options)


def read_batch(data: bytes) -> tuple[dict, int] | None:
    """A batch of queuekiosk's as published: its JSON (of a FRAMED batch, its header line) and where its
    payloads begin; None for what is not one. A WHOLE batch is read by the standard library (it holds what
    orjson does not write: an int past 64 bits, which orjson would read as a float)."""
    header_end = data.find(b"\n")  # a FRAMED batch's header is its first line; the others have no line end
    try:
        message = orjson.loads(data if header_end < 0 else memoryview(data)[:header_end])
    except orjson.JSONDecodeError:  # NaN, say, which orjson does not read
        message = None
    if header_end < 0 and (message is None or isinstance(message, dict) and message.get("method") == WHOLE):
        try:
            message = json.loads(data)
        except ValueError:
            return None
    if (
        not isinstance(message, dict)
        or message.get("method") not in (FRAMED, WHOLE, BATCH)
        or not isinstance(message.get("messages"), list)
        or (message["method"] == FRAMED) != (header_end >= 0)  # (a FRAMED batch, and only one, has its line end)
    ):
        return None
    return message, len(data) if header_end < 0 else header_end + 1


def batch_messages(data: bytes) -> list[dict]:
    """The python-socketio messages a published batch carries, in order, each emit whole (its ``room`` and
    its payload in ``data``): for a look at what goes through Redis (tests, benchmarks). A process hears
    a FRAMED batch without reading its payloads (``BoundedRedisManager._hear_framed``)."""
    read = read_batch(data)
    if read is None:
        return []
    message, offset = read
    if message["method"] != FRAMED:
        return message["messages"]
    messages = []
    for item in message["messages"]:
        if isinstance(item, dict):
            messages.append(item)
            continue
        event, namespace, rooms, length = item
        payload = orjson.loads(data[offset : offset + length])
        messages.append({"method": "emit", "event": event, "namespace": namespace, "room": rooms, "data": [payload]})
        offset += length
    return messages


class BoundedRedisManager(socketio.RedisManager):
    def __init__(self, url: str, channel: str | None = None):
        super().__init__(url, channel=channel or channel_of(url))
        # others_patterns tells ids apart by their first differing character: every process's id must
        # be of one length (one a prefix of another would hear neither), whatever python-socketio makes
        self.host_id = uuid.uuid4().hex
        self._publisher = redis_client(url, socket_timeout=TIMEOUT_SECONDS)
        self._publish_again_at = 0.0
        self.dropped = 0  # messages not sent to the other processes since the last that was
        self._pending: list = []  # messages for the publishing greenlet, in order (an emit entry: a list)
        self._wake = None  # set when there is something to publish; made in the serving process
        self.batches = 0  # published messages (each carrying one or more), for tests and benchmarks
        self._earlier_version_said = False  # a batch of a process of an earlier version heard (warned once)
        self._written: list[tuple] = []  # the last payloads emitted, each with its _Written (None: not by orjson)
        self._open: tuple | None = None  # (payload, event, namespace, entry) of the last pending emit entry
        self._batch_opening = None  # how this process's batches begin (host_id, method), made once
        self._connection = None  # the publishing greenlet's own connection to Redis
        self._publish_head = None  # the PUBLISH command's start, on this process's channel: made once
        self._packet_heads: dict[str, str] = {}  # an event's packet text before its payload: '2["event",'

    def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        """python-socketio's emit, for the way a committed action is told: one payload to a dozen rooms
        in turn. The payload's JSON is written once (orjson: a payload it does not take, binary parts
        included, goes python-socketio's way), and its rooms after the first only join its entry of the
        batch: a room costs a look at this process's clients and an append."""
        room = to or room
        if kwargs.get("ignore_queue") or callback is not None or skip_sid is not None or not isinstance(room, str):
            return super().emit(
                event, data, namespace=namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs
            )
        namespace = namespace or "/"
        opened = self._open
        if (
            opened is None
            or opened[0] is not data
            or opened[1] != event
            or opened[2] != namespace
            or not self._pending
            or self._pending[-1] is not opened[3]
        ):
            opened = None
            written = self._written_of(data)
            if written is None:  # what orjson does not write
                return self._emit_apart(event, data, namespace, room, **kwargs)
        else:
            written = opened[3][3]
        self._tell_here(event, data, namespace, (room,), written.payload_json)  # this process's clients, if any
        if opened is not None:  # the same payload to one more room: one entry, written once
            opened[3][2].append(room)
            return None
        if time.monotonic() < self._publish_again_at or len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return None
        self._queue_emit(event, data, written, namespace, [room])
        return None

    def emit_to_rooms(self, event: str, data, rooms, namespace: str = "/") -> None:
        """``emit(event, data, to=room)`` for each of ``rooms`` in turn, in one call: what a committed
        action tells a dozen rooms (realtime.publish), without python-socketio's and Flask-SocketIO's
        emit around each room (their arguments, a log call: ~2 µs a room). The rooms are one entry of
        the batch, as emits of one payload one after another are."""
        rooms = list(rooms)
        written = self._written_of(data) if rooms else None
        if written is None:  # no rooms, or a payload orjson does not write: each emit as usual
            for room in rooms:
                self.emit(event, data, namespace=namespace, room=room)
            return
        self._tell_here(event, data, namespace, rooms, written.payload_json)  # this process's clients
        if time.monotonic() < self._publish_again_at or len(self._pending) >= MAX_PENDING:
            self.dropped += len(rooms)
            return
        self._queue_emit(event, data, written, namespace, rooms)

    def _queue_emit(self, event, data, written, namespace, rooms: list) -> None:
        """A batch entry telling ``rooms`` the payload written once, kept open for more rooms of it:
        ``[event, namespace, rooms, written]`` (a python-socketio message is a dict)."""
        entry = [event, namespace, rooms, written]
        self._open = (data, event, namespace, entry)
        self._queue(entry)

    def _emit_apart(self, event, data, namespace, room, **kwargs):
        """A payload orjson does not write: binary parts, a tuple of arguments (python-socketio's way),
        an int past 64 bits or a key not a str (an entry of its own, for the standard library's JSON)."""
        if isinstance(data, tuple) or data is None or has_binary_parts(data):
            return super().emit(event, data, namespace=namespace, room=room, **kwargs)
        message = {
            "method": "emit",
            "event": event,
            "data": [data],
            "binary": False,
            "namespace": namespace,
            "room": room,
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
        }
        self._handle_emit(message)  # this process's clients
        self._publish(message)  # the other processes'
        return None

    def _tell_here(self, event: str, data, namespace: str, rooms, payload_json: bytes | None = None) -> None:
        """python-socketio's ``Manager.emit`` to each of ``rooms`` that has clients in this process, the
        packet made once for all of them, for a payload known to have no binary parts (orjson wrote it, or
        it came in a batch as JSON): made without looking through the payload for them again
        (``Packet.data_is_binary``, recursive, at every emit). A payload already written (``payload_json``:
        for the batch, or as heard from it) is not written again: its packet is that JSON with the event's
        name before it, what python-socketio's Packet writes with the packets' JSON (PacketJSON: orjson);
        ~1 us against ~7 for the Packet's."""
        here = self.rooms.get(namespace)
        if not here:
            return
        message = None
        for room in rooms:
            if room not in here:  # (python-socketio drops a room its last client left)
                continue
            if message is None:
                message = eio_packet.Packet(eio_packet.MESSAGE, self._encoded(event, data, namespace, payload_json))
            # the room's clients copied as get_participants copies them (a client that leaves while they
            # are told changes the room), without its generator and checks around each room; its bidict's
            # private mapping, read as python-socketio 5.18.1's get_participants reads it: check on upgrade
            for eio_sid in here[room]._fwdm.copy().values():
                try:  # one client's failed send keeps no other client of the message from it (heard from
                    self.server._send_eio_packet(eio_sid, message)  # another process, or emitted here)
                except Exception:  # noqa: BLE001 - the others are told; the client's own connection ends it
                    self.server.logger.exception("a live message could not be sent to one client")

    def _encoded(self, event: str, data, namespace: str, payload_json: bytes | None) -> str:
        if payload_json is not None and namespace == "/" and self._packets_by_orjson():
            named = type(event) is str
            head = self._packet_heads.get(event) if named else None
            if head is None:  # (a handful of events: each its head written once)
                head = f"{packet.EVENT}[{orjson.dumps(event).decode()},"
                if named:
                    if len(self._packet_heads) >= MAX_PACKET_HEADS:
                        self._packet_heads.clear()
                    self._packet_heads[event] = head
            return f"{head}{payload_json.decode()}]"
        if data is None:
            arguments = [event]
        elif isinstance(data, tuple):
            arguments = [event, *data]
        else:
            arguments = [event, data]
        return self.server.packet_class(packet.EVENT, namespace=namespace, data=arguments, binary=False).encode()

    def _packets_by_orjson(self) -> bool:
        """Whether this server writes its packets as python-socketio's Packet with PacketJSON (the app's)."""
        packet_class = self.server.packet_class
        return packet_class is packet.Packet and packet_class.json is PacketJSON

    def _written_of(self, data) -> _Written | None:
        """``data``'s _Written, made once for the last few payloads (a ticket's rooms are told in turn one
        payload and the displays' shorter copy of it); None for a payload orjson does not write."""
        for payload, written in self._written:
            if payload is data:  # (the payload itself is kept, so its id is not another's)
                return written
        written = None
        if not isinstance(data, tuple) and data is not None:
            try:
                written = _Written([data], orjson.dumps(data, option=_ORJSON))
            except orjson.JSONEncodeError:  # bytes, an int past 64 bits, a key not a str, a date
                pass
        self._written = [(data, written), *self._written[: CHECKED_PAYLOADS - 1]]
        return written

    def _encode_batch(self, batch: list) -> list[bytes]:
        """A batch as one message, in parts (``_publish_now`` joins them once, inside its command): a header
        of one line, ``{"host_id": "…", "method": "queuekiosk.framed", "messages": [...]}`` (the opening written
        by the standard library, which a receiving process looks for, the rest by orjson), then each emit's
        payload JSON as it was written for this process's clients, one after another. In the header an emit
        is ``[event, namespace, rooms, its payload's length]`` and a python-socketio message (a dict) is
        itself, in their order. A receiving process reads the header only and slices out the payloads of
        rooms it has clients in, already written: none is read into Python objects and written again.
        A message orjson does not take (an int past 64 bits, a key not a str) or would write otherwise (a
        date, a dataclass: refused as before) makes the batch go as one JSON document, the standard
        library's, each payload in its entry as processes of earlier versions wrote their batches (``WHOLE``:
        read by the standard library, which keeps an int past 64 bits whole)."""
        header, payloads = [], []
        for entry in batch:
            if type(entry) is list:
                payload_json = entry[3].payload_json
                header.append([entry[0], entry[1], entry[2], len(payload_json)])
                payloads.append(payload_json)
            else:
                header.append(entry)
        try:
            messages = orjson.dumps(header, option=_ORJSON)
        except orjson.JSONEncodeError:
            whole = [entry if type(entry) is not list else self._as_message(entry) for entry in batch]
            return [self.json.dumps({"host_id": self.host_id, "method": WHOLE, "messages": whole}).encode()]
        if self._batch_opening is None:
            self._batch_opening = self.json.dumps({"host_id": self.host_id, "method": FRAMED})[:-1].encode()
            self._batch_opening += b', "messages": '
        return [self._batch_opening, messages, b"}\n", *payloads]

    @staticmethod
    def _as_message(entry: list) -> dict:
        """An emit entry as an entry of a ``WHOLE`` batch (its payload in it)."""
        event, namespace, rooms, written = entry
        return {
            "method": "emit",
            "event": event,
            "data": written.data,
            "namespace": namespace,
            "room": rooms,
            EACH_ROOM: True,
        }

    def _handle_emit(self, message):
        """An emit to this process's clients: to each room that has some here, and only those."""
        room = message.get("room")
        if message.get("callback") is not None or room is None:
            return super()._handle_emit(message)  # a broadcast, or one that waits for an answer
        rooms = self.rooms.get(message.get("namespace") or "/", {})
        if isinstance(room, str) and not rooms.get(room):
            return None  # nobody here: python-socketio would encode the message for no one
        return super()._handle_emit(message)

    def _publish(self, data):
        if time.monotonic() < self._publish_again_at or len(self._pending) >= MAX_PENDING:
            self.dropped += 1
            return None
        self._queue(data)
        return None

    def _queue(self, data: dict | list) -> None:
        """``data`` for the publishing greenlet (started at the first)."""
        self._pending.append(data)
        if self._wake is None:
            self._wake = self.server.eio.create_event()
            self.server.start_background_task(self._publish_pending)
        self._wake.set()
        return None

    def _publish_pending(self):
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    self._send(batch)
                except Exception:  # noqa: BLE001 - the greenlet must outlive any one message
                    log.exception("the message queue could not send %d messages", len(batch))

    def _send(self, batch: list) -> None:
        if time.monotonic() < self._publish_again_at:
            self.dropped += len(batch)
            return
        try:
            self._publish_now(self._encode_batch(batch))
            self.batches += 1
        except redis.RedisError as error:
            self._publish_again_at = time.monotonic() + RETRY_SECONDS
            if not self.dropped:
                log.warning(
                    "the message queue (%s) takes no messages (%s): calls and tickets go on, but screens "
                    "connected to other server processes do not hear of them until it answers again; then "
                    "every screen takes a fresh state. Start Redis (systemctl start redis-server) or check "
                    "QUEUEKIOSK_MESSAGE_QUEUE.",
                    self.redis_url.split("@")[-1],
                    error,
                )
            self.dropped += len(batch)
            return
        if self.dropped:
            self.resync_everyone()

    def _publish_now(self, parts: list[bytes]) -> None:
        """PUBLISH the message made of ``parts`` in one send (redis-py sends a value past 6,000 bytes apart
        from the command, three sends a batch, each waking Redis), the command written around them in one
        join (a batch is ~12 KB: each ``+`` copied it whole), on the publishing greenlet's own connection,
        and read Redis's answer; a connection that failed is dropped (the next batch connects again)."""
        size = sum(len(part) for part in parts)
        if self._publish_head is None:
            channel = publishing_channel(self.channel, self.host_id).encode()
            self._publish_head = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n" % (len(channel), channel)
        command = b"".join([self._publish_head, b"$%d\r\n" % size, *parts, b"\r\n"])
        connection = self._connection
        if connection is None:
            connection = self._connection = self._publisher.connection_pool.make_connection()
        try:
            connection.connect()  # (connected already: nothing)
            try:  # as redis-py's pool checks a connection it hands out: closed by Redis (restarted), or an
                stale = connection.can_read()  # answer left unread (a timeout): a fresh connection instead
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                stale = True
            if stale:
                connection.disconnect()
                connection.connect()
            connection.send_packed_command([command], check_health=False)
            connection.read_response()
        except BaseException:
            connection.disconnect()
            raise

    def _listen(self):
        """Socket.IO's messages from the other processes: each batch unpacked. Redis sends this process
        only the others' batches (others_patterns), and what is published on the installation's channel:
        python-socketio's messages of another program (an emitter), batches of an earlier version."""
        channel = self.channel.encode()
        batch_opening = self.json.dumps({"host_id": ""})[:-3].encode()  # '{"host_id": ' as this json writes it
        for heard in self._redis_listen_with_retries():
            if heard["type"] not in ("pmessage", "message"):
                continue
            data = heard["data"]
            earlier = heard["channel"] == channel  # (this version's batches go on channels of their own)
            if earlier and not data.startswith(batch_opening):
                yield data  # a message of python-socketio's own form
                continue
            read = read_batch(data)
            if read is None:
                continue
            message, payloads_at = read
            if earlier and not self._earlier_version_said:
                self._earlier_version_said = True
                log.warning(
                    "a queuekiosk process of an earlier version publishes on this message queue (%s): its "
                    "screens do not hear this process's calls and tickets. Stop every process of the "
                    "installation, then start them all on this version (docs/deployment.md, Upgrading).",
                    self.redis_url.split("@")[-1],
                )
            if message["method"] == FRAMED:
                yield from self._hear_framed(message["messages"], data, payloads_at)
            else:
                yield from self._hear_whole(message["messages"])

    def _hear_framed(self, header: list, data: bytes, offset: int):
        """A FRAMED batch's messages in order: each emit told to this process's clients at once, a
        python-socketio message handed on (yielded) to python-socketio's loop. Where none of an emit's rooms
        has a client here (a ticket's own room, the counters' and dashboard's of a centre whose consoles are
        on the other process) its payload is not looked at: checked in this loop, the half of a ticket's
        entries no one hears here costs no call (every process hears every other's batches)."""
        size = len(data)
        rooms_of = self.rooms
        for item in header:
            if isinstance(item, dict):
                yield item
                continue
            try:
                event, namespace, rooms, length = item
                start, offset = offset, offset + length
                if type(length) is not int or length < 0 or offset > size:  # (a payload cut short: unreadable JSON)
                    raise ValueError
            except (TypeError, ValueError):  # not an entry of this form: where the next payloads begin is not known
                self.server.logger.error(
                    "a batch heard through the message queue has an entry not understood: %.200r", item
                )
                return
            try:
                here = rooms_of.get(namespace)
                if here and not here.keys().isdisjoint(rooms):  # (python-socketio drops a room its last client left)
                    self._tell_framed(event, namespace, rooms, data, start, offset)
            except Exception:  # noqa: BLE001 - as python-socketio's loop: the next goes on
                self.server.logger.exception("Handler error in pubsub listening thread")

    def _tell_framed(self, event: str, namespace: str, rooms: list, data: bytes, start: int, end: int) -> None:
        """An emit of another process's FRAMED batch, some of whose ``rooms`` have clients here, told to them
        as python-socketio's ``_handle_emit`` tells each of its rooms, without its loop around each message
        (its checks and a debug line formatted for each, logged or not): its JSON, as the sender wrote it for
        its own clients, goes into the packet with the event's name before it (``_encoded``): the bytes
        python-socketio's Packet makes with the app's JSON (PacketJSON), made without reading the payload."""
        payload_json = data[start:end]
        if namespace == "/" and self._packets_by_orjson():
            self._tell_here(event, None, namespace, rooms, payload_json)
        else:
            self._tell_here(event, (orjson.loads(payload_json),), namespace, rooms)

    def _hear_whole(self, entries: list):
        """A WHOLE batch's messages in order (or a BATCH, of a process of an earlier version): each emit entry
        told here at once, others handed on."""
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            if (
                entry.get(EACH_ROOM)
                and entry.get("method") == "emit"
                and entry.get("callback") is None
                and isinstance(entry.get("room"), list)
            ):
                try:  # told here, in order (python-socketio's loop waits while this runs)
                    self._tell_heard(entry)
                except Exception:  # noqa: BLE001 - as python-socketio's loop: the next goes on
                    self.server.logger.exception("Handler error in pubsub listening thread")
                continue
            yield entry

    def _anyone_in(self, namespace: str, rooms: list) -> bool:
        """Whether a client of this process is in any of ``rooms`` (else a heard payload is not looked at);
        _hear_framed checks the same in its own loop, written out there to save a call an entry."""
        here = self.rooms.get(namespace)
        return bool(here) and not here.keys().isdisjoint(rooms)  # (python-socketio drops a room its last client left)

    def _tell_heard(self, entry: dict) -> None:
        """An emit entry of a WHOLE batch told to this process's clients as ``_tell_framed`` tells one, its
        payload written again by orjson for the packet."""
        namespace = entry.get("namespace") or "/"
        rooms = entry["room"]
        if not self._anyone_in(namespace, rooms):
            return
        data = tuple(entry["data"])  # the arguments (one, the payload): _encoded keeps a null one as null
        payload_json = None
        if len(data) == 1 and namespace == "/" and self._packets_by_orjson():
            try:
                payload_json = orjson.dumps(data[0], option=_ORJSON)
            except orjson.JSONEncodeError:  # (a guard: this class's entries hold payloads orjson wrote)
                pass
        self._tell_here(entry["event"], data, namespace, rooms, payload_json)

    def resync_everyone(self) -> None:
        """After messages were dropped: every screen of every process takes a fresh state."""
        dropped, self.dropped = self.dropped, 0
        log.warning(
            "the message queue takes messages again (%d were not sent to the other processes): every "
            "screen takes a fresh state",
            dropped,
        )
        self.emit("resync", RESYNC, namespace="/")  # here at once, and through Redis to the others

    def drop_listener(self) -> None:
        """End the subscription's connection (Redis stopped answering): the listener connects again."""
        pubsub = self.pubsub
        if pubsub is not None and pubsub.connection is not None:
            pubsub.connection.disconnect()

    def _redis_listen_with_retries(self):
        lost = False
        while True:
            pubsub = None
            try:
                # every read bounded (a Redis that went silent cannot hold the listener), and the wait
                # for the next message a poll of at most a second at a time
                client = redis_client(self.redis_url, socket_timeout=TIMEOUT_SECONDS, socket_keepalive=True)
                pubsub = client.pubsub()
                # one command: Redis confirms each pattern in turn, with no message between
                patterns = others_patterns(self.channel, self.host_id)
                pubsub.psubscribe(*patterns)
                deadline = time.monotonic() + TIMEOUT_SECONDS
                for _pattern in patterns:
                    confirmed = pubsub.get_message(timeout=max(deadline - time.monotonic(), 0.001))
                    if not confirmed or confirmed.get("type") != "psubscribe":
                        raise redis.ConnectionError("Redis did not confirm the subscription")
                self.pubsub = pubsub
                if lost:
                    lost = False
                    log.warning("the message queue delivers again: every screen of this process takes a fresh state")
                    self.emit("resync", RESYNC, namespace="/", ignore_queue=True)  # this process's own
                while pubsub.subscribed:
                    message = pubsub.get_message(timeout=TIMEOUT_SECONDS)
                    if message is not None:
                        yield message
                raise redis.ConnectionError("the subscription ended")
            except Exception as error:  # noqa: BLE001 - whatever ended the subscription, subscribe again
                if not lost:
                    log.warning(
                        "the message queue (%s) does not deliver (%s): events of other processes do not "
                        "reach this process's screens until it does",
                        self.redis_url.split("@")[-1],
                        error,
                    )
                lost = True
            self.pubsub = None
            if pubsub is not None:
                try:
                    pubsub.close()
                except Exception:  # noqa: BLE001, S110 - its connection is gone already
                    pass
            time.sleep(RETRY_SECONDS)
