"""What one process's message queue sends reaches a client of another process as the same JSON a
client of the sending process gets (server/web/message_queue.py writes its batches with orjson and
reads them back with orjson): text outside ASCII, nested lists and maps, floats, an int past 64 bits
(which orjson does not take: the standard library's way) and a batch of several payloads."""

from __future__ import annotations

import json
import logging
import time

import redis
import socketio
from engineio.packet import MESSAGE
from engineio.packet import Packet as EngineIOPacket
from hypothesis import example, given, settings
from hypothesis import strategies as st
from socketio.packet import EVENT, Packet

from queuekiosk.server.web.extensions import PacketJSON
from queuekiosk.server.web.message_queue import (
    EACH_ROOM,
    MAX_PACKET_HEADS,
    BoundedRedisManager,
    channel_of,
    has_binary_parts,
    publishing_channel,
)

PAYLOADS = [
    {"ticket": {"number": 1001, "service": "HT", "name": "Hộ tịch – đăng ký khai sinh", "tags": ["ưu tiên", None]}},
    {"waiting": {"HT": 3, "CT": 0}, "minutes": 2.5, "share": 1e-7, "big": 10**20, "ok": True},
    {"display": {"text": "Mời số 1001 đến quầy 3 🙂", "counters": [[1, "A"], [2, "B"]]}},
]


def _process(url, received=None, host_id=None):
    manager = BoundedRedisManager(url)
    manager.host_id = host_id or manager.host_id
    server = socketio.Server(client_manager=manager, async_mode="threading")
    manager.initialize()  # the listener, as when a first client connects
    if received is not None:
        server._send_eio_packet = lambda _eio_sid, packet: received.append(packet.encode())
        manager.connect("eio-1", "/")
        manager.enter_room(manager.sid_from_eio_sid("eio-1", "/"), "/", "site:display:lobby")
    return server, manager


def test_payloads_reach_a_client_of_another_process_as_the_same_json(redis_server):
    heard_there, heard_here = [], []
    _there, _ = _process(redis_server.url, heard_there)
    here, here_manager = _process(redis_server.url, heard_here)
    time.sleep(0.5)  # both listeners subscribed
    for payload in PAYLOADS:  # each its own batch: the int past 64 bits sends only its own the other way
        here.emit("ticket.called", payload, to="site:display:lobby")
        time.sleep(0.1)
    for payload in PAYLOADS[::2]:  # and a batch of several
        here.emit("ticket.called", payload, to="site:display:lobby")
    deadline = time.monotonic() + 5
    while len(heard_there) < len(PAYLOADS) + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes

    def decoded(packets):
        return [json.loads(p[p.index("[") :]) for p in packets]

    assert decoded(heard_there) == [["ticket.called", p] for p in PAYLOADS + PAYLOADS[::2]]
    assert heard_there == heard_here  # to the character: the int past 64 bits whole, not 1e+20
    assert here_manager.batches >= 4 and not here_manager.dropped


_LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.binary(max_size=3)
)
_PAYLOADS = st.recursive(
    _LEAVES | st.builds(bytearray, st.binary(max_size=2)),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
)


@given(_PAYLOADS)
@settings(max_examples=500, deadline=None)
def test_binary_parts_are_found_where_python_socketio_finds_them(payload):
    """The message queue's look for binary parts (which decides how a payload is sent) answers as
    python-socketio's own does, for any nesting of lists, dicts, text, numbers, bytes and bytearrays."""
    assert has_binary_parts(payload) is Packet.data_is_binary(payload)
    assert has_binary_parts([payload]) is Packet.data_is_binary([payload])


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_batch_heard_is_not_formatted_into_a_debug_line(redis_server):
    """The listener reads Redis's replies as RESP2: redis-py 8's RESP3 reader formats each pub/sub message
    it receives, whole, into a debug line ("Push response: [b'message', ...]") even when nothing logs
    debug lines, a cost of every batch in every process. With its logger open here, none is made."""
    records = _Records()
    logger = logging.getLogger("push_response")
    level, logger.level = logger.level, logging.DEBUG
    logger.addHandler(records)
    try:
        heard = []
        _there, there_manager = _process(redis_server.url, heard)
        here, _ = _process(redis_server.url)
        time.sleep(0.5)  # both listeners subscribed
        here.emit("ticket.called", PAYLOADS[0], to="site:display:lobby")
        deadline = time.monotonic() + 5
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard, "the other process's client heard nothing"
        assert [r.getMessage()[:40] for r in records.records] == []
        assert there_manager.pubsub.connection.protocol == 2
    finally:
        logger.removeHandler(records)
        logger.level = level


