"""The generic forecasting core on a monthly series of known structure (season length 12) and
on degenerate inputs."""

import numpy as np
import pytest

from activities.planning.forecasting import (
    GROWTH_LIMITS,
    MIN_FOLDS,
    Backtest,
    InsufficientHistoryError,
    SeriesForecast,
    _combine,
    _seasonal_naive,
    _seasonal_naive_drift,
    calibrate,
    clean_outliers,
    conformal_quantile,
    effective_scores,
    forecast_series,
    no_events,
    plan_origins,
    robust_seasonal,
    total_quantile,
    wape,
    yearly_growth,
)

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


def test_backtest_origins_are_a_quarter_season_apart_with_two_seasons_of_training():
    origins, hb = plan_origins(520, 52, 12, 2, 8)
    assert hb == 12 and origins == [508 - 13 * k for k in range(7, -1, -1)]
    origins, hb = plan_origins(156, 52, 12, 2, 8)
    assert hb == 12 and origins == [105, 118, 131, 144]  # only four fit after two seasons
    assert plan_origins(104, 52, 12, 2, 8) == ([], 0)


def test_origins_are_packed_closer_when_a_quarter_season_apart_leaves_too_few():
    origins, hb = plan_origins(130, 52, 13, 2, 8)
    assert hb == 13 and len(origins) == 4 and origins[0] >= 104 and origins[-1] == 117


def test_short_history_uses_the_seasonal_naive_tier_and_says_so():
    fc = forecast_series(monthly_series(20), 12, 6)
    assert fc.tier == "short"
    assert set(fc.weights) <= {"SeasonalNaive", "SeasonalNaiveDrift", "RobustSeasonal"}
    assert any("Only 20 periods of history" in w for w in fc.warnings)
    assert any("widened" in w for w in fc.warnings) == (fc.folds < MIN_FOLDS)


def test_few_folds_widen_the_interval_against_the_same_errors_with_enough_folds():
    errors = np.random.default_rng(0).normal(0, 0.05, size=(2, 12))
    few = calibrate(errors, 12, folds=2)
    enough = calibrate(errors, 12, folds=MIN_FOLDS)
    assert np.all(few[80] > 1.3 * enough[80]) and np.all(few[95] > 1.3 * enough[95])


def test_one_season_exactly_is_unvalidated_with_a_wide_interval():
    fc = forecast_series(monthly_series(12), 12, 6)
    assert fc.tier == "unvalidated" and fc.folds == 0
    assert np.all(fc.upper[80] >= fc.mean * 1.25)


def test_less_than_one_season_raises():
    with pytest.raises(InsufficientHistoryError):
        forecast_series(monthly_series(11), 12, 6)


@pytest.mark.parametrize(
    "y", [np.zeros(40), np.full(40, 7.0), np.r_[np.zeros(30), np.full(10, 5.0)]]
)
def test_degenerate_series_never_produce_nan(y):
    fc = forecast_series(y, 12, 6)
    for arr in (fc.mean, fc.lower[80], fc.upper[80], fc.lower[95], fc.upper[95]):
        assert np.all(np.isfinite(arr)) and np.all(arr >= 0)


