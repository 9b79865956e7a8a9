"""scripts/demo.sh's first run (scripts/setup.sh), without the minutes-long real install: the
scripts run from a scratch copy of the repository with ``python3`` on PATH a stub whose ``-m venv``
makes a fake ``.venv`` (its ``python -m pip`` and ``queuekiosk`` record their arguments, and pip
prints setuptools' alarming banner). What is checked is what a person running the demo sees: the
progress line is printed before pip starts, pip's output goes to .venv/install.log instead of the
terminal (shown only when the install fails), the second run installs nothing, and the demo then
migrates and serves with the arguments given. Whether the pinned packages really install is the
job of CI's fresh-clone run, not of this test."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PROGRESS = "queuekiosk: installing the pinned dependencies into .venv"
BANNER = "SetuptoolsDeprecationWarning: Installing 'queuekiosk' as data is deprecated"

# .venv/bin/python: `-m pip ...` records its arguments and whether the progress line was already
# on the script's stderr (a file) when pip started; prints the banner; fails if PIP_FAILS is set
FAKE_PYTHON = """#!/bin/bash
if [ "$1 $2" = "-m pip" ]; then
  shift 2
  if grep -q "installing the pinned dependencies" "$DEMO_STDERR"; then told=told; else told=untold; fi
  echo "pip $told $*" >> "$DEMO_CALLS"
  echo "********************************************************************************"
  echo "{banner}" >&2
  [ -z "${{PIP_FAILS:-}}" ] || {{ echo "ERROR: No matching distribution found for flask" >&2; exit 1; }}
  exit 0
fi
echo "python $*" >> "$DEMO_CALLS"
"""

FAKE_QUEUEKIOSK = """#!/bin/bash
echo "queuekiosk $*" >> "$DEMO_CALLS"
"""

# python3 on PATH: `-m venv --help` answers, `-m venv .venv` makes the fake environment
FAKE_PYTHON3 = """#!/bin/bash
[ "$1 $2" = "-m venv" ] || exit 2
[ "$3" = "--help" ] && exit 0
echo "venv $3" >> "$DEMO_CALLS"
mkdir -p "$3/bin"
cp "$STUBS/fake-python" "$3/bin/python"
cp "$STUBS/fake-queuekiosk" "$3/bin/queuekiosk"
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _scratch(tmp_path: Path) -> tuple[Path, dict]:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in ("demo.sh", "setup.sh"):
        shutil.copy2(REPO / "scripts" / name, root / "scripts" / name)
    (root / "setup.py").write_text("")
    (root / "constraints.txt").write_text("")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    _executable(stubs / "python3", FAKE_PYTHON3)
    _executable(stubs / "fake-python", FAKE_PYTHON.format(banner=BANNER))
    _executable(stubs / "fake-queuekiosk", FAKE_QUEUEKIOSK)
    env = {
        **{k: v for k, v in os.environ.items() if k != "PIP_FAILS"},
        "PATH": f"{stubs}{os.pathsep}{os.environ['PATH']}",
        "STUBS": str(stubs),
        "DEMO_CALLS": str(tmp_path / "calls.txt"),
        "DEMO_STDERR": str(tmp_path / "stderr.txt"),
    }
    return root, env


def _demo(root: Path, env: dict, *args: str) -> tuple[int, str, str, list[str]]:
    calls = Path(env["DEMO_CALLS"])
    calls.write_text("")
    with open(env["DEMO_STDERR"], "w") as err:
        done = subprocess.run(
            ["bash", str(root / "scripts" / "demo.sh"), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=60,
        )
    return done.returncode, done.stdout, Path(env["DEMO_STDERR"]).read_text(), calls.read_text().splitlines()


def test_the_first_run_says_it_installs_and_keeps_pip_s_output_in_a_log(tmp_path):
    root, env = _scratch(tmp_path)
    code, out, err, calls = _demo(root, env, "--port", "9000")
    assert code == 0, err
    assert calls == [
        "venv .venv",
        "pip told install --quiet --upgrade pip==26.3 setuptools==84.2.1 wheel==0.48.0",
        "pip told install --quiet -c constraints.txt -e .",  # the demo: no test or database extras
        "queuekiosk migrate --config config.yaml",
        "queuekiosk serve --config config.yaml --ignore-hours --port 9000",
    ]
    assert PROGRESS in err and "queuekiosk: installed" in err
    assert BANNER not in out + err and "*****" not in out + err  # pip's noise stays off the terminal
    log = (root / ".venv" / "install.log").read_text()
    assert BANNER in log and "*****" in log

    # the second run installs nothing and says nothing about installing
    code, out, err, calls = _demo(root, env)
    assert code == 0, err
    assert calls == ["queuekiosk migrate --config config.yaml", "queuekiosk serve --config config.yaml --ignore-hours"]
    assert PROGRESS not in err


def test_a_failed_install_shows_pip_s_output_and_does_not_start_the_demo(tmp_path):
    root, env = _scratch(tmp_path)
    code, out, err, calls = _demo(root, env | {"PIP_FAILS": "1"})
    assert code == 1
    assert "No matching distribution found for flask" in err  # the log, shown because it failed
    assert "queuekiosk: the install failed" in err and ".venv/install.log" in err
    assert not [call for call in calls if call.startswith("queuekiosk")]
    assert not list((root / ".venv").glob(".installed*"))  # the next run tries again
