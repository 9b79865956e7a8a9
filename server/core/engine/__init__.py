"""The queue engine: plain functions over a database session, free of Flask and Socket.IO.

Each action changes the database inside the caller's transaction and returns an ``Outcome``
(what happened); the caller commits and only then tells displays and counters. A refused
action raises a core error (``NotFound``, ``Invalid``, ``QueueError``, ...) before anything is
written, or the caller rolls back.

``choose_next`` (choosing.py) is the one place that decides which ticket a counter gets;
``call_order`` plays it forward for the people ahead of a ticket and a clerk's waiting list.

This module is the engine's public face: callers write ``from ..core import engine as q`` and
use ``q.<name>``; the modules behind it each do one job:

    types            Actor, Happened, Outcome, Candidate: what the functions take and return
    clock            the site's local time and business day
    views            a ticket as the API and the screens show it
    records          the tables, the event log, the ticket state machine, the locked counter row
    numbering        the per-service, per-day numbers and the waiting counts kept beside them
    estimates        how many are ahead of a ticket, and the promised wait
    issuing          issue: the kiosk's command
    choosing         choose_next, the candidates it chooses from, and call_order
    counter_actions  next, recall, start, finish, no-show, transfer, pause, resume, open, close (and requeue)
    reading          a ticket's status, waiting lists, counters' states, today's calls and figures
    ratings          the rating tablet's prompt, storing and reading a rating
    day_end          the start of a new business day: expiring, ending held tickets, closing counters
"""

from ..errors import Invalid, NotAllowed, NotFound, NotSignedIn, QueueError, TooMany, Unavailable
from ..models import utcnow
from .choosing import choose_next
from .clock import business_day, local_time
from .counter_actions import (
    EMA_WEIGHT,
    call_next,
    close_counter,
    close_left_counter,
    finish,
    lock_for_closes,
    no_show,
    open_counter,
    pause,
    recall,
    resume,
    start,
    transfer,
)
from .day_end import expire_past_days, expired_count
from .estimates import estimate_minutes
from .issuing import issue, require_served, working_days
from .numbering import waiting_counts
from .ratings import rate, rating_prompt, rating_view, ticket_rating
from .reading import (
    counter_queue,
    counter_states,
    figures_today,
    holder_of_number,
    recent_calls,
    ticket_of_number,
    ticket_status,
)
from .records import TRANSITIONS, actor_columns
from .types import Actor, Candidate, Happened, Outcome
from .views import iso, ticket_view

_iso = iso  # the name callers (the web layer, printers, audit) use for the API's time format

__all__ = [
    # errors and time, so that callers need only ``q``
    "Invalid",
    "NotAllowed",
    "NotFound",
    "NotSignedIn",
    "QueueError",
    "TooMany",
    "Unavailable",
    "utcnow",
    "business_day",
    "local_time",
    "iso",
    # what goes in and comes out
    "Actor",
    "Candidate",
    "Happened",
    "Outcome",
    "TRANSITIONS",
    "EMA_WEIGHT",
    "actor_columns",
    # commands
    "issue",
    "require_served",
    "choose_next",
    "call_next",
    "recall",
    "start",
    "finish",
    "no_show",
    "transfer",
    "pause",
    "resume",
    "open_counter",
    "close_counter",
    "close_left_counter",
    "lock_for_closes",
    "rate",
    "expire_past_days",
    "expired_count",
    # reads
    "ticket_view",
    "ticket_status",
    "estimate_minutes",
    "waiting_counts",
    "working_days",
    "counter_queue",
    "counter_states",
    "recent_calls",
    "ticket_of_number",
    "holder_of_number",
    "figures_today",
    "rating_view",
    "rating_prompt",
    "ticket_rating",
]
