"""Socket.IO: subscriptions with a state snapshot, and events pushed after each commit.

Rooms: ``<site>:display:<id>``, ``<site>:kiosk:<id>``, ``<site>:counter:<n>``,
``<site>:ticket:<public id>``, ``<site>:dashboard``, ``<site>:rating:<n>`` (a counter's rating tablet:
``rating.ask`` after each finish, from server/web/api/ratings.py). Nothing here runs inside a database transaction: ``publish`` is only
ever called with the outcome of a committed action. The kiosk agents' events (agent.hello, print.*,
printer.report) are server/web/realtime_agents.py's.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import uuid

from flask import current_app, request, session
from flask_socketio import ConnectionRefusedError, join_room
from socketio import Manager as SocketIOManager

from ...sounds.announce import announcement_text
from ..core import engine as q
from ..core import faults
from ..core.auth import (
    Principal,
    SessionWatch,
    may_use_site,
    may_watch,
    principal_for_session,
    principal_for_token,
)
from ..core.i18n import translate
from ..core.socket_limits import EVENTS_BURST, EVENTS_PER_SECOND, Allowance
from . import message_queue_check, printing
from .errors import error_body, fault_site, refusal_body, report_database_fault, site_removed
from .extensions import socketio
from .library_logs import closed_sessions  # (python-engineio's and python-socketio's lines, filtered)
from .waits import estimator

log = logging.getLogger("queuekiosk.realtime")

# what a lobby screen shows: calls, waiting counts, counters' state, a call's end (its row empties; a number
# sent back to wait also leaves the latest calls), no more
DISPLAY_ENDS = ("ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.requeued")
DISPLAY_EVENTS = ("ticket.called", "ticket.recalled", "counter.changed", "queue.changed", *DISPLAY_ENDS)
BOOKING_ENDS = ("booking.cancelled", "booking.lapsed")  # a remote number's, told to its ticket's room too
COUNTER_TOP_NEXT = 4  # next numbers a counter-top display shows
# what a display is told of a called ticket: what its page reads (display/static/display.js) and no more.
# A display's room is public (any screen on the LAN may subscribe), and every byte is decoded by each
# screen: the whole ticket was 680 bytes a call
DISPLAY_TICKET = ("id", "number", "display", "service", "priority", "status", "counter", "origin")

_process_rooms: dict[int, str] = {}


def process_room(site_id: str | None = None) -> str:
    """The room of every client connected to this process (per pid: gunicorn may fork after import),
    or of those connected for one site."""
    room = _process_rooms.setdefault(os.getpid(), f"process:{uuid.uuid4().hex}")
    return room if site_id is None else f"{room}:{site_id}"


ROOM_KINDS = ("display", "kiosk", "counter", "ticket", "dashboard", "rating")

# the principal of each connected client, resolved once at connect
principals: dict[str, Principal | None] = {}
# the site and printer each connected kiosk agent prints for
agents: dict[str, tuple[str, str]] = {}
# how often the connected clients' tokens and users are checked again (revoked, disabled)
RECHECK_SECONDS = 2.0

# What one connection may send (EVENTS_BURST, EVENTS_PER_SECOND: server/core/socket_limits.py)
MAX_SUBSCRIPTIONS = 20
# Connects to the namespace over one Engine.IO connection (each runs the connect handler, a token
# lookup among it): a page connects once, and a reconnect is a new Engine.IO connection; a client
# sending connect after connect (or connect, disconnect, connect ...) is dropped
CONNECTS_BURST = 5
CONNECTS_PER_SECOND = 0.2
_CONNECTS = "queuekiosk.socketio_connects"  # its key in the Engine.IO connection's environ (one per connection)
MAX_ATTACHMENTS = 4  # binary attachments of one packet (guard_packets)


class _Allowance(Allowance):
    """Events (``Allowance``), and (``rooms``: the events' allowance, not the connects') the rooms joined,
    of one connection. Two per connected client: slots, and no set where none is kept."""

    __slots__ = ("rooms", "dropped")

    def __init__(self, burst: int = EVENTS_BURST, per_second: float = EVENTS_PER_SECOND, rooms: bool = False):
        super().__init__(burst, per_second)
        self.rooms: set | None = set() if rooms else None
        self.dropped = False  # its connection was told to go (said once in the log)


_allowances: dict[str, _Allowance] = {}


def bounded(handler):
    """Count the event against its connection's allowance; past it, drop the connection unanswered."""

    @functools.wraps(handler)
    def counted(*args):
        allowance = _allowances.get(request.sid)
        if allowance is None:  # dropped already: the rest of its flood is ignored
            return None
        if not allowance.take():
            del _allowances[request.sid]
            log.warning(
                "Socket.IO client %s sent more than %d events in a burst (%.0f a second after it); disconnected",
                request.remote_addr,
                EVENTS_BURST,
                EVENTS_PER_SECOND,
            )
            socketio.server.disconnect(request.sid, namespace="/")
            return None
        try:
            # exactly one argument, as each handler takes: an event sent with no data (or with more than
            # one) got no answer and logged a TypeError's traceback
            return handler(args[0] if args else None)
        except q.QueueError as error:  # the handler's refusal, as the HTTP API words it
            return event_refusal(error)
        except faults.DATABASE_ERRORS as error:  # the database down, busy or damaged, or a write's outcome
            # unknown: said as a request's 503 says it (an event left unanswered kept its client waiting); a
            # write for a site removed meanwhile (an IntegrityError) as at any unknown site, as over HTTP
            gone = site_removed(error)
            return event_refusal(gone) if gone is not None else database_refusal(error, request.event["message"])

    return counted


