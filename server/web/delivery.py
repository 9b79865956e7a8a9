"""The delivery worker: webhooks (server/core/outbox.py has the rules) and citizens' notifications
(server/core/notifications.py), a greenlet of the serving process.

Once across several server processes: only the holder of the "delivery-worker" lease (server/core/lease.py
Lease: a PostgreSQL advisory lock, or a file lock beside the SQLite file) works; the lease goes
with its process however that ends, and another process takes it within ``LEASE_POLL_SECONDS``; a holder
whose lease went with its database connection (PostgreSQL restarted) finds out before its next round
(one lost without a word: within ``LEASE_CHECK_SECONDS``) and stops until it holds it again
(``lease_lost``). So after a loss without a word two processes may deliver together for up to
``LEASE_CHECK_SECONDS``: a notification still goes once (claimed before it goes, below), a webhook
delivery may go twice (at least once, below).
Webhooks at least once: a delivery is marked only after its answer, so one in flight when the
process dies is sent again by whoever holds the lease next; receivers deduplicate by its id.
Notifications at most once: each is claimed ("sending") before it goes, by one worker only (a citizen
never gets two).

Never in the way of the queue: issuing and calling only write the outbox row, and only when a
webhook or a notifying site will read it (server/core/outbox.py ``wanted``); each webhook is
posted to by its own greenlet, one delivery after the other (in event order), each with a
timeout, so a slow or dead receiver holds up nothing but itself. And the worker gives way to the
requests of its process (``give_way``): before each step (dispatching, a post, saving results, a
notice) it waits until no request has been in progress for ``QUIET_SECONDS``, or at most
``GIVE_WAY_SECONDS``, so a request never queues behind a stream of deliveries for the CPU or the
database writer; under a steady stream of requests each webhook still gets a delivery every
``GIVE_WAY_SECONDS`` at least, and the backlog goes once the stream stops (bench/bench_webhooks.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import logging
import os
import time
import urllib.parse
from collections import Counter
from itertools import groupby

import gevent
from flask.globals import _cv_request
from gevent.event import Event

from ..core import faults, notification_channels, notifications, outbox, unoffered
from ..core.env_values import seconds_setting
from ..core.lease import Lease
from ..core.models import utcnow
from .errors import fault_site, report_database_fault

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # the lease holder looks for new events (and retries due) at least this often
# (QUEUEKIOSK_DELIVERY_POLL_SECONDS; tests set it short)
LEASE_POLL_SECONDS = 3.0  # a process without the lease tries to take it this often
LEASE_CHECK_SECONDS = 3.0  # the holder asks PostgreSQL whether its lease's connection still holds it this often
PRUNE_EVERY = 3600  # seconds between clearing out the old delivery log
BATCH = 100  # deliveries per webhook per round (short steps: the worker shares the process with the queue)
MARK_EVERY = 0.5  # seconds between saving the results of a webhook's deliveries
ROUND_GAP = 0.1  # seconds at least between two rounds: a busy queue wakes the worker at every ticket
REPLAN_SECONDS = 10  # notifications are also looked at this often with no change in the queue
QUIET_SECONDS = 0.05  # the worker's next step waits until no request has run for this long (a call's
# messages to the screens are still being written for a while after its answer)...
GIVE_WAY_SECONDS = 0.25  # ...or this long at most
SENDING_BOUND = 3600  # a cancel notice "sending" this long (seconds) was cut off: its process is gone
SWEEP_SECONDS = 30.0  # with nobody to deliver to, the events recorded meanwhile are marked dispatched this often

_wake = Event()
# the worker's last look found someone to deliver to (a webhook, a site that notifies), or it has not
# looked yet; False in a process that does not hold the lease (the holder polls for every process)
_receivers = True


class _Traffic:
    """The requests this process is answering (Flask's request signals): how many now, and when
    the last one started or ended (time.monotonic). Only a request seen starting is counted off at
    its end: flask_socketio pushes a request context for each Socket.IO event, and its end sends
    request_tearing_down with no request_started before it.

    Listened to only while the worker of this process has someone to deliver to (``follow``): two
    signals with a receiver cost blinker about 12 µs a request, 2 % of a ticket and 4 % of a 404,
    paid before by every request of every process of a centre with no webhook."""

    in_flight = 0
    last = 0.0
    listening = False
    counting = 1  # which listening this is: a request counted before the signals were let go is not counted off
    COUNTED = "queuekiosk.traffic_counted"  # in the environ of a request counted in: ``counting`` then

    @classmethod
    def listen(cls) -> None:
        from flask import request_started, request_tearing_down

        request_started.connect(cls.started, weak=False)
        request_tearing_down.connect(cls.ended, weak=False)
        cls.listening = True

    @classmethod
    def follow(cls, wanted: bool) -> None:
        """Listen from now on, or stop. Requests already in progress when it starts are not counted:
        as if one had just ended, the worker's next step waits ``QUIET_SECONDS`` at least."""
        if wanted == cls.listening:
            return
        if wanted:
            cls.counting += 1
            cls.in_flight, cls.last = 0, time.monotonic()
            cls.listen()
            return
        from flask import request_started, request_tearing_down

        request_started.disconnect(cls.started)
        request_tearing_down.disconnect(cls.ended)
        cls.listening = False

    @classmethod
    def started(cls, _app, **_extra) -> None:
        _cv_request.get().request.environ[cls.COUNTED] = cls.counting
        cls.in_flight += 1
        cls.last = time.monotonic()

    @classmethod
    def ended(cls, _app, **_extra) -> None:
        if _cv_request.get().request.environ.pop(cls.COUNTED, None) == cls.counting:
            cls.in_flight -= 1
        cls.last = time.monotonic()


def give_way() -> None:
    """Wait until no request has been in progress for ``QUIET_SECONDS`` (at most ``GIVE_WAY_SECONDS``)."""
    waited_since = time.monotonic()
    while time.monotonic() - waited_since < GIVE_WAY_SECONDS:
        if not _Traffic.in_flight and time.monotonic() - _Traffic.last >= QUIET_SECONDS:
            return
        gevent.sleep(QUIET_SECONDS)


def wake() -> None:
    """Something to deliver was just committed in this process: look now rather than at the next poll.
    Not when the worker's last look (``POLL_SECONDS`` ago at most) found nobody to deliver to: a
    round (its reads, a write and its fsync) after every call and ticket was then for no one, and a
    webhook or notifying site added meanwhile is found by the next poll."""
    if _receivers:
        _wake.set()


class Poster:
    """POSTs to one receiver over one kept-alive connection (a new one after any failure); a 3xx
    is an answer like any other that is not a 2xx: redirects are not followed."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self.connection: http.client.HTTPConnection | None = None
        self.origin = None

    def post(self, delivery: outbox.Delivery) -> tuple[int | None, str | None]:
        """(the HTTP status, or None when there was no answer; what went wrong)."""
        parts = urllib.parse.urlsplit(delivery.url)
        try:
            if self.connection is None or self.origin != (parts.scheme, parts.netloc):
                self.close()
                if parts.scheme == "https":  # the process's one context (server/core/tls.py), not one per connection
                    from ..core.tls import https_context  # (a webhook's, not an idle server's)

                    connection = http.client.HTTPSConnection(
                        parts.netloc, timeout=self.timeout, context=https_context()
                    )
                else:
                    connection = http.client.HTTPConnection(parts.netloc, timeout=self.timeout)
                self.connection, self.origin = connection, (parts.scheme, parts.netloc)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            self.connection.request("POST", path, body=delivery.body, headers=delivery.headers())
            response = self.connection.getresponse()
            response.read(65536)
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException, ValueError) as error:
            self.close()
            return None, f"{type(error).__name__}: {error}"[:300]
        if 200 <= response.status < 300:
            return response.status, None
        return response.status, f"HTTP {response.status} {response.reason}"[:300]

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


class DeliveryWorker:
    def __init__(self, state):
        self.state = state
        self.lease = Lease(state.engine, state.instance_dir, "delivery-worker")
        self.delays = outbox.retry_delays(os.environ.get("QUEUEKIOSK_WEBHOOK_RETRY_SECONDS"))
        self.timeout = float(os.environ.get("QUEUEKIOSK_WEBHOOK_TIMEOUT", "10"))
        self.notify_delays = notifications.retry_delays(os.environ.get("QUEUEKIOSK_NOTIFY_RETRY_SECONDS"))
        self.poll = seconds_setting("QUEUEKIOSK_DELIVERY_POLL_SECONDS", POLL_SECONDS, 0.05, 60)
        self.sending: dict[int, gevent.Greenlet] = {}  # webhook id -> the greenlet posting to it
        self.notifying: gevent.Greenlet | None = None
        self.telling_cancelled: gevent.Greenlet | None = None  # the centre's cancels (cancel_notices.py)
        self.newest_planned, self.planned_at = None, 0.0
        self.last_prune = 0.0
        self.lease_checked = 0.0  # (time.monotonic) the last round trip on the lease's connection
        self.swept = False  # the opt-ins of channels not offered: ended at the first round (prune)
        self.last_sweep = 0.0
        self.started = utcnow()  # what was claimed before was claimed by another process
        from .app import _secret_key

        self._secret_key = _secret_key(state.instance_dir)

    # made at the first notice to send: they load cryptography (about 6 MB), which a centre that
    # notifies nobody never needs
    @functools.cached_property
    def box(self):
        from .sealing import address_box

        return address_box(self._secret_key)

    @functools.cached_property
    def vapid(self):
        from ..core.vapid import VapidKey

        return VapidKey(self._secret_key)

    def run(self) -> None:
        global _receivers
        while True:
            pause = LEASE_POLL_SECONDS
            try:
                if self.lease.try_take() and not self.lease_lost():
                    _receivers = self.round()
                    pause = self.poll
                else:
                    _receivers = False  # the lease holder delivers every process's events
                    _Traffic.follow(False)
            except (
                faults.DATABASE_ERRORS
            ) as error:  # a full disk, a locked or lost database: said once, as for requests
                report_database_fault(error, "delivery worker", self.state.site, background=True)
                pause = 5.0
            except Exception:  # nothing must end the worker
                log.exception("delivery worker: a round failed; trying again shortly")
                pause = 5.0
            gevent.sleep(ROUND_GAP)
            _wake.wait(pause)
            _wake.clear()

    def lease_lost(self) -> bool:
        """Whether the lease went with its connection since the last round (PostgreSQL restarted, or an
        administrator ended it): another process may hold it now, so this one starts nothing until it
        takes it again. What is under way ends: a webhook's batch at most (at least once), and a notice
        goes once, its claim kept by the database. Not a round trip each round: PostgreSQL says so on
        the connection when it ends a session, which a look at its socket sees (one system call, as the
        pool's checkout, server/core/db.py); the round trip only then, or every ``LEASE_CHECK_SECONDS``
        (a connection lost without a word)."""
        if not self.lease_may_be_lost() or not self.lease.lost():
            return False
        log.warning("delivery worker: its lease's database connection was lost; delivering again once it holds it")
        return True

    def lease_may_be_lost(self) -> bool:
        now = time.monotonic()
        if not self.lease.spoken_on() and now - self.lease_checked < LEASE_CHECK_SECONDS:
            return False
        self.lease_checked = now
        return True

    def round(self) -> bool:
        """One look: dispatch, notify, send what is due. Whether there is anyone to deliver to."""
        give_way()  # its reads too take the process's time: none while requests are being answered
        state = self.state
        # each site that notifies, by the channels it offers (as this process knows its setup)
        notifying = {
            site_id: channels
            for site_id, site in list(state.sites.items())
            if (channels := site.config.notifications.channels)
        }
        with state.reads.connect() as conn:  # one connection for the round's looks
            hooks = outbox.active_webhooks(conn)
            queue_changed = outbox.undispatched(conn)
            cancels_waiting = bool(notifying) and _cancels().waiting(conn, offered=notifying)
        _Traffic.follow(bool(hooks or notifying))  # the steps below give way to requests only when there are any
        now = time.monotonic()
        if not hooks and not notifying:
            # nobody to deliver to: what was recorded meanwhile (for a webhook since removed, or a site
            # that stopped notifying) is marked dispatched now and then, not after each action
            if queue_changed and now - self.last_sweep >= SWEEP_SECONDS:
                self.last_sweep = now
                give_way()
                state.write(outbox.dispatch)
            self.prune(now)
            return False
        if queue_changed:
            give_way()
            state.write(outbox.dispatch)
        self.notify(queue_changed, notifying, cancels_waiting)
        self.sending = {hook: g for hook, g in self.sending.items() if not g.dead}
        # every webhook still posting its last batch: no need to look (the look sorts every pending
        # delivery, thousands after a burst); no webhook: nothing is due
        if not hooks or (self.sending and set(self.sending) >= hooks):
            due = []
        else:
            with state.reads.connect() as conn:
                due = outbox.due(conn, limit=BATCH * 3, skip_webhooks=self.sending)
        for webhook_id, group in groupby(sorted(due, key=lambda d: d.webhook_id), key=lambda d: d.webhook_id):
            self.sending[webhook_id] = gevent.spawn(self.send_all, list(group)[:BATCH])
        self.prune(now)
        return True

    def prune(self, now: float) -> None:
        first = not self.swept
        if first:  # at the first round: a site turned off before may have kept some
            self.swept = True
            self.forget_unoffered()
            # cancel notices a process that is gone left "sending": claimed before this one started (a send
            # takes seconds, never SENDING_BOUND), or longer than SENDING_BOUND ago (a standby process takes the
            # lease hours after its start: what the holder before it claimed since then)
            self.settle_cut_off(max(self.started, utcnow() - dt.timedelta(seconds=SENDING_BOUND)))
        if now - self.last_prune > PRUNE_EVERY:
            self.last_prune = now
            self.state.write(outbox.prune)
            self.state.write(notifications.forget, utcnow() - dt.timedelta(days=outbox.KEEP_DAYS))
            self.state.write(_cancels().forget, utcnow() - dt.timedelta(days=outbox.KEEP_DAYS))
            if not first:  # (at the first round, done just above, to the later of the two bounds)
                self.settle_cut_off(utcnow() - dt.timedelta(seconds=SENDING_BOUND))
                self.forget_unoffered()

    def settle_cut_off(self, before: dt.datetime) -> None:
        with self.state.reads.connect() as conn:
            if not _cancels().any_cut_off(conn, before):
                return
        self.state.write(_cancels().settle_cut_off, before)

    def forget_unoffered(self) -> None:
        """Every site's opt-ins on channels it does not offer (turned off before this was done at the
        change, or taken by a process that had not yet heard of it) end: their addresses are not kept."""
        self.state.for_each_site(self.end_unoffered)

    def end_unoffered(self, _site_id: str) -> None:
        give_way()
        with self.state.reads.connect() as conn:  # read first: a write only when there is something to end
            held = unoffered.held(conn, self.state.site)
        if held:
            self.state.write(unoffered.end)

    def notify(self, queue_changed: bool, offered: dict[str, list[str]], cancels_waiting: bool) -> None:
        """While anyone waits to be told: after a change of the queue, a new opt-in, or every
        ``REPLAN_SECONDS`` (the centre opening), the notices the queue now calls for at each site of
        ``offered`` (those that notify, by their own settings and hours, with the channels each offers);
        then the due ones on those channels sent (by one greenlet, so a slow channel holds up only
        notifications). ``cancels_waiting``: the round's look found cancel notices to send
        (``tell_cancelled``)."""
        state = self.state
        if not offered:
            return
        sites = list(offered)
        if cancels_waiting:
            self.tell_cancelled(offered)
        with state.reads.connect() as conn:  # read first: a write only when there is something to write
            newest = notifications.newest_active(conn)
            if newest is None:
                return
            now = time.monotonic()
            if queue_changed or newest != self.newest_planned or now - self.planned_at > REPLAN_SECONDS:
                self.newest_planned, self.planned_at = newest, now
                todo = {
                    site_id: notifications.plan(conn, site, ignore_hours=state.ignore_hours)
                    for site_id in sites
                    if (site := state.sites.get(site_id)) is not None  # (not removed meanwhile)
                }
            else:
                todo = {}
        plans = {site_id: plan for site_id, plan in todo.items() if plan}
        state.for_each_site(lambda site_id: state.write(notifications.apply, plans[site_id]), sites=plans)
        if self.notifying is not None and not self.notifying.dead:
            return
        with state.reads.connect() as conn:
            due = notifications.due(conn, offered=offered)
        if due:
            self.notifying = gevent.spawn(self.send_notices, due)

    def tell_cancelled(self, offered: dict[str, list[str]]) -> None:
        """The citizens whose bookings the centre cancelled, told at once (at any hour: cancel_notices.py),
        by a greenlet of their own, so that a slow channel there holds up nothing else; those on the
        channels each site offers (``offered``). Called when the round's look found some waiting
        (``cancel_notices.waiting``)."""
        state = self.state
        if self.telling_cancelled is not None and not self.telling_cancelled.dead:
            return
        with state.reads.connect() as conn:
            links, moved = {}, {}
            for site_id in list(state.sites):  # each site's booking page, where phones reach it
                with state.at(site_id):
                    links[site_id] = (state.tracking_base() if state.tracking_base else "").rstrip("/") + "/book"
            for site_id, site in list(state.sites.items()):  # a retired site's citizens: sent to its successor's
                there = site.successor
                if site.config.site.retired and there and there.id in links:
                    links[site_id], moved[site_id] = links[there.id], there
            due = _cancels().due(conn, links, moved=moved, offered=offered)
        if due:
            self.telling_cancelled = gevent.spawn(self.send_notices, due, _cancels())

    def send_notices(self, due: list[notifications.Due], kind=notifications) -> None:
        """Each notice of ``kind`` (notifications, or cancel_notices: each with its ``still_meant`` and
        ``mark_sent``) marked sending, sent, and marked with what came of it. Cancel notices that can
        never go (``cancel_notices.unsendable``) are dropped: said in the log in one line for those of
        each site and reason in ``due`` (up to 100: a holiday's hundreds are a few lines, not hundreds),
        the admin's only sign that Zalo tells nobody; those this worker dropped only (another process
        may deliver too for a while after a lease lost: each is counted once, by the one that dropped it)."""
        dropped: Counter = Counter()  # (site id, channel, why) -> how many
        try:
            self._send_notices(due, kind, dropped)
        finally:
            for (site_id, channel, why), count in dropped.items():
                log.warning(
                    "%d cancel notice%s by %s dropped: %s",
                    count,
                    "" if count == 1 else "s",
                    channel,
                    why,
                    extra={"site": site_id},
                )

    def _send_notices(self, due: list[notifications.Due], kind, dropped: Counter) -> None:
        state = self.state
        for notice in due:
            give_way()
            site_id = notice.site_id if notice.site_id in state.sites else state.first_site_id
            settings = state.sites[site_id].config.notifications
            if notice.channel not in settings.channels:  # turned off since it was picked (due picks only the
                continue  # channels offered): not sent, kept; the change or the sweep ends it
            if kind is _cancels() and (why := _cancels().unsendable(settings, notice.channel)):
                # counted only if this worker dropped it (not one another dropped or sent meanwhile)
                if state.write_at(site_id, _cancels().drop, notice.notice, why):
                    dropped[site_id, notice.channel, why] += 1
                continue
            if not state.write_at(site_id, kind.still_meant, notice.notice, ignore_hours=state.ignore_hours):
                continue
            try:
                address = self.box.open(notice.address_sealed)
            except Exception:  # sealed under a secret key since replaced: never sendable, so given up now
                state.write_at(site_id, kind.mark_sent, notice.notice, "address cannot be opened", delays=())
                log.warning(
                    "notification %s by %s given up: its address was sealed with another secret key",
                    notice.notice,
                    notice.channel,
                    extra={"site": site_id},
                )
                continue
            error = None
            try:
                notification_channels.channel(settings, notice.channel, self.vapid).send(address, notice.message)
            except Exception as problem:  # ChannelError, or a channel's own bug: retried like any failure
                error = f"{type(problem).__name__}: {problem}"
                for shown in (address, address[1:]):  # never the address in the log: 0912345678, 84912345678
                    error = error.replace(shown, notifications.mask(address))
            if state.write_at(site_id, kind.mark_sent, notice.notice, error, delays=self.notify_delays) != "sent":
                log.warning(
                    "notification %s by %s not sent: %s", notice.notice, notice.channel, error, extra={"site": site_id}
                )

    def send_all(self, deliveries: list[outbox.Delivery]) -> None:
        """Post one after the other; results are saved together (one write for many) every
        ``MARK_EVERY`` seconds, so the log is that late at most and a crash resends that much at most."""
        results, since, poster = [], time.monotonic(), Poster(self.timeout)
        try:
            for delivery in deliveries:
                give_way()
                status, error = poster.post(delivery)
                results.append((delivery, status, error))
                if time.monotonic() - since >= MARK_EVERY:
                    self.mark(results)
                    results, since = [], time.monotonic()
        finally:
            poster.close()
        self.mark(results)

    def mark(self, results: list) -> None:
        if not results:
            return
        give_way()
        try:
            statuses = self.state.write(
                outbox.mark_results, [(d.id, status, error) for d, status, error in results], self.delays
            )
        except faults.DATABASE_ERRORS as error:  # not marked: still pending, so sent again (at least once)
            site = self.state.sites.get(results[0][0].site_id) or fault_site(self.state)  # (the webhook's)
            with self.state.at(site.id):  # (the line names it: the worker serves every site)
                report_database_fault(error, "webhook results", site, background=True)
            return
        except Exception:  # (one webhook's results: the line names its site, as the worker serves every site)
            log.exception(
                "webhook delivery: %d results were not saved", len(results), extra={"site": results[0][0].site_id}
            )
            return
        for delivery, _status, error in results:
            if statuses[delivery.id] != "delivered":
                log.warning(
                    "webhook %s: delivery %s of %s not accepted (%s); %s",
                    delivery.webhook_id,
                    delivery.delivery_id,
                    delivery.kind,
                    error,
                    "given up" if statuses[delivery.id] == "failed" else "tried again later",
                    extra={"site": delivery.site_id},  # (the worker serves every site: the line names the webhook's)
                )


def _cancels():
    """server/core/cancel_notices.py, loaded by the first round that has notices to look at, not by an
    idle server (issue 21)."""
    from ..core import cancel_notices

    return cancel_notices
