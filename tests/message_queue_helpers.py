"""Reading what the processes publish on their Redis channel, as a test looking at the wire does."""

from __future__ import annotations

import json


def published_messages(data: bytes) -> list[dict]:
    """The messages of one published Redis message, in order, each a python-socketio message (a dict; an
    emit with its ``event``, ``room`` and ``data``): a batch's (``queuekiosk.framed``: a header line, then
    each emit's payload JSON; ``queuekiosk.batch``: each payload inside), or the message itself."""
    header, _, tail = data.partition(b"\n")
    message = json.loads(header)
    if message.get("method") != "queuekiosk.framed":
        return message.get("messages", [message]) if message.get("method") == "queuekiosk.batch" else [message]
    messages, offset = [], 0
    for item in message["messages"]:
        if isinstance(item, dict):
            messages.append(item)
            continue
        event, namespace, rooms, length = item
        payload = json.loads(tail[offset : offset + length])
        offset += length
        messages.append({"method": "emit", "event": event, "namespace": namespace, "room": rooms, "data": [payload]})
    assert offset == len(tail), "the payloads fill the message"
    return messages