def event_refusal(error: q.QueueError) -> dict:
    """The answer of an event refused with ``error``; its site removed (AppState.site), the connection is
    dropped: it connects again, to be told so."""
    if error.code == "site_unknown":
        drop_transport(request.sid)
    return refusal(error)


def database_refusal(error: Exception, where: str, reading: bool = False) -> dict:
    """The answer of an event that failed on the database (errors.report_database_fault's code); ``reading``:
    the event only reads (a connection's lookup, a subscription's snapshot), which the log says."""
    code = report_database_fault(error, where, fault_site(app_state()), reading=reading)
    return {"error": error_body(code, "vi")}


def drop_transport(sid: str) -> None:
    """Close the Engine.IO connection under ``sid``: the client connects again by itself (after a
    namespace's disconnect it would stay away), and is answered as a new connection is."""
    eio_sid = socketio.server.manager.eio_sid_from_sid(sid, "/")
    if eio_sid is not None:
        socketio.server.eio.disconnect(eio_sid)


def app_state():
    return current_app.extensions["queuekiosk"]


# the rooms of a kind of happening at a site, but a ticket's own (each call's 2-3 happenings each went
# through the site's every counter and display, and made each room's name): site -> (site, {key: rooms})
_site_rooms: dict[int, tuple] = {}


def _rooms_for(site, happened: q.Happened) -> set[str]:
    ticket = happened.ticket
    key = (
        happened.kind,
        happened.counter,
        None if ticket is None else ticket["service"],
        None if ticket is None else ticket.get("target_counter"),
        tuple(happened.detail.get("waiting", ())) if happened.kind == "queue.changed" else (),
    )
    known = _site_rooms.get(id(site))
    if known is None or known[0] is not site:  # a new setup is a new SiteRuntime
        if len(_site_rooms) > 64:  # setups gone (each change of a site makes a new one)
            _site_rooms.clear()
        known = _site_rooms[id(site)] = (site, {})
    rooms = known[1].get(key)
    if rooms is None:
        rooms = known[1][key] = frozenset(_shared_rooms(site, happened))
    if happened.tickets:  # the pages of the numbers transferred to a counter that changed
        rooms = rooms | {f"{site.id}:ticket:{ticket_id}" for ticket_id in happened.tickets}
    if ticket is None:
        booked = happened.detail.get("booking") if happened.kind in BOOKING_ENDS else None
        if booked and booked.get("ticket"):  # a remote number's pages, left open, say so at once
            return {*rooms, f"{site.id}:ticket:{booked['ticket']}"}
        return set(rooms)
    return {*rooms, f"{site.id}:ticket:{ticket['id']}"}


