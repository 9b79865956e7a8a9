"""Socket.IO: subscriptions with a state snapshot, and events pushed after each commit.

Rooms: ``<site>:display:<id>``, ``<site>:kiosk:<id>``, ``<site>:counter:<n>``,
``<site>:ticket:<public id>``, ``<site>:dashboard``. Nothing here runs inside a database transaction: ``publish`` is only
ever called with the outcome of a committed action.
"""

from __future__ import annotations

from flask import current_app, request, session
from flask_socketio import join_room

from . import engine as q
from . import printing
from .auth import Principal, may_watch, principal_for_token, principal_for_user
from .extensions import socketio
from .i18n import translate
from ..sounds.announce import announcement_text

# what a lobby screen shows: calls, waiting counts, counters' state (not every step of a ticket)
DISPLAY_EVENTS = ("ticket.called", "ticket.recalled", "counter.changed", "queue.changed")

ROOM_KINDS = ("display", "kiosk", "counter", "ticket", "dashboard")

# the principal of each connected client, resolved once at connect
_principals: dict[str, Principal | None] = {}


def _state():
    return current_app.extensions["queuekiosk"]


def _rooms_for(site, happened: q.Happened) -> set[str]:
    rooms = {f"{site.id}:dashboard"}
    services: set[int] = set()
    ticket = happened.ticket
    if ticket is not None:
        rooms.add(f"{site.id}:ticket:{ticket['id']}")
        services.add(site.service_ids.get(ticket["service"]))
        if ticket.get("target_counter") is not None:
            rooms.add(f"{site.id}:counter:{ticket['target_counter']}")
    if happened.kind == "queue.changed":
        services |= {site.service_ids.get(code) for code in happened.detail.get("waiting", {})}
    rooms |= {f"{site.id}:counter:{number}" for number, served in site.counter_service_ids.items()
              if services.intersection(served)}
    if happened.counter is not None:
        rooms.add(f"{site.id}:counter:{happened.counter}")
        if happened.kind in DISPLAY_EVENTS:
            rooms |= {f"{site.id}:display:{d}" for d in _state().displays_of_counter.get(happened.counter, ())}
    if happened.kind == "queue.changed":
        rooms |= {f"{site.id}:display:{d.id}" for d in site.config.displays}
    return rooms


def publish(site, outcome: q.Outcome) -> None:
    """Tell every interested room what a committed action did."""
    # a call carries the new waiting counts, so a display is sent one message per call, not two
    waiting = next((h.detail["waiting"] for h in outcome.happened if h.kind == "queue.changed"), None)
    displays_told: set[str] = set()
    for happened in outcome.happened:
        payload = dict(happened.detail)
        if happened.ticket is not None:
            payload["ticket"] = happened.ticket
        if happened.counter is not None:
            payload["counter"] = happened.counter
        rooms = _rooms_for(site, happened)
        if happened.kind in ("ticket.called", "ticket.recalled"):
            payload["announcement"] = {
                "text": announcement_text(happened.ticket["number"], happened.counter),
                "audio_url": None,  # voice clips come with the voice issue (sounds/)
            }
        if happened.kind == "ticket.called" and waiting is not None:
            payload["waiting"] = waiting
            displays_told |= {room for room in rooms if ":display:" in room}
        if happened.kind == "queue.changed":
            rooms -= displays_told
        for room in rooms:
            socketio.emit(happened.kind, payload, to=room)


def snapshot(session_, site, kind: str, key) -> dict:
    """Everything a client needs to be whole again, e.g. after a reconnect."""
    counters = q.counter_states(session_, site)
    waiting = q.waiting_counts(session_, site)
    base = {"kind": kind, "site": {"id": site.id, "name": site.config.site.name}, "server_time": q._iso(q.utcnow())}
    if kind == "display":
        display = site.config.display(key)
        numbers = site.config.display_counters(display)
        last = q.last_calls(session_, site)
        return {**base, "display": display.model_dump(mode="json"),
                "counters": [{**c, "last_call": last.get(c["number"])} for c in counters if c["number"] in numbers],
                "history": q.recent_calls(session_, site, 10, numbers), "waiting": waiting}
    if kind == "counter":
        counter = next(c for c in counters if c["number"] == key)
        return {**base, "counter": counter,
                "waiting": {code: waiting[code] for code in counter["services"]},
                "queue": q.counter_queue(session_, site, key)}
    if kind == "ticket":
        return {**base, "ticket": q.ticket_status(session_, site, key)}
    if kind == "kiosk":
        printer = site.config.kiosk(key).printer
        status = printing.status_view(site, printer, printing.current_status(_state(), printer)) if printer else None
        return {**base, "kiosk": {"id": key, "printer": status}}
    return {**base, "counters": counters, "waiting": waiting, "history": q.recent_calls(session_, site, 20)}


def _error(error: q.QueueError) -> dict:
    return {"error": {"code": error.code, "message": translate(error.code, "vi", **error.params)}}


def _principal_at_connect(auth) -> Principal | None:
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    header = request.headers.get("Authorization", "")
    if not token and header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
    with _state().Session() as db:
        if token:
            return principal_for_token(db, token)
        if "user_id" in session:
            return principal_for_user(db, session["user_id"], session.get("counter"))
    return None


@socketio.on("connect")
def on_connect(auth=None):
    try:
        _principals[request.sid] = _principal_at_connect(auth)
    except q.QueueError:
        return False  # a wrong token is refused at once, not silently downgraded to anonymous


@socketio.on("disconnect")
def on_disconnect(*_args):
    _principals.pop(request.sid, None)


@socketio.on("subscribe")
def on_subscribe(data):
    """``{"display": id}`` | ``{"kiosk": id}`` | ``{"counter": n}`` | ``{"ticket": id}`` | ``{"dashboard": true}``."""
    state = _state()
    site = state.site
    if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in ROOM_KINDS:
        return {"error": {"code": "invalid_field", "message": translate(
            "invalid_field", "vi", field="subscribe",
            problem='cần một trong {"display": id}, {"kiosk": id}, {"counter": n}, {"ticket": id}, {"dashboard": true}')}}
    kind, key = next(iter(data.items()))
    try:
        if kind == "display" and site.config.display(str(key)) is None:
            raise q.QueueError("not_found", 404, path=f"display {key}")
        if kind == "kiosk" and site.config.kiosk(str(key)) is None:
            raise q.QueueError("unknown_kiosk", 404, kiosk=key)
        if kind == "counter":
            if not isinstance(key, int) or key not in site.counter_ids:
                raise q.QueueError("unknown_counter", 404, counter=key)
        may_watch(_principals.get(request.sid), kind, key if kind == "counter" else None)
        with state.Session() as db:
            snap = snapshot(db, site, kind, key)
    except q.QueueError as error:
        return _error(error)
    join_room(f"{site.id}:dashboard" if kind == "dashboard" else f"{site.id}:{kind}:{key}")
    socketio.emit("state", snap, to=request.sid)
    return {"ok": True}
