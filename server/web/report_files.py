"""Report files (CSV, Excel, PDF) made off the gevent loop, a few at a time.

Making a file is pure Python: a year's summary by day (some 310 rows) is about 5 s of fpdf2 as a PDF
and 1.5 s of openpyxl as an Excel file, three years twice that, on a busy two-core machine. Made on
the loop, as it was, nothing else on the process was answered meanwhile: a clerk's "next" waited 5.9 s
behind a province officer's PDF, and so did the kiosks, lobby TVs and phones of every commune on that
process.

So the file is made in a thread of gevent's hub pool (``core.exports.to_file``, which reads nothing but
the report's dict it is given): a real OS thread, which Python's GIL leaves every few milliseconds
(``sys.getswitchinterval()``, 5 ms), so the loop keeps answering, a little slower while a file is
being made. The figures are read from the database before, on the loop, in the request's own session,
as for the JSON; nothing of SQLAlchemy goes to the thread. The file's library (openpyxl, fpdf2) is
imported before too, on the loop, the first time a process makes a file of that format
(``core.exports.import_library``: a first import in the thread could meet the same package being
imported on the loop, half made), not at the server's start (its idle memory: docs/performance.md).
Under gunicorn's gevent worker alike: its heartbeat greenlet runs meanwhile too, so a long file no
longer risks the master's ``timeout``.

At most ``AT_ONCE`` files are being made at once on a process (one takes some 30-70 MB while it is
made: three years by day as a PDF; the pool's other threads stay free for the SQLite writer's commits
and the wait prediction's training). One more is refused with 503 ``report_files_busy``, which says how
many are being made and when to try again (``Retry-After``), rather than queued behind them.
"""

from __future__ import annotations

import gevent

from ..core import engine as q
from ..core.exports import import_library, to_file

AT_ONCE = 2
RETRY_SECONDS = 10  # about what a year's PDF takes: the Retry-After of a refused file

_making = 0  # files being made now on this process (counted on the loop's thread only)


def made(report: dict, fmt: str, language: str, place: str | None) -> bytes:
    """The report's file of ``fmt`` (``core.exports.to_file``), made in a thread of gevent's pool while
    the loop goes on; ``Unavailable`` (503) if ``AT_ONCE`` are already being made."""
    global _making
    if _making >= AT_ONCE:
        raise q.Unavailable("report_files_busy", making=_making, seconds=RETRY_SECONDS, retry_after=RETRY_SECONDS)
    _making += 1
    try:
        import_library(fmt)  # here on the loop, not in the pool's thread (once a process: see import_library)
        return gevent.get_hub().threadpool.apply(to_file, (report, fmt, language, place))
    finally:
        _making -= 1