def _shared_rooms(site, happened: q.Happened) -> set[str]:
    """``_rooms_for``'s rooms but the ticket's own."""
    rooms = {f"{site.id}:dashboard"}
    services: set[int] = set()
    ticket = happened.ticket
    if ticket is not None:
        services.add(site.service_ids.get(ticket["service"]))
        if ticket.get("target_counter") is not None:
            rooms.add(f"{site.id}:counter:{ticket['target_counter']}")
    if happened.kind == "queue.changed":
        services |= {site.service_ids.get(code) for code in happened.detail.get("waiting", {})}
    rooms |= {
        f"{site.id}:counter:{number}"
        for number, served in site.counter_service_ids.items()
        if services.intersection(served)
    }
    if happened.counter is not None:
        rooms.add(f"{site.id}:counter:{happened.counter}")
        if happened.kind in DISPLAY_EVENTS:
            rooms |= {f"{site.id}:display:{d}" for d in site.displays_of_counter.get(happened.counter, ())}
    if happened.kind == "queue.changed":
        rooms |= {f"{site.id}:display:{d.id}" for d in site.config.displays}
    if happened.kind in ("queue.changed", "counter.changed"):  # the tracking pages of the services' tickets
        if happened.counter is not None:
            services |= set(site.counter_service_ids.get(happened.counter, ()))
        rooms |= {f"{site.id}:queue:{site.service_codes[s]}" for s in services if s in site.service_codes}
    return rooms


def _local_rooms() -> dict | None:
    """The rooms of this process's clients (room -> its members), when they are all there is to
    tell: not with a message queue (Redis), whose other processes' clients may be in any room."""
    manager = socketio.server.manager
    if type(manager) is not SocketIOManager:
        return None
    return manager.rooms.get("/", {})


def publish(site, outcome: q.Outcome) -> None:
    """Tell every interested room what a committed action did: once the caller gives way (a request
    once its answer is sent), in the order of the calls (``later``)."""
    later(_publish_now, site, outcome)


# what the rooms are told of committed actions, in the order the actions were published: a clerk's
# answer went out only after the call's message was queued to every display (python-socketio queues
# it client by client: about 2 ms at 200 displays, and ~0.3 ms of announcement and rooms before)
_teller: tuple | None = None  # (its queue, its greenlet) of this process


def _forget_teller() -> None:
    """In a forked child (a gunicorn worker): the parent's teller is not this process's. (At fork, not by
    comparing os.getpid() at each call: a system call at every ticket.)"""
    global _teller
    _teller = None


os.register_at_fork(after_in_child=_forget_teller)


def later(tell, *args) -> None:
    """Run ``tell(*args)`` in this process's one teller greenlet, after everything handed to it before
    (so the displays hear the calls in press order), in the caller's context as it is now (its app,
    request and site); at once where the server is not gevent's (a command, an in-process test
    client: nothing would run it later)."""
    if getattr(socketio, "async_mode", None) != "gevent" or not _gevent_patched():
        tell(*args)
        return
    global _teller
    teller = _teller
    if teller is None or teller[1].dead:
        import gevent
        from gevent.queue import SimpleQueue

        pending = SimpleQueue()
        teller = _teller = (pending, gevent.spawn(_tell_in_order, pending))
    teller[0].put((contextvars.copy_context(), tell, args))


_patched = False  # gevent's socket module patched: found once (a patch is never undone), not imported each ticket


def _gevent_patched() -> bool:
    global _patched
    if not _patched:
        from gevent import monkey

        _patched = monkey.is_module_patched("socket")
    return _patched


def _tell_in_order(pending) -> None:
    while True:
        context, tell, args = pending.get()
        try:
            context.run(tell, *args)
        except Exception:  # noqa: BLE001 - committed and answered: a client's next snapshot makes it whole
            # said in the caller's context too: the line names the site of the action (a request's, a loop's)
            context.run(log.exception, "could not tell the live clients of a committed action")


