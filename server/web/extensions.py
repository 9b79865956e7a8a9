"""Extensions created once and bound to the app in the factory."""

from flask_socketio import SocketIO

socketio = SocketIO(
    async_handlers=False,  # one connection's events run one after another: a flood slows only itself
    max_http_buffer_size=64 * 1024,  # no client sends more than a few hundred bytes at once
    # a client that does not answer a ping within 10 s of it is disconnected (one sent every 10 s)
    ping_interval=10,
    ping_timeout=10,
)
