"""How many SMS parts a text is sent as, by the tests' own arithmetic (not the server's
server/core/sms_length.py): a text with any character not plain ASCII (a Vietnamese letter, and GSM's own
à é Ø: many Vietnamese gateways send UCS-2 then) goes as UCS-2, 70 UTF-16 units alone, 67 a part when
split; a plain ASCII one as GSM 7-bit, 160 septets alone, 153 a part, the extension's characters two
septets each (an escape first). ``as_sent``: the form of a message the SMS gateway is sent, picked as
notifications.SmsGateway picks it (by the server's rule: what the tests count is their own)."""

from __future__ import annotations

import math
import string

from queuekiosk.server.core.notifications import Message, plain
from queuekiosk.server.core.sms_length import fitting

GSM_ONE_SEPTET = set(string.ascii_letters + string.digits + " !\"#$%&'()*+,-./:;<=>?@_\n\r")
GSM_TWO_SEPTETS = set("^{}[]~|\\\f")


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` is sent as."""
    if set(text) <= GSM_ONE_SEPTET | GSM_TWO_SEPTETS:
        septets = len(text) + sum(c in GSM_TWO_SEPTETS for c in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def as_sent(message: Message, no_diacritics: bool = False) -> str:
    """The text of ``message`` the SMS gateway is sent: the first of its forms that fits two parts, as it
    goes (notifications.SmsGateway; ``no_diacritics``: the gateway's setting)."""
    return fitting(tuple(map(plain if no_diacritics else str, (message.text, *message.shorter))))
