"""Starting servers for benchmarks: the real `queuekiosk serve`, and a bare Flask app beside it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_config(directory: Path, width: int = 1_000_000) -> Path:
    """The demo centre with number ranges wide enough for a long benchmark run."""
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    for i, service in enumerate(data["services"]):
        service["numbers"] = {"start": 1 + i * width, "end": (i + 1) * width}
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=1).ok:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@contextlib.contextmanager
def queuekiosk_server(env_extra: dict | None = None, database_url: str | None = None):
    """Yield (base_url, process, instance_dir) of a fresh server on the bench config."""
    with tempfile.TemporaryDirectory(prefix="qk-bench-") as tmp:
        tmp = Path(tmp)
        config = bench_config(tmp)
        port = free_port()
        env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp / "instance"), **(env_extra or {})}
        if database_url:
            env["QUEUEKIOSK_DATABASE_URL"] = database_url
        proc = subprocess.Popen(
            [sys.executable, "-m", "queuekiosk.server.cli", "serve", "--config", str(config),
             "--port", str(port), "--ignore-hours"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(f"{base}/healthz")
            yield base, proc, tmp
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def bare_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_flask.py")), str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def token(config_dir: Path, role: str, counter: int | None = None) -> str:
    env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(config_dir / "instance")}
    cmd = [sys.executable, "-m", "queuekiosk.server.cli", "token", "create", "--role", role,
           "--config", str(config_dir / "config.yaml")]
    if counter is not None:
        cmd += ["--counter", str(counter)]
    return subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
