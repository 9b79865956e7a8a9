"""``queuekiosk predict backtest``: the wait prediction against the usual formula on held-out days.

It trains on the days before the last N days of the database, then replays those N days event
by event and predicts every ticket as it is issued, from what the log says up to that moment
(the tracker has seen only the earlier events when it predicts). A ticket's real wait is its
first call minus its issue; tickets never called (expired) are not scored.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import click

# the command line imports this module at start: the prediction itself is imported when used


class BacktestError(Exception):
    pass


@dataclass
class Forecast:
    ticket_id: int
    issued_at: dt.datetime
    minutes: float | None  # ours (None: no counter serves the service)
    low: float | None
    high: float | None
    formula: float | None  # None: no open counter served the service, the engine promised nothing
    actual: float | None  # None: never called


def forecasts(conn, site, last: int) -> list[Forecast]:
    """Every ticket of the last ``last`` days with tickets, predicted as it was issued."""
    from .core.prediction import formula_minutes, predict
    from .core.prediction_state import LiveTracker
    from .core.prediction_train import first_calls, read_events, train

    events = read_events(conn, site)
    zone_tracker = LiveTracker(site)
    days = sorted({zone_tracker.local_day(e.at) for e in events if e.kind == "issued"})
    if len(days) <= last:
        raise BacktestError(
            f"the database has {len(days)} days with tickets; --last {last} leaves none to "
            "train on (simulate more days first: queuekiosk simulate --days 60)"
        )
    first_test = days[-last]
    split = next(i for i, e in enumerate(events) if zone_tracker.local_day(e.at) >= first_test)
    calls = first_calls(events)
    model = train(site, events[:split], calls)
    defaults = {sid: site.config.service(code).default_service_minutes for code, sid in site.service_ids.items()}
    tracker = LiveTracker(site)
    out = []
    for index, event in enumerate(events):
        if index >= split and event.kind == "issued":
            tracker.advance(event.at)
            priority = (event.detail or {}).get("priority") is not None
            ours = predict(model, tracker, event.service_id, priority, event.at, event.ticket_id)
            called = calls.get(event.ticket_id)
            out.append(
                Forecast(
                    event.ticket_id,
                    event.at,
                    ours and ours.minutes,
                    ours and ours.low,
                    ours and ours.high,
                    formula_minutes(tracker, event.service_id, priority, defaults[event.service_id]),
                    None if called is None else (called - event.at).total_seconds() / 60,
                )
            )
        tracker.feed(event)
    return out


def _ours(scored: list[Forecast]) -> dict:
    n = len(scored)
    return {
        "mae_minutes": round(sum(abs(f.minutes - f.actual) for f in scored) / n, 2) if n else None,
        "coverage": round(sum(f.low <= f.actual <= f.high for f in scored) / n, 3) if n else None,
    }


def score(found: list[Forecast]) -> dict:
    """The backtest's figures: mean absolute error of ours and of the formula, and our range's coverage,
    on the tickets both predicted. The formula promises nothing while no counter is open (the
    opening rush before the clerks come): ours on those tickets is given apart."""
    called = [f for f in found if f.actual is not None and f.minutes is not None]
    scored = [f for f in called if f.formula is not None]
    if not scored:
        raise BacktestError("no ticket of those days was called; nothing to score")
    n = len(scored)
    silent = [f for f in called if f.formula is None]
    return {
        "tickets": n,
        "ours": _ours(scored),
        "formula": {"mae_minutes": round(sum(abs(f.formula - f.actual) for f in scored) / n, 2)},
        "formula_silent": {"tickets": len(silent), "ours": _ours(silent)},
    }


def backtest(conn, site, last: int) -> dict:
    return score(forecasts(conn, site, last))


@click.group("predict")
def predict_group():
    """The wait prediction (docs/wait-prediction.md)."""


@predict_group.command("backtest")
@click.option(
    "--last",
    "last",
    required=True,
    type=click.IntRange(1, 3660),
    help="hold out the last N days with tickets: train on the days before, predict every ticket of these",
)
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="the centre's configuration file (default: $QUEUEKIOSK_CONFIG, else ./config.yaml)",
)
def backtest_command(last, as_json, config_file):
    """Train on the days before the last N days of the database and predict each ticket of those
    N days as it was issued; compare with the usual formula (average service time x people ahead
    / open counters)."""
    from .commands.common import database
    from .core.config import config_path

    site, Session = database(config_path(config_file))
    try:
        with Session.kw["bind"].connect() as conn:
            figures = backtest(conn, site, last)
    except BacktestError as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(figures))
        return
    ours, formula = figures["ours"], figures["formula"]
    click.echo(
        f"{figures['tickets']} tickets of the last {last} days, each predicted as it was issued:\n"
        f"  ours:    mean absolute error {ours['mae_minutes']:.2f} min, "
        f"{ours['coverage'] * 100:.1f} % of real waits inside the 80 % range\n"
        f"  formula: mean absolute error {formula['mae_minutes']:.2f} min "
        f"(ours is {ours['mae_minutes'] / formula['mae_minutes'] * 100:.0f} % of it)"
        if formula["mae_minutes"]
        else ""
    )