def _publish_now(site, outcome: q.Outcome) -> None:
    # a call carries the new waiting counts, so a display is sent one message per call, not two
    waiting = next((h.detail["waiting"] for h in outcome.happened if h.kind == "queue.changed"), None)
    displays_told: set[str] = set()
    # a "next" ends the counter's call and makes one: its display rows need only the new call
    calling = {h.counter for h in outcome.happened if h.kind == "ticket.called"}
    listening = _local_rooms()
    for happened in outcome.happened:
        rooms = _rooms_for(site, happened)
        if happened.kind in DISPLAY_ENDS and (happened.counter in calling or "transferred_to" in happened.detail):
            # (a number sent back from a closing counter it was sent to: never called there, nothing to end)
            rooms = {room for room in rooms if ":display:" not in room}
        if happened.kind == "ticket.called" and waiting is not None:
            displays_told |= {room for room in rooms if ":display:" in room}
        if happened.kind == "queue.changed":
            rooms -= displays_told
        if listening is not None:  # nobody in a room: socketio.emit would encode the message for no one
            rooms = [room for room in rooms if listening.get(room)]
            if not rooms:
                continue  # nor is the announcement needed
        payload = dict(happened.detail)
        if happened.ticket is not None:
            payload["ticket"] = happened.ticket
        if happened.counter is not None:
            payload["counter"] = happened.counter
        spoken = None
        if happened.kind in ("ticket.called", "ticket.recalled"):
            spoken = _announcements(site, happened.ticket["number"], happened.counter)
            payload["announcement"] = spoken[None]
        if happened.kind == "ticket.called" and waiting is not None:
            payload["waiting"] = waiting
        for_displays = None
        told_to: dict[int, tuple[dict, list[str]]] = {}  # id(payload) -> (payload, its rooms), first told first
        for room in rooms:
            told = payload
            if happened.kind in BOOKING_ENDS and ":ticket:" in room:
                told = {}  # a remote number's pages: the signal only (the booking's code cancels it, ask its snapshot)
            if happened.ticket is not None and ":display:" in room:
                if for_displays is None:
                    for_displays = {**payload, "ticket": _for_display(happened.ticket)}
                told = for_displays
            display_id = room.rpartition(":display:")[2] if spoken and ":display:" in room else None
            if display_id is not None and display_id in spoken:  # each display speaks in its own voice settings
                told = {**told, "announcement": spoken[display_id]}
            told_to.setdefault(id(told), (told, []))[1].append(room)
        for told, its_rooms in told_to.values():
            _tell(happened.kind, told, its_rooms)


def _for_display(ticket: dict | None) -> dict | None:
    return None if ticket is None else {key: ticket[key] for key in DISPLAY_TICKET}


def _tell(event: str, payload: dict, rooms: list[str]) -> None:
    """``socketio.emit(event, payload, to=room)`` for each of ``rooms``; with the message queue one call for
    them all (``emit_to_rooms``: a ticket's payload goes to a dozen rooms, most without a client in this
    process, and Flask-SocketIO's and python-socketio's emit around each cost more than the queue's entry)."""
    emit_to_rooms = getattr(socketio.server.manager, "emit_to_rooms", None)
    if emit_to_rooms is not None:
        emit_to_rooms(event, payload, rooms)
        return
    for room in rooms:
        socketio.emit(event, payload, to=room)


def _announcements(site, number: int, counter: int) -> dict[str | None, dict]:
    """``announcement`` of a call for each display showing the counter (its ``voice``), and under
    None for everyone else (the first of those displays' voice). Its WAV is not made here: its
    ``audio_url`` makes it when first asked for, in any server process (sounds/web.py)."""
    from ...sounds.web import announcer, call_announcement, voice_of

    voices = {d: voice_of(site.config, d) for d in site.displays_of_counter.get(counter, ())}
    first = next(iter(voices), None)
    voices[None] = voices[first] if first is not None else voice_of(site.config, None)
    made: dict = {}
    voice_maker = announcer(site=site)
    for display_id, voice in voices.items():  # the displays first: a voice's audio_url names the first with it
        if voice not in made:
            if voice_maker is None:  # an app without the announcements blueprint: text only
                made[voice] = {
                    "text": announcement_text(number, counter, voice.phrase, region=voice.region),
                    "audio_url": None,
                }
            else:
                made[voice] = call_announcement(voice_maker, site, display_id, voice, number, counter)
    return {display_id: made[voice] for display_id, voice in voices.items()}


