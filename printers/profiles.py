"""Printer profiles: the printer models python-escpos knows (a printer's ``profile`` key names one).

The core checks a profile through the hook ``install`` sets (server/core/config.py
``check_printer_profiles_with``), so it imports nothing from the device parts; python-escpos's
capabilities are loaded at the first printer checked.
"""

from __future__ import annotations

from ..server.core.config import check_printer_profiles_with
from ..server.core.i18n import Phrase


def printer_profiles() -> list[str]:
    from escpos.capabilities import CAPABILITIES

    return sorted(CAPABILITIES["profiles"])


def profile_problem(name: str) -> Phrase | None:
    """Why ``name`` is not a printer profile (said in the reader's language), or None when it is one."""
    if name in printer_profiles():
        return None
    return Phrase("problem_unknown_printer_profile", profile=name)


def install() -> None:
    """Config (the file, the admin API) refuses a profile python-escpos does not know; for the entry points."""
    check_printer_profiles_with(profile_problem)
