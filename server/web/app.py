"""The app factory: config from one place, extensions bound here, one blueprint per area."""

from __future__ import annotations

import logging
import os
import re
import secrets
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask
from flask.globals import _cv_request
from sqlalchemy.engine import Engine

from ..core import faults
from ..core.config import Config, instance_dir_for, load_config, load_config_apart
from ..core.config import config_path as resolve_config_path
from ..core.db import (
    SiteRuntime,
    create_db_engine,
    default_database_url,
    prepare_database,
    reads_engine,
    schema_revision,
    session_factory,
    write_transaction,
)
from ..core.errors import NotFound
from ..core.logs import configure_logging, name_sites_by
from ..core.writer import group_writer
from .extensions import PROXIES, ping_seconds, socketio
from .flask_class import QueueKioskFlask
from .ratelimits import RateLimits
from .security import install_security_headers
from .sessions import SiteSessions

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import sessionmaker

    from ...printers.spooler import Spooler
    from ..core.pg_writer import PostgresGroupWriter
    from ..core.prediction import Predictor
    from ..core.writer import GroupCommitWriter

log = logging.getLogger(__name__)


SITE_KEY = "queuekiosk.site"  # the WSGI environ key where routing (SiteRouting) puts the request's site id
ASKED_PATH_KEY = "queuekiosk.asked_path"  # and the API path as asked for, before it took the site out
SITE_CHECKED_KEY = "queuekiosk.site_checked"  # set once check_site found the request's site served
SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # a site id as config.yaml allows it (server/core/config.py Code)

# the site that code outside a request works for (a background loop, a printer's greenlet): AppState.at
_working_for: ContextVar[str | None] = ContextVar("queuekiosk_site", default=None)


def _asked_site() -> str | None:
    """The site being worked for (``_working_for``), else the one the request's address names."""
    chosen = _working_for.get()
    if chosen is None:
        # the request's context straight from its context variable: asked about ten times a request,
        # and has_request_context() + request.environ (two proxies) cost several times this
        context = _cv_request.get(None)
        if context is not None:
            chosen = context.request.environ.get(SITE_KEY)
    return chosen


def _let_in() -> bool:
    """Whether the work under way began while its site was served: code working for it (``AppState.at``,
    ``spawn_for``), a request past ``check_site``, a Socket.IO connection past its connect."""
    if _working_for.get() is not None:
        return True
    context = _cv_request.get(None)
    return context is not None and SITE_CHECKED_KEY in context.request.environ


def _names(error: Exception, site_id: str) -> bool:
    """Whether ``error`` is about ``site_id`` being gone: its ``site_unknown`` or a lookup of it."""
    if isinstance(error, NotFound):
        return error.params.get("site") == site_id
    return error.args == (site_id,)


def _working_at(site_id: str, run, *args):
    """``run(*args)`` working for ``site_id`` (the body of a greenlet of ``AppState.spawn_for``); the
    site removed under it (its kill is on its way: live_setup.forget_site), it ends quietly."""
    _working_for.set(site_id)  # (a greenlet's context is its own)
    try:
        return run(*args)
    except NotFound as error:
        if not _names(error, site_id):
            raise
        return None


