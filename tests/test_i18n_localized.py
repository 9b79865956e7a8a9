"""A name of the setup given in two languages (a service's name), as a message's parameter: each
answer says it in its own language, Vietnamese where the setup has no English (i18n.Localized)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from queuekiosk.server.core.i18n import Localized, translate

NAMES = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)


@given(vi=NAMES, en=st.one_of(st.none(), st.just(""), NAMES), number=st.integers(1, 9999))
def test_a_refusal_names_the_service_in_the_language_it_is_said_in(vi, en, number):
    service = Localized(vi, en)
    params = {"number": number, "service": service, "date": "06/12/2026"}
    assert f"“{vi}”" in translate("already_holds_number", "vi", **params)
    assert f"“{en or vi}”" in translate("already_holds_number", "en", **params)
    assert str(service) == vi  # a log line says it in Vietnamese
