"""config.yaml's site.sms_name (a site's short name for its SMS): optional, read at a first start and by
`queuekiosk setup import`; one over 40 characters or on two lines is refused naming the field."""

from __future__ import annotations

import unicodedata

import pytest

from queuekiosk.server.core.config import ConfigError, parse_config


def test_config_yaml_may_give_the_site_a_short_sms_name(config_data):
    assert parse_config(config_data, "config.yaml").site.sms_name is None  # unset: SMS use the official name
    config_data["site"]["sms_name"] = " TTHCC Phúc La "
    assert parse_config(config_data, "config.yaml").site.sms_name == "TTHCC Phúc La"


def test_a_short_sms_name_is_counted_without_the_spaces_around_it_and_as_nfc_writes_it(config_data):
    """40 characters pasted with a space around them, or with Vietnamese letters decomposed (an accent a code
    point), fit: the spaces are dropped and the letters counted as they are sent, composed."""
    config_data["site"]["sms_name"] = " " + "x" * 40 + " "
    assert parse_config(config_data, "config.yaml").site.sms_name == "x" * 40
    name = "Bộ phận Một cửa UBND phường Phúc La"  # 35 letters, 47 code points decomposed
    config_data["site"]["sms_name"] = unicodedata.normalize("NFD", name)
    assert parse_config(config_data, "config.yaml").site.sms_name == name


@pytest.mark.parametrize(("value", "said"), [("x" * 41, "at most 40 characters"), ("TTHCC\nPhúc La", "one line")])
def test_a_short_sms_name_too_long_or_on_two_lines_is_refused_naming_it(config_data, value, said):
    config_data["site"]["sms_name"] = value
    with pytest.raises(ConfigError, match=r"site\.sms_name") as refused:
        parse_config(config_data, "config.yaml")
    assert said in str(refused.value), refused.value