def test_a_batch_with_a_payload_orjson_does_not_write_reaches_the_other_process_whole(redis_server):
    """Payloads told to several rooms at once, one of them with an int past 64 bits (the standard
    library's JSON writes that batch), reach a client of another process in each of its rooms, in order."""
    heard_there = []
    _there, there_manager = _process(redis_server.url, heard_there)
    there_manager.enter_room(there_manager.sid_from_eio_sid("eio-1", "/"), "/", "site:dashboard")
    here, here_manager = _process(redis_server.url)
    time.sleep(0.5)  # both listeners subscribed
    for payload in PAYLOADS:  # one after another, no pause: one batch
        for room in ("site:display:lobby", "site:counter:1", "site:dashboard"):
            here.emit("ticket.called", payload, to=room)
    deadline = time.monotonic() + 5
    while len(heard_there) < 2 * len(PAYLOADS) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes
    heard = [json.loads(p[p.index("[") :]) for p in heard_there]
    assert heard == [["ticket.called", p] for p in PAYLOADS for _room in range(2)]
    assert here_manager.batches >= 1 and not here_manager.dropped  # (one batch, unless the sender woke between)


def test_emit_to_rooms_tells_each_room_here_and_there_as_emits_to_each_would(redis_server):
    """``emit_to_rooms`` (one call for a payload's rooms) tells this process's clients and another
    process's what ``emit`` to each room in turn tells them: a client in two of the rooms twice, one in
    none of them nothing, and a payload orjson does not write (an int past 64 bits) the same way."""
    heard_there, heard_here = [], []
    _there, there_manager = _process(redis_server.url, heard_there)
    there_manager.enter_room(there_manager.sid_from_eio_sid("eio-1", "/"), "/", "site:dashboard")
    _here, here_manager = _process(redis_server.url, heard_here)
    here_manager.connect("eio-2", "/")
    here_manager.enter_room(here_manager.sid_from_eio_sid("eio-2", "/"), "/", "site:counter:9")  # none of them
    time.sleep(0.5)  # both listeners subscribed
    rooms = ["site:display:lobby", "site:counter:1", "site:dashboard"]
    for payload in PAYLOADS:
        here_manager.emit_to_rooms("ticket.called", payload, rooms)
    deadline = time.monotonic() + 5
    while len(heard_there) < 2 * len(PAYLOADS) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes

    def decoded(packets):
        return [json.loads(p[p.index("[") :]) for p in packets]

    assert decoded(heard_there) == [["ticket.called", p] for p in PAYLOADS for _room in range(2)]
    assert decoded(heard_here) == [["ticket.called", p] for p in PAYLOADS]  # eio-1 in the lobby only
    assert not here_manager.dropped


_JSON_PAYLOADS = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=20,
).filter(lambda payload: not isinstance(payload, (list, type(None))))  # a list or None: python-socketio's arguments


def test_a_packet_to_this_process_s_clients_is_the_one_python_socketio_writes(redis_server, monkeypatch):
    """A payload the message queue wrote for its batch is not written again for this process's clients: their
    packet is that JSON with the event's name before it, which must be, to the byte, the packet python-socketio
    writes with the app's JSON (PacketJSON), by ``emit`` and by ``emit_to_rooms``, for any JSON payload."""
    monkeypatch.setattr(Packet, "json", PacketJSON)  # as the app's server sets it
    heard_here: list[str] = []
    here, here_manager = _process(redis_server.url, heard_here)

    @given(_JSON_PAYLOADS, st.sampled_from(["ticket.called", 'quote "ü"']))
    @settings(max_examples=200, deadline=None)
    def check(payload, event):
        heard_here.clear()
        here.emit(event, payload, to="site:display:lobby")
        here_manager.emit_to_rooms(event, payload, ["site:counter:1", "site:display:lobby"])
        expected = EngineIOPacket(MESSAGE, Packet(EVENT, namespace="/", data=[event, payload]).encode()).encode()
        assert heard_here == [expected, expected]

    check()
    assert not here_manager.dropped


