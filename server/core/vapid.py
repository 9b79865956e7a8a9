"""The server's VAPID key pair for Web Push (RFC 8292), and the base64url its keys are written in."""

from __future__ import annotations

import base64
import hashlib
import urllib.parse


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class VapidKey:
    """The server's VAPID key pair (P-256), derived from its secret key: the same in every process.
    Signing is py-vapid's (RFC 8292)."""

    def __init__(self, secret_key: str):
        from cryptography.hazmat.primitives.asymmetric import ec
        from py_vapid import Vapid02

        seed = int.from_bytes(hashlib.sha256(b"queuekiosk vapid\0" + secret_key.encode()).digest(), "big")
        order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of P-256
        self.signer = Vapid02(private_key=ec.derive_private_key(seed % (order - 1) + 1, ec.SECP256R1()))

    @property
    def public(self) -> str:
        """The applicationServerKey a page subscribes with: the uncompressed point, base64url."""
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        return b64(self.signer.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))

    def authorization(self, endpoint: str, subject: str, now: float) -> str:
        """``vapid t=<JWT signed ES256>,k=<public key>`` for a push to ``endpoint``."""
        parts = urllib.parse.urlsplit(endpoint)
        claims = {"aud": f"{parts.scheme}://{parts.netloc}", "exp": int(now) + 12 * 3600, "sub": subject}
        return self.signer.sign(claims)["Authorization"]
