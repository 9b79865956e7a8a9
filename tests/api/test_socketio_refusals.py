"""A Socket.IO event refused for several fields names them all at once, as an HTTP body's refusal does
(``others``, each with its own ``field`` and ``problem``, Vietnamese with English in ``translations``):
whoever sets up a kiosk agent (or writes one) fixes them in one go. The real server, a kiosk token."""

from __future__ import annotations

from api_helpers import issue, print_jobs


def _agent_server(live_server, config_variant):
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]
    return live_server(config)


def _fields(error: dict) -> list[str]:
    return [error.get("field"), *(other.get("field") for other in error.get("others", ()))]


def test_a_kiosk_agent_s_bad_hello_and_print_report_name_every_field_refused(live_server, config_variant, sio_client):
    srv = _agent_server(live_server, config_variant)
    agent = sio_client(srv, auth={"token": srv.kiosk_token()})

    refused = agent.sio.call("agent.hello", {"kiosk": ["kiosk-1"], "printed": "1-20261206-abc"}, timeout=5)["error"]
    assert refused["code"] == "invalid_field", refused
    assert _fields(refused) == ["kiosk", "printed"], refused
    (printed,) = refused["others"]
    assert printed["problem"] and printed["translations"]["en"]["problem"], printed  # said in both languages
    assert printed["problem"] != printed["translations"]["en"]["problem"], printed

    hello = agent.sio.call("agent.hello", {"kiosk": "kiosk-1", "printed": [], "newer_key": True}, timeout=5)
    assert hello.get("printer") == "kiosk-1", hello  # a key of a newer agent is let through
    ticket = issue(srv.session(), "HT", kiosk="kiosk-1")
    [job] = print_jobs(srv.session(), ticket["id"])
    refused = agent.sio.call("print.done", {"job": str(job["id"]), "printed": "yes"}, timeout=5)["error"]
    assert _fields(refused) == ["job", "printed"], refused
    assert refused["translations"]["en"]["problem"] == "needs the number of the print job", refused
    assert print_jobs(srv.session(), ticket["id"])[0]["status"] == "pending"  # nothing done on a refusal
    assert agent.sio.call("print.done", {"job": job["id"], "printed": True}, timeout=5) == {"ok": True}
    assert print_jobs(srv.session(), ticket["id"])[0]["status"] == "printed"


def test_a_hand_written_agent_s_kiosk_as_a_number_or_empty_is_taken_as_before(live_server, config_variant, sio_client):
    """Not refused (an agent refused ``invalid_field`` stops for good, kiosk/agent.py): a kiosk named by a
    number is the kiosk of that id, an empty one names none (the token's kiosk), as servers before took them."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]
    config["kiosks"] = [{"id": "7", "printer": "kiosk-1", "services": "all"}]
    srv = live_server(config)
    for kiosk in (7, ""):
        agent = sio_client(srv, auth={"token": srv.kiosk_token("7")})
        hello = agent.sio.call("agent.hello", {"kiosk": kiosk, "printed": []}, timeout=5)
        assert (hello.get("kiosk"), hello.get("printer")) == ("7", "kiosk-1"), (kiosk, hello)
        agent.sio.disconnect()