def snapshot(session_, site, kind: str, key) -> dict:
    """Everything a client needs to be whole again, e.g. after a reconnect."""
    counters = q.counter_states(session_, site)
    waiting = q.waiting_counts(session_, site)
    base = {"kind": kind, "site": {"id": site.id, "name": site.config.site.name}, "server_time": q._iso(q.utcnow())}
    if kind == "display":
        display = site.config.display(key)
        numbers = site.config.display_counters(display)
        from ...display.web import display_page_data  # the page redraws a new setup from it, no reload

        return {
            **base,
            "display": display.model_dump(mode="json"),
            "page": display_page_data(site.config, key),
            "retired": site.retirement,  # merged into another site: the screen says where to go
            # a counter's row shows the number it holds (called or being served), nothing once it is done;
            # a display's room is public: its tickets as its live events carry them (DISPLAY_TICKET)
            "counters": [{**c, "ticket": _for_display(c["ticket"])} for c in counters if c["number"] in numbers],
            "history": [
                {**_for_display(call), "called_by": call["called_by"], "at": call["at"], "recall": call["recall"]}
                # a counter-top screen shows no history: not built (it takes a snapshot at each queue move)
                for call in (q.recent_calls(session_, site, 10, numbers) if display.mode != "counter" else [])
            ],
            "waiting": waiting,
            # a counter-top display shows the counter's next numbers (numbers only)
            **(
                {
                    "next": [
                        {"id": t["id"], "display": t["display"]}
                        for t in q.counter_queue(session_, site, display.counter, limit=COUNTER_TOP_NEXT)
                    ]
                }
                if display.mode == "counter"
                else {}
            ),
        }
    if kind == "counter":
        counter = next(c for c in counters if c["number"] == key)
        return {
            **base,
            "counter": counter,
            "waiting": {code: waiting[code] for code in counter["services"]},
            "queue": q.counter_queue(session_, site, key),
        }
    if kind == "ticket":
        ticket = q.ticket_status(session_, site, key, estimator(app_state()))
        if ticket["status"] == "expired" and ticket.get("origin") == "remote":
            # how it ended (cancelled, lapsed, or checked in and then the day ended): the tracking page
            # says it as the page loaded afresh does (kiosk/web.py track)
            from ..core import bookings

            ticket["ended_by"] = bookings.remote_ending(session_, site, key)
        return {**base, "ticket": ticket}
    if kind == "rating":  # a counter's rating tablet: what to ask about now, number and service only
        counter = next(c for c in counters if c["number"] == key)
        return {
            **base,
            "counter": {"number": key, "name": counter["name"]},
            "ask": q.rating_prompt(session_, site, key),
        }
    if kind == "kiosk":
        printer = site.config.kiosk(key).printer
        status = (
            printing.status_view(site, printer, printing.current_status(app_state(), printer, session_))
            if printer
            else None
        )
        from ...kiosk.web import kiosk_page_data  # the kiosk redraws a new setup from it, no reload

        page = kiosk_page_data(site.config, key, app_state().ignore_hours, site.retirement)
        return {**base, "kiosk": {"id": key, "printer": status}, "page": page}
    from ...sounds.web import voice_notes  # e.g. no text to speech
    from ..core import reports  # the report code loads with the first dashboard, not at start

    return {
        **base,
        "counters": counters,
        "waiting": waiting,
        "history": q.recent_calls(session_, site, 20),
        "overview": reports.live_view(session_, site, printing.printers_view(app_state(), session_)),
        "system": [*faults.notes(), *voice_notes(site=site), *app_state().limits.notes()],
        # a setup to change, e.g. tickets' QR on loopback, a message queue missing beside other processes
        "setup": [*printing.tracking_notes(current_app), *message_queue_check.notes(current_app)],
    }


