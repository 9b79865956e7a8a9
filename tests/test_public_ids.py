"""A ticket's public id (server/core/engine/issuing.py new_public_id): 12 URL-safe characters from
9 random bytes, made ahead in bulk; never the same twice, and a forked process never gives out one
its parent has or will."""

from __future__ import annotations

import os
import re

from queuekiosk.server.core.engine import issuing

URL_SAFE_12 = re.compile(r"[A-Za-z0-9_-]{12}")


def test_ids_are_12_url_safe_characters_and_differ():
    ids = [issuing.new_public_id() for _ in range(3 * issuing._IDS_AHEAD + 7)]  # across refills
    assert all(URL_SAFE_12.fullmatch(one) for one in ids)
    assert len(set(ids)) == len(ids)


def test_a_forked_child_does_not_give_out_its_parents_ids():
    count = 50
    issuing._PUBLIC_IDS.clear()
    issuing.new_public_id()  # the parent holds ids made ahead, more than it will take
    assert len(issuing._PUBLIC_IDS) > count
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its ids to the parent, then out without pytest's clean-up
        try:
            os.write(write_end, "".join(issuing.new_public_id() for _ in range(count)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode()
    os.waitpid(pid, 0)
    childs = [text[start : start + 12] for start in range(0, len(text), 12)]
    parents = [issuing.new_public_id() for _ in range(count)]
    assert len(childs) == count
    assert all(URL_SAFE_12.fullmatch(one) for one in childs)
    assert not set(childs) & set(parents)
