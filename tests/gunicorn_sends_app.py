"""A WSGI app for tests/test_gunicorn_sends.py, served by a real gunicorn with the deployment's worker."""

from __future__ import annotations

import gc

BIG = bytes(range(256)) * 64_000  # 16 MB: more than the socket buffers of both ends hold
FILE = bytes(range(256)) * 4_000  # 1 MB, sent through wsgi.file_wrapper (sendfile)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/collector":  # the worker's garbage collector, once the app is loaded
        body = f"{gc.get_threshold()[0]} {gc.get_freeze_count()}".encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))])
        return [BIG]
    if path == "/pieces":  # a small first piece, then a large one, then a small one
        body = [b"first ", BIG[:200_000], b" last"]
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(sum(map(len, body))))])
        return iter(body)
    if path == "/chunked":  # no length: gunicorn sends it chunked
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"first ", BIG[:100_000], b" last"])
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(FILE)))])
        return environ["wsgi.file_wrapper"](open(environ["HTTP_X_FILE"], "rb"))  # the test's file of FILE
    body = f"ok {path}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
