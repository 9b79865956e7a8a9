"""Ports for the servers the tests start (queuekiosk serve, gunicorn, redis-server, receivers).

Asking the kernel for a free port (bind port 0, close, hand the number to a server that binds it a
moment later) gives a number from the ephemeral range (ip_local_port_range, 32768-60999 here), the
range the kernel also takes the local port of every outgoing connection from, for every process on the
machine; and two pytest-xdist workers asking at once may be given the same one. Then a server may fail
to bind, or a test may talk to another test's server (a suite run saw /healthz answered and the next
request refused: the other test's server had stopped).

So each xdist worker hands out ports from a block of its own below the ephemeral range (``BASE`` +
``BLOCK`` x the worker's number, gw0, gw1 ...; a run without workers, "main", takes the last block),
moving on by one each time, wrapping within the block, and starting at a place of the process's own in
it (another pytest run on the machine at the same time seldom starts at the same place); each port is
checked free by a bind before it is handed out. ``belongs_to(pid, port)`` tells whether the socket
listening on a port is that process's own, for a start check that would otherwise take another
server's answer for its own.
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

BASE = 20000
BLOCK = 1500


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _worker_block(worker: str, blocks: int) -> int:
    """gw<n> -> block n (wrapping over the blocks there are); any other name ("main") -> the last."""
    if worker.startswith("gw") and worker[2:].isdigit():
        return int(worker[2:]) % blocks
    return blocks - 1


_BLOCKS = max(1, (_ephemeral_low() - BASE) // BLOCK)
_FIRST = BASE + BLOCK * _worker_block(os.environ.get("PYTEST_XDIST_WORKER", "main"), _BLOCKS)
_lock = threading.Lock()
_next = os.getpid() % BLOCK  # where this process starts in its block


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))  # no SO_REUSEADDR: a port with connections in TIME_WAIT is passed over
        except OSError:
            return False
        return True


def free_port() -> int:
    """A port of this worker's block that nothing is bound to now, never the one handed out just before."""
    global _next
    with _lock:
        for _ in range(BLOCK):
            port = _FIRST + _next
            _next = (_next + 1) % BLOCK
            if _is_free(port):
                return port
    raise RuntimeError(f"no free port in {_FIRST}-{_FIRST + BLOCK - 1}")


def accepts(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:``port`` now: a connect and a close, some
    microseconds of CPU, where an HTTP request refused costs ~0.5 ms (a start waits with it, ~0.2-0.5 s
    polled every 20 ms, and asks /healthz once the port accepts)."""
    with socket.socket() as probe:
        probe.settimeout(1)  # (a full backlog drops the connect's SYN: no wait of the kernel's retries)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def tcp_rows(tables=("/proc/net/tcp", "/proc/net/tcp6")):
    """The kernel's TCP sockets, each as (its local port, its remote port, its fields): /proc/net/tcp's
    columns (3: its state, 5: its timer, 9: its inode); none when there is no such table (not Linux)."""
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            yield int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16), fields


def _listening_inodes(port: int) -> set[str]:
    return {fields[9] for local, _, fields in tcp_rows() if fields[3] == "0A" and local == port}  # 0A: LISTEN


def belongs_to(pid: int, port: int) -> bool:
    """Whether the socket listening on ``port`` is one of process ``pid``'s (True when /proc cannot say)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return True  # no table to read (not Linux), or the listener is gone: the caller's next check tells
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False  # the process is gone
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                return True
        except OSError:
            continue
    return False
