"""The channel between a test process and the zygotes of tests/server_fork.py: a zygote's own stdin
and stdout, or a connection to the socket of a zygote the run's xdist workers share, and the folder
those listen in; a shared zygote's children count in the CPU of the worker that asked for them."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def cpu_group() -> tuple[str, str] | None:
    """This process's cgroup v1 ``cpuacct`` group (its hierarchy's folder under /sys/fs/cgroup, its
    path there) when not the root one: tests/suite_cpu.py puts each worker in a group of its own,
    whose counter holds the CPU of the servers and commands it asks for."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if "cpuacct" in controllers.split(",") and path != "/":
                return f"/sys/fs/cgroup/{controllers}", path
    return None


def join_group(procs: str) -> None:
    with contextlib.suppress(OSError), open(procs, "w") as group:
        group.write(str(os.getpid()))


class Channel:
    """A zygote's requests and answers: its stdin and stdout (a zygote of this process's own), or a
    connection to its socket (one of the run's shared zygotes)."""

    def __init__(self, writer, reader, proc: subprocess.Popen | None = None, sock: socket.socket | None = None):
        self.writer, self.reader, self.proc, self.sock = writer, reader, proc, sock
        self.broken = False

    def alive(self) -> bool:
        if self.broken or self.proc is not None:
            return not self.broken and self.proc.poll() is None
        # a shared zygote says nothing unasked: its socket readable means it has ended
        with contextlib.suppress(OSError):
            return not select.select([self.sock], [], [], 0)[0] or bool(self.sock.recv(1, socket.MSG_PEEK))
        return False

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.stdin.close()  # a zygote ends at the end of its input
                self.proc.wait(10)
            return
        # a shared zygote kills this process's living children at the end of its input, then hangs up
        with contextlib.suppress(OSError):
            self.writer.close()
            self.sock.shutdown(socket.SHUT_WR)
            self.sock.settimeout(10)
            while self.reader.readline():
                pass
        with contextlib.suppress(OSError):
            self.reader.close()
        self.sock.close()


def connected(path: Path) -> Channel:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return Channel(sock.makefile("w", encoding="utf-8"), sock.makefile("r", encoding="utf-8"), sock=sock)


def shared_zygotes(owner: int) -> dict:
    """The folder a run's shared zygotes listen in (tests/server_fork.py ``Zygote(shared=...)``), for the run of ``owner``
    (xdist's controller): they end when it does, whatever its end."""
    return {"folder": tempfile.mkdtemp(prefix="qk-zygotes-"), "owner": owner}


def end_shared_zygotes(shared: dict) -> None:
    """At the run's end: each shared zygote kills what it forked and ends; the folder goes."""
    folder = Path(shared["folder"])
    for path in folder.glob("*.sock"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        with contextlib.suppress(OSError):
            sock.connect(str(path))
            sock.sendall(b'{"quit": true}\n')
            while sock.recv(65536):  # its hello, then its end
                pass
        sock.close()
    shutil.rmtree(folder, ignore_errors=True)
