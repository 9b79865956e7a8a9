"""SQLite without its memory statistics: every allocation of the library then goes straight to malloc.

SQLite counts the bytes it holds (``sqlite3_status(SQLITE_STATUS_MEMORY_USED)``, the soft heap limit)
unless told otherwise before it starts: each of its allocations and frees then takes a global mutex
and asks malloc for the block's size, about 120 times a ticket, 1.4 % of a ticket's instructions
(docs/performance.md). Nothing here reads those statistics, and Python's sqlite3 offers no way to
turn them off. Python's sqlite3 starts the library when it is imported, so it is stopped (every
connection must be closed by then: none is open while SQLite holds no memory at all), told, and
started again, before the first connection of the process. The same connections, statements and
results; only ``sqlite3_memory_used()`` and its like read 0 from then on.
"""

from __future__ import annotations

import ctypes
import threading

_SQLITE_OK = 0
_SQLITE_CONFIG_MEMSTATUS = 9
_SQLITE_STATUS_MEMORY_USED = 0
_lock = threading.Lock()
_off: bool | None = None  # None until tried: once a process (a forked child keeps its parent's answer)


def _library():
    """The SQLite that Python's sqlite3 uses: looked up through its own module, so the same copy."""
    import _sqlite3

    return ctypes.CDLL(_sqlite3.__file__)


def memory_in_use(library=None) -> int:
    """The bytes SQLite holds by its own count (0 once its statistics are off)."""
    library = library or _library()
    current, highest = ctypes.c_int64(), ctypes.c_int64()
    library.sqlite3_status64(_SQLITE_STATUS_MEMORY_USED, ctypes.byref(current), ctypes.byref(highest), 0)
    return current.value


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
        library = _library()
        if memory_in_use(library) != 0:  # a connection (or a statement) is open: too late
            return False
        library.sqlite3_shutdown()
        library.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0))
        return library.sqlite3_initialize() == _SQLITE_OK
    except (OSError, AttributeError):  # a SQLite built into Python, its functions not exported: as it is
        return False
