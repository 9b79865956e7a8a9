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


def _in_a_process_of_its_own(code: str) -> str:
    """What ``code`` prints, run by a new interpreter (which this test process's settings do not reach)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_importing_auth_computes_no_hash():
    _in_a_process_of_its_own(
        "import hashlib\n"
        "def refuse(*args, **kwargs):\n"
        "    raise AssertionError('a password hash was computed at import')\n"
        "hashlib.scrypt = hashlib.pbkdf2_hmac = refuse\n"
        "import queuekiosk.server.core.auth\n"
    )


def test_a_user_added_outside_the_tests_process_has_the_cost_of_a_new_password():
    """(The tests' own users have a lighter cost: tests/conftest.py. The code that adds a user is not
    changed by it, and a process of its own stores what a real account gets.)"""
    added, changed = _in_a_process_of_its_own(
        "from sqlalchemy import create_engine\n"
        "from sqlalchemy.orm import Session\n"
        "from queuekiosk.server.core import auth, models as m\n"
        "engine = create_engine('sqlite://')\n"
        "m.metadata.create_all(engine)\n"
        "with Session(engine) as session:\n"
        "    print(auth.add_user(session, 'lan', 'mat-khau-dai', 'clerk', 1).password_hash)\n"
        "    print(auth.set_password(session, 'lan', 'mat-khau-moi').password_hash)\n"
    ).split()
    assert _method(added) == _method(changed) == _method(generate_password_hash("mat-khau-dai"))
    assert check_password_hash(added, "mat-khau-dai") and check_password_hash(changed, "mat-khau-moi")