@dataclass
class AppState:
    """What every request needs: the sites served, the database, and who shows which counter.

    ``site`` is the site of the request being answered (``/s/{site}/...``, ``/api/v1/sites/{site}/...``,
    a Socket.IO connection opened under ``/s/{site}/``), else the site set by ``at(site_id)``, else the
    first site (the one config.yaml seeded): the single-site paths serve that one."""

    config_path: Path | None
    instance_dir: Path
    engine: Engine
    sites: dict[str, SiteRuntime]  # by id, the first site first; a runtime is replaced whole (live_setup.py)
    ignore_hours: bool = False
    writer: GroupCommitWriter | PostgresGroupWriter | None = None  # group commit (server/core/writer.py)
    spoolers: dict[str, Spooler] = field(default_factory=dict)  # per site, started by `queuekiosk serve`
    limits: RateLimits | None = None
    predictors: dict[str, Predictor] = field(default_factory=dict)  # per site, once trained (server/web/waits.py)
    background: bool = False  # start_background ran: a site added later gets its own greenlets started
    site_work: dict = field(default_factory=dict)  # site id -> its greenlets (a gevent Group: spawn_for)
    # where phones reach the site worked for (printing.tracking_base), for code with no app context
    tracking_base: Callable[[], str] | None = None
    reads: Engine = field(init=False)  # ``engine`` for looks that write nothing

    def __post_init__(self):
        self.reads = reads_engine(self.engine)

    @cached_property
    def Session(self) -> sessionmaker:
        """ORM sessions for reading, bound to ``reads``. Made at the first use: the ORM is loaded by
        the first request that needs it, not by the start (the start and the idle loops read
        through Core, issue 21)."""
        return session_factory(self.reads)

    @property
    def first_site_id(self) -> str:
        return next(iter(self.sites))

    @property
    def site_id(self) -> str:
        chosen = _asked_site()
        if chosen is None:  # a path of no site in particular (most requests): the first site's
            return next(iter(self.sites))
        if chosen in self.sites:
            return chosen
        if _let_in():
            # its site removed since (live_setup.forget_site): a request, a Socket.IO event, a site's
            # loop or printer is answered as at any unknown site, never carried on at the first site
            raise NotFound("site_unknown", site=chosen)
        return self.first_site_id  # (an unknown site's request, until check_site refuses it)

    @property
    def site(self) -> SiteRuntime:
        chosen = _asked_site()
        if chosen is None:
            return next(iter(self.sites.values()))
        runtime = self.sites.get(chosen)
        return runtime if runtime is not None else self.sites[self.site_id]

    def logged_site(self) -> str | None:
        """The site a log line is about; None for the installation's own work (its message queue, a
        site's start) outside any request or site's loop when it serves several sites."""
        if len(self.sites) > 1 and _working_for.get() is None and _cv_request.get(None) is None:
            return None
        try:
            return self.site_id
        except NotFound as gone:  # a removed site's last lines are still its own
            return gone.params["site"]

    @site.setter
    def site(self, runtime: SiteRuntime) -> None:
        self.sites[runtime.id] = runtime

    @property
    def spooler(self) -> Spooler | None:
        return self.spoolers.get(self.site_id)

    @property
    def predictor(self) -> Predictor | None:
        if not self.predictors:  # no site's model trained yet: nobody's (the request's site not looked up)
            return None
        return self.predictors.get(self.site_id)

    @predictor.setter
    def predictor(self, predictor: Predictor | None) -> None:
        if predictor is None:
            self.predictors.pop(self.site_id, None)
        else:
            self.predictors[self.site_id] = predictor

    @contextmanager
    def at(self, site_id: str):
        """Work for ``site_id`` in this block (``site``, ``write``, ``read``, ``spooler`` are that site's)."""
        token = _working_for.set(site_id)
        try:
            yield self.sites[site_id]
        finally:
            _working_for.reset(token)

    def write(self, action, *args, **kwargs):
        """Run ``action(conn, site, *args, **kwargs)`` in one committed transaction; its result."""
        return self.write_for(self.site, action, *args, **kwargs)

    def write_for(self, site: SiteRuntime, action, *args, **kwargs):
        """``write`` for ``site``, the request's as its caller already looked it up (every ticket)."""
        if self.writer is not None:  # group commit (server/core/writer.py)
            return self.writer.submit(action, site, args, kwargs)
        with write_transaction(self.engine) as conn:  # commits on success, rolls back on any error
            result = action(conn, site, *args, **kwargs)
        faults.writes_again()
        return result

    def read(self, action, *args, **kwargs):
        """``action(conn, site, *args, **kwargs)`` on a Core connection that only reads (the printers'
        look for their next job: no ORM at idle)."""
        with self.reads.connect() as conn:
            return action(conn, self.site, *args, **kwargs)

    def write_at(self, site_id: str, action, *args, **kwargs):
        """``write`` for ``site_id`` (code outside a request: a printer's greenlet, a background loop)."""
        with self.at(site_id):
            return self.write(action, *args, **kwargs)

    def read_at(self, site_id: str, action, *args, **kwargs):
        with self.at(site_id):
            return self.read(action, *args, **kwargs)

    def for_each_site(self, work, *args, sites=None) -> None:
        """``work(site_id, *args)`` for every site served (or each of ``sites``), each working for its site
        (``at``): the installation-wide loops. A site removed under it (live_setup.forget_site, in this
        process or by its poll) is passed by in one line, so that the loop goes on for the others."""
        for site_id in list(self.sites if sites is None else sites):
            try:
                with self.at(site_id):
                    work(site_id, *args)
            except (NotFound, KeyError) as error:
                if not _names(error, site_id):  # (a site removed and added again meanwhile is passed by too)
                    raise
                log.info("removed while being worked for: passed by", extra={"site": site_id})

    def start_background(self) -> None:
        """What a serving process does besides answering: printing, and ending each day."""
        import gevent

        from .delivery import DeliveryWorker
        from .housekeeping import lapse_loop
        from .live_setup import follow_saved_setup, start_site_work
        from .realtime import follow_session_ends
        from .waits import refresh_loop

        self.background = True
        for site_id in list(self.sites):
            start_site_work(self, site_id)
        gevent.spawn(lapse_loop, self)  # remote numbers past their deadline lapse (server/core/bookings/ending.py)
        gevent.spawn(follow_saved_setup, self)  # setup changes saved by another process
        # lapsed tokens, users and sessions off Socket.IO; dashboards told of sign-outs ended by the command line
        gevent.spawn(follow_session_ends, self)
        gevent.spawn(DeliveryWorker(self).run)  # webhooks (server/web/delivery.py)
        gevent.spawn(refresh_loop, self)  # the wait predictor's live state read afresh (trained at each day's end)
        queue = os.environ.get("QUEUEKIOSK_MESSAGE_QUEUE") or ""
        if queue.startswith("redis"):
            from .resync import watch_message_queue

            gevent.spawn(watch_message_queue, queue)  # screens whole again after a Redis outage

    def spawn_for(self, site_id: str, run, *args):
        """``run(*args)`` in a greenlet of the site's own, working for it (as in ``at``: its lines name the
        site), ended with the others when the site is removed (live_setup.forget_site). None for a site
        no longer served: nothing starts (a group made for it now would never be killed)."""
        if site_id not in self.sites:
            return None
        group = self.site_work.get(site_id)
        if group is None:
            from gevent.pool import Group

            group = self.site_work[site_id] = Group()
        return group.spawn(_working_at, site_id, run, *args)

    @property
    def config_dir(self) -> Path:
        """Where relative paths of config.yaml (a printer's folder, the ticket logo) start."""
        return self.config_path.parent if self.config_path else Path.cwd()


