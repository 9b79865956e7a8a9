"""What a connected screen's WebSocket costs the server (issue 21: memory at 1,000 clients).

Browsers offer per-message compression (``permessage-deflate``) on every WebSocket; a connection that
takes it keeps a zlib compressor and decompressor for its life, about 120 KB of the server's memory
for each display. The server declines the offer, and the screen still gets everything.
"""

from __future__ import annotations

import json

import websocket
from api_helpers import issue

# what Chromium and Firefox send
BROWSER_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


def test_a_browsers_offer_of_compression_is_declined_and_the_display_gets_its_state_and_calls(server):
    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
        header=[BROWSER_OFFER],
        timeout=10,
    )
    try:
        accepted = {name.lower(): value for name, value in ws.getheaders().items()}
        assert "sec-websocket-extensions" not in accepted  # no extension: frames are sent as they are
        assert ws.recv().startswith("0")  # Engine.IO open
        ws.send("40")
        assert ws.recv().startswith("40")  # the namespace joined
        ws.send("421" + json.dumps(["subscribe", {"display": "lobby"}]))
        frames = [ws.recv(), ws.recv()]
        state = next(json.loads(f[2:]) for f in frames if f.startswith('42["state"'))
        assert state[1]["kind"] == "display" and state[1]["display"]["id"] == "lobby"
        assert "431[" in "".join(f[:4] for f in frames)  # the subscribe's answer
        http = server.session()
        ticket = issue(http, "HT")
        admin = {"Authorization": f"Bearer {server.token('admin')}"}
        assert http.post("/api/v1/counters/1/next", headers=admin).status_code == 200
        called = None
        while called is None:
            frame = ws.recv()
            if frame == "2":  # a ping
                ws.send("3")
            elif frame.startswith('42["ticket.called"'):
                called = json.loads(frame[2:])[1]
        assert called["ticket"]["number"] == ticket["number"]
    finally:
        ws.close()
