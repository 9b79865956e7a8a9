"""A server's connections seen from outside: the sockets a process holds, and whether the server
closes a client's socket (the tests of clients that stop reading or answering)."""

from __future__ import annotations

import os
import socket
import time


def sockets_of(pid: int) -> int:
    """How many sockets process ``pid`` holds open."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except FileNotFoundError:  # closed meanwhile
            pass
    return count


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (reading whatever it sends meanwhile)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            if sock.recv(1 << 20) == b"":
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False
