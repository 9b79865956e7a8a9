"""Counter actions over HTTP, each done once: the same ``Idempotency-Key`` on every try of one
key press, sent again while the answer does not come (the server restarts, the network drops)
or the server says it could not act (5xx), until ``retry_seconds`` have passed. The server
answers a key it has already acted on with its first answer instead of acting again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import requests

BACKOFF = (0.25, 0.5, 1, 2, 3, 5)


# the server could not tell whether the press was done (a lost COMMIT, docs/api.md): sent again with its
# key, it is answered as it was done, or done once
UNCONFIRMED = "database_outcome_unknown"


class GaveUp(Exception):
    """No answer within ``retry_seconds``; ``why`` is the server's own reason when it gave one;
    ``unconfirmed``: a try was answered ``UNCONFIRMED``, or sent and not answered within the timeout
    (the press may have been done)."""

    def __init__(self, why: str | None, unconfirmed: bool = False):
        super().__init__(why)
        self.why = why
        self.unconfirmed = unconfirmed


def error_message(response) -> str | None:
    """The message of the API's error answer, if ``response`` is one."""
    return _error(response).get("message")


def _error(response) -> dict:
    """The API's error answer's ``error`` ({} if ``response`` is none)."""
    try:
        data = response.json() if response is not None and response.content else None
    except ValueError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


class ActionSender:
    def __init__(
        self,
        server: str,
        token: str,
        counter: int,
        language: str,
        retry_seconds: float,
        timeout: float,
        stop: threading.Event,
    ):
        self.base = f"{server}/api/v1/counters/{counter}"
        self.tickets = f"{server}/api/v1/tickets"
        self.retry_seconds = retry_seconds
        self.timeout = timeout
        self._stop = stop  # set when the keypad closes: no more tries
        self._http = requests.Session()
        self._http.headers.update(
            {"Authorization": f"Bearer {token}", "Accept-Language": language, "Accept": "application/json"}
        )

    def send(self, path: str, body: dict, on_retry: Callable[[str | None, bool], None]) -> requests.Response:
        """The server's answer (below 500) to ``POST .../<path>``; ``on_retry(why, unconfirmed)`` before
        each new try (``unconfirmed``: a try was answered ``UNCONFIRMED`` or not at all). Raises GaveUp when
        ``retry_seconds`` pass (or the keypad closes) without one."""
        key = str(uuid.uuid4())  # one per press: every retry of this press carries it
        deadline = time.monotonic() + self.retry_seconds
        attempt = 0
        unconfirmed = False
        while True:
            try:
                response = self._http.post(
                    f"{self.base}/{path}", json=body, headers={"Idempotency-Key": key}, timeout=self.timeout
                )
                if response.status_code < 500:
                    return response
            except requests.ReadTimeout:  # sent, and no answer in time: it may have been done, as UNCONFIRMED
                response, unconfirmed = None, True
            except requests.RequestException:  # (not sent, or cut before the server answered)
                response = None
            error = _error(response)
            why = error.get("message")  # a server that answers why it did nothing (database full or busy)
            unconfirmed = unconfirmed or error.get("code") == UNCONFIRMED
            if time.monotonic() >= deadline or self._stop.is_set():
                raise GaveUp(why, unconfirmed)
            on_retry(why, unconfirmed)
            time.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1

    def ticket_status(self, ticket_id: str) -> str | None:
        """A ticket's status now (``GET /api/v1/tickets/<id>``), or None when it cannot be asked."""
        try:
            response = self._http.get(f"{self.tickets}/{ticket_id}", timeout=self.timeout)
            return response.json().get("status") if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
