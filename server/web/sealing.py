"""The key that seals citizens' notification addresses, derived from the server's secret key, so
every process of an installation opens what another sealed (server/core/notifications.py)."""

from __future__ import annotations

import hashlib

from ..core import notifications


def address_box(secret_key: str) -> notifications.AddressBox:
    return notifications.AddressBox(
        hashlib.sha256(b"queuekiosk notification addresses\0" + secret_key.encode()).digest()
    )
