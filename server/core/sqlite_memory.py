"""SQLite without its memory statistics: every allocation of the library then goes straight to malloc.

SQLite counts the bytes it holds (``sqlite3_status(SQLITE_STATUS_MEMORY_USED)``, the soft heap limit)
unless told otherwise before it starts: each of its allocations and frees then takes a global mutex
and asks malloc for the block's size, about 120 times a ticket, 1.4 % of a ticket's instructions
(docs/performance.md). Nothing here reads those statistics, and Python's sqlite3 offers no way to
turn them off. Python's sqlite3 starts the library when it is imported, so it is stopped (every
connection must be closed by then: none is open while SQLite holds no memory at all), told, and
started again, before the first connection of the process. The same connections, statements and
results; only ``sqlite3_memory_used()`` and its like read 0 from then on.

Call it before any other thread uses SQLite (the first engine of a process is made before the
writer's and the reports' threads start). The library is called through ``ctypes.PyDLL``: each call
holds the GIL, so no other Python thread starts a SQLite call while SQLite is stopped; between two
calls the interpreter may still switch threads. ctypes is imported here only, at the first SQLite
engine: a PostgreSQL server never loads it, and a Python without it leaves SQLite as it is.
"""

from __future__ import annotations

import threading

_SQLITE_OK = 0
_SQLITE_CONFIG_MEMSTATUS = 9
_SQLITE_STATUS_MEMORY_USED = 0
_lock = threading.Lock()
_off: bool | None = None  # None until tried: once a process (a forked child keeps its parent's answer)


class _SQLite:
    """The SQLite that Python's sqlite3 uses: looked up through its own module, so the same copy."""

    def __init__(self):
        import _sqlite3
        import ctypes

        self.ctypes = ctypes
        self.lib = lib = ctypes.PyDLL(_sqlite3.__file__)
        lib.sqlite3_malloc.restype = ctypes.c_void_p  # a 64-bit address, not cut to a C int
        lib.sqlite3_free.argtypes = [ctypes.c_void_p]
        lib.sqlite3_config.argtypes = [ctypes.c_int]  # the fixed part: the value goes as variadic (Apple arm64)
        int64_p = ctypes.POINTER(ctypes.c_int64)
        lib.sqlite3_status64.argtypes = [ctypes.c_int, int64_p, int64_p, ctypes.c_int]

    def memory_in_use(self) -> int:
        current, highest = self.ctypes.c_int64(), self.ctypes.c_int64()
        self.lib.sqlite3_status64(_SQLITE_STATUS_MEMORY_USED, current, highest, 0)
        return current.value

    def counting(self) -> bool:
        """Whether SQLite counts its bytes: a small block of its own, held while the count is read."""
        block = self.lib.sqlite3_malloc(64)
        try:
            return self.memory_in_use() > 0
        finally:
            self.lib.sqlite3_free(block)


def memory_in_use() -> int:
    """The bytes SQLite holds by its own count (0 once its statistics are off)."""
    return _SQLite().memory_in_use()


def statistics_off() -> bool:
    """Turn SQLite's memory statistics off for this process if nothing of SQLite is open yet (it holds
    no memory), else leave them on; tried once, at the first call. Whether they are off."""
    global _off
    with _lock:
        if _off is None:
            _off = _turn_off()
        return _off


def _turn_off() -> bool:
    # (only once: once off, SQLite's count reads 0 whatever is open, and could not tell this again)
    try:
        sqlite = _SQLite()
    except (ImportError, OSError, AttributeError):  # no ctypes, or a SQLite built into Python: as it is
        return False
    if sqlite.memory_in_use() != 0:  # a connection (or a statement) is open: too late
        return False
    if not sqlite.counting():  # off already (built so, or set by another library): never stopped for it
        return True
    lib = sqlite.lib
    lib.sqlite3_shutdown()
    refused = lib.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, sqlite.ctypes.c_int(0)) != _SQLITE_OK
    return lib.sqlite3_initialize() == _SQLITE_OK and not refused and not sqlite.counting()
