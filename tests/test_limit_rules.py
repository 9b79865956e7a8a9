"""Config ``limits`` read without the ``limits`` library (server/core/limit_rules.py) mean what that
library reads in them: the same amount and window for every form it takes, and a refusal of every
text it refuses."""

from __future__ import annotations

import pytest
from limits import parse_many

from queuekiosk.server.core.limit_rules import parse_limits

TAKEN = [
    "30/minute",
    "10/minute;200/day",
    "10/minute; 200/day",
    "5 per 2 hours",
    "5/2hours",
    "1 PER SECOND",
    "3/seconds,7/month|1/year",
    " 4 / 10 minutes ",
    "0/minute",
    "100 per day",
]
REFUSED = [
    "",
    "30",
    "minute",
    "30/fortnight",
    "30/minute;",
    "thirty/minute",
    "30/minutess",
    "-1/minute",
    "30 // minute",
]


@pytest.mark.parametrize("text", TAKEN)
def test_each_limit_means_the_amount_and_window_the_limits_library_reads(text):
    ours = [(limit.amount, limit.seconds) for limit in parse_limits(text)]
    theirs = [(item.amount, item.get_expiry()) for item in parse_many(text)]
    assert ours == theirs


@pytest.mark.parametrize("text", REFUSED)
def test_what_the_limits_library_refuses_is_refused(text):
    with pytest.raises(ValueError):
        parse_many(text)
    with pytest.raises(ValueError, match="is not a limit"):
        parse_limits(text)


def test_the_one_process_server_does_not_load_the_limits_library():
    import subprocess
    import sys

    code = (
        "import sys; from queuekiosk.server.web.ratelimits import RateLimits; "
        "limits = RateLimits(); limits.count_login('10.0.0.1', 'lan'); limits.login_succeeded('10.0.0.1', 'lan'); "
        "print('limits' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
