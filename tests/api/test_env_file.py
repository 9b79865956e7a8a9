"""docs/deployment.md's env file, as an IT person copies it into /etc/queuekiosk/env: the shell (the
``qk`` helper, cron's backup) sources it, so its example values, written in <…>, must not break the
shell before they are replaced (a ``<`` read as a redirection, an apostrophe opening a quote), and
``queuekiosk`` refuses a value still holding one, naming the variable."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from api_helpers import REPO
from ops_helpers import run_gunicorn, run_serve

DOC = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
QUEUEKIOSK = REPO / ".venv" / "bin" / "queuekiosk"


def _env_samples() -> list[str]:
    """Each ```sh block of the doc that writes the env file (its QUEUEKIOSK_DATABASE_URL line)."""
    return [block for block in re.findall(r"```sh\n(.*?)```", DOC, re.S) if "\nQUEUEKIOSK_DATABASE_URL=" in block]


def _sourced(env_file, *command: str) -> subprocess.CompletedProcess:
    """``command`` as the doc's ``qk`` runs it: sh, the file sourced with set -a."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    script = 'set -a; . "$1"; set +a; shift; exec "$@"'
    return subprocess.run(
        ["sh", "-c", script, "qk", str(env_file), *command], env=clean, capture_output=True, text=True, timeout=60
    )


def test_the_doc_has_two_env_file_samples():
    assert len(_env_samples()) == 2  # section 2 (one machine) and section 3 (several machines)


@pytest.mark.parametrize("sample", _env_samples(), ids=["one-machine", "several-machines"])
def test_the_env_file_sourced_before_its_examples_are_replaced_is_refused_naming_each(tmp_path, sample):
    env_file = tmp_path / "env"
    env_file.write_text(sample, encoding="utf-8")
    done = _sourced(env_file, str(QUEUEKIOSK), "user", "list")
    said = done.stderr
    assert done.returncode != 0 and "Traceback" not in said, said
    assert "Syntax error" not in said and "No such file" not in said and "not found" not in said, said  # the shell
    left = sorted(set(re.findall(r"^(QUEUEKIOSK_\w+)=.*<", sample, re.M)))
    assert "QUEUEKIOSK_DATABASE_URL" in left and "QUEUEKIOSK_PERSON_KEY" in left, sample
    assert f"{', '.join(left)}: the env file (/etc/queuekiosk/env) or the environment still holds" in said, said
    assert "put the real value in its place, the brackets too" in said, said
    assert f"{', '.join(left)}: tệp env (/etc/queuekiosk/env) hoặc biến môi trường vẫn còn chữ ví dụ" in said
    assert "nothing was done" in said
    assert "the password of the role" not in said and "the same 64 hex" not in said  # a name, never a value


def test_the_env_file_filled_in_gives_each_value_as_written(tmp_path):
    """The quotes kept around a replaced value are the shell's (and systemd's): not part of the value."""
    values = iter(["secret%27pw", "a1" * 32, "b2" * 32, "https://queue.example.vn"])
    filled = re.sub(r"<[^<>]*>", lambda _: next(values), _env_samples()[0])
    env_file = tmp_path / "env"
    env_file.write_text(filled, encoding="utf-8")
    done = _sourced(env_file, "env")
    assert done.returncode == 0, done.stderr
    got = dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("QUEUEKIOSK_"))
    assert got["QUEUEKIOSK_DATABASE_URL"] == "postgresql://queuekiosk:secret%27pw@127.0.0.1/queuekiosk"
    assert got["QUEUEKIOSK_SECRET_KEY"] == "a1" * 32 and got["QUEUEKIOSK_PERSON_KEY"] == "b2" * 32
    assert got["QUEUEKIOSK_TRACKING_URL"] == "https://queue.example.vn"


@pytest.mark.parametrize("run", [run_serve, run_gunicorn])
def test_a_server_started_with_an_example_value_left_says_which(tmp_path, run, server_zygote):
    """systemd reads the env file itself: its units' gunicorn says it as the command line does."""
    done = run(tmp_path, zygote=server_zygote, QUEUEKIOSK_TRACKING_URL="<the address of nginx as phones see it>")
    status, output = (done.returncode, done.stderr) if run is run_serve else done
    assert status != 0 and "Traceback" not in output, output
    assert "QUEUEKIOSK_TRACKING_URL: the env file (/etc/queuekiosk/env) or the environment still holds" in output
    assert "nothing was started" in output or "nothing was done" in output


def test_a_key_merely_holding_brackets_is_not_taken_for_example_text(tmp_path):
    """A key from a password generator may hold a < and later a >: only the examples' shape (a word, a
    space, more words, in < >) is refused."""
    env_file = tmp_path / "env"
    env_file.write_text(
        f"QUEUEKIOSK_INSTANCE={tmp_path / 'instance'}\nQUEUEKIOSK_SECRET_KEY='k<9f>Zq3<x>Lw8pR2vT6yB1nM4cD7hJ0sA5eG'\n",
        encoding="utf-8",
    )
    done = _sourced(env_file, str(QUEUEKIOSK), "user", "list")
    assert "still holds the example text" not in done.stderr, done.stderr
    assert "there is no database yet" in done.stderr and "Traceback" not in done.stderr, done.stderr  # got past it
