"""The generic forecasting core on a monthly series of known structure (season length 12) and
on degenerate inputs."""

import numpy as np
import pytest

from activities.forecasting import InsufficientHistoryError, forecast_series, plan_origins, wape

MONTHLY_SEASON = np.array([0.8, 0.75, 0.9, 1.0, 1.05, 1.2, 1.35, 1.3, 1.1, 0.95, 0.85, 0.75])


def monthly_series(months: int, seed: int = 3) -> np.ndarray:
    """Airline-style: 1 % growth per month, multiplicative seasonality, 4 % noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(months)
    return 200 * 1.01**t * MONTHLY_SEASON[t % 12] * rng.lognormal(0, 0.04, months)


@pytest.fixture(scope="module")
def monthly_fit():
    y = monthly_series(96 + 12)
    return y, forecast_series(y[:96], 12, 12)


def test_monthly_forecast_beats_seasonal_naive_out_of_sample(monthly_fit):
    y, fc = monthly_fit
    holdout = y[96:]
    naive = y[84:96]  # seasonal naive: the same month last year
    assert fc.tier == "full" and fc.folds >= 3
    assert wape(holdout, fc.mean) < 0.8 * wape(holdout, naive)
    assert fc.wape < fc.seasonal_naive_wape  # and the backtest saw it too


def test_monthly_forecast_keeps_the_seasonal_shape(monthly_fit):
    _, fc = monthly_fit
    assert np.argmax(fc.mean) in (6, 7)  # July/August peak
    assert np.argmin(fc.mean) in (0, 1, 11)


def test_intervals_are_nested_and_contain_the_point(monthly_fit):
    _, fc = monthly_fit
    assert np.all(fc.lower[95] <= fc.lower[80]) and np.all(fc.lower[80] <= fc.mean)
    assert np.all(fc.mean <= fc.upper[80]) and np.all(fc.upper[80] <= fc.upper[95])
    assert np.all(fc.upper[80] > fc.lower[80])


def test_backtest_origins_lie_in_the_last_season_with_two_seasons_of_training():
    origins, hb = plan_origins(156, 52, 12, 2, 4)
    assert hb == 12 and len(origins) == 4
    assert origins[0] == 104 and origins[-1] == 144
    assert plan_origins(104, 52, 12, 2, 4) == ([], 0)


def test_short_history_uses_the_seasonal_naive_tier():
    fc = forecast_series(monthly_series(20), 12, 6)
    assert fc.tier == "short" and set(fc.weights) <= {"SeasonalNaive", "SeasonalNaiveDrift"}


def test_one_season_exactly_is_unvalidated_with_a_wide_interval():
    fc = forecast_series(monthly_series(12), 12, 6)
    assert fc.tier == "unvalidated" and fc.folds == 0
    assert np.all(fc.upper[80] >= fc.mean * 1.25)


def test_less_than_one_season_raises():
    with pytest.raises(InsufficientHistoryError):
        forecast_series(monthly_series(11), 12, 6)


@pytest.mark.parametrize("y", [np.zeros(40), np.full(40, 7.0), np.r_[np.zeros(30), np.full(10, 5.0)]])
def test_degenerate_series_never_produce_nan(y):
    fc = forecast_series(y, 12, 6)
    for arr in (fc.mean, fc.lower[80], fc.upper[80], fc.lower[95], fc.upper[95]):
        assert np.all(np.isfinite(arr)) and np.all(arr >= 0)
