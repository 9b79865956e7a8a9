"""`queuekiosk serve` re-runs itself as ``python -OO`` (server/cli.py ``_serve_optimized``) and
serves as usual.

The other tests' servers are forks of a zygote that imported the server (tests/server_fork.py), so
they never take that path, and on a machine with PYTHONDONTWRITEBYTECODE=1 and no ``-OO`` bytecode
compiled at install a real ``serve`` does not re-run either. Here the real command runs with a
bytecode cache folder of the test's own (PYTHONPYCACHEPREFIX), holding the ``-OO`` bytecode of the
modules ``serve`` looks for, as an install that compiled it would (docs/deployment.md): the server
compiles the rest as it imports it (a few seconds, once).
"""

from __future__ import annotations

import importlib.util
import py_compile
import sys
from pathlib import Path

from api_helpers import issue


def _compiled_at_install(prefix: Path, *modules: str) -> None:
    """The ``-OO`` bytecode of ``modules`` where an interpreter using ``prefix`` looks for it."""
    saved = sys.pycache_prefix
    sys.pycache_prefix = str(prefix)
    try:
        for name in modules:
            origin = importlib.util.find_spec(name).origin
            py_compile.compile(origin, cfile=importlib.util.cache_from_source(origin, optimization=2), doraise=True)
    finally:
        sys.pycache_prefix = saved


def test_serve_runs_itself_again_as_python_OO_and_issues_a_ticket(live_server, tmp_path):
    prefix = tmp_path / "pycache"
    _compiled_at_install(prefix, "json", "sqlalchemy")
    srv = live_server(env={"PYTHONPYCACHEPREFIX": str(prefix)}, start=False)
    srv.env.pop("PYTHONOPTIMIZE", None)  # the operator's choice, which serve would keep
    # compiling the server's modules at -OO takes 3-7 s of it on a quiet machine, over 60 s in a fresh clone's
    # suite beside other work (load ~13): the wait polls /healthz, so a quick start ends it as soon
    srv.start(timeout=240)
    assert srv.zygote is None or not srv.zygote.preloadable(["serve"], srv.env), "a real process, not a fork"

    # the same process (execv keeps the pid), now the interpreter with -OO
    argv = Path(f"/proc/{srv.proc.pid}/cmdline").read_bytes().split(b"\0")
    assert argv[0] == sys.executable.encode() and argv[1] == b"-OO", argv
    assert b"serve" in argv and str(srv.port).encode() in argv, argv

    http = srv.session()
    assert issue(http, "HT")["number"] == 1001
    assert "Traceback" not in srv.log()
