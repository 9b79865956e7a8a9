"""The xdist workers share the rewriting of the test files' asserts (and the helpers', tests/conftest.py)
instead of each doing all of it.

pytest rewrites a test file's ``assert`` statements as it imports it (an AST pass in Python: about 8 s
of CPU for this suite's files on the 2-core machine, more than half of a worker's collection) and keeps
the result in a pyc beside the file, which it reads instead next time. Every worker imports every
file, and on a fresh clone they all start at once, so each rewrote every file (4 x 8 s); where
``PYTHONDONTWRITEBYTECODE`` is set (it is on this machine kind), no pyc is kept at all. So each
worker first rewrites its share of the files (every Nth, in a fixed order) and writes the pyc pytest
looks for, whatever that setting: the pycs are pytest's own format (hash-checked, so never stale,
in ``__pycache__``, which git ignores), made by pytest's own functions. A file whose pyc is not
written yet when a worker reaches it is rewritten by that worker, as before.

pytest offers no public call for this: these are the functions ``AssertionRewritingHook.exec_module``
calls (pytest is pinned in constraints.txt). Should they move, nothing is shared and the suite
runs as before, only slower.
"""

from __future__ import annotations

import os
from pathlib import Path


def rewrite_my_share(config, tests_folder: Path) -> int:
    """In an xdist worker: rewrite this worker's share of the test files and conftests under
    ``tests_folder`` that have no valid pyc yet; the number written. Elsewhere, or where pytest does not
    rewrite asserts: nothing."""
    worker, workers = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if not worker.startswith("gw") or not workers or config.getoption("assertmode") != "rewrite":
        return 0
    try:
        from _pytest.assertion.rewrite import (
            PYC_TAIL,
            _read_pyc,
            _rewrite_test,
            _write_pyc,
            assertstate_key,
            get_cache_dir,
            try_makedirs,
        )
    except ImportError:
        return 0
    state = config.stash[assertstate_key]
    files = [
        path for pattern in ("test_*.py", "conftest.py", "*_helpers.py") for path in sorted(tests_folder.rglob(pattern))
    ]
    written = 0
    for source in files[int(worker[2:]) :: int(workers)]:
        cache_dir = get_cache_dir(source)
        pyc = cache_dir / (source.name[:-3] + PYC_TAIL)
        if _read_pyc(source, pyc) is not None or not try_makedirs(cache_dir):
            continue
        try:
            source_hash, code = _rewrite_test(source, config)
        except Exception:  # noqa: BLE001 - a file that does not parse: its collection reports it
            continue
        written += _write_pyc(state, code, source_hash, pyc)
    return written
