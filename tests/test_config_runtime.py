"""The setup the server holds (plain frozen dataclasses, server/core/config.py) is config.yaml's
models (pydantic, server/core/config_schema.py and its parts) in other clothes: the same classes, fields and
defaults, the same data written back (the saved setup, the admin API's JSON, `config export`),
and a saved setup read back as plain data equals the one checked again by the models."""

from __future__ import annotations

import dataclasses
import json

import pytest
import yaml
from pydantic import BaseModel

from queuekiosk.server.core import config as runtime
from queuekiosk.server.core import config_schema as schema
from queuekiosk.server.core import notification_settings, notification_settings_schema


def _every_part(data: dict) -> dict:
    """The demo centre with every optional part of the setup filled in."""
    data["site"]["hours"]["holidays"] = ["2026-09-02", "2026-01-01"]
    data["site"]["place"] = "Hà Đông"
    service = data["services"][0]
    service["booking"] = {"slot_minutes": 20, "remote": False}
    service["procedures"] = [{"code": "khai-sinh", "name": {"vi": "Khai sinh", "en": "Birth"}}]
    service["examples"] = {"vi": "khai sinh, kết hôn"}
    service["daily_limit"] = 300
    service["default_service_minutes"] = 7  # an int where a float is kept
    data["printers"].append({"id": "usb-1", "driver": "usb", "vendor_id": "0x04b8", "product_id": 514})
    data["printers"].append({"id": "net-1", "driver": "network", "host": "10.0.0.9", "give_up_minutes": 3})
    data["displays"].append({"id": "quay-1", "mode": "counter", "counter": 1, "voice": {"region": "south"}})
    data["limits"] = {"tickets_per_kiosk": "off", "exempt_addresses": ["192.168.1.0/24"]}
    data["rating"] = {"reasons": [{"code": "slow", "name": {"vi": "Chậm"}}], "ask_seconds": 20}
    data["notifications"] = {
        "ahead": 2,
        "channels": ["sms", "email", "zalo", "push"],
        "sms": {"url": "https://sms.example/send", "headers": {"X-Key": "${SMS_KEY}"}},
        "email": {"host": "smtp.example", "sender": "queue@example.vn"},
        "zalo": {"access_token": "t", "template_near": "1", "template_called": "2"},
        "push": {"ttl_seconds": 60},
    }
    return data


@pytest.fixture(params=["demo", "every part"])
def setup_data(request, config_data) -> dict:
    return config_data if request.param == "demo" else _every_part(config_data)


def test_the_server_holds_the_same_setup_the_models_checked(setup_data, tmp_path):
    (tmp_path / "instance").mkdir()
    held = runtime.parse_config(setup_data, str(tmp_path / "config.yaml"))
    checked = schema.validate(setup_data, "config.yaml", {"config_dir": str(tmp_path)})
    assert all(type(part).__module__ != "pydantic" for part in (held, held.site, held.notifications))
    for exclude_defaults in (False, True):
        # the same JSON text: the saved setup, the admin API's answers, `config export`
        assert json.dumps(held.model_dump(mode="json", exclude_defaults=exclude_defaults)) == json.dumps(
            checked.model_dump(mode="json", exclude_defaults=exclude_defaults)
        )
    for held_part, checked_part in ((held.sounds, checked.sounds), (held.displays[0].voice, checked.displays[0].voice)):
        assert held_part.model_dump_json() == checked_part.model_dump_json()  # the voice's cache keys
    once = {"repeat": 1, "chime": False}  # a display's voice said once (sounds/web.py)
    voice = held.displays[0].voice.model_copy(update=once)
    assert voice.model_dump() == checked.displays[0].voice.model_copy(update=once).model_dump()
    saved = json.loads(json.dumps(checked.model_dump(mode="json")))
    assert runtime.parse_stored(saved) == held
    assert runtime.parse_stored(saved).model_dump(mode="json") == saved


def test_a_saved_setup_that_does_not_read_as_plain_data_is_checked_again_naming_the_key(config_data):
    saved = json.loads(json.dumps(runtime.parse_config(config_data).model_dump(mode="json")))
    saved["services"][0]["colour"] = "red"  # a key this version does not know
    with pytest.raises(runtime.ConfigError, match=r"the setup saved in the database: services\[0\]\.colour"):
        runtime.parse_stored(saved)
    del saved["services"][0]["colour"]
    del saved["site"]["name"]
    with pytest.raises(runtime.ConfigError, match=r"site\.name: required key is missing"):
        runtime.parse_stored(saved)


