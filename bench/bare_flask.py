"""A bare Flask endpoint on the same gevent server setup as queuekiosk: the ceiling to compare with."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from flask import Flask, jsonify  # noqa: E402

from queuekiosk.server.wsgi_server import NoDelayWSGIServer  # noqa: E402

app = Flask(__name__)


@app.get("/healthz")
def health():
    return jsonify(status="ok")


@app.post("/api/v1/tickets")
def issue():
    return jsonify(number=1001, service="HT", status="waiting"), 201


if __name__ == "__main__":
    # the server class `queuekiosk serve` runs (serve() itself also checks queuekiosk's printing setup)
    NoDelayWSGIServer(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
