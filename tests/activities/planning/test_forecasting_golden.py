"""Golden values, in statsforecast's own style: `forecast_series` on the AirPassengers series that
statsforecast ships (statsforecast.utils.AirPassengers: 144 monthly totals, 1949-1960), compared
with `numpy.testing.assert_allclose` against stored numbers.

Why: the other forecasting tests check properties (intervals nest, a known structure is
recovered); this one notices ANY change in what the Demand agent's core computes on a series
everybody knows: a model's weight, a backtest fold, an interval's width, or a library upgrade
that moves the numbers.

How the stored values were made: once, with statsforecast 2.1.1 (the pinned version), by calling
`forecast_series(AirPassengers, season_length=12, horizon=12, period="month")` and writing the
result's fields with `json.dumps` (floats as Python's repr, which round-trips exactly) to
forecast_series_airpassengers.json beside this file. Regenerate them the same way only when a
change to the forecast is intended, and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import statsforecast
from numpy.testing import assert_allclose
from statsforecast.utils import AirPassengers

from activities.planning.forecasting import SeriesForecast, forecast_series

GOLDEN = json.loads(Path(__file__).with_name("forecast_series_airpassengers.json").read_text())
RTOL = 1e-6  # room for BLAS and libm differences between machines, far below any model change


@pytest.fixture(scope="module")
def forecast() -> SeriesForecast:
    return forecast_series(AirPassengers, season_length=12, horizon=12, period="month")


def test_the_golden_values_were_made_with_the_installed_statsforecast():
    assert statsforecast.__version__ == GOLDEN["statsforecast"]


def test_the_forecast_and_its_intervals_match_the_stored_values(forecast):
    assert_allclose(forecast.mean, GOLDEN["mean"], rtol=RTOL)
    assert sorted(forecast.lower) == sorted(forecast.upper) == [80, 95]
    for level in (80, 95):
        assert_allclose(forecast.lower[level], GOLDEN["lower"][str(level)], rtol=RTOL)
        assert_allclose(forecast.upper[level], GOLDEN["upper"][str(level)], rtol=RTOL)


def test_the_model_choice_and_its_backtest_match_the_stored_values(forecast):
    assert forecast.model_used == GOLDEN["model_used"]
    assert forecast.tier == GOLDEN["tier"]
    assert (forecast.folds, forecast.backtest_horizon) == (
        GOLDEN["folds"],
        GOLDEN["backtest_horizon"],
    )
    assert forecast.weights.keys() == GOLDEN["weights"].keys()
    assert_allclose(
        [forecast.weights[name] for name in GOLDEN["weights"]],
        list(GOLDEN["weights"].values()),
        rtol=RTOL,
    )
    measured = [forecast.wape, forecast.seasonal_naive_wape, forecast.mase]
    stored = [GOLDEN["wape"], GOLDEN["seasonal_naive_wape"], GOLDEN["mase"]]
    assert_allclose(np.array(measured, dtype=float), stored, rtol=RTOL)
    assert forecast.warnings == []
