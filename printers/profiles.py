"""Printer profiles: the printer models python-escpos knows (a printer's ``profile`` key names one).

The core checks a profile through the hook ``install`` sets (server/core/config.py
``check_printer_profiles_with``), so it imports nothing from the device parts; python-escpos's
capabilities are loaded at the first printer checked.
"""

from __future__ import annotations

from ..server.core.config import check_printer_profiles_with


def printer_profiles() -> list[str]:
    from escpos.capabilities import CAPABILITIES

    return sorted(CAPABILITIES["profiles"])


def profile_problem(name: str) -> str | None:
    """Why ``name`` is not a printer profile, or None when it is one."""
    if name in printer_profiles():
        return None
    return f"unknown printer profile {name!r} (examples: TM-T20II, TM-T88V, default)"


def install() -> None:
    """Config (the file, the admin API) refuses a profile python-escpos does not know; for the entry points."""
    check_printer_profiles_with(profile_problem)
