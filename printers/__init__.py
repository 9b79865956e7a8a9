"""Ticket printing: what a ticket says (content.py) and its layout (ticket.py), the driver interface
(drivers.py) and the drivers by name (registry.py), print jobs (jobs.py), the spooler (spooler.py),
printers' shared states (states.py) and the profiles config accepts (profiles.py).

python-escpos reads its printer profiles from a pickle cache; without a fixed folder every
import makes a new temporary one, so one is set before escpos is imported.
"""

import os
import tempfile

_cache = os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), f"queuekiosk-escpos-{os.getuid()}")
)
os.makedirs(_cache, exist_ok=True)


def _write_escpos_profiles_cache() -> None:
    """python-escpos writes its pickle in place on first import, and a process that reads it
    meanwhile fails (EOFError): gunicorn's workers or the test suite's workers starting together
    on a new machine. So the first process writes it whole (a temporary file renamed), under the
    name python-escpos 3.1 looks for, before anyone imports escpos."""
    import platform
    from importlib import resources

    path = os.path.join(_cache, f"{platform.python_version()}.capabilities.pickle")
    source = resources.files("escpos") / "capabilities.json"
    # escpos writes it again when its profiles file is newer (a new install), so must we
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(source):
        return
    import json
    import pickle

    profiles = json.loads(source.read_text(encoding="utf-8"))
    fd, partial = tempfile.mkstemp(dir=_cache, suffix=".partial")
    with os.fdopen(fd, "wb") as file:
        pickle.dump(profiles, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)


_write_escpos_profiles_cache()
