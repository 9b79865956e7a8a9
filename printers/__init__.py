"""Ticket printing: what a ticket says (content.py) and its layout (ticket.py), the driver interface
(drivers.py) and the drivers by name (registry.py), print jobs (jobs.py), the spooler (spooler.py),
printers' shared states (states.py) and the profiles config accepts (profiles.py).

python-escpos reads its printer profiles from a pickle cache; without a fixed folder every
import makes a new temporary one (FIELD-NOTES), so one is set before escpos is imported.
"""

import os
import tempfile

_cache = os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), f"queuekiosk-escpos-{os.getuid()}")
)
os.makedirs(_cache, exist_ok=True)
