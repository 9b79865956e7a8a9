"""The tables of tests/api/test_role_matrix.py, docs/api.md's "Who may do what": the callers (a token of
every role, a user of every role logged in), the policies (what a caller gets: let in, or which refusal),
and a line per HTTP route, Socket.IO room kind and Socket.IO event naming its policy and what to send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from config_helpers import site_today

COUNTERS = (1, 2, 3, 4, 5, 6)
PASSWORD = "mật-khẩu-ma-trận"

# --- who calls ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    label: str
    role: str | None = None  # None: anonymous
    counter: int | None = None  # the counter a clerk, counter token or rating token belongs to
    kiosk: str | None = None  # the kiosk a bound kiosk token acts as (token create --kiosk)
    login: bool = False  # a logged-in user (session cookie) rather than a bearer token
    csrf: bool = True  # a logged-in caller sends its session's X-CSRFToken, as the pages do
    token: str | None = field(default=None, repr=False)
    headers: dict = field(default_factory=dict, repr=False)

    def sio_kwargs(self) -> dict:
        if self.login:
            return {"headers": {"Cookie": self.headers["Cookie"]}}
        return {"auth": {"token": self.token}} if self.token else {}


TOKEN_CALLERS = (
    ("admin", None),
    ("supervisor", None),
    ("counter", 1),
    ("kiosk", None),
    ("kiosk", "kiosk-1"),
    ("display", None),
    ("rating", 1),
    ("integration", None),
    ("province", None),
)  # (role, its counter or kiosk)
USER_CALLERS = (("admin", None), ("supervisor", None), ("clerk", 1), ("province", None))
SPARE_TOKEN, LEAVER = ("counter", 1), ("leaver", "clerk", 1)  # revoked and disabled while connected

# --- who may: a policy says what ``caller`` gets for one counter (None: let in) -------------------

UNAUTHORIZED = (401, "unauthorized")
FORBIDDEN_ROLE = (403, "forbidden_role")
FORBIDDEN_COUNTER = (403, "forbidden_counter")
KIOSK_UNBOUND = (403, "kiosk_token_unbound")
PROVINCE_READ_ONLY = (403, "province_read_only")
SUPERVISOR_TOKEN_NO_CLOSE = (403, "supervisor_token_no_close")  # a report program's token closes no counter


def as_reader(caller):
    """``province`` reads what a supervisor reads (at every site) and changes nothing."""
    return replace(caller, role="supervisor") if caller.role == "province" else caller


def anyone(caller, counter=None):
    return None


def signed_in(caller, counter=None):
    return UNAUTHORIZED if caller.role is None else None


def roles(*allowed):
    def policy(caller, counter=None):
        if caller.role is None:
            return UNAUTHORIZED
        return None if caller.role in allowed else FORBIDDEN_ROLE

    return policy


def counter_bound(own: tuple, any_counter: tuple):
    """``any_counter`` roles for every counter, ``own`` roles (bound to a counter) for theirs only."""

    def policy(caller, counter):
        if caller.role is None:
            return UNAUTHORIZED
        if caller.role in any_counter:
            return None
        if caller.role not in own:
            return FORBIDDEN_ROLE
        return None if caller.counter == counter else FORBIDDEN_COUNTER

    return policy


def own_figures(caller, counter=None):
    """GET /me/today: a logged-in user's own figures, a counter token's counter's."""
    if caller.role is None:
        return UNAUTHORIZED
    return None if caller.login or caller.role == "counter" else FORBIDDEN_ROLE


act_on_counter = counter_bound(("clerk", "counter"), ("admin",))
watch_counter = counter_bound(("clerk", "counter"), ("admin", "supervisor"))


def close_counter(caller, counter):
    """A supervisor signed in closes a counter left open (the dashboard), and opens none; a supervisor's
    token (a report program) only reads."""
    if caller.role == "supervisor" and not caller.login:
        return SUPERVISOR_TOKEN_NO_CLOSE
    return watch_counter(caller, counter)


watch_rating = counter_bound(("rating",), ("admin", "supervisor"))  # the counter's rating tablet


def kiosk_bound(policy):
    """``policy``, where a kiosk token must be bound to a kiosk: one stored in a kiosk page's browser
    (unbound) can neither take a printer's jobs nor print elsewhere."""

    def bound(caller, counter=None):
        return KIOSK_UNBOUND if caller.role == "kiosk" and caller.kiosk is None else policy(caller, counter)

    return bound