def test_a_batch_of_a_process_of_an_earlier_version_is_told_here(redis_server, caplog):
    """A process of an earlier version (during an upgrade) wrote each payload inside its batch's JSON
    (``queuekiosk.batch``): a client here hears each emit of it, in order with the python-socketio message
    between them, and nothing of an entry whose rooms have no client here. The log says once that such a
    process is there (its screens do not hear this version's batches)."""
    heard_there: list[str] = []
    _there, _there_manager = _process(redis_server.url, heard_there)
    time.sleep(0.5)  # the listener subscribed
    entry = {"method": "emit", "event": "ticket.called", "namespace": "/", EACH_ROOM: True}
    batch = {
        "host_id": "an-older-process",
        "method": "queuekiosk.batch",
        "messages": [
            {**entry, "data": [PAYLOADS[0]], "room": ["site:counter:1", "site:display:lobby"]},
            {**entry, "data": [PAYLOADS[2]], "room": ["site:counter:1"]},
            {"method": "emit", "event": "resync", "data": [{"reason": "x"}], "namespace": "/", "room": None},
            {**entry, "data": [PAYLOADS[2]], "room": ["site:display:lobby"]},
        ],
    }
    for _ in range(2):
        redis.Redis.from_url(redis_server.url).publish(channel_of(redis_server.url), json.dumps(batch))
    deadline = time.monotonic() + 5
    while len(heard_there) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more comes
    assert [json.loads(p[p.index("[") :]) for p in heard_there] == 2 * [
        ["ticket.called", PAYLOADS[0]],
        ["resync", {"reason": "x"}],
        ["ticket.called", PAYLOADS[2]],
    ]
    said = [r.getMessage() for r in caplog.records if "earlier version" in r.getMessage()]
    assert len(said) == 1 and "Stop every process" in said[0], said


def test_a_batch_is_told_in_its_order_and_a_failed_send_keeps_nothing_else_from_its_clients(redis_server, monkeypatch):
    """A batch as this version writes it (a header line, then each emit's payload JSON as written) reaches
    the clients of another process in its order, python-socketio's own message among the emits, as the packets
    python-socketio writes; a send to one client that fails keeps neither the other client of the same entry
    nor the next entries from theirs; an entry whose rooms have no client here is not told."""
    monkeypatch.setattr(Packet, "json", PacketJSON)  # as the app's server sets it
    there, there_manager = _process(redis_server.url, [])
    there_manager.connect("eio-2", "/")
    there_manager.enter_room(there_manager.sid_from_eio_sid("eio-2", "/"), "/", "site:dashboard")
    heard: list[tuple[str, str]] = []

    def send(eio_sid, packet):
        if not heard and eio_sid == "eio-1":
            heard.append(("failed", eio_sid))
            raise RuntimeError("a send that fails")
        heard.append((eio_sid, packet.encode()))

    there._send_eio_packet = send
    here, here_manager = _process(redis_server.url)
    entries: list = []
    here_manager._queue = entries.append  # the batch, published below by hand
    here_manager.emit_to_rooms("ticket.called", PAYLOADS[0], ["site:display:lobby", "site:dashboard"])
    here.emit("ticket.recalled", (PAYLOADS[2], 7), to="site:display:lobby")  # python-socketio's own message
    here_manager.emit_to_rooms("ticket.called", PAYLOADS[2], ["site:counter:9"])  # no client there
    here_manager.emit_to_rooms("queue.changed", {"waiting": {"HT": 3}}, ["site:display:lobby"])
    batch = b"".join(here_manager._encode_batch(entries))
    assert b'"method": "queuekiosk.framed"' in batch.partition(b"\n")[0]
    time.sleep(0.5)  # the listener subscribed
    redis.Redis.from_url(redis_server.url).publish(channel_of(redis_server.url), batch)
    deadline = time.monotonic() + 5
    while len(heard) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more comes

    def packet(event, *arguments):
        return EngineIOPacket(MESSAGE, Packet(EVENT, namespace="/", data=[event, *arguments]).encode()).encode()

    assert heard == [
        ("failed", "eio-1"),
        ("eio-2", packet("ticket.called", PAYLOADS[0])),
        ("eio-1", packet("ticket.recalled", PAYLOADS[2], 7)),
        ("eio-1", packet("queue.changed", {"waiting": {"HT": 3}})),
    ]


