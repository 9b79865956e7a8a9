"""The workers' shared assert rewriting (tests/rewrite_shared.py): a worker writes the rewritten pyc of
its share of the files only, even with bytecode writing off, and pytest then imports that pyc instead
of rewriting the file, with its assertion messages as rich as ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CONFTEST = """
from pathlib import Path
import rewrite_shared

def pytest_configure(config):
    rewrite_shared.rewrite_my_share(config, Path(__file__).parent)
"""
SAMPLE = """
def served():
    return 3

def test_{name}():
    assert served() == 4
"""


def _run_pytest(folder: Path, worker: str, workers: int) -> tuple[subprocess.CompletedProcess, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(HERE),
        "PYTHONDONTWRITEBYTECODE": "1",  # as on this machine kind: pytest itself keeps no pyc
        # none of the venv's plugins (hypothesis, schemathesis, anyio, xdist) takes part in rewriting the
        # sample's files: without them each run costs 0.2 s of CPU instead of 1.4 s
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTEST_XDIST_WORKER": worker,
        "PYTEST_XDIST_WORKER_COUNT": str(workers),
    }
    # -rN: no short summary (under CI=true it repeats each failure's explanation)
    command = [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-rN", "--debug=debug.log"]
    run = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    return run, (folder / "debug.log").read_text()


def _pycs(folder: Path) -> list[str]:
    return sorted(path.name.split(".")[0] for path in (folder / "__pycache__").glob("*-pytest-*.pyc"))


def test_a_worker_writes_its_share_and_pytest_imports_it_instead_of_rewriting(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    for name in ("a", "b", "c"):
        (tmp_path / f"test_{name}.py").write_text(SAMPLE.format(name=name))

    # the second of two workers: every second file of test_a, test_b, test_c, conftest
    run, debug = _run_pytest(tmp_path, "gw1", 2)
    assert run.returncode == 1 and "3 failed" in run.stdout, run.stdout + run.stderr
    assert _pycs(tmp_path) == ["conftest", "test_b"]
    assert f"found cached rewritten pyc for {tmp_path / 'test_b.py'}" in debug
    assert f"rewriting {tmp_path / 'test_a.py'!r}" in debug  # not its share: rewritten as it is imported
    # the assertion as pytest explains a rewritten one, from the shared pyc as from the others
    assert run.stdout.count("where 3 = served()") == 3, run.stdout

    # the first worker: test_a and test_c; the conftest's pyc is the last run's
    run, debug = _run_pytest(tmp_path, "gw0", 2)
    assert _pycs(tmp_path) == ["conftest", "test_a", "test_b", "test_c"]
    for name in ("test_a", "test_b", "test_c"):
        assert f"found cached rewritten pyc for {tmp_path / f'{name}.py'}" in debug, debug
    assert "rewriting PosixPath" not in debug, debug
    assert run.stdout.count("where 3 = served()") == 3, run.stdout


def test_outside_a_worker_nothing_is_written(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a.py").write_text(SAMPLE.format(name="a"))
    run, _debug = _run_pytest(tmp_path, "", 0)
    assert "1 failed" in run.stdout, run.stdout + run.stderr
    assert not (tmp_path / "__pycache__").exists() or _pycs(tmp_path) == []