supervisors = roles("admin", "supervisor")
agent = kiosk_bound(roles("kiosk", "admin"))  # agent.hello names kiosk-1, the bound token's own


def after_hello(caller, counter=None):
    """The kiosk agent's events need an accepted ``agent.hello`` first."""
    return None if agent(caller) is None else (409, "agent_hello_first")


@dataclass(frozen=True)
class Route:
    policy: object
    args: tuple = ({},)  # one request per dict: the URL's arguments (``counter`` is also the policy's;
    # ``ticket_id`` names one of the test's tickets)
    body: dict | None = None
    query: dict | None = None
    csrf_exempt: bool = False  # a POST that takes a session without its X-CSRFToken (it ignores the caller)
    province_own: bool = False  # the policy names ``province`` itself (not read as a supervisor's)


ADMIN_SECTION = "/api/v1/admin/<any(services, counters, priorities, kiosks, displays, printers):section>"
ON_BOTH = ({"counter": 1}, {"counter": 2})  # the callers' own counter, and another one

HTTP = {
    # pages: shells that anyone may load; the supervisors' pages log in themselves and get their data
    # from the API below
    ("/", "GET"): Route(anyone),
    ("/counter", "GET"): Route(anyone),
    ("/dashboard", "GET"): Route(anyone),
    ("/reports", "GET"): Route(anyone),
    ("/admin", "GET"): Route(anyone),
    ("/favicon.ico", "GET"): Route(anyone),
    ("/admin/pair-qr", "POST"): Route(roles("admin"), body={"path": "/kiosk/kiosk-1#token=matrix"}),
    ("/display/<display_id>", "GET"): Route(anyone),
    ("/display/<display_id>/slides/<int:index>", "GET"): Route(anyone),
    ("/kiosk/<kiosk_id>", "GET"): Route(anyone),
    ("/rating/<int:counter>", "GET"): Route(anyone, ON_BOTH),
    ("/t/<ticket_id>", "GET"): Route(anyone),
    ("/t/<ticket_id>/qr.svg", "GET"): Route(anyone),
    ("/book", "GET"): Route(anyone),
    ("/book/<code>", "GET"): Route(anyone),
    ("/book/sw.js", "GET"): Route(anyone),
    ("/book/page.json", "GET"): Route(anyone),
    ("/static/<path:filename>", "GET"): Route(anyone, ({"filename": "queuekiosk.css"},)),
    ("/counter/assets/<path:filename>", "GET"): Route(anyone, ({"filename": "console.js"},)),
    ("/display/assets/<path:filename>", "GET"): Route(anyone, ({"filename": "display.js"},)),
    ("/kiosk/assets/<path:filename>", "GET"): Route(anyone, ({"filename": "kiosk.js"},)),
    ("/rating/assets/<path:filename>", "GET"): Route(anyone, ({"filename": "rating.js"},)),
    ("/healthz", "GET"): Route(anyone),
    # the API
    ("/api/v1/openapi.json", "GET"): Route(anyone),
    ("/api/v1/queue", "GET"): Route(anyone),
    ("/api/v1/tickets", "POST"): Route(anyone, body={"service": "HT"}, csrf_exempt=True),
    ("/api/v1/tickets/<ticket_id>", "GET"): Route(anyone),
    ("/api/v1/tickets/<ticket_id>/print-jobs", "GET"): Route(anyone),
    ("/api/v1/push/key", "GET"): Route(anyone),
    ("/api/v1/push/sw.js", "GET"): Route(anyone),
    **{
        ("/api/v1/bookings/<code>/notifications" + rest, method): Route(
            anyone, ({"code": "NOSUCH22", "channel": "sms"},), body=body, csrf_exempt=True
        )
        for rest, method, body in (
            ("", "POST", {"channel": "sms", "address": "0912345678"}),
            ("/<channel>", "DELETE", None),
        )
    },  # the booking's code is the key
    ("/api/v1/tickets/<ticket_id>/notifications", "GET"): Route(anyone),  # the ticket's id is the key
    ("/api/v1/tickets/<ticket_id>/notifications", "POST"): Route(
        anyone, body={"channel": "sms", "address": "0912345678"}, csrf_exempt=True
    ),
    ("/api/v1/tickets/<ticket_id>/notifications/<channel>", "DELETE"): Route(
        anyone, ({"channel": "sms"},), csrf_exempt=True
    ),
    # bookings: public (a booking's code is its key); integrations book with their token, staff list the day
    ("/api/v1/services/<code>/slots", "GET"): Route(
        anyone, ({"code": "HT"},), query={"date": (site_today() + dt.timedelta(days=1)).isoformat()}
    ),
    ("/api/v1/bookings", "POST"): Route(
        anyone, body={"service": "HT", "remote": True, "name": "Ma Trận", "phone": "0900000001"}, csrf_exempt=True
    ),
    ("/api/v1/bookings", "GET"): Route(roles("admin", "supervisor", "clerk")),
    ("/api/v1/bookings/<code>", "GET"): Route(anyone),
    ("/api/v1/bookings/<code>", "DELETE"): Route(anyone, csrf_exempt=True),
    ("/api/v1/bookings/<code>/qr.svg", "GET"): Route(anyone),
    ("/api/v1/bookings/<code>/booking.ics", "GET"): Route(anyone),
    ("/api/v1/check-in", "POST"): Route(anyone, body={"id_number": "001099000001", "service": "TK"}, csrf_exempt=True),
    ("/api/v1/reports/bookings", "GET"): Route(
        supervisors, query={"from": site_today().isoformat(), "to": site_today().isoformat()}
    ),
    ("/api/v1/tickets/<ticket_id>/reprint", "POST"): Route(  # a kiosk: on its own printer
        kiosk_bound(roles("admin", "supervisor", "clerk", "counter", "kiosk")), body={}
    ),
    ("/api/v1/tickets/by-number/<int(max=2147483647):number>/reprint", "POST"): Route(
        roles("admin", "supervisor", "clerk", "counter"), ({"number": 9999},)
    ),
    ("/api/v1/tickets/<ticket_id>/rating", "POST"): Route(
        roles("rating"), ({"ticket_id": "rated"},), body={"level": "satisfied"}
    ),  # only its own counter's
    ("/api/v1/tickets/<ticket_id>/rating", "GET"): Route(supervisors, ({"ticket_id": "rated"},)),
    ("/api/v1/announcements/preview", "GET"): Route(anyone, query={"number": 1001, "counter": 1}),
    ("/api/v1/announcements/<key>.wav", "GET"): Route(anyone),
    ("/api/v1/announcements/forms/<form>.wav", "GET"): Route(
        anyone, ({"form": "short"},), query={"number": 1001, "counter": 1, "display": "lobby"}
    ),
    ("/api/v1/announcements/kiosk/<kiosk_id>/guide.wav", "GET"): Route(
        anyone, query={"screen": "services", "items": "HT,CT"}
    ),  # the kiosk read aloud: public, as the kiosk page is
    ("/api/v1/announcements/kiosk/<kiosk_id>/tickets/<ticket_id>.wav", "GET"): Route(anyone),
    ("/api/v1/auth/login", "POST"): Route(
        anyone, body={"username": "supervisor-user", "password": PASSWORD}, csrf_exempt=True
    ),
    ("/api/v1/auth/logout", "POST"): Route(anyone),
    ("/api/v1/auth/me", "GET"): Route(signed_in),
    ("/api/v1/me/today", "GET"): Route(own_figures),
    ("/api/v1/counters/<int:counter>", "GET"): Route(watch_counter, ON_BOTH),
    **{
        (f"/api/v1/counters/<int:counter>/{action}", "POST"): Route(act_on_counter, ON_BOTH, body=body)
        for action, body in (
            ("next", None),
            ("recall", None),
            ("start", None),
            ("finish", None),
            ("no-show", None),
            ("transfer", {"service": "DC"}),
            ("pause", {"reason": "họp"}),
            ("resume", None),
            ("open", None),
        )
    },
    ("/api/v1/counters/<int:counter>/close", "POST"): Route(close_counter, ON_BOTH),
    ("/api/v1/counters/<int:counter>/dossier", "PUT"): Route(  # the dossier code and procedure served
        act_on_counter, ON_BOTH, body={"dossier_code": "000.00.12.H26-241203-0001"}
    ),
    ("/api/v1/reports/procedures", "GET"): Route(
        supervisors, query={"from": site_today().isoformat(), "to": site_today().isoformat()}
    ),
    ("/api/v1/printers", "GET"): Route(supervisors),
    ("/api/v1/audit", "GET"): Route(roles("admin")),
    # the setup: admins change it; supervisors read it and change the ticker, slides and holidays
    ("/api/v1/admin/setup", "GET"): Route(supervisors),
    (ADMIN_SECTION, "GET"): Route(supervisors, ({"section": "services"},)),
    (ADMIN_SECTION, "POST"): Route(
        roles("admin"), ({"section": "priorities"},), body={"code": "matrix", "name": {"vi": "Ma trận"}}
    ),
    (ADMIN_SECTION + "/<key>", "PATCH"): Route(roles("admin"), ({"section": "services", "key": "HT"},)),
    (ADMIN_SECTION + "/<key>", "DELETE"): Route(roles("admin"), ({"section": "priorities", "key": "none-such"},)),
    ("/api/v1/admin/printers/<key>/test-print", "POST"): Route(roles("admin"), ({"key": "p1"},)),
    ("/api/v1/admin/site", "GET"): Route(supervisors),
    ("/api/v1/admin/site", "PATCH"): Route(supervisors),  # an empty change: within a supervisor's part
    ("/api/v1/admin/users", "GET"): Route(roles("admin")),
    ("/api/v1/admin/users", "POST"): Route(
        roles("admin"), body={"username": "matrix-user", "password": PASSWORD, "role": "supervisor"}
    ),
    # the user the line above adds: a change of a user ends that user's sessions, so not a caller's
    ("/api/v1/admin/users/<name>", "PATCH"): Route(roles("admin"), ({"name": "matrix-user"},)),
    # sites: an admin of the whole installation (every admin here: none belongs to one site; a site's
    # own admin is refused in tests/api/test_sites_admin.py and tests/api/test_sites.py)
    ("/api/v1/admin/sites", "GET"): Route(roles("admin")),
    ("/api/v1/admin/sites", "POST"): Route(roles("admin"), body={"id": "ma-tran", "name": "Xã Ma Trận"}),
    ("/api/v1/admin/sites/<site_id>", "PATCH"): Route(roles("admin"), ({"site_id": "no-such-site"},)),
    ("/api/v1/admin/sites/<site_id>", "DELETE"): Route(roles("admin"), ({"site_id": "no-such-site"},)),
    ("/api/v1/admin/tokens", "GET"): Route(roles("admin")),
    ("/api/v1/admin/tokens", "POST"): Route(roles("admin"), body={"role": "display", "name": "matrix"}),
    ("/api/v1/admin/tokens/<int:token_id>", "DELETE"): Route(roles("admin"), ({"token_id": 10**6},)),
    ("/api/v1/admin/webhooks", "GET"): Route(roles("admin")),
    ("/api/v1/admin/webhooks", "POST"): Route(
        roles("admin"), body={"url": "http://127.0.0.1:9/matrix", "events": ["ticket.called"]}
    ),
    # webhook 1: the one the line above registers
    ("/api/v1/admin/webhooks/<int(max=2147483647):webhook_id>/deliveries", "GET"): Route(
        roles("admin"), ({"webhook_id": 1},)
    ),
    **{
        (f"/api/v1/admin/webhooks/<int(max=2147483647):webhook_id>{rest}", method): Route(
            roles("admin"), ({"webhook_id": 10**6, "delivery": 1},)
        )
        for rest, method in (("", "DELETE"), ("/deliveries/<int(max=2147483647):delivery>/replay", "POST"))
    },
    **{
        (f"/api/v1/reports/{name}", "GET"): Route(supervisors)
        for name in ("summary", "peak-hours", "daily", "periods", "live")
    },
    ("/api/v1/reports/sites", "GET"): Route(roles("admin", "province"), province_own=True),  # sites side by side
}

ROOMS = {  # Socket.IO ``subscribe``: one line per room kind
    "display": (anyone, ({"display": "lobby"},)),
    "kiosk": (anyone, ({"kiosk": "kiosk-1"},)),
    "ticket": (anyone, ({"ticket": None},)),  # the ticket id is filled in
    "counter": (watch_counter, ({"counter": 1}, {"counter": 2})),
    "rating": (watch_rating, ({"rating": 1}, {"rating": 2})),
    "dashboard": (supervisors, ({"dashboard": True},)),
}

EVENTS = {  # every other Socket.IO event, in the order sent
    "agent.hello": (agent, {"kiosk": "kiosk-1", "printed": []}),
    "print.fetch": (after_hello, None),
    "print.done": (after_hello, {"job": 10**9, "printed": False, "error": "role matrix"}),
    "printer.report": (after_hello, {"state": "ready"}),
}
SOCKET_LIFECYCLE = {"connect", "disconnect", "*"}  # not events a client sends ("*": any other, only counted)