class SiteRouting:
    """WSGI middleware, outside Flask and Socket.IO: finds the site a request is for, and whether
    Socket.IO or Flask answers it.

    ``/s/{site}/rest`` is served as ``/rest`` with ``SCRIPT_NAME`` ending in ``/s/{site}`` (so the
    page's own links and ``url_for`` stay under the prefix), ``/api/v1/sites/{site}/rest`` as
    ``/api/v1/rest``; the site id goes into ``environ[SITE_KEY]``. Every other path is the first
    site's, as on a single-site installation. Whether the site exists is checked inside the app
    (``check_site``): an unknown one is a 404 naming it.

    ``app`` is Flask-SocketIO's middleware: it copies every request's environ and hands it to
    python-engineio's, which answers ``/socket.io/`` and passes the rest on to Flask. Any other
    path goes to Flask straight from here (a few microseconds of each request, issue 21)."""

    API_PREFIX = "/api/v1/sites/"

    def __init__(self, app):
        self.app = app
        self.socketio_path = getattr(app, "engineio_path", None)  # "/socket.io/"
        self.flask = app.wsgi_app if self.socketio_path else app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO") or ""
        if path.startswith("/s/"):
            site_id, slash, rest = path[3:].partition("/")
            if SITE_ID.fullmatch(site_id):
                environ[SITE_KEY] = site_id
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + "/s/" + site_id
                environ["PATH_INFO"] = path = "/" + rest
        elif path.startswith(self.API_PREFIX):
            site_id, slash, rest = path[len(self.API_PREFIX) :].partition("/")
            if slash and SITE_ID.fullmatch(site_id):
                environ[SITE_KEY] = site_id
                environ[ASKED_PATH_KEY] = path  # (a refusal quotes the address as it was asked for)
                environ["PATH_INFO"] = path = "/api/v1/" + rest
        if self.socketio_path is None or path.startswith(self.socketio_path):
            return self.app(environ, start_response)
        return self.flask(environ, start_response)


