"""python-socketio's threaded client, its packets put together in the order they came.

python-engineio's client hands every message it reads to a thread of its own, and python-socketio's
client puts a binary packet together from those messages: its header, then each attachment. Under
load an attachment's thread can run before its header's, and the answer is lost (the attachment read
as a packet: ``ValueError: invalid literal for int()``; python-socketio issues #403 and #436). A kiosk
agent's ``print.fetch`` answer carries its jobs' ESC/POS bytes as such an attachment: the agent then
waited for its timeout and fetched again, the ticket printed that much later.

Here the messages are put together in the reading thread, in order, and only what they make (a
connect, an event, an answer) is handled in a thread of its own, as before: a handler may still wait
for an answer without holding the reading. tests/test_kiosk_agent_link.py fails on a release whose
private names moved.

A client left on HTTP long-polling (a proxy refusing WebSocket) gets in one poll every packet queued
since the last: a burst of events, a ``print.fetch`` answer of 10 jobs (11 packets) beside them.
python-engineio's client refused a poll of more than 16 (``Too many packets in payload``) and dropped
the connection, losing what the poll held; the limit guards a server from its clients, and this
client reads only its own server.
"""

from __future__ import annotations

import engineio
import socketio
from engineio.payload import Payload

# python-engineio's documented knob, process-wide: the agent's and the keypad's processes serve nothing
Payload.max_decode_packets = 1_000_000


class _EngineIOInOrder(engineio.Client):
    def _trigger_event(self, event, *args, **kwargs):
        if event == "message":  # in the reading thread, in order (python-engineio: a thread each)
            kwargs["run_async"] = False
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    """``socketio.Client`` whose binary packets are put together in the order their parts came."""

    def _engineio_client_class(self):
        return _EngineIOInOrder

    def _handle_eio_connect(self):
        self._binary_packet = None  # (one left half put together as an earlier connection dropped)
        super()._handle_eio_connect()

    # What a packet makes is handled in a thread of its own, as python-engineio did for each message.
    def _handle_connect(self, namespace, data):
        self.start_background_task(super()._handle_connect, namespace, data)

    def _handle_disconnect(self, namespace):
        self.start_background_task(super()._handle_disconnect, namespace)

    def _handle_event(self, namespace, id, data):
        self.start_background_task(super()._handle_event, namespace, id, data)

    def _handle_ack(self, namespace, id, data):
        self.start_background_task(super()._handle_ack, namespace, id, data)

    def _handle_error(self, namespace, data):
        self.start_background_task(super()._handle_error, namespace, data)
