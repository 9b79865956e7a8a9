"""What a ticket says, as plain values: a print job stores it as JSON; printers/ticket.py draws it.

Kept apart from the drawing so that the server loads Pillow and python-escpos only when it prints.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class TicketContent:
    """Everything printed on one ticket, as plain values (a print job stores it as JSON)."""

    centre: str
    number: str
    service: str
    issued_at: str  # local time, already formatted: "08:15 21/11/2026"
    people_ahead: int
    tracking_url: str
    service_en: str | None = None
    priority: str | None = None
    # the issue answer's promised wait, as it was: both None while no open counter served the service, and
    # on a test print (no ticket was issued); the paper then says "Quầy chưa mở; Ông/Bà vui lòng chờ"
    # (ticket.py _line_specs), a test print too
    eta_minutes: int | None = None
    eta_range: list[int] | None = None  # [low, high] minutes: "khoảng 10–20 phút"; [n, n] from the formula
    footer: str | None = None
    # a booked or remote number's mark ("Số lấy từ xa — đã xác nhận có mặt"): its own line above the footer
    mark: str | None = None
    logo: str | None = None  # path of an image file
    counters: list[int] | None = None  # the counters that serve the service ("Quầy phục vụ: 1, 2")

    def to_json(self) -> dict:
        """The job's JSON; no ``mark`` where there is none, so that a walk-in's job is what an agent older
        than the mark knows."""
        data = asdict(self)
        if data["mark"] is None:
            del data["mark"]
        return data

    @classmethod
    def from_json(cls, data: dict) -> TicketContent:
        """The content of a stored job; keys this agent does not know (a newer server's) are left out, so
        that a kiosk agent upgraded after its server keeps printing."""
        known = {each.name for each in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


# what every kiosk agent knows of a job's content, one older than the mark too (it builds its TicketContent
# from every key, and stops at one it does not know)
_KNOWN_TO_EVERY_AGENT = frozenset(each.name for each in fields(TicketContent)) - {"mark"}


def for_every_agent(data):
    """A job's stored content as print.fetch sends it: only keys every kiosk agent knows, a booked or
    remote number's mark folded into the footer ("mark. footer") as the server did before the mark had
    its own line. The agent prints the job's bytes, drawn from the stored content (the mark on its own
    line); it reads this content only for its preview picture."""
    if not isinstance(data, dict):
        return data
    sent = {key: value for key, value in data.items() if key in _KNOWN_TO_EVERY_AGENT}
    if data.get("mark"):
        sent["footer"] = ". ".join(part for part in (data["mark"], data.get("footer")) if part)
    return sent


def local_stamp(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M  %d/%m/%Y")
