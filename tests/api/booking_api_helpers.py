"""Bookings and remote numbers taken through the HTTP API, as the booking page and the city's app do
(the repo's config.yaml: HT takes bookings and remote numbers)."""

from __future__ import annotations

import datetime as dt

from config_helpers import site_today


def open_day(http, service: str = "HT", after: int = 1) -> tuple[str, list[dict]]:
    """The first day from ``after`` days on with free slots of ``service``, and its slots."""
    for ahead in range(after, 7):
        day = (site_today() + dt.timedelta(days=ahead)).isoformat()
        answer = http.get(f"/api/v1/services/{service}/slots", params={"date": day})
        assert answer.status_code == 200, answer.text
        free = [slot for slot in answer.json() if slot["free"]]
        if free:
            return day, free
    raise AssertionError(f"{service} has no free slot in the coming days")


def book(http, day: str, start: str, phone: str, id_number: str | None = None, **extra):
    """A booking of HT at ``day`` ``start`` asked for (the answer, whatever it is)."""
    body = {"service": "HT", "date": day, "start": start, "name": "Nguyễn Văn An", "phone": phone, **extra}
    if id_number:
        body["id_number"] = id_number
    return http.post("/api/v1/bookings", json=body)


def remote(http, phone: str, service: str = "HT", id_number: str | None = None):
    """A remote number of ``service`` asked for (the answer, whatever it is)."""
    body = {"service": service, "remote": True, "name": "Trần Thị Bình", "phone": phone}
    if id_number:
        body["id_number"] = id_number
    return http.post("/api/v1/bookings", json=body)
