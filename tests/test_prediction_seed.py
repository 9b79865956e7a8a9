"""The wait prediction's figures (tests/test_prediction.py) on a centre simulated again here, in a
file of its own so that a run on several workers makes it beside test_prediction.py's centre rather
than after it (docs/performance.md, "Test suite"): the same seed on another database gives the same
days and the same figures."""

from __future__ import annotations

from prediction_helpers import HELD_OUT, REAL_SHAPED_SEED_7, simulated_centre

from queuekiosk.server.core.simulate import Settings
from queuekiosk.server.prediction_cli import backtest


def test_the_same_seed_on_another_database_gives_the_same_days_and_figures(tmp_path):
    # test_prediction.py asserts its own centre's figures equal REAL_SHAPED_SEED_7: equal to them here
    engine, site = simulated_centre(tmp_path, Settings(per_day=300), seed=7)
    with engine.connect() as conn:
        assert backtest(conn, site, HELD_OUT) == REAL_SHAPED_SEED_7
    engine.dispose()