def test_a_packet_heard_from_another_process_is_the_one_python_socketio_writes(redis_server, monkeypatch):
    """An entry of another process's batch is told to this process's clients at once (``_tell_framed``: never
    through python-socketio's loop and ``_handle_emit``) as the packet python-socketio writes with the app's JSON
    (PacketJSON), to the byte, for any JSON payload; an emit of several arguments (python-socketio's own message)
    keeps its place among them; an entry none of whose rooms has a client here is not told at all, and one that
    fails to be told (a client's send raising) leaves the next ones told."""
    monkeypatch.setattr(Packet, "json", PacketJSON)  # as the app's server sets it
    heard_there: list[str] = []
    there, there_manager = _process(redis_server.url, heard_there)
    here, here_manager = _process(redis_server.url)
    through_python_socketio, told_here = [], []
    handle_emit, tell_here = there_manager._handle_emit, there_manager._tell_here
    there_manager._handle_emit = lambda message: through_python_socketio.append(message) or handle_emit(message)
    there_manager._tell_here = lambda *args, **kwargs: told_here.append(args[3]) or tell_here(*args, **kwargs)
    time.sleep(0.5)  # both listeners subscribed

    def expected(event, data):
        arguments = [event, *data] if isinstance(data, tuple) else [event, data]
        return EngineIOPacket(MESSAGE, Packet(EVENT, namespace="/", data=arguments).encode()).encode()

    def told(count):
        deadline = time.monotonic() + 5
        while len(heard_there) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    @given(_JSON_PAYLOADS, st.sampled_from(["ticket.called", 'quote "ü"']))
    @example(float("inf"), "ticket.called").via("written null here and by the sender for its own clients")
    @settings(max_examples=60, deadline=None)
    def check(payload, event):
        heard_there.clear()
        here_manager.emit_to_rooms(event, payload, ["site:counter:1", "site:display:lobby", "site:dashboard"])
        here_manager.emit_to_rooms(event, [payload], ["site:counter:1"])  # an entry of its own, no client there
        here.emit(event, (payload, 7), to="site:display:lobby")  # two arguments: python-socketio's tuple
        told(2)
        time.sleep(0.05)  # nothing more comes
        assert heard_there == [expected(event, payload), expected(event, (payload, 7))]
        assert [m["event"] for m in through_python_socketio] == [event], "batch entries told at once"
        assert ["site:counter:1"] not in told_here, "an entry with no client here in its rooms is not told"
        through_python_socketio.clear()
        told_here.clear()

    check()
    sent = there._send_eio_packet
    calls = []

    def fails_once(eio_sid, packet):
        calls.append(packet)
        if len(calls) == 1:
            raise RuntimeError("a send that fails")
        sent(eio_sid, packet)

    heard_there.clear()
    there._send_eio_packet = fails_once
    here_manager.emit_to_rooms("ticket.called", PAYLOADS[0], ["site:display:lobby"])
    here_manager.emit_to_rooms("ticket.called", PAYLOADS[2], ["site:display:lobby"])
    told(1)
    time.sleep(0.2)
    assert heard_there == [expected("ticket.called", PAYLOADS[2])] and len(calls) == 2
    assert not here_manager.dropped


def test_a_framed_batch_whose_lengths_overrun_it_tells_nothing_past_the_entry_that_overruns(redis_server, caplog):
    """A FRAMED batch whose header gives a payload more bytes than follow it, or a length that is not a
    count, is told up to that entry: no client gets a packet cut short (JSON it cannot read), the log says
    the batch was not understood, and the next batch is heard as usual."""
    wrong_lengths = [
        (b"7", 8),  # a payload of one byte whose header says 8 (past the batch's end)
        (b"2", -1),  # a negative length
        (b"3", "1"),  # not a number
    ]
    heard: list[str] = []
    _there, _there_manager = _process(redis_server.url, heard)
    time.sleep(0.5)  # the listener subscribed
    publisher = redis.Redis.from_url(redis_server.url)
    first = json.dumps(PAYLOADS[0], ensure_ascii=False).encode()
    for payload, length in wrong_lengths:
        header = {
            "host_id": "another-process",
            "method": "queuekiosk.framed",
            "messages": [
                ["ticket.called", "/", ["site:display:lobby"], len(first)],
                ["ticket.called", "/", ["site:display:lobby"], length],
                ["queue.changed", "/", ["site:display:lobby"], 1],
            ],
        }
        publisher.publish(channel_of(redis_server.url), json.dumps(header).encode() + b"\n" + first + payload)
    good = {
        "host_id": "another-process",
        "method": "queuekiosk.framed",
        "messages": [["resync", "/", ["site:display:lobby"], 2]],
    }
    publisher.publish(channel_of(redis_server.url), json.dumps(good).encode() + b"\n{}")
    deadline = time.monotonic() + 5
    while len(heard) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more comes
    assert [json.loads(p[p.index("[") :]) for p in heard] == 3 * [["ticket.called", PAYLOADS[0]]] + [["resync", {}]]
    said = [r.getMessage() for r in caplog.records if "not understood" in r.getMessage()]
    # (once a minute where the server's filter of python-socketio's lines is in place: library_logs.py)
    assert said and all("ticket.called" in line for line in said), said


