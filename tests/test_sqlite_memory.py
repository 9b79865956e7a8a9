"""SQLite's memory statistics off (server/core/sqlite_memory.py): in a process that makes its SQLite
engine before opening any connection, as ``queuekiosk serve`` does, SQLite no longer counts its bytes
(a mutex and a malloc size lookup at every allocation); in one where a connection is already open, the
library is left as it is, and that connection goes on working. Each case in a process of its own:
the setting is the process's, once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_FIRST = """
import sqlite3
from sqlalchemy import text
from queuekiosk.server.core import sqlite_memory
from queuekiosk.server.core.db import create_db_engine

{before}
engine = create_db_engine("sqlite:///{path}")
with engine.begin() as conn:
    conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
    conn.execute(text("INSERT INTO t (name) VALUES ('Nguyễn Văn A'), ('B')"))
with engine.connect() as conn:
    print(conn.execute(text("SELECT group_concat(name, '|') FROM t")).scalar())
    print(sqlite_memory.memory_in_use())
{after}
"""


def run(tmp_path, before: str = "", after: str = "") -> list[str]:
    script = _FIRST.format(path=tmp_path / "q.db", before=before, after=after)
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_statistics_off_before_the_first_connection(tmp_path):
    stored, in_use = run(tmp_path)
    assert stored == "Nguyễn Văn A|B"
    assert int(in_use) == 0  # SQLite holds a connection and its cache, and no longer counts them


def test_left_on_under_a_connection_already_open(tmp_path):
    before = f"""
early = sqlite3.connect("{tmp_path / "early.db"}")
early.execute("CREATE TABLE e (x)")
"""
    after = """
early.execute("INSERT INTO e VALUES (42)")
early.commit()
print(early.execute("SELECT sum(x) FROM e").fetchone()[0])
print(sqlite_memory.statistics_off())
"""
    stored, in_use, early_sum, now_off = run(tmp_path, before, after)
    assert stored == "Nguyễn Văn A|B"
    assert int(in_use) > 0  # still counted: the library was not stopped under the open connection
    assert early_sum == "42"
    assert now_off == "False"


def test_already_off_not_stopped_under_a_connection_open(tmp_path):
    """A SQLite built with its statistics off (SQLITE_DEFAULT_MEMSTATUS=0), or told so by another library
    first, counts 0 bytes whatever is open: it is left running under the connection open. Stopping it
    would forget what was set up on it, such as an automatic extension (sqlite3_auto_extension): this
    one counts the connections opened."""
    before = f"""
import _sqlite3, ctypes
library = ctypes.PyDLL(_sqlite3.__file__)
library.sqlite3_shutdown()
library.sqlite3_config.argtypes = [ctypes.c_int]
assert library.sqlite3_config(9, ctypes.c_int(0)) == 0  # SQLITE_CONFIG_MEMSTATUS off, as such a build
library.sqlite3_initialize()
early = sqlite3.connect("{tmp_path / "early.db"}")
early.execute("CREATE TABLE e (x)")
opened = []
extension = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
    lambda *_: opened.append(1) or 0
)
assert library.sqlite3_auto_extension(extension) == 0
"""
    after = """
early.execute("INSERT INTO e VALUES (42)")
early.commit()
print(early.execute("SELECT sum(x) FROM e").fetchone()[0])
print(sqlite_memory.statistics_off())
print(len(opened))
"""
    stored, in_use, early_sum, now_off, opened = run(tmp_path, before, after)
    assert stored == "Nguyễn Văn A|B"
    assert int(in_use) == 0
    assert early_sum == "42"
    assert now_off == "True"
    assert int(opened) >= 1  # the engine's connection still ran the extension: SQLite was not stopped
