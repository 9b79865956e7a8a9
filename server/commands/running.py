"""``person-key change``, ``restore`` and ``migrate`` refuse while server processes of the installation
run (core/running.py), naming each: a restore or a schema change under a running server leaves it on
data or a schema it does not know, a key change hashing with the previous key."""

from __future__ import annotations

import click

from .common import say


def refuse_while_running(processes: list[str], key: str = "cli_servers_running") -> None:
    """``key``'s sentence naming ``processes``, and "nothing was done", when any is running."""
    if processes:
        raise click.ClickException(say((key, {"processes": "; ".join(processes)}), "cli_nothing_done"))
