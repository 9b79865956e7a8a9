"""The `queuekiosk` command as an installer uses it (SPEC "Command line", "Configuration").

Every command runs as a real subprocess with its own instance folder and config file.
"""

from __future__ import annotations

import re
import socket
import subprocess

import pytest
import yaml


@pytest.fixture
def site(live_server):
    """A config file and instance folder for the CLI; no server is started."""
    return live_server(start=False)


def run(site, *args, input=None, timeout=60) -> subprocess.CompletedProcess:
    return site.run(*args, input=input, timeout=timeout)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--help"], ["serve", "token", "user", "QUEUEKIOSK_DATABASE_URL"]),
        (["-h"], ["serve", "token", "user"]),
        (["serve", "--help"], ["--config", "--host", "--port", "--ignore-hours", "config.yaml"]),
        (
            ["token", "create", "--help"],
            ["--role", "admin", "counter", "kiosk", "display", "--counter", "standard output"],
        ),
        (["user", "add", "--help"], ["--role", "clerk", "--counter", "password"]),
    ],
)
def test_help_explains_each_command(site, args, expected):
    result = run(site, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: queuekiosk")
    for word in expected:
        assert word in result.stdout, f"{word!r} missing from `queuekiosk {' '.join(args)}`:\n{result.stdout}"


def test_token_create_prints_one_token(site):
    result = site.cli("token", "create", "--role", "counter", "--counter", "3", "--name", "bàn phím quầy 3")
    token = result.stdout.strip()
    assert re.fullmatch(r"qk_[A-Za-z0-9_-]{20,}", token), result.stdout
    assert result.stdout.count("\n") == 1, "only the token goes to standard output (scripts capture it)"
    assert site.cli("token", "create", "--role", "admin").stdout.strip() != token


@pytest.mark.parametrize(
    "args, says",
    [
        (["--role", "counter"], "--counter"),
        (["--role", "kiosk", "--counter", "1"], "--counter"),
        (["--role", "counter", "--counter", "99"], "no counter 99"),
        (["--role", "cashier"], "cashier"),
        (["--role", "kiosk", "--kiosk", "kiosk-9"], "no kiosk 'kiosk-9'"),
        (["--role", "display", "--kiosk", "kiosk-1"], "only a kiosk token takes --kiosk"),
    ],
)
def test_token_create_refusals_are_clear(site, args, says):
    result = site.cli("token", "create", *args, check=False)
    assert result.returncode != 0
    assert says in result.stderr, result.stderr
    assert "qk_" not in result.stdout, "no token may be printed when none was made"
    assert "Traceback" not in result.stderr


def test_user_add_refuses_a_short_password_and_adds_nothing(site):
    short = site.add_user("lan", "1234567", role="clerk", counter=2, check=False)
    assert short.returncode != 0
    assert "8 characters" in short.stderr, short.stderr
    assert "Traceback" not in short.stderr

    # nothing was half-made: the same name can be added with a good password, then only once
    site.add_user("lan", "12345678", role="clerk", counter=2)
    again = site.add_user("lan", "another-password", role="clerk", counter=2, check=False)
    assert again.returncode != 0
    assert "already exists" in again.stderr and "đã có tài khoản tên “lan”" in again.stderr, again.stderr


def test_user_add_refuses_an_unknown_counter(site):
    result = site.add_user("minh", "mật-khẩu-dài", role="clerk", counter=42, check=False)
    assert result.returncode != 0
    assert "42" in result.stderr


def _port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _unknown_service(cfg):
    cfg["counters"][0]["services"] = ["XX"]


def _overlapping_range(cfg):
    cfg["services"][1]["numbers"] = {"start": 1500, "end": 2500}


def _close_before_open(cfg):
    cfg["site"]["hours"]["close"] = "07:00"


def _misspelt_key(cfg):
    cfg["site"]["timezon"] = cfg["site"].pop("timezone")


@pytest.mark.parametrize(
    "breaks, key_path, says",
    [
        (_unknown_service, "counters[0].services[0]", "XX"),
        (_overlapping_range, "services[1].numbers", "overlaps"),
        (_close_before_open, "site.hours", "close"),
        (_misspelt_key, "site.timezon", "unknown key"),
    ],
)
def test_a_broken_config_stops_serve_naming_file_and_key(live_server, config_variant, breaks, key_path, says):
    cfg = config_variant()
    breaks(cfg)
    site = live_server(cfg, start=False)
    result = run(
        site, "serve", "--config", str(site.config_path), "--port", str(site.port), "--ignore-hours", timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert str(site.config_path) in output, output
    assert key_path in output, output
    assert says in output, output
    assert "Traceback" not in output
    assert _port_is_closed(site.port)


def test_a_config_that_is_not_yaml_names_the_line(live_server, config_variant):
    site = live_server(config_variant(), start=False)
    text = site.config_path.read_text(encoding="utf-8")
    site.config_path.write_text(text + "\ncounters: [ {number: 7\n", encoding="utf-8")
    result = run(site, "serve", "--config", str(site.config_path), "--port", str(site.port), timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert str(site.config_path) in output
    assert re.search(r"line \d+", output), output
    assert "Traceback" not in output


def test_a_missing_config_file_is_named(site):
    missing = site.workdir / "no-such-config.yaml"
    result = run(site, "serve", "--config", str(missing), "--port", str(site.port), timeout=60)
    assert result.returncode != 0
    assert str(missing) in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_the_written_config_round_trips(site):
    """Guard for the fixtures above: the config they write is the repo's, valid as it is."""
    data = yaml.safe_load(site.config_path.read_text(encoding="utf-8"))
    assert data["site"]["id"] == "phuc-la"
    assert site.cli("token", "create", "--role", "display").returncode == 0
