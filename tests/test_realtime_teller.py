"""realtime.later's teller greenlet belongs to one process: a worker forked from it (gunicorn) makes its own."""

from __future__ import annotations

import os

from queuekiosk.server.web import realtime


def test_a_forked_process_does_not_take_its_parent_s_teller(monkeypatch):
    monkeypatch.setattr(realtime, "_teller", ("the parent's queue", "the parent's greenlet"))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: says what it sees, and leaves at once
        os.write(write_end, repr(realtime._teller).encode())
        os._exit(0)
    os.close(write_end)
    seen = os.read(read_end, 200).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert seen == "None"
    assert realtime._teller == ("the parent's queue", "the parent's greenlet")
