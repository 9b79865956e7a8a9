"""The printers section of config.yaml: a mistake names the key path and says what to write."""

from __future__ import annotations

import pytest

from queuekiosk.server.core.config import ConfigError, parse_config


@pytest.fixture(autouse=True, scope="module")
def _printer_profiles_checked():
    """As the entry points do (server/cli.py, server/wsgi.py): the core alone knows no printer profiles."""
    from queuekiosk.printers.profiles import install

    install()


@pytest.mark.parametrize(
    "printer, key_path, says",
    [
        ({"driver": "network"}, "printers[0]", "needs the key(s) host"),
        ({"driver": "usb", "vendor_id": "0x04b8"}, "printers[0]", "needs the key(s) product_id"),
        ({"driver": "usb", "vendor_id": "epson", "product_id": 1}, "printers[0].vendor_id", "0x04b8"),
        ({"driver": "serial"}, "printers[0]", "needs the key(s) device"),
        ({"driver": "cups"}, "printers[0]", "needs the key(s) queue"),
        ({"driver": "file", "path": "out", "host": "192.0.2.1"}, "printers[0]", "host are not used by driver 'file'"),
        (
            {"driver": "network", "host": "192.0.2.1", "profile": "TM-XYZ"},
            "printers[0].profile",
            "unknown printer profile",
        ),
        ({"driver": "network", "host": "192.0.2.1", "form": "fancy"}, "printers[0].form", "compact"),
        ({"driver": "network", "host": "192.0.2.1", "width_dots": 50}, "printers[0].width_dots", "200"),
        ({"driver": "laser"}, "printers[0].driver", "network"),
        ({"driver": "network", "host": "192.0.2.1", "hostname": "x"}, "printers[0].hostname", "unknown key"),
    ],
)
def test_printer_mistakes_name_the_key(config_data, printer, key_path, says):
    config_data["printers"] = [{"id": "kiosk-1", **printer}]
    with pytest.raises(ConfigError) as caught:
        parse_config(config_data, "config.yaml")
    message = str(caught.value)
    assert f"config.yaml: {key_path}" in message and says in message, message


def test_every_driver_is_accepted_with_its_keys(config_data):
    config_data["printers"] = [
        {"id": "kiosk-1", "driver": "network", "host": "192.0.2.10", "profile": "TM-T88V", "width_dots": 512},
        {"id": "usb", "driver": "usb", "vendor_id": "0x04b8", "product_id": "0x0202"},
        {"id": "ser", "driver": "serial", "device": "/dev/ttyUSB0", "baudrate": 9600},
        {"id": "dev", "driver": "device", "device": "/dev/usb/lp0"},
        {"id": "cups", "driver": "cups", "queue": "TM-T20"},
        {"id": "file", "driver": "file", "path": "printed"},
        {"id": "agent", "driver": "agent"},
    ]
    config_data["ticket"] = {"footer": "Phục vụ nhân dân", "tracking_url": "http://192.168.1.10:8000"}
    config = parse_config(config_data, "config.yaml")
    assert config.printer("usb").vendor_id == 0x04B8 and config.printer("usb").product_id == 0x0202
    assert config.printer("kiosk-1").form == "compact"  # the small ticket unless asked otherwise


def test_a_kiosk_naming_an_unknown_printer_is_refused(config_data):
    config_data["kiosks"][0]["printer"] = "kiosk-9"
    with pytest.raises(ConfigError, match=r"kiosks\[0\]\.printer: unknown printer 'kiosk-9'"):
        parse_config(config_data, "config.yaml")


def test_the_tracking_address_must_be_a_web_address(config_data):
    config_data["ticket"] = {"tracking_url": "192.168.1.10:8000"}
    with pytest.raises(ConfigError, match=r"ticket\.tracking_url"):
        parse_config(config_data, "config.yaml")


def test_every_driver_name_config_accepts_has_a_driver():
    """The core keeps the names as plain data; the device part registers a driver for each."""
    from queuekiosk.printers.drivers import PrinterDriver
    from queuekiosk.printers.registry import DRIVERS, driver_class
    from queuekiosk.server.core.config import PRINTER_DRIVERS
    from queuekiosk.server.core.config_schema import Printer  # config.yaml's checks

    assert list(DRIVERS) == list(PRINTER_DRIVERS)
    # each is imported at its first printer: a misspelt module or class would fail only then
    for name in PRINTER_DRIVERS:
        kind = driver_class(name)
        assert kind is None if name == "agent" else issubclass(kind, PrinterDriver), name
    assert Printer.model_fields["driver"].annotation.__args__ == PRINTER_DRIVERS  # what config.yaml may say
