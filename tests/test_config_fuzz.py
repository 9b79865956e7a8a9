"""Fuzzing the config loader (issue 7): config.yaml with any one value replaced or removed is either
accepted or refused with "<file>: <key path>: <problem>", never a crash or a traceback."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queuekiosk.server.core.config import Config, ConfigError, parse_config

ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | st.sampled_from(["all", "07:30", "25:99", "0x04b8", "2026-02-30", "HT", "1/minute", "../../etc/passwd"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def paths(node, prefix=()):
    """Every key path in the config: ("services", 0, "numbers", "end") and so on."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, (*prefix, i))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)  # copied per example
@given(data=st.data())
def test_any_broken_value_is_refused_with_its_key_path(config_data, data):
    config = copy.deepcopy(config_data)
    path = data.draw(st.sampled_from([p for p in paths(config) if p]), label="path")
    parent = config
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans(), label="remove") and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(ANY_VALUE, label="value")
    try:
        assert isinstance(parse_config(config, "config.yaml"), Config)
    except ConfigError as error:
        message = str(error)
        assert message.startswith("config.yaml: ") and message.count(": ") >= 2, message
        assert "Traceback" not in message


def test_an_opening_time_with_a_time_zone_is_refused_by_its_key_path(config_data):
    """Found by the fuzzer: YAML's 0 read as midnight UTC, a time with a zone, which a plain closing time
    cannot be compared with. The site's timezone says where; the hours are local. A number is now refused
    as such (write the time in quotes); a written zone still as a time with a zone."""
    for written, said in ((0, 'write the time in quotes, e.g. "07:30"'), ("08:00+07:00", "without a time zone")):
        config = copy.deepcopy(config_data)
        config["site"]["hours"]["open"] = written
        try:
            parse_config(config, "config.yaml")
        except ConfigError as error:
            assert "site.hours.open" in str(error) and said in str(error), str(error)
        else:
            raise AssertionError(f"an opening time {written!r} was accepted")
