"""The wait prediction on the simulator's plain days (no opening burst, lunch closure, slow clerk or
late counter): its range is calibrated there too. A file of its own, beside tests/test_prediction.py
and tests/test_prediction_seed.py, so that a run on several workers simulates the three centres at
once (docs/performance.md, "Test suite")."""

from __future__ import annotations

from prediction_helpers import HELD_OUT, simulated_centre, within_targets

from queuekiosk.server.core.simulate import Settings
from queuekiosk.server.prediction_cli import backtest


def test_the_range_is_calibrated_on_the_simulator_s_plain_days(tmp_path):
    engine, site = simulated_centre(tmp_path, Settings.plain(per_day=300), seed=3)
    with engine.connect() as conn:
        figures = backtest(conn, site, HELD_OUT)
    engine.dispose()
    within_targets(figures)
    assert figures["tickets"] > 1000
