"""Webhooks and notification channels over HTTPS (server/core/tls.py): certificates are checked as Python's
own defaults check them (a receiver the machine trusts gets its deliveries, one it does not trust gets
none and the delivery log says why), and the process makes one TLS context for them all, not one per
attempt (loading the CA certificates was ~20 ms of CPU each, most of a refused delivery's cost)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from queuekiosk.server.core import notification_channels, tls
from queuekiosk.server.web.delivery import Poster


@pytest.fixture
def receiver(tmp_path):
    """An HTTPS receiver on 127.0.0.1 with a self-signed certificate (its file: ``receiver.cert``) that
    answers every POST with 204; ``receiver.url``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "receiver.pem", tmp_path / "receiver.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stopping = threading.Event()

    def answer(conn: socket.socket) -> None:
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls_conn:
                tls_conn.settimeout(5)
                data = b""
                while True:  # requests on one kept-alive connection, each answered 204
                    while b"\r\n\r\n" not in data:
                        chunk = tls_conn.recv(65536)
                        if not chunk:
                            return
                        data += chunk
                    head, _, data = data.partition(b"\r\n\r\n")
                    length = next(
                        (
                            int(line.split(b":")[1])
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length:")
                        ),
                        0,
                    )
                    while len(data) < length:
                        data += tls_conn.recv(65536)
                    data = data[length:]
                    tls_conn.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (OSError, ssl.SSLError):  # a client that refused the certificate
            pass

    def serve() -> None:
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    receiver = type("Receiver", (), {})()
    receiver.url, receiver.cert = f"https://127.0.0.1:{listener.getsockname()[1]}/hook", cert_path
    yield receiver
    stopping.set()
    thread.join(5)
    listener.close()


class _Delivery:
    def __init__(self, url: str):
        self.url, self.body = url, b'{"event": "ticket.issued"}'

    def headers(self) -> dict:
        return {"Content-Type": "application/json"}


@pytest.fixture
def contexts_made(monkeypatch):
    """How many TLS client contexts Python's defaults made from here on (the process's context made anew)."""
    monkeypatch.setattr(tls, "_made", {})
    made = []
    real = ssl._create_default_https_context

    def counted(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "_create_default_https_context", counted)
    return made


def test_a_receiver_the_machine_does_not_trust_gets_nothing_and_the_log_says_why(receiver, contexts_made):
    poster = Poster(5)
    for _ in range(3):
        status, error = poster.post(_Delivery(receiver.url))
        assert status is None and "CERTIFICATE_VERIFY_FAILED" in error, error
    with pytest.raises(notification_channels.ChannelError, match="CERTIFICATE_VERIFY_FAILED"):
        notification_channels._post(urllib.request.Request(receiver.url, data=b"x", method="POST"), 5)
    assert len(contexts_made) == 1  # one for the process, not one per attempt


def test_a_receiver_the_machine_trusts_gets_its_deliveries(receiver, contexts_made, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(receiver.cert))  # the machine's CA certificates: this one
    poster = Poster(5)
    for _ in range(3):
        assert poster.post(_Delivery(receiver.url)) == (204, None)
    poster.close()
    notification_channels._post(urllib.request.Request(receiver.url, data=b"x", method="POST"), 5)  # no ChannelError
    assert len(contexts_made) == 1