def check_site() -> None:
    """Before every request: a site named in the address must exist (one added by another process
    a moment ago is looked up in the database first)."""
    site_id = _cv_request.get().request.environ.get(SITE_KEY)  # not through the proxy: at every request
    if site_id is None:
        return
    from flask import current_app

    state = current_app.extensions["queuekiosk"]
    if site_id not in state.sites:
        from .live_setup import adopt_new_sites

        adopt_new_sites(state)
        if site_id not in state.sites:
            raise NotFound("site_unknown", site=site_id)
    _cv_request.get().request.environ[SITE_CHECKED_KEY] = True


_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


class _DropForwarded:
    """Removes the X-Forwarded-* headers once trusted (or not): what comes after, python-engineio's
    origin check above all (it believes them whoever sent them), sees only the request's own
    scheme and Host, or those the configured proxies forwarded."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        for name in _FORWARDED:
            environ.pop(name, None)
        return self.wsgi_app(environ, start_response)


def trust_proxies(wsgi_app, proxies: int):
    """Behind ``proxies`` reverse proxies (QUEUEKIOSK_PROXIES, 1 behind nginx), the client's address,
    scheme and Host are those the last ``proxies`` of them forwarded (X-Forwarded-For, -Proto, -Host);
    with none, such headers are ignored. So a page served at https://centre:8443 through nginx
    connects its Socket.IO (its Origin is the forwarded scheme and Host)."""
    inner = _DropForwarded(wsgi_app)
    if not proxies:
        return inner
    from werkzeug.middleware.proxy_fix import ProxyFix

    return ProxyFix(inner, x_for=proxies, x_proto=proxies, x_host=proxies)


def _secret_key(instance_dir: Path) -> str:
    """Kept in the instance folder so sessions survive restarts and are shared by worker processes."""
    if os.environ.get("QUEUEKIOSK_SECRET_KEY"):
        return os.environ["QUEUEKIOSK_SECRET_KEY"]
    path = instance_dir / "secret_key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def create_app(
    config_path: str | os.PathLike | None = None,
    config: Config | None = None,
    database_url: str | None = None,
    ignore_hours: bool = False,
    migrate_apart: bool = False,
) -> Flask:
    """``config`` (else the file at ``config_path``) seeds a new database; an existing one keeps
    the setup saved in it, and the file is not read at all. ``migrate_apart``: a new database's
    schema is made in a child process, so a long-running server never holds Alembic (server/core/db.py)."""
    path = resolve_config_path(config_path)
    instance_dir = instance_dir_for(path)

    app = QueueKioskFlask(__name__, instance_path=str(instance_dir))
    app.config.update(
        SECRET_KEY=_secret_key(instance_dir),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",  # a cross-site POST carries no session: no CSRF on the API
    )
    app.session_interface = SiteSessions()  # a login per site: each site its own cookie (server/web/sessions.py)
    app.json.ensure_ascii = False  # Vietnamese text stays readable in responses
    app.json.sort_keys = False

    # the server's SQLite writes wait less for the lock than the command line's: the whole process
    # waits with them (gevent), and a page should get "busy, try again" before its own timeout
    engine = create_db_engine(
        database_url or default_database_url(instance_dir), busy_seconds=faults.SERVER_BUSY_SECONDS
    )
    if engine.dialect.name == "sqlite":
        instance_dir.mkdir(parents=True, exist_ok=True)  # where a new database file goes (its migration lock too)
    if migrate_apart and config is None and schema_revision(engine) is None:
        # a new database: made and given config.yaml's setup by a child, then read as at every later start
        from .first_start import prepare_apart

        prepare_apart(engine, path, instance_dir)
    # a long-running server checks config.yaml (a new database's setup) in a child: it never imports pydantic
    seed = config or (lambda: (load_config_apart if migrate_apart else load_config)(path))
    site = prepare_database(engine, seed, instance_dir, path.parent, migrate_apart=migrate_apart)
    configure_logging(site.id)  # every entry point (serve, gunicorn through server/wsgi.py, tests) logs alike
    writer = group_writer(engine)  # SQLite's, PostgreSQL's on psycopg, else None
    state = AppState(path, instance_dir, engine, {site.id: site}, ignore_hours, writer)
    app.extensions["queuekiosk"] = state
    name_sites_by(state.logged_site)  # a line names the site it is about, if any
    from .live_setup import adopt_new_sites

    adopt_new_sites(state)  # the other sites of the installation (server/core/sites.py), after the first

    message_queue = os.environ.get("QUEUEKIOSK_MESSAGE_QUEUE") or None
    ping = ping_seconds()
    queue_options = {}
    if message_queue and message_queue.startswith("redis"):
        from .message_queue import BoundedRedisManager  # bounded waits, whole again after an outage

        queue_options["client_manager"] = BoundedRedisManager(message_queue)
    socketio.init_app(
        app, async_mode="gevent", message_queue=message_queue, ping_interval=ping, ping_timeout=ping, **queue_options
    )
    app.wsgi_app = SiteRouting(app.wsgi_app)  # outside Socket.IO's middleware: /s/{site}/socket.io is the site's
    # outermost, so that Socket.IO's origin check sees what the proxies forwarded too
    app.config[PROXIES] = int(os.environ.get(PROXIES, "0"))
    app.wsgi_app = trust_proxies(app.wsgi_app, app.config[PROXIES])
    app.before_request(check_site)
    # several processes share their counts through Redis; one process keeps them in memory
    redis_queue = message_queue if message_queue and message_queue.startswith("redis") else None
    state.limits = RateLimits(redis_queue or "memory://")  # each site's own limits, per request

    from . import realtime, realtime_agents  # noqa: F401  registers the Socket.IO handlers (the kiosk agents' apart)

    realtime.guard_packets(socketio.server)  # malformed and stray packets
    from .printing import make_spooler

    for site_id in state.sites:
        state.spoolers[site_id] = make_spooler(state, site_id)
    from .api import bp as api_bp
    from .api.tickets import health
    from .errors import register_error_handlers

    app.register_blueprint(api_bp)
    from .api import refuse_foreign_writes

    app.before_request(refuse_foreign_writes)  # after check_site: a site's writes are its own callers'
    from .api.csrf import init_csrf

    init_csrf(app, api_bp)  # forms and session-authorised API calls carry the session's CSRF token
    from ...counter_client.web import bp as counter_console_bp
    from ...display.web import bp as display_bp
    from ...home import bp as home_bp
    from ...kiosk.web import TRACK_URL, track_bp
    from ...kiosk.web import bp as kiosk_bp
    from .printing import track_urls, tracking_base

    app.register_blueprint(home_bp)  # GET /: links to every page
    app.register_blueprint(kiosk_bp)  # GET /kiosk/<id>
    app.register_blueprint(track_bp)  # GET /t/<ticket id>: the ticket's track_url, for the citizen's phone
    app.extensions[TRACK_URL] = track_urls(app)  # the kiosk's QR codes hold the API's track_url
    state.tracking_base = lambda: tracking_base(app)  # (the delivery worker's links to /book)
    app.register_blueprint(display_bp)  # GET /display/<id>
    app.register_blueprint(counter_console_bp)  # GET /counter
    from ...counter_client.rating import bp as rating_tablet_bp

    app.register_blueprint(rating_tablet_bp)  # GET /rating/<counter>: the citizen rating tablet of a counter
    from ...sounds.web import ANNOUNCER, make_announcer
    from ...sounds.web import bp as announcements_bp

    # the calls' audio (sounds/): the first site's; a site whose sounds differ gets its own (announcer())
    app.extensions[ANNOUNCER] = make_announcer(state)
    app.register_blueprint(announcements_bp)  # GET /api/v1/announcements/preview and /<key>.wav
    from .api.reports import bp as reports_api_bp
    from .supervisor import bp as supervisor_bp

    app.register_blueprint(reports_api_bp)  # GET /api/v1/reports/...: supervisors' reports and exports
    app.register_blueprint(supervisor_bp)  # GET /reports and /dashboard: the supervisors' pages
    from .admin_page import bp as admin_page_bp

    app.register_blueprint(admin_page_bp)  # GET /admin: the setup edited live
    from .book_page import bp as book_page_bp

    app.register_blueprint(book_page_bp)  # GET /book and /book/<code>: citizens book from their phones
    app.add_url_rule("/healthz", "health", health)
    register_error_handlers(app)
    install_security_headers(app)
    # what the start compiled (the setup's read, a new database's seed: ~0.25 MB of SQL for one use)
    # goes; what a request or a background loop runs again is compiled at its first run, as before
    engine.clear_compiled_cache()
    return app
