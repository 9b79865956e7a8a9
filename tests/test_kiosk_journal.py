"""The kiosk agent's journal (kiosk/agent.py Journal) when its server changes between a release with job
keys and one before them (a release rolled back, two machines behind a proxy upgraded one at a time).

A unit-level test of the journal, on a real state file: the test server is always of this release, and
cannot answer as an older one would (no ``key`` in print.fetch, no ``"keys": true`` in agent.hello's answer).
"""

from __future__ import annotations

import json

from queuekiosk.kiosk.agent import Journal

KEY = "5-20261206034413123456-Xk3aaaaaaaaa"  # job 5, as a server of this release names it


def test_a_job_printed_by_key_is_not_printed_again_when_an_older_server_sends_it_without_one(tmp_path):
    """Printed through a server of this release, its print.done answer lost; an older server then sends
    job 5 again, still pending and with no key: the journal knows it printed (it printed it a second time)."""
    state = tmp_path / "agent.json"
    state.write_text(json.dumps({"printed": [KEY], "unconfirmed": [KEY]}))
    journal = Journal(state)
    assert journal.has_printed({"id": 5})
    assert not journal.has_printed({"id": 50}) and not journal.has_printed({"id": 6})
    # a server of this release sends the key: another job with id 5 (after a restore) is not printed
    assert not journal.has_printed({"id": 5, "key": "5-20270101000000000000-Qq9aaaaaaaaa"})
    assert journal.has_printed({"id": 5, "key": KEY})


def test_keys_reported_to_an_older_server_stay_in_the_state_file_until_a_server_takes_them(tmp_path):
    """A hello answered without ``"keys": true`` (a server that drops keys) confirms the ids reported only:
    the keys stay unconfirmed (the agent forgot them, and the ticket printed twice); a hello answered with
    it confirms them."""
    state = tmp_path / "agent.json"
    state.write_text(json.dumps({"printed": [4, KEY], "unconfirmed": [4, KEY]}))
    journal = Journal(state)
    journal.reported([4, KEY], keys=False)
    assert json.loads(state.read_text())["unconfirmed"] == [KEY]
    assert journal.has_printed({"id": 5})
    journal.reported([KEY], keys=True)
    assert json.loads(state.read_text()) == {"printed": [4, KEY], "unconfirmed": []}
