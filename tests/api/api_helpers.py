"""Small helpers shared by the API test modules."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo


def issue(http, service: str, **extra) -> dict:
    """Take a ticket through the API; it must be accepted."""
    response = http.post("/api/v1/tickets", json={"service": service, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def business_day(ticket: dict, timezone: str = "Asia/Ho_Chi_Minh") -> str:
    """The site's day a ticket was issued on (the demo config's zone): its UTC ``issued_at`` is the
    day before from 17:00 UTC on."""
    issued = dt.datetime.fromisoformat(ticket["issued_at"].replace("Z", "+00:00"))
    return issued.astimezone(ZoneInfo(timezone)).date().isoformat()


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The SPEC error shape: {"error": {"code", "message"}} with this status, as JSON."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
    error = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if field is not None:
        assert error.get("field") == field, error
    return error


def print_jobs(http, ticket_id: str) -> list[dict]:
    response = http.get(f"/api/v1/tickets/{ticket_id}/print-jobs")
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


def wait_job(http, ticket_id: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        jobs = print_jobs(http, ticket_id)
        if jobs and jobs[-1]["status"] == status:
            return jobs[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"the print job did not become {status!r}: {jobs}")
        time.sleep(0.05)


def printers(http, token: str) -> dict[str, dict]:
    response = http.get("/api/v1/printers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {p["printer"]: p for p in response.json()["printers"]}


def drain(server, admin_token: str, counters) -> None:
    """Call every counter's queue empty: next finishes the held ticket and resumes a paused counter."""
    with server.session() as http:
        for counter in counters:
            for _ in range(1000):
                response = http.post(
                    f"/api/v1/counters/{counter}/next", headers={"Authorization": f"Bearer {admin_token}"}
                )
                if response.status_code == 204:
                    break
                assert response.status_code == 200, response.text