def refusal(error: q.QueueError) -> dict:
    """A refusal's answer: the HTTP API's error body (Vietnamese, and every language in ``translations``),
    every other field refused in ``others``."""
    return {"error": refusal_body(error.code, "vi", **error.params)}


def _principal_at_connect(auth) -> Principal | None:
    token = (auth or {}).get("token") if isinstance(auth, dict) else None
    header = request.headers.get("Authorization", "")
    if not token and header.startswith("Bearer "):
        token = header.removeprefix("Bearer ").strip()
    with app_state().Session() as db:
        if token:
            return principal_for_token(db, token)
        if "user_id" in session:
            return principal_for_session(db, session)
    return None


def _site_of_connection() -> str | None:
    """The site the client connected for (``/s/{site}/socket.io``, server/web/app.py SiteRouting),
    None when that site does not exist (one added by another process a moment ago is looked up)."""
    from .app import SITE_KEY

    state = app_state()
    site_id = request.environ.get(SITE_KEY)
    if site_id is None:
        return state.first_site_id
    if site_id not in state.sites:
        from .live_setup import adopt_new_sites

        adopt_new_sites(state)
    return site_id if site_id in state.sites else None


def _refused(error: q.QueueError) -> ConnectionRefusedError:
    """A refused connection, its reason in the client's ``connect_error``: ``{"message", "data": {"code", "message"}}``."""
    reason = refusal(error)["error"]
    return ConnectionRefusedError(reason["message"], reason)


def _database_refused(error: Exception) -> ConnectionRefusedError:
    """A connection refused because the database could not be asked (out of reach, busy): its fault's code
    and words, said as any request's. Left unanswered, a page waited for ever, live no more; refused, the
    pages connect again (queuekiosk.js), the keypad and the kiosk agent by their own loops. (A transport
    closed instead could catch a browser's upgrade to WebSocket midway, leaving it to its ping's timeout.)"""
    reason = database_refusal(error, "Socket.IO connect", reading=True)["error"]
    return ConnectionRefusedError(reason["message"], reason)


@socketio.on("connect")
def on_connect(auth=None):
    connects = request.environ.setdefault(_CONNECTS, _Allowance(CONNECTS_BURST, CONNECTS_PER_SECOND))
    if not connects.take():  # the Engine.IO connection is closed: the rest of its flood is not read
        if not connects.dropped:
            connects.dropped = True
            log.warning(
                "Socket.IO client %s asked to connect more than %d times over one connection; disconnected",
                request.remote_addr,
                CONNECTS_BURST,
            )
        drop_transport(request.sid)
        return False
    from .app import SITE_CHECKED_KEY, SITE_KEY

    try:
        site_id = _site_of_connection()
    except faults.DATABASE_ERRORS as error:  # (a site another process added, looked up)
        raise _database_refused(error) from None
    if site_id is None:  # an unknown site: nothing to watch there (the client's connect_error says why)
        raise _refused(q.NotFound("site_unknown", site=request.environ.get(SITE_KEY)))
    # every event of the connection is its site's: one removed since is answered site_unknown (AppState.site)
    request.environ[SITE_CHECKED_KEY] = True
    try:
        principal = _principal_at_connect(auth)
    except q.QueueError as error:  # a wrong token is refused at once, not silently downgraded to anonymous,
        raise _refused(error) from None  # and told why (a kiosk agent stops on it: kiosk/agent.py)
    except faults.DATABASE_ERRORS as error:  # its token or session not looked up
        raise _database_refused(error) from None
    if site_id not in app_state().sites:  # removed while the token was looked up (after forget_site's disconnects)
        raise _refused(q.NotFound("site_unknown", site=site_id))
    if principal is not None and principal.token_id is not None:
        try:
            # a device of another site is refused, as over HTTP
            may_use_site(principal, app_state().sites[site_id], acting=False)
        except q.QueueError as error:
            raise _refused(error) from None
    principals[request.sid] = principal
    _allowances[request.sid] = _Allowance(rooms=True)
    join_room(process_room())  # this process tells its own clients (server/web/resync.py)
    join_room(process_room(site_id))  # ... and those of one site of its new setup (server/web/live_setup.py)


