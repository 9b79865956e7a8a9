"""Who holds a number: the installation's person key, the keyed hash of an ID number or phone, their
masked forms, and the chip ID card's QR text (read, then dropped but for the number)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ..errors import Invalid

PERSON_KEY_ENV = "QUEUEKIOSK_PERSON_KEY"
CCCD_QR_MAX = 600  # a card's QR text is about 150 characters; anything far longer is not one


def person_key(instance_dir: Path) -> bytes:
    """The installation's secret for hashing ID numbers and phones: $QUEUEKIOSK_PERSON_KEY, else
    ``person_key`` in the instance folder (made once, readable by the server's user only). Kept out
    of the database, so that a copy of the database alone cannot test guesses of a number."""
    if os.environ.get(PERSON_KEY_ENV):
        return os.environ[PERSON_KEY_ENV].encode()
    path = Path(instance_dir) / "person_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".person_key.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(draft, path)  # whole or not at all; when processes start at once, the first key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip().encode()


def _hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normal_phone(raw: str) -> str:
    """A Vietnamese phone number as ten or eleven digits from 0; +84 / 84 written in front is taken."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0[0-9]{9,10}", digits):
        raise Invalid("invalid_phone", field="phone")
    return digits


# The first three digits of a personal identification number (the CCCD's number): the province where
# the birth was registered (Decree 137/2015/ND-CP art. 13; the list is Annex 1 of Circular
# 07/2016/TT-BCA, kept by Circular 59/2021/TT-BCA): the 63 provinces of 2016, 001-096 with gaps. Numbers
# already issued keep their code when provinces merge (2025), so the list does not change.
PROVINCE_CODES = frozenset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 038"
    " 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 080 082"
    " 083 084 086 087 089 091 092 093 094 095 096".split()
)


def birth_year(id_number: str) -> int:
    """The birth year a 12-digit number states: its 4th digit is the century and sex (0/1: 1900s,
    2/3: 2000s, 4/5: 2100s, ...; even male, odd female), the 5th-6th the year within the century."""
    return 1900 + 100 * (int(id_number[3]) // 2) + int(id_number[4:6])


def normal_id(raw: str, today: dt.date | None = None, card: bool = False) -> str:
    """A CCCD number (personal identification number) as 12 digits, refused unless it is one the law
    could have given: a province code of the list above, and a birth year not after ``today``'s. The
    refusal never repeats the number. A ``card``'s own number (its QR scanned) may start with another
    code: a birth registered abroad is coded by its country, a list not kept here."""
    digits = re.sub(r"\s", "", raw or "")
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise Invalid("invalid_id_number", field="id_number")
    if digits[:3] not in PROVINCE_CODES and not card:
        raise Invalid("invalid_id_province", field="id_number")
    if birth_year(digits) > (today or dt.date.today()).year:
        raise Invalid("invalid_id_birth_year", field="id_number")
    return digits


def mask_id(id_number: str) -> str:
    return id_number[:4] + "*" * (len(id_number) - 6) + id_number[-2:]


def mask_phone(phone: str) -> str:
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


@dataclass(frozen=True)
class Person:
    """Whom a number belongs to: the hash that keys "one number per person", and what may be shown."""

    hash: str
    phone_masked: str
    id_masked: str | None


def person(key: bytes, phone: str, id_number: str | None) -> Person:
    phone = normal_phone(phone)
    if id_number:
        id_number = normal_id(id_number)
        return Person(_hash(key, "id", id_number), mask_phone(phone), mask_id(id_number))
    return Person(_hash(key, "phone", phone), mask_phone(phone), None)


def id_hash(key: bytes, id_number: str, card: bool = False) -> str:
    return _hash(key, "id", normal_id(id_number, card=card))


@dataclass(frozen=True)
class Card:
    """What check-in keeps of a chip ID card's QR text: the number (to hash) and nothing else
    personal. The name, birth date, sex and address are checked for shape, then dropped."""

    id_number: str


def parse_cccd_qr(raw: str) -> Card:
    """The front QR of a CCCD: ``id(12)|old id(9 or empty)|full name|DDMMYYYY birth|sex|address|DDMMYYYY issued``.

    A USB scanner types it like a keyboard: surrounding spaces and the final Enter are taken, and
    Vietnamese letters may arrive garbled or not at all, so only the number and the two dates must be right.
    A refusal never repeats the text (it is personal data).
    """
    value = (raw or "").strip()
    parts = value.split("|")
    if (
        len(value) > CCCD_QR_MAX
        or len(parts) < 7
        or not re.fullmatch(r"[0-9]{12}", parts[0])
        or not re.fullmatch(r"([0-9]{9})?", parts[1])
    ):
        raise Invalid("invalid_cccd_qr", field="cccd_qr")
    for date_text in (parts[3], parts[6]):
        try:
            dt.datetime.strptime(date_text, "%d%m%Y")
        except ValueError:
            raise Invalid("invalid_cccd_qr", field="cccd_qr") from None
    return Card(parts[0])
