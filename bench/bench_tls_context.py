"""CPU of an attempt to deliver over HTTPS: a webhook (server/web/delivery.py Poster) and an SMS
gateway's send (server/core/notification_channels.py), each to an https:// receiver on 127.0.0.1 that refuses
the connection (a receiver down: every attempt a new connection, as its retries are), and how many
TLS contexts 100 webhook attempts made (cProfile).

    python bench/bench_tls_context.py [ATTEMPTS]

Before server/core/tls.py each attempt made a context of its own, loading the machine's CA
certificates (~20 ms of CPU); now the process makes one.
"""

from gevent import monkey

monkey.patch_all()  # as queuekiosk serve runs

import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

from queuekiosk.server.core import notification_channels  # noqa: E402
from queuekiosk.server.web.delivery import Poster  # noqa: E402


class _Delivery:
    def __init__(self, url: str):
        self.url, self.body = url, b"{}"

    def headers(self) -> dict:
        return {"Content-Type": "application/json"}


def main() -> None:
    attempts = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    url = f"https://127.0.0.1:{probe.getsockname()[1]}/hook"
    probe.close()  # nobody listens there
    poster = Poster(5)
    poster.post(_Delivery(url))  # the first attempt makes what the process keeps
    started = time.process_time()
    for _ in range(attempts):
        status, error = poster.post(_Delivery(url))
    assert status is None and "refused" in error, error
    webhook = (time.process_time() - started) / attempts
    started = time.process_time()
    for _ in range(attempts):
        try:
            notification_channels._post(urllib.request.Request(url, data=b"x", method="POST"), 5)
        except notification_channels.ChannelError as refused:
            error = str(refused)
    assert "refused" in error, error
    sms = (time.process_time() - started) / attempts
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(100):
        poster.post(_Delivery(url))
    profile.disable()
    stats = pstats.Stats(profile, stream=io.StringIO())
    made = sum(calls for (_, _, name), (calls, *_rest) in stats.stats.items() if name == "create_default_context")
    print(f"a webhook attempt: {webhook * 1000:.2f} ms of CPU; an SMS send: {sms * 1000:.2f} ms ({attempts} each)")
    print(f"TLS contexts made by 100 webhook attempts: {made}")


if __name__ == "__main__":
    main()