def weekly_seasonal(years: int, seed: int = 5, noise: float = 0.03) -> np.ndarray:
    """Weekly series with a smooth yearly bump, 4 % growth a year and small noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(52 * years)
    season = 1 + 0.8 * np.exp(-0.5 * ((t % 52 - 30) / 5.0) ** 2)
    return 1000 * 1.04 ** (t / 52) * season * rng.lognormal(0, noise, len(t))


def test_clean_outliers_replaces_a_one_off_spike_but_keeps_events():
    y = weekly_seasonal(2)
    spiked = y.copy()
    spiked[60] *= 1.4
    spiked[80] *= 1.6
    events = no_events(len(y))
    events[80] = "black_friday"
    cleaned = clean_outliers(spiked, events)
    assert cleaned[60] == pytest.approx(y[60], rel=0.06)  # back near its neighbours
    assert cleaned[80] == spiked[80]  # an event is expected to stand out
    others = np.setdiff1d(np.arange(len(y)), [60])
    assert np.all(np.abs(cleaned[others] / spiked[others] - 1) < 0.1)  # noise at most shrinks


def test_robust_seasonal_does_not_copy_last_years_promotion():
    y = weekly_seasonal(3)
    n, h = 156, 13
    history = y[:n].copy()
    history[n - 52 + 5] *= 1.45  # a one-off promotion exactly a year before step 6
    fc = robust_seasonal(history, h, 52, no_events(n + h))
    naive = history[n - 52 : n - 52 + h]
    expected = history[n - 52 + 4] * 1.04  # the neighbouring week a year on
    assert naive[5] > 1.3 * expected  # seasonal naive repeats it
    assert fc[5] == pytest.approx(expected, rel=0.08)


def test_robust_seasonal_aligns_a_moved_holiday_by_its_label():
    n, h = 104, 13
    y = np.full(n + h, 500.0)
    events = no_events(n + h)
    for week in (8, 52 + 9, 104 + 7):  # the holiday drifts against the 52-week grid
        events[week] = "black_friday"
        y[week] = 900.0
    fc = robust_seasonal(y[:n], h, 52, events)
    assert np.argmax(fc) == 7 and fc[7] == pytest.approx(900.0, rel=0.01)
    assert np.delete(fc, 7) == pytest.approx(np.full(h - 1, 500.0), rel=0.01)
    plain = robust_seasonal(y[:n], h, 52, no_events(n + h))
    assert plain[7] < 700.0  # by position alone the holiday is smeared over other weeks


def test_robust_seasonal_grows_each_past_season_to_today():
    y = weekly_seasonal(3, noise=0.0)
    fc = robust_seasonal(y[:104], 13, 52, no_events(117))
    assert fc == pytest.approx(y[104:117], rel=0.03)


def test_seasonal_naive_drift_is_last_season_grown_by_the_clipped_yearly_growth():
    season = 100 + 40 * np.sin(np.arange(52) * 2 * np.pi / 52)
    y = np.r_[season, 1.3 * season]
    assert yearly_growth(y, 52) == pytest.approx(1.3)
    naive = _seasonal_naive(y, 8, 52)
    assert np.allclose(_seasonal_naive_drift(y, 8, 52), naive * 1.3)
    boom = y * np.r_[np.ones(52), np.full(52, 5.0)]
    assert yearly_growth(boom, 52) == GROWTH_LIMITS[1]
    assert yearly_growth(y[:52], 52) == 1.0  # one season: nothing to compare with


def test_events_must_label_history_and_horizon():
    with pytest.raises(ValueError, match="events must label"):
        forecast_series(weekly_seasonal(2), 52, 13, events=no_events(104))


def ar1_series(n: int, m: int, seed: int, noise: float) -> np.ndarray:
    """A seasonal level times noise that persists (AR(1), phi 0.6): errors then grow with the
    horizon and neighbouring steps err alike, as on real sales."""
    rng = np.random.default_rng(seed)
    season = 1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / m)
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.6 * e[t - 1] + rng.normal(0, noise)
    return 100 * season * np.exp(e)


@pytest.mark.parametrize("m", [12])
def test_calibrated_intervals_cover_near_nominal_on_a_series_of_known_noise(m):
    """Pooled over independent simulated series, held-out coverage lands near 80 % and 95 %."""
    inside = {80: 0, 95: 0}
    points = 0
    for seed in range(24):
        y = ar1_series(10 * m + m, m, seed, 0.05)
        fc = forecast_series(y[: 10 * m], m, m)
        actual = y[10 * m :]
        for lev in (80, 95):
            inside[lev] += int(np.sum((actual >= fc.lower[lev]) & (actual <= fc.upper[lev])))
        points += m
    assert 0.70 <= inside[80] / points <= 0.90
    assert 0.88 <= inside[95] / points <= 0.99


def test_conformal_quantile_is_the_rank_that_guarantees_the_level():
    scores = np.arange(1, 20, dtype=float)  # 19 scores: rank ceil(20 * 0.8) = 16
    assert conformal_quantile(scores, 80) == 16.0
    assert conformal_quantile(scores, 95) == 19.0
    assert conformal_quantile(np.array([1.0, 2.0]), 95) == 2.0  # too few: the largest


def test_interval_widens_with_the_horizon_when_errors_grow_with_it():
    steps = np.arange(1, 13)
    errors = np.random.default_rng(1).normal(0, 1, size=(8, 12)) * 0.02 * np.sqrt(steps)
    half = calibrate(errors, 24, folds=8)
    assert np.all(np.diff(half[80]) > 0) and half[80][23] > 1.3 * half[80][11]


def _backtest(actual: np.ndarray, forecasts: dict[str, np.ndarray]) -> Backtest:
    folds = actual.shape[0]
    return Backtest(
        list(range(folds)), actual.shape[1], actual, forecasts, np.zeros(actual.shape, bool)
    )


def test_combination_averages_the_better_half_and_leaves_the_worst_out():
    rng = np.random.default_rng(2)
    actual = 100 + rng.normal(0, 5, size=(8, 12))
    forecasts = {
        "A": actual + rng.normal(0, 3, size=actual.shape),
        "B": actual + rng.normal(0, 3, size=actual.shape),
        "C": actual + rng.normal(0, 3.5, size=actual.shape),
        "D": actual + 20.0,
        "E": actual - 25.0,
    }
    name, weights, fitted = _combine(_backtest(actual, forecasts))
    assert name == "Ensemble" and set(weights) == {"A", "B", "C"}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert wape(actual, fitted) < min(wape(actual, forecasts[k]) for k in "ABC")


def test_a_model_that_wins_every_fold_is_used_alone():
    actual = np.full((4, 6), 100.0)
    forecasts = {"A": actual + 1.0, "B": actual + 5.0, "C": actual - 6.0}
    assert _combine(_backtest(actual, forecasts))[:2] == ("A", {"A": 1.0})


def test_the_plain_mean_of_the_three_baselines_replaces_a_combination_it_backtests_better_than():
    """SeasonalNaive and MSTL err in opposite directions fold by fold: the better half's
    inverse-MSE blend leaves AutoTheta in and keeps half the error, their plain mean with
    AutoTheta cancels it."""
    actual = np.full((8, 12), 100.0)
    swing = np.where(np.arange(8) % 2 == 0, 6.0, -6.0)[:, None]
    forecasts = {
        "SeasonalNaive": actual + swing,
        "AutoTheta": actual + 0.5 * swing,
        "MSTL": actual - 1.5 * swing,
        "SeasonalNaiveDrift": actual + 20.0,
        "RobustSeasonal": actual - 20.0,
    }
    name, weights, fitted = _combine(_backtest(actual, forecasts))
    assert name == "Ensemble"
    assert weights == pytest.approx({"SeasonalNaive": 1 / 3, "AutoTheta": 1 / 3, "MSTL": 1 / 3})
    assert np.allclose(fitted, actual)


def test_members_are_ranked_and_weighted_on_the_ordinary_periods_where_they_are_used():
    """Calendar-blind models that miss a moved holiday are still the best on ordinary weeks, where
    the combination is used; on the holiday the calendar-aware model's forecast stands."""
    actual = np.full((4, 13), 100.0)
    event = np.zeros(actual.shape, bool)
    event[:, 9] = True
    early = np.array([1.0, 1.0, 3.0, 3.0])[:, None]  # neither of the two best wins every fold
    blind = {
        "MSTL": actual + early,
        "AutoTheta": actual + 4.0 - early,
        "SeasonalNaive": actual + 4.0,
        "SeasonalNaiveDrift": actual - 12.0,
    }
    forecasts = {k: np.where(event, actual - 60.0, f) for k, f in blind.items()}
    forecasts["RobustSeasonal"] = np.where(event, actual, actual + 6.0)
    name, weights, fitted = _combine(Backtest(list(range(4)), 13, actual, forecasts, event))
    assert name == "Ensemble" and set(weights) == {"MSTL", "AutoTheta", "SeasonalNaive"}
    assert weights["MSTL"] == pytest.approx(weights["AutoTheta"])
    assert weights["MSTL"] > weights["SeasonalNaive"]
    assert np.array_equal(fitted[event], actual[event])
    assert wape(actual, fitted) < min(wape(actual, f) for f in forecasts.values())


