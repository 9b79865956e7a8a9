"""Behind nginx (deploy/nginx/queuekiosk.conf) on HTTPS or any port but 80, every live page's Socket.IO
connects: the server takes the scheme and Host the proxy forwarded (QUEUEKIOSK_PROXIES=1) for the
page's Origin, and believes no X-Forwarded-* header when no proxy is configured (QA D15)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid

import pytest
import requests
from conftest import REPO, SioClient
from ports import free_port


def _origin_check(url: str, origin: str, headers: dict | None = None, verify: bool = True) -> int:
    """Engine.IO's handshake and Socket.IO's connect packet from a page at ``origin``: the status of
    the connect (200, or 400 "Not an accepted origin")."""
    headers = {"Origin": origin, **(headers or {})}
    handshake = requests.get(f"{url}/socket.io/?EIO=4&transport=polling", headers=headers, verify=verify, timeout=5)
    if handshake.status_code != 200:
        return handshake.status_code
    sid = re.search(r'"sid":"([^"]+)"', handshake.text).group(1)
    return requests.post(
        f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}", data="40", headers=headers, verify=verify, timeout=5
    ).status_code


def test_a_page_served_at_https_on_port_8443_connects_through_the_proxy(live_server):
    srv = live_server(env={"QUEUEKIOSK_PROXIES": "1"})
    forwarded = {"Host": "centre.example:8443", "X-Forwarded-Host": "centre.example:8443", "X-Forwarded-Proto": "https"}
    assert _origin_check(srv.url, "https://centre.example:8443", forwarded) == 200
    assert _origin_check(srv.url, "https://evil.example", forwarded) == 400
    assert _origin_check(srv.url, "https://centre.example", forwarded) == 400  # the port is part of the origin
    display = SioClient(srv.url).connect(headers={"Origin": "https://centre.example:8443", **forwarded})
    try:
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
    finally:
        display.close()


def test_forwarded_headers_are_not_believed_without_a_configured_proxy(live_server):
    srv = live_server()  # no QUEUEKIOSK_PROXIES: anyone could send these headers
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    assert _origin_check(srv.url, "https://evil.example", forged) == 400
    assert _origin_check(srv.url, srv.url, forged) == 200  # the page's own origin still connects


def _self_signed(folder) -> tuple[str, str]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.fixture
def nginx_in_front(tmp_path):
    """The shipped deploy/nginx/queuekiosk.conf, run by the real nginx with TLS on a free port,
    its upstream the given servers: ``start(ports) -> https URL``."""
    nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin")
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx is not installed (.ci/run installs nginx-light)")
    procs = []

    def start(upstream_ports: list[int]) -> str:
        cert, key = _self_signed(tmp_path)
        port = free_port()
        site = (REPO / "deploy" / "nginx" / "queuekiosk.conf").read_text(encoding="utf-8")
        servers = "".join(f"    server 127.0.0.1:{p};\n" for p in upstream_ports)
        site, upstreams = re.subn(r"(    server 127\.0\.0\.1:800\d;\n)+", servers, site)
        site, listens = re.subn(
            r"listen 80;", f"listen 127.0.0.1:{port} ssl; ssl_certificate {cert}; ssl_certificate_key {key};", site
        )
        assert upstreams == 1 and listens == 1, "deploy/nginx/queuekiosk.conf changed shape: update this test"
        temp = tmp_path / "nginx"
        temp.mkdir()
        (tmp_path / "nginx.conf").write_text(
            f"daemon off; worker_processes 1; pid {temp}/nginx.pid; error_log {tmp_path}/nginx-error.log;\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log off; client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;\n"
            f"fastcgi_temp_path {temp}/f; uwsgi_temp_path {temp}/u; scgi_temp_path {temp}/s;\n{site}\n}}\n",
            encoding="utf-8",
        )
        proc = subprocess.Popen(
            [nginx, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"https://127.0.0.1:{port}"
        deadline = time.monotonic() + 5
        while True:
            try:
                requests.get(url + "/healthz", verify=False, timeout=1)
                return url
            except requests.ConnectionError:
                assert proc.poll() is None, (tmp_path / "nginx-error.log").read_text()
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.05)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(5)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_the_shipped_nginx_file_over_https_brings_a_new_ticket_to_the_lobby(live_server, nginx_in_front):
    srv = live_server(env={"QUEUEKIOSK_PROXIES": "1"})
    url = nginx_in_front([srv.port])
    assert _origin_check(url, url, verify=False) == 200
    assert _origin_check(url, "https://evil.example", verify=False) == 400
    tls = requests.Session()
    tls.verify, tls.trust_env = False, False  # the self-signed certificate (REQUESTS_CA_BUNDLE would win)
    # websocket-client sends the Origin a browser would (https://127.0.0.1:PORT), through nginx's upgrade
    display = SioClient(url, http_session=tls, ssl_verify=False).connect(transports=["websocket"])
    try:
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
        since = display.mark()
        ticket = requests.post(
            url + "/api/v1/tickets",
            json={"service": "HT", "kiosk": "kiosk-1"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            verify=False,
            timeout=10,
        )
        assert ticket.status_code == 201, ticket.text
        assert display.wait_for("queue.changed", since=since)
    finally:
        display.close()
