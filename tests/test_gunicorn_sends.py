"""Answers of the deployment's gunicorn worker (server/gunicorn_worker.py), which sends an answer's
headers with its body in one send: on a real gunicorn process with deploy/gunicorn.conf.py, a body
larger than the socket takes at once arrives whole and in order to a client that reads slowly, as do a
body written in pieces, a chunked body, a file (sendfile), an answer without a body and a HEAD; answers
on one keep-alive connection follow one another whole. A quick stop (Ctrl+C, SIGQUIT) leaves no traceback
in the log, its signal coming twice included."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import gunicorn_fork
import pytest
from gunicorn_sends_app import BIG, FILE
from ports import free_port

from queuekiosk.server.wsgi_server import YOUNG_COLLECTION

GUNICORN = gunicorn_fork.GUNICORN
REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def _gunicorn(folder: Path, zygote):
    """A gunicorn with deploy/gunicorn.conf.py serving tests/gunicorn_sends_app.py: (the master, its port),
    once it accepts; stopped with Ctrl+C (SIGINT: a quick stop) after, and its log without a traceback."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    env["QUEUEKIOSK_BIND"] = f"127.0.0.1:{port}"
    command = [GUNICORN, "--config", REPO / "deploy" / "gunicorn.conf.py", "--chdir", REPO / "tests"]
    command.append("gunicorn_sends_app:app")
    proc = gunicorn_fork.start(zygote, command, env, os.getcwd(), folder / "gunicorn.log")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, (folder / "gunicorn.log").read_text()
                time.sleep(0.1)
        yield proc, port
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(15)
        log = (folder / "gunicorn.log").read_text()
        assert "Traceback" not in log, log


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_zygote):
    """(port, path of a file holding FILE) of a gunicorn serving tests/gunicorn_sends_app.py."""
    folder = tmp_path_factory.mktemp("gunicorn-sends")
    (folder / "file.bin").write_bytes(FILE)
    with _gunicorn(folder, server_zygote) as (_proc, port):
        yield port, folder / "file.bin"


def _read_answer(client: socket.socket, buffered: bytearray, head_only: bool = False) -> tuple[bytes, bytes]:
    """One answer (head, body) from ``client``, by its Content-Length or chunks; ``buffered`` holds
    bytes already read past the previous answer and keeps those past this one."""

    def more():
        chunk = client.recv(1 << 20)
        assert chunk, "the server closed the connection mid-answer"
        buffered.extend(chunk)

    while b"\r\n\r\n" not in buffered:
        more()
    head, _, rest = bytes(buffered).partition(b"\r\n\r\n")
    buffered[:] = rest
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    if head_only or head.split(b" ")[1] in (b"204", b"304"):
        return head, b""
    if fields.get(b"Transfer-Encoding") == b"chunked":
        body = bytearray()
        while True:
            while b"\r\n" not in buffered:
                more()
            size_line, _, rest = bytes(buffered).partition(b"\r\n")
            size = int(size_line, 16)
            while len(rest) < size + 2:
                more()
                size_line, _, rest = bytes(buffered).partition(b"\r\n")
            body += rest[:size]
            buffered[:] = rest[size + 2 :]
            if size == 0:
                return head, bytes(body)
    length = int(fields[b"Content-Length"])
    while len(buffered) < length:
        more()
    body = bytes(buffered[:length])
    buffered[:] = buffered[length:]
    return head, body


def _ask(port: int, requests: list[tuple[str, str, dict]], slow: bool = False) -> list[tuple[bytes, bytes]]:
    """Answers to ``requests`` (method, path, headers) sent at once on one keep-alive connection; if
    ``slow``, the client waits before reading, so the server's sends meet full socket buffers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
        for method, path, headers in requests:
            extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            client.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode())
        if slow:
            time.sleep(0.3)
        buffered = bytearray()
        return [_read_answer(client, buffered, head_only=method == "HEAD") for method, _, _ in requests]


def test_a_body_larger_than_one_send_arrives_whole_to_a_slow_reader(server):
    port, _ = server
    [(head, body)] = _ask(port, [("GET", "/big", {})], slow=True)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert len(body) == len(BIG) and body == BIG


def test_a_body_written_in_pieces_and_a_chunked_body_arrive_whole(server):
    port, _ = server
    [(head, pieces), (chunked_head, chunked)] = _ask(port, [("GET", "/pieces", {}), ("GET", "/chunked", {})], slow=True)
    assert head.startswith(b"HTTP/1.1 200 OK") and pieces == b"first " + BIG[:200_000] + b" last"
    assert b"Transfer-Encoding: chunked" in chunked_head
    assert chunked == b"first " + BIG[:100_000] + b" last"


def test_a_file_arrives_after_its_headers(server):
    port, path = server
    [(head, body)] = _ask(port, [("GET", "/file", {"X-File": str(path)})], slow=True)
    assert head.startswith(b"HTTP/1.1 200 OK") and body == FILE


def test_answers_without_a_body_and_small_answers_follow_one_another_on_one_connection(server):
    port, _ = server
    requests = [("GET", "/one", {}), ("GET", "/empty", {}), ("HEAD", "/two", {}), ("GET", "/three", {})]
    answers = _ask(port, requests)
    assert [head.split(b"\r\n")[0] for head, _ in answers] == [b"HTTP/1.1 200 OK", b"HTTP/1.1 204 No Content"] + [
        b"HTTP/1.1 200 OK"
    ] * 2
    assert [body for _, body in answers] == [b"ok /one", b"", b"", b"ok /three"]
    assert b"Content-Length: 7" in answers[2][0]  # HEAD: the length of what GET would send
    assert all(b"Connection: keep-alive" in head for head, _ in answers)


def test_the_worker_keeps_what_loading_the_app_made_out_of_collections_as_serve_does(server):
    port, _ = server
    [(_head, body)] = _ask(port, [("GET", "/collector", {})])
    threshold, frozen = map(int, body.split())
    assert threshold == YOUNG_COLLECTION  # not Python's 700: a collection every few requests
    assert frozen > 1_000  # the modules and the app, out of every full collection's walk


def test_a_quick_stop_said_twice_to_the_worker_leaves_no_traceback(tmp_path):
    """gunicorn's gevent worker stops quickly (SIGQUIT, which its master sends it on Ctrl+C) in a greenlet
    that waits 0.1 s and then raises SystemExit. When the worker's run loop ended first (a loaded machine, as
    in a CI run; here: the signal twice while the worker loads the app), that greenlet woke in the
    interpreter's shutdown and its SystemExit was printed as a traceback: a clean stop that read as a crash."""
    log = tmp_path / "gunicorn.log"
    # a process of its own, not a fork of the zygote: its end is the interpreter's, where the traceback was printed
    with _gunicorn(tmp_path, None) as (proc, _port):
        deadline = time.monotonic() + 30
        while not (found := subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout):
            assert time.monotonic() < deadline, log.read_text()  # (the master listens before it forks its worker)
            time.sleep(0.02)
        worker = int(found.split()[0])
        time.sleep(0.3)  # (its own handlers set by now, the app still loading, on an ordinary day)
        while "Worker exiting" not in log.read_text():  # (a pair the master's handlers took is sent again)
            assert time.monotonic() < deadline, log.read_text()
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker, signal.SIGQUIT)
                time.sleep(0.05)
                os.kill(worker, signal.SIGQUIT)
            time.sleep(1)
