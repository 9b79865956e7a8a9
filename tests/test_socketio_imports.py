"""The Socket.IO libraries imported without what a server never runs (server/web/socketio_imports.py,
issue 21): what is left out is still there for whoever uses it, as the real thing. In a fresh
interpreter, as a server imports them (the tests' own process imported python-socketio before)."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
from gevent import monkey
monkey.patch_all()
import sys
import queuekiosk.server.web.extensions as extensions
left_out = ["werkzeug.serving", "http.server", "werkzeug.debug", "werkzeug._reloader", "flask_socketio.test_client", "multiprocessing", "pdb",
            "socketio.client", "socketio.async_server", "engineio.client", "engineio.async_server"]
assert not [m for m in left_out if m in sys.modules], [m for m in left_out if m in sys.modules]

import engineio
import socketio
from socketio import AsyncClientNamespace
import socketio.async_server

class Client(socketio.Client):  # the real classes: subclassed, compared
    pass

assert isinstance(Client(), socketio.Client) and socketio.Client.__module__ == "socketio.client"
assert socketio.AsyncServer is socketio.async_server.AsyncServer
assert AsyncClientNamespace.__module__ == "socketio.async_namespace"
assert engineio.AsyncServer.__module__ == "engineio.async_server"
try:
    socketio.no_such_name
except AttributeError as error:
    assert "no_such_name" in str(error)
else:
    raise AssertionError("socketio.no_such_name")

from flask import Flask
app = Flask("check")
extensions.socketio.init_app(app)
client = extensions.socketio.test_client(app)  # Flask-SocketIO's test client, imported now
assert client.is_connected() and type(client).__module__ == "flask_socketio.test_client"
import flask_socketio  # its name bound while the test client was left out: a function, never the class
assert not isinstance(flask_socketio.SocketIOTestClient, type)
import werkzeug.debug
assert werkzeug.debug.DebuggedApplication.__module__ == "werkzeug.debug"
import flask.cli
assert flask.cli.is_running_from_reloader() is False  # Werkzeug's, imported now
assert "werkzeug.serving" in sys.modules
print("ok")
"""


def test_what_a_server_never_runs_is_left_out_and_still_there_when_used():
    _runs(CHECK)


AFTER_AN_IMPORT_ERROR = """
import sys
sys.modules["flask_socketio.namespace"] = None  # Flask-SocketIO's import fails after python-socketio's
try:
    import queuekiosk.server.web.extensions
except ImportError:
    pass
else:
    raise AssertionError("imported")
import engineio
import socketio

class Client(socketio.Client):  # the real classes still, for whoever carries on
    pass

assert isinstance(Client(), socketio.Client) and engineio.AsyncServer.__module__ == "engineio.async_server"
print("ok")
"""


def test_an_import_error_leaves_the_real_classes_found():
    _runs(AFTER_AN_IMPORT_ERROR)


def _runs(script: str) -> None:
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]