def _subscribed(*managers) -> None:
    """Wait until each manager's listener has Redis's confirmation of its subscription."""
    deadline = time.monotonic() + 10
    while any(manager.pubsub is None for manager in managers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(manager.pubsub is not None for manager in managers), "a listener did not subscribe"


def test_redis_sends_a_batch_to_the_other_processes_and_not_back_to_its_own(redis_server):
    """Each process publishes on a channel of its own and listens to the others' only: Redis sends a batch
    of 200 KB to the other process once, and nothing back to the process that published it (with one
    channel for all, Redis sent every batch back to its publisher too, which read it whole to skip it)."""
    admin = redis.Redis.from_url(redis_server.url)

    def sent_by_redis() -> int:
        return admin.info("stats")["total_net_output_bytes"]

    payload = {"text": "x" * 200_000}
    here, here_manager = _process(redis_server.url, [])
    _subscribed(here_manager)
    before = sent_by_redis()
    here.emit("ticket.called", payload, to="site:display:lobby")
    deadline = time.monotonic() + 10
    while here_manager.batches < 1 and time.monotonic() < deadline:  # (Redis answered its PUBLISH)
        time.sleep(0.02)
    assert here_manager.batches == 1
    assert sent_by_redis() - before < 20_000  # its answers to the PUBLISH and to INFO, not the batch

    heard_there: list[str] = []
    _there, there_manager = _process(redis_server.url, heard_there)
    _subscribed(there_manager)
    before = sent_by_redis()
    here.emit("ticket.called", payload, to="site:display:lobby")
    deadline = time.monotonic() + 10
    while not heard_there and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [json.loads(p[p.index("[") :]) for p in heard_there] == [["ticket.called", payload]]
    assert 200_000 < sent_by_redis() - before < 220_000  # once, to the other process


def test_processes_whose_ids_begin_alike_each_hear_every_other_and_not_themselves(redis_server):
    """The patterns a process listens on match every other process's channel once, whatever their ids
    share (here all but the last digit, or none), never its own; what is published on the installation's
    channel (python-socketio's messages of another program) reaches every process. Redis's answer to a
    PUBLISH is the number of listeners that got it."""
    ids = ["0" * 32, "0" * 31 + "1", "1" + "0" * 31, "f" * 32]
    managers = [_process(redis_server.url, host_id=host_id)[1] for host_id in ids]
    _subscribed(*managers)
    admin = redis.Redis.from_url(redis_server.url)
    channel = channel_of(redis_server.url)
    for host_id in [*ids, "0" * 16 + "f" * 16]:  # (the last, of no process here: every one hears it)
        listeners = admin.pubsub_numsub(publishing_channel(channel, host_id))[0][1]  # (none by name)
        assert listeners == 0
        assert admin.publish(publishing_channel(channel, host_id), b"{}") == len(ids) - (host_id in ids), host_id
    assert admin.publish(channel, b"{}") == len(ids)


def test_a_framed_batch_on_the_installation_s_channel_is_told_and_its_earlier_version_said(redis_server, caplog):
    """The version before this one published its framed batches on the installation's channel, which this
    version listens to but never publishes on: such a batch is told here, and the log says once that a
    process of an earlier version is there (its screens do not hear this version's batches)."""
    heard: list[str] = []
    _there, there_manager = _process(redis_server.url, heard)
    _subscribed(there_manager)
    payload = json.dumps(PAYLOADS[2], ensure_ascii=False).encode()
    header = {
        "host_id": "a-process-of-the-version-before",
        "method": "queuekiosk.framed",
        "messages": [["ticket.called", "/", ["site:display:lobby"], len(payload)]],
    }
    for _ in range(2):
        redis.Redis.from_url(redis_server.url).publish(
            channel_of(redis_server.url), json.dumps(header).encode() + b"\n" + payload
        )
    deadline = time.monotonic() + 5
    while len(heard) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [json.loads(p[p.index("[") :]) for p in heard] == 2 * [["ticket.called", PAYLOADS[2]]]
    said = [r.getMessage() for r in caplog.records if "earlier version" in r.getMessage()]
    assert len(said) == 1 and "Stop every process" in said[0], said


def test_each_event_s_packet_is_its_own_past_the_events_whose_packet_heads_are_kept(redis_server, monkeypatch):
    """An event's packet text before its payload is written once and kept for a bounded number of events
    (MAX_PACKET_HEADS): whatever their number and order, each packet, told here and heard on another process,
    is the one python-socketio writes for its own event (a name with quotes and letters outside ASCII
    too)."""
    monkeypatch.setattr(Packet, "json", PacketJSON)  # as the app's server sets it
    events = [f'event "{n}" ü' for n in range(MAX_PACKET_HEADS + 6)]
    heard_there, heard_here = [], []
    _there, there_manager = _process(redis_server.url, heard_there)
    _here, here_manager = _process(redis_server.url, heard_here)
    _subscribed(there_manager, here_manager)
    told = [(event, {"n": n}) for n, event in enumerate(events + events[::-1])]
    for event, payload in told:
        here_manager.emit_to_rooms(event, payload, ["site:display:lobby"])
    deadline = time.monotonic() + 10
    while len(heard_there) < len(told) and time.monotonic() < deadline:
        time.sleep(0.05)
    expected = [EngineIOPacket(MESSAGE, Packet(EVENT, namespace="/", data=[e, p]).encode()).encode() for e, p in told]
    assert heard_here == expected
    assert heard_there == expected


def test_a_client_that_leaves_a_room_while_its_clients_are_told_keeps_none_of_them_from_the_message(
    redis_server, monkeypatch, caplog
):
    """The clients of a room are told from a copy of it, as python-socketio's get_participants gives them: a
    client that leaves the room while the message goes out (a send that ends a connection) changes nothing
    of who is told this message, here and heard from another process, and the next message is told too."""
    monkeypatch.setattr(Packet, "json", PacketJSON)  # as the app's server sets it
    heard_there, heard_here = [], []
    processes = []
    for heard in (heard_there, heard_here):
        server, manager = _process(redis_server.url)
        for eio_sid in ("eio-1", "eio-2", "eio-3"):
            manager.connect(eio_sid, "/")
            manager.enter_room(manager.sid_from_eio_sid(eio_sid, "/"), "/", "site:display:lobby")

        def send(eio_sid, packet, heard=heard, manager=manager):
            heard.append((eio_sid, packet.encode()))
            for leaving in ("eio-2", "eio-3"):  # (the first told makes the others leave)
                sid = manager.sid_from_eio_sid(leaving, "/")
                if manager.is_connected(sid, "/") and "site:display:lobby" in manager.get_rooms(sid, "/"):
                    manager.leave_room(sid, "/", "site:display:lobby")

        server._send_eio_packet = send
        processes.append((server, manager))
    _subscribed(*(manager for _server, manager in processes))
    here_manager = processes[1][1]
    here_manager.emit_to_rooms("ticket.called", PAYLOADS[0], ["site:display:lobby"])
    here_manager.emit_to_rooms("queue.changed", {"waiting": {"HT": 3}}, ["site:display:lobby"])
    deadline = time.monotonic() + 10
    while len(heard_there) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # nothing more comes

    def packet(event, payload):
        return EngineIOPacket(MESSAGE, Packet(EVENT, namespace="/", data=[event, payload]).encode()).encode()

    called, changed = packet("ticket.called", PAYLOADS[0]), packet("queue.changed", {"waiting": {"HT": 3}})
    expected = [("eio-1", called), ("eio-2", called), ("eio-3", called), ("eio-1", changed)]
    assert heard_here == expected
    assert heard_there == expected
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
