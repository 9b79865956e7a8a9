"""The serving process's wait predictor (server/core/prediction.py): trained at start and after each
local midnight, its live state read afresh now and then, handed to the engine as its ``Estimator``.

Each process trains its own from the same database (several gunicorn processes train alike, a few
seconds each, at the same moments); nothing is shared between them but the database. Until a
model is trained, or while the history is too short to trust (fewer than ``MIN_DAYS`` days with
tickets), tickets get the usual formula, as they did before the predictor existed.
``QUEUEKIOSK_WAIT_PREDICTION=off`` (read at each training) keeps a process on the formula: a centre's
way out if its promises go wrong, and the benchmark's reference (bench/bench_prediction.py --http).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time

import gevent

from ..core import engine as q
from ..core import faults
from ..core.engine.clock import since_local_midnight
from ..core.errors import NotFound
from ..core.prediction import Predictor
from ..core.prediction_train import booking_show, read_events, train

log = logging.getLogger("queuekiosk.prediction")

TRAIN_DAYS = 60  # the latest days of history a model learns from: enough for the hours, weekdays and clerks
MIN_DAYS = 5  # fewer days with tickets than this: the formula (the calibration needs days to learn from)
REFRESH_SECONDS = 300  # how often the live state is read afresh from today's events (see Predictor.refresh)


def estimator(state) -> Predictor | None:
    """The predictor for ``state.site`` as it is now, or None (the formula)."""
    predictor = state.predictor
    if predictor is None:
        return None
    if predictor.site is not state.site:  # the setup changed (counters, services): a tracker for it
        predictor = state.predictor = Predictor(state.site, predictor.model)
    return predictor


def retrain(state, now: dt.datetime | None = None) -> Predictor | None:
    """A model from the ``TRAIN_DAYS`` before today, then a tracker of today; it replaces the one in use.

    The events are read here (database I/O lets other greenlets run); the training, pure Python for a
    few seconds, runs in gevent's thread pool so that requests keep being answered meanwhile."""
    if os.environ.get("QUEUEKIOSK_WAIT_PREDICTION", "on").lower() in ("off", "0", "false", "no"):
        log.info("wait prediction off (QUEUEKIOSK_WAIT_PREDICTION): tickets get the usual formula")
        state.predictor = None
        return None
    site = state.site
    now = now or q.utcnow()
    today = since_local_midnight(site, now)
    started = time.perf_counter()
    since = today - dt.timedelta(days=TRAIN_DAYS)
    with state.reads.connect() as conn:
        events = read_events(conn, site, since=since, before=today)
        show = booking_show(conn, site, since, today)
    # (train imports nothing as it runs: its modules came with this one's, on the loop, not in the pool's
    # thread, where an import could meet the same package's on the loop: core.exports.import_library)
    model = gevent.get_hub().threadpool.apply(train, (site, events))
    model.booking_show = show
    if model.days < MIN_DAYS:
        log.info(
            "wait prediction: %d day(s) of history (at least %d needed); tickets get the usual formula",
            model.days,
            MIN_DAYS,
        )
        state.predictor = None
        return None
    predictor = Predictor(site, model)
    with state.reads.connect() as conn:
        predictor.refresh(conn, q.utcnow())
    state.predictor = predictor
    log.info(
        "wait prediction trained on %d day(s) (%d events) in %.1f s",
        model.days,
        len(events),
        time.perf_counter() - started,
    )
    return predictor


def retrain_quietly(state) -> None:
    """``retrain`` of the current site, where a failure is logged and the model in use (or the formula)
    stays."""
    try:
        retrain(state)
    except NotFound:  # its site removed meanwhile: AppState.spawn_for ends it quietly
        raise
    except faults.DATABASE_ERRORS as error:  # an outage (said by the requests too): one line, no traceback
        log.warning(
            "training the wait prediction could not read the database (%s); the previous model (or the formula) stays",
            faults.safe_text(error),
        )
    except Exception:
        log.exception("training the wait prediction failed; the previous model (or the formula) stays")


def refresh_loop(state) -> None:
    """Every ``REFRESH_SECONDS``: each site's predictor's live state read afresh from today's events."""
    while True:
        gevent.sleep(REFRESH_SECONDS)
        state.for_each_site(_refresh_at, state)


def _refresh_at(_site_id: str, state) -> None:
    predictor = estimator(state)
    if predictor is None:
        return
    try:
        with state.reads.connect() as conn:
            predictor.refresh(conn, q.utcnow())
    except Exception:  # a busy database: the tracker kept goes on, next time
        log.warning("reading the wait prediction's live state failed; trying again in %d s", REFRESH_SECONDS)
