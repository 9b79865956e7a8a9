"""The kiosk agent's look at its connection (kiosk/agent.py Link) on real python-socketio, python-engineio and
websocket-client objects, with no network.

The agent reads fields of those libraries that are not their API (a workaround for python-engineio's writer,
which can leave a closed WebSocket "connected" 15-20 s: Link.closed_unsaid). The first test fails on a
release that renames or drops one of them, so that bumping a pin shows it; the agent itself then falls back
to the library's own state (the second test), never a crash.
"""

from __future__ import annotations

import inspect

import engineio
import socketio
import websocket

from queuekiosk.kiosk.agent import Link
from queuekiosk.kiosk.socketio_client import InOrderClient


def _link() -> Link:
    return Link(InOrderClient(reconnection=False, handle_sigint=False))


def test_the_library_methods_the_in_order_client_takes_over_are_still_theirs():
    """kiosk/socketio_client.py overrides private methods of python-socketio's and python-engineio's clients:
    a release that renames one would leave the override unused (its binary answers lost again under load)."""
    overridden = {name for name in vars(InOrderClient) if name.startswith("_handle_") or name.startswith("_engineio")}
    assert overridden <= set(vars(socketio.Client)), sorted(overridden - set(vars(socketio.Client)))
    client = InOrderClient(handle_sigint=False)
    assert "_binary_packet" in vars(client), sorted(vars(client))
    assert type(client.eio)._trigger_event is not engineio.Client._trigger_event
    assert "_trigger_event" in vars(engineio.Client)  # (its "message" said with run_async: python-engineio's)
    assert "run_async=True" in inspect.getsource(engineio.Client._receive_packet)


def test_a_websocket_closed_while_python_engineio_says_connected_counts_as_dropped_and_its_writer_can_end():
    link = _link()
    eio = link.sio.eio
    assert {"state", "current_transport", "ws", "queue"} <= set(vars(eio)), sorted(vars(eio))
    assert "connected" in vars(websocket.WebSocket()), sorted(vars(websocket.WebSocket()))
    eio.state, eio.current_transport, eio.ws = "connected", "websocket", websocket.WebSocket()  # not connected
    assert link.closed_unsaid() and link.gone()
    link.wake_stuck_writer()
    assert eio.queue.get_nowait() is None and eio.queue.empty()
    eio.ping_interval = eio.ping_timeout = 1
    eio.queue.put(None)
    eio._write_loop()  # the library's writer ends on that word (else this waits 6 s and logs an error)
    eio.ws.connected = True
    assert not link.closed_unsaid() and not link.gone() and eio.queue.empty()
    eio.state = "disconnected"
    assert link.gone()


def test_a_release_that_renames_those_fields_leaves_the_drop_to_the_library_own_state():
    link = _link()
    eio = link.sio.eio
    eio.state, eio.current_transport, eio.ws = "connected", "websocket", object()  # a WebSocket without .connected
    assert not link.gone()
    del eio.current_transport, eio.queue
    assert not link.gone()
    link.wake_stuck_writer()
    link.dropped.set()  # python-socketio's disconnect event
    assert link.gone()


def test_a_poll_of_many_packets_is_read_whole_by_the_agent_s_and_the_keypad_s_client():
    """On long-polling one poll brings every packet queued since the last: python-engineio's client refused
    more than 16 (``Too many packets in payload``) and dropped the connection."""
    from engineio import packet, payload

    from queuekiosk.counter_client.live import LiveLink

    burst = payload.Payload(packets=[packet.Packet(packet.MESSAGE, f'2["ticket.issued",{n}]') for n in range(40)])
    assert len(payload.Payload(encoded_payload=burst.encode()).packets) == 40
    said = dict.fromkeys(("on_link", "on_snapshot", "on_error", "on_token_refused"), lambda *_: None)
    assert isinstance(LiveLink("http://127.0.0.1:9", "qk_x", 1, **said).sio, InOrderClient)
