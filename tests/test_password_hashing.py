"""Logging in with a name nobody has costs the same hash check as a real user's, and no process
pays for a hash when it merely imports server/core/auth.py (every server and command does)."""

from __future__ import annotations

import subprocess
import sys

from werkzeug.security import check_password_hash, generate_password_hash

from queuekiosk.server.core import auth


def _method(password_hash: str) -> str:
    return password_hash.split("$", 1)[0]  # e.g. "scrypt:32768:8:1": the algorithm and its cost


def test_the_stand_in_hash_costs_what_a_new_password_costs():
    assert _method(auth._DUMMY_HASH) == _method(generate_password_hash("mat-khau-dai"))
    assert not check_password_hash(auth._DUMMY_HASH, "not a password")


def test_importing_auth_computes_no_hash():
    probe = (
        "import hashlib\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('a password hash was computed at import')\n"
        "hashlib.scrypt = hashlib.pbkdf2_hmac = refuse\n"
        "import queuekiosk.server.core.auth\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
