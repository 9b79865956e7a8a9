"""What the core refuses, and why, with no HTTP in it.

Every refusal carries a ``code`` that keys the message catalogues (server/core/messages) and
the ``params`` its sentence needs. The kind of refusal is the class; the web layer alone turns
kinds into statuses (server/web/errors.py).
"""


class QueueError(Exception):
    """A refused action: it conflicts with the state of the queue (e.g. a number already called)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


class NotFound(QueueError):
    """What the action names does not exist (a counter, a ticket, a setup item)."""


class Invalid(QueueError):
    """The input is wrong; ``params["field"]`` names the field where there is one."""


class NotSignedIn(QueueError):
    """No valid sign-in or token."""


class NotAllowed(QueueError):
    """Signed in, but this role or device may not do this."""


class TooMany(QueueError):
    """A limit was reached; ``params["retry_after"]`` says in seconds when to try again, if it passes."""


class Unavailable(QueueError):
    """Something the action needs is out of service for now."""
