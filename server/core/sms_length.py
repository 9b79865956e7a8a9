"""How long an SMS is as the gateway sends it, and a text made to fit two parts.

The one rule for every SMS the server sends (the queue's "near" and "called": notifications.py; the
centre's cancels: cancel_notices.py; a booking's one-time code): two parts at most, so that a long site
name never makes a 3- or 4-part SMS the centre pays for, or one a gateway refuses. A text of plain ASCII
goes in GSM 7-bit (GSM 03.38): 160 septets alone, 153 a part when split, the extension's characters two
septets each (an escape first, never split from its character). Any other character makes the whole text
UCS-2: 70 UTF-16 units alone, 67 a part. GSM's own non-ASCII letters (à é ì ò ù, Ñ, Ø, €...) are counted as
UCS-2 too: Vietnamese gateways commonly send any non-ASCII text so. (A GSM 03.38 codec from PyPI would count
them as 7-bit; none is pinned, and the rule is these few lines.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

GSM_TWO_SEPTETS = frozenset("\f^{}\\[~]|")  # the extension's: an escape first
GSM_ASCII = frozenset("\n\r" + "".join(map(chr, range(0x20, 0x7F)))) - {"`"} | GSM_TWO_SEPTETS
GSM_PART, UCS2_PART = 153, 67  # a part of a split SMS: 153 septets, or 67 UTF-16 units
CUT = "..."  # ends a name cut to fit (plain ASCII: "…" would make a GSM 7-bit text UCS-2)


def fits_two_parts(text: str) -> bool:
    """Whether ``text`` goes as two SMS parts at most: 306 septets when it is plain ASCII (GSM 7-bit), an
    escape and its character never split between the parts; else 134 UTF-16 units (UCS-2)."""
    if not set(text) <= GSM_ASCII:
        return len(text.encode("utf-16-le")) // 2 <= 2 * UCS2_PART
    first = 0  # the septets of the first part
    for septets in (2 if c in GSM_TWO_SEPTETS else 1 for c in text):
        if first + septets > GSM_PART:
            break
        first += septets
    return len(text) + sum(c in GSM_TWO_SEPTETS for c in text) - first <= GSM_PART


def cuts(name: str) -> Iterator[str]:
    """``name`` cut shorter and shorter, each ended with "...": at each space from the last ("Trung tâm
    Phục vụ..."), or at each character for a name of one word."""
    ends = [i for i, c in enumerate(name) if c == " "][::-1] or range(len(name) - 1, 0, -1)
    for end in ends:
        if kept := name[:end].rstrip(" ,;:-–"):
            yield kept + CUT


def shorter(compose: Callable[[str], str], name: str, dropped: str | None = None) -> tuple[str, ...]:
    """The texts ``compose(name)`` makes with ``name`` ever more cut (``cuts``), longest first, then
    ``dropped`` (the text without it), if any: a message's ``shorter`` forms, for ``fitting``. Empty when
    ``compose(name)`` fits already (so it does sent without diacritics: a Vietnamese text only shrinks)."""
    if fits_two_parts(compose(name)):
        return ()
    return (*map(compose, cuts(name)), *([dropped] if dropped is not None else []))


def fitting(texts: tuple[str, ...]) -> str:
    """The first of ``texts`` (as the gateway sends them) that fits two parts; else the last, the shortest."""
    return next((text for text in texts if fits_two_parts(text)), texts[-1])