def test_season_total_interval_lies_between_independent_and_fully_correlated_errors():
    fc = forecast_series(ar1_series(130, 12, 4, 0.05), 12, 12)
    lo, hi = fc.total_interval(80)
    half = fc.upper[80] - fc.mean
    assert fc.mean.sum() + np.sqrt(np.sum(half**2)) - 1e-6 <= hi <= fc.upper[80].sum() + 1e-6
    assert lo < fc.mean.sum() < hi


def test_accuracy_on_a_slice_of_real_monthly_retail_data():
    """Regression guard on real data (the full figures are `python -m bench accuracy`): eight
    ABS retail series, two 12-month origins each, 10 years of history."""
    from bench.bench_accuracy import DEFAULT_DATA, SETUPS, load_series

    setup = SETUPS[0]
    if not (DEFAULT_DATA / setup.file).is_file():
        pytest.skip(f"real data not found in {DEFAULT_DATA}")
    series = list(load_series(DEFAULT_DATA, setup.file).values())[::15][:8]
    err = err_naive = inside = points = 0.0
    for values in series:
        for k in (0, 1):
            origin = len(values) - 12 - 6 * k
            train, actual = values[origin - 120 : origin], values[origin : origin + 12]
            fc = forecast_series(train, 12, 12)
            err += np.abs(actual - fc.mean).sum()
            err_naive += np.abs(actual - train[-12:]).sum()
            inside += np.sum((actual >= fc.lower[80]) & (actual <= fc.upper[80]))
            points += len(actual)
    assert err <= 0.8 * err_naive
    assert 0.6 <= inside / points <= 0.97


