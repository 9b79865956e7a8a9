"""Ticket printing: the ticket layout (ticket.py), printer drivers (drivers.py), the spooler (spooler.py).

python-escpos reads its printer profiles from a pickle cache; without a fixed folder every
import makes a new temporary one (FIELD-NOTES), so one is set before escpos is imported.
"""

import os
import tempfile

_cache = os.environ.setdefault("ESCPOS_CAPABILITIES_PICKLE_DIR",
                               os.path.join(tempfile.gettempdir(), f"queuekiosk-escpos-{os.getuid()}"))
os.makedirs(_cache, exist_ok=True)


def printer_profiles() -> list[str]:
    """The printer models python-escpos knows (a printer's ``profile`` key names one)."""
    from escpos.capabilities import CAPABILITIES

    return sorted(CAPABILITIES["profiles"])
