"""How many SMS parts a text is sent as, by the tests' own arithmetic (not the server's
server/core/sms_length.py): a text with any character not plain ASCII (a Vietnamese letter, and GSM's own
à é Ø: many Vietnamese gateways send UCS-2 then) goes as UCS-2, 70 UTF-16 units alone, 67 a part when
split; a plain ASCII one as GSM 7-bit, 160 septets alone, 153 a part, the extension's characters two
septets each (an escape first). (The text the gateway is sent: the server's notification_channels.sms_text.)"""

from __future__ import annotations

import math
import string

GSM_ONE_SEPTET = set(string.ascii_letters + string.digits + " !\"#$%&'()*+,-./:;<=>?@_\n\r")
GSM_TWO_SEPTETS = set("^{}[]~|\\\f")


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` is sent as."""
    if set(text) <= GSM_ONE_SEPTET | GSM_TWO_SEPTETS:
        septets = len(text) + sum(c in GSM_TWO_SEPTETS for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)