def guard_packets(server) -> None:
    """What python-socketio is given of each connection's packets (set up once per server).

    - A malformed packet (bad JSON, an unknown type, a binary attachment nobody announced) made
      python-socketio log a traceback of 18 lines and go on: 20,000 of them from one anonymous
      connection wrote a million lines and held the next ticket up 13 s. Now the connection is
      closed, with one warning.
    - A binary packet announcing more than ``MAX_ATTACHMENTS`` attachments (no page sends any) closes
      it too: python-socketio kept every attachment until the announced number arrived (up to ten
      digits of them, 64 KB each: memory without bound).
    - Packets a WebSocket had read before its connection was closed (a flood cut off) still reached
      python-socketio after it forgot the connection: a connect among them raised KeyError and left
      a half-made client in its rooms. They are dropped.
    - Each Engine.IO session closed is remembered a minute (``_ClosedByItsClient``).
    """
    handle = server._handle_eio_message

    def guarded(eio_sid, data):
        environ = server.environ.get(eio_sid)
        if environ is None:  # closed already
            return None
        if eio_sid not in server._binary_packet:  # not an attachment python-socketio is waiting for
            try:
                if not isinstance(data, str):
                    raise ValueError("a binary attachment that no packet announced")
                if server.packet_class(encoded_packet=data).attachment_count > MAX_ATTACHMENTS:
                    raise ValueError(f"more than {MAX_ATTACHMENTS} binary attachments announced")
            except Exception as error:  # noqa: BLE001 - whatever the decoder refused
                log.warning(
                    "Socket.IO client %s sent a malformed packet (%s); disconnected",
                    environ.get("REMOTE_ADDR"),
                    str(error)[:200],
                )
                server.eio.disconnect(eio_sid)
                return None
        return handle(eio_sid, data)

    server.eio.on("message", guarded)
    closing = server._handle_eio_disconnect

    def remembered(eio_sid, *reason):
        try:
            closed_sessions.remember(eio_sid)  # a late request for it is not an error (library_logs)
        finally:
            closing(eio_sid, *reason)

    server.eio.on("disconnect", remembered)
    closed_sessions.guard(server.eio)


def follow_session_ends(state) -> None:
    """Every ``RECHECK_SECONDS``, one look at the session-ending events (core/auth.py SessionWatch) does both:
    it closes the connections of a token revoked, a user disabled or a session ended since they connected
    (``queuekiosk token revoke``, ``user disable``, a logout, a new password ...: their rooms and agent events
    stop with them), and tells this process's dashboards ``counter.signed_out`` for a session signed in at a
    counter ended by a change made on the command line (``queuekiosk user password``, ``disable``: another
    process, which records where it was signed in), as at a change made in /admin. Each process tells its
    own clients (none hears it twice)."""
    import gevent

    watch, failing = SessionWatch(), False
    while True:  # (the first look at once: where to read from, the process's start; a dashboard comes after it)
        signed_in = {sid: p for sid, p in list(principals.items()) if p is not None}
        try:
            with state.reads.connect() as conn:
                gone, signed_out = watch.round(conn, signed_in)
            if failing:  # (IT reads the outage's end too: what was ended meanwhile is closed off now)
                log.warning("the session-ending events are read again: sessions ended meanwhile are closed now")
            failing = False
        except faults.DATABASE_ERRORS as error:
            gone, signed_out = [], []
            if faults.kind_of(error) == faults.INTERNAL:  # a query the database refuses as wrong: a bug, every time
                faults.log_internal(error, "could not read the session-ending events (a fault of the server)", log)
            elif not failing:  # busy, unreachable, full or damaged: said once, until a round works again
                log.warning("could not read the session-ending events (trying again): %s", faults.safe_text(error))
                failing = True
        except Exception:  # a bug: said every time, but this loop is both duties' only one and must go on
            log.exception("could not follow the session-ending events (a fault of the server); trying again")
            gone, signed_out = [], []
        for sid in gone:
            try:  # (its disconnect handler runs here: one client's failure must not end the loop)
                socketio.server.disconnect(sid, namespace="/")
            except Exception:
                log.exception("could not close a lapsed connection")
        for site_id, counter in signed_out:
            if site_id in state.sites:
                try:
                    socketio.emit(
                        "counter.signed_out", {"counter": counter}, to=f"{site_id}:dashboard", ignore_queue=True
                    )
                except Exception:
                    log.exception(
                        "could not tell the dashboards of site %s that counter %s signed out", site_id, counter
                    )
        gevent.sleep(RECHECK_SECONDS)