def test_correlated_errors_count_as_fewer_scores_and_widen_the_quantile():
    rng = np.random.default_rng(3)
    independent = rng.normal(0, 1, size=(8, 12))
    shared = rng.normal(0, 1, size=(8, 1)) + 0.3 * rng.normal(0, 1, size=(8, 12))
    assert effective_scores(independent) > 0.8 * 96
    assert effective_scores(shared) < 20
    scores = np.abs(shared).ravel()
    assert conformal_quantile(scores, 80, effective_scores(shared)) > conformal_quantile(scores, 80)


def _with_fold_errors(fold_errors: np.ndarray) -> SeriesForecast:
    """A 12-step forecast of 100 a step whose backtest folds missed by `fold_errors` (on
    forecasts of 100 a step too), with weekly 80 % bounds of +-10."""
    folds, steps = fold_errors.shape
    mean = np.full(steps, 100.0)
    return SeriesForecast(
        mean=mean,
        lower={80: mean - 10, 95: mean - 15},
        upper={80: mean + 10, 95: mean + 15},
        model_used="SeasonalNaive",
        weights={"SeasonalNaive": 1.0},
        tier="full",
        folds=folds,
        backtest_horizon=steps,
        wape=None,
        seasonal_naive_wape=None,
        mase=None,
        errors=fold_errors / 100.0,
        fold_errors=fold_errors,
        fold_scales=np.full(fold_errors.shape, 100.0),
        scale_now=mean,
    )


def test_the_season_total_range_comes_from_the_folds_season_totals():
    """Folds that miss the level (every step the same way) give a season-total range as wide as
    those misses, whatever the weekly bounds say; folds whose steps cancel give a narrow one."""
    level_misses = np.array([6.0, -4.0, 5.0, -7.0, 3.0, -5.0, 4.0, -6.0])[:, None] * np.ones(12)
    lo, hi = _with_fold_errors(level_misses).total_interval(80)
    rms = np.sqrt(np.mean((level_misses.sum(axis=1) / 1200) ** 2))
    assert (hi - 1200) / 1200 == pytest.approx(total_quantile(np.abs(level_misses[:, 0]) / 100, 80))
    assert (hi - 1200) / 1200 > 1.28 * rms  # t with 8 folds is wider than the normal quantile
    assert 1200 - lo == pytest.approx(hi - 1200)
    # Only the steps of the span count: the first six steps of the level misses.
    _, hi6 = _with_fold_errors(level_misses).total_interval(80, slice(0, 6))
    assert hi6 - 600 == pytest.approx((hi - 1200) / 2)
    cancelling = np.tile(np.array([6.0, -6.0] * 6), (8, 1))
    lo, hi = _with_fold_errors(cancelling).total_interval(80)
    assert hi - lo == pytest.approx(0.0, abs=1e-6)


def test_the_95_percent_total_is_wider_than_the_80_and_few_folds_widen_both():
    misses = np.array([6.0, -4.0, 5.0, -7.0, 3.0, -5.0, 4.0, -6.0])
    assert total_quantile(misses, 95) > total_quantile(misses, 80)
    assert total_quantile(misses[:2], 80) / np.sqrt(np.mean(misses[:2] ** 2)) > total_quantile(
        misses, 80
    ) / np.sqrt(np.mean(misses**2))


def test_with_few_folds_the_total_range_is_never_narrower_than_the_periods_added_up():
    """Two folds whose steps happened to cancel say little: the season range then keeps the
    periods' half-widths added with the measured aggregation (here 1: independent)."""
    cancelling = np.tile(np.array([6.0, -6.0] * 6), (2, 1))
    lo, hi = _with_fold_errors(cancelling).total_interval(80)
    assert hi - 1200 == pytest.approx(np.sqrt(12 * 10.0**2))
    assert 1200 - lo == pytest.approx(hi - 1200)
