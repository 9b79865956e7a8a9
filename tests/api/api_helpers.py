"""Small helpers shared by the API test modules."""

from __future__ import annotations


def issue(http, service: str, **extra) -> dict:
    """Take a ticket through the API; it must be accepted."""
    response = http.post("/api/v1/tickets", json={"service": service, **extra})
    assert response.status_code == 201, response.text
    return response.json()


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