@socketio.on("disconnect")
def on_disconnect(*_args):
    principals.pop(request.sid, None)
    _allowances.pop(request.sid, None)
    agent = agents.pop(request.sid, None)
    if agent is not None and agent not in agents.values():
        spooler = app_state().spoolers.get(agent[0])  # its own site's (none once the site is removed)
        if spooler is not None:
            spooler.agent_gone(agent[1])


@socketio.on("*")
@bounded
def on_unknown_event(event, *_data):
    """An event nobody handles is ignored, but still counted against its connection."""
    return None


@socketio.on("subscribe")
@bounded
def on_subscribe(data):
    """``{"display": id}`` | ``{"kiosk": id}`` | ``{"counter": n}`` | ``{"ticket": id}`` | ``{"dashboard": true}``."""
    state = app_state()
    site = state.site
    if not isinstance(data, dict) or len(data) != 1 or next(iter(data)) not in ROOM_KINDS:
        kinds = '{"display": id}, {"kiosk": id}, {"counter": n}, {"ticket": id}, {"dashboard": true}, {"rating": n}'
        return refusal(
            q.Invalid("invalid_field", field="subscribe", problem=translate("problem_subscribe_one_of", kinds=kinds))
        )
    kind, key = next(iter(data.items()))
    room = f"{site.id}:dashboard" if kind == "dashboard" else f"{site.id}:{kind}:{key}"
    rooms = _allowances[request.sid].rooms
    if room not in rooms and len(rooms) >= MAX_SUBSCRIPTIONS:
        return refusal(q.TooMany("too_many_subscriptions", limit=MAX_SUBSCRIPTIONS))
    try:
        if kind == "display" and site.config.display(str(key)) is None:
            raise q.NotFound("not_found", path=f"display {key}")
        if kind == "kiosk" and site.config.kiosk(str(key)) is None:
            raise q.NotFound("unknown_kiosk", kiosk=key)
        if kind in ("counter", "rating"):
            if not isinstance(key, int) or key not in site.counter_ids:
                raise q.NotFound("unknown_counter", counter=key)
        if kind == "ticket" and (not isinstance(key, str) or not 0 < len(key) <= 64):
            # a ticket id is a short text: a number past 64 bits reached the database (OverflowError, no answer)
            raise q.NotFound("unknown_ticket", ticket=str(key)[:64])
        principal = principals.get(request.sid)
        if kind not in ("display", "kiosk", "ticket"):
            may_use_site(principal, site)  # a signed-in page of another site watches nothing private here
        may_watch(principal, kind, key if kind in ("counter", "rating") else None)
        with state.Session() as db:
            snap = snapshot(db, site, kind, key)
    except q.QueueError as error:
        return refusal(error)
    except faults.DATABASE_ERRORS as error:  # (named with the room's kind)
        return database_refusal(error, f"subscribe {kind}", reading=True)
    rooms.add(room)
    join_room(room)
    if kind == "ticket":  # its queue's moves too (queue.changed, counter.changed): the page asks its wait again
        join_room(f"{site.id}:queue:{snap['ticket']['service']}")
    socketio.emit("state", snap, to=request.sid)
    return {"ok": True}