def _models(module) -> dict:
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }


def test_every_model_has_a_plain_class_with_the_same_fields_and_defaults():
    models = _models(schema) | _models(notification_settings_schema)  # (the notifications' part apart)
    assert len(models) == 25
    for name, model in models.items():
        plain = getattr(runtime, name, None) or getattr(notification_settings, name)
        assert dataclasses.is_dataclass(plain) and plain.__dataclass_params__.frozen, name
        names = [f.name for f in dataclasses.fields(plain)]
        assert sorted(names) == sorted(model.model_fields), name
        assert list(plain._order or names) == list(model.model_fields), f"{name}: fields written in another order"
        for field_name, info in model.model_fields.items():
            plain_field = plain.__dataclass_fields__[field_name]
            if info.is_required():
                assert plain_field.default is dataclasses.MISSING is plain_field.default_factory, (name, field_name)
                continue
            default = info.get_default(call_default_factory=True)
            plain_default = (
                plain_field.default_factory()
                if plain_field.default_factory is not dataclasses.MISSING
                else plain_field.default
            )
            dumped = default.model_dump(mode="json") if isinstance(default, BaseModel) else default
            if isinstance(default, list):
                dumped = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in default]
            plain_dumped = notification_settings._dump(plain_default, "json", False)
            assert json.dumps(plain_dumped) == json.dumps(dumped) or plain_dumped == dumped, (name, field_name)


def test_config_yaml_checked_in_a_child_is_the_same_setup_and_the_same_errors(tmp_path, config_data):
    """A long-running server's first start on a new database checks config.yaml in a child process
    (``load_config_apart``: here, where pydantic is loaded, ``load_config_in_child`` itself), so that
    it never imports pydantic: the same setup, the same refusal."""
    import yaml

    from queuekiosk.printers.profiles import install

    install()  # as the entry points do: a printer profile python-escpos does not know is refused
    (tmp_path / "instance").mkdir()
    good = tmp_path / "config.yaml"
    good.write_text(yaml.safe_dump(_every_part(config_data), allow_unicode=True), encoding="utf-8")
    assert runtime.load_config_in_child(good) == runtime.load_config(good)

    config_data["site"]["name"] = "Trung tâm hành chính công"
    config_data["services"][0]["numbers"]["end"] = 0
    config_data["printers"][0]["profile"] = "NoSuchPrinter"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    refusals = []
    for load in (runtime.load_config_in_child, runtime.load_config):
        with pytest.raises(runtime.ConfigError) as refused:
            load(bad)
        refusals.append(str(refused.value))
    assert refusals[0] == refusals[1]
    assert "services[0].numbers.end" in refusals[0] and "printers[0].profile" in refusals[0]


@pytest.mark.parametrize(
    "text, where, problem",
    [
        # libyaml lets a tab through where PyYAML's own parser refuses it: refused, as ever
        ("site:\n  name:\tPhúc La\n", "line 2, column 8", "found character '\\t' that cannot start any token"),
        ("services: [HT, CT\n", "line 2, column 1", "expected ',' or ']', but got '<stream end>'"),
        ("site:\n  name: a: b\n", "line 2, column 10", "mapping values are not allowed here"),
    ],
)
def test_a_config_file_that_is_not_yaml_is_refused_saying_where_and_what(tmp_path, text, where, problem):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(runtime.ConfigError) as refused:
        runtime.load_config(path)
    assert str(refused.value) == f"{path}: {where}: not valid YAML: {problem}"


def test_the_config_read_by_libyaml_is_the_data_pyyaml_reads(_config_text):
    import yaml

    assert getattr(yaml, "CSafeLoader", None) is not None, "PyYAML without libyaml: every start parses in Python"
    assert runtime.yaml_data(_config_text) == yaml.safe_load(_config_text)


@pytest.mark.parametrize("written, read", [("open: 7:30", 450), ("open: 0730", 472), ("open: 8", 8)])
def test_a_time_yaml_reads_as_a_number_is_refused_saying_to_quote_it(config_data, written, read):
    """Unquoted, YAML reads 7:30 as 450 (base 60) and 0730 as octal: refused as "a time with a zone"."""
    hours = yaml.safe_load(written)
    assert hours["open"] == read
    config_data["site"]["hours"]["open"] = hours["open"]
    with pytest.raises(runtime.ConfigError, match=r'site\.hours\.open: write the time in quotes, e\.g\. "07:30"'):
        runtime.parse_config(config_data, "config.yaml")
