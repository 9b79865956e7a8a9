"""Each site's printer is driven by one process at a time through a lease named after it: two
different printers must never share a name, or one of them would never print."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from queuekiosk.server.core.sites import SITE_ID
from queuekiosk.server.web.printing import lease_name

site_ids = st.from_regex(SITE_ID, fullmatch=True)
printer_ids = st.from_regex(r"^[A-Za-z0-9_-]{1,32}$", fullmatch=True)  # config_schema's Code


@given(site_ids, printer_ids, site_ids, printer_ids)
def test_two_printers_never_share_a_lease(site_a, printer_a, site_b, printer_b):
    if (site_a, printer_a) != (site_b, printer_b):
        assert lease_name(site_a, printer_a) != lease_name(site_b, printer_b)


def test_a_site_and_printer_that_once_shared_one_now_do_not():
    assert lease_name("xa", "tan-1") != lease_name("xa-tan", "1")
