"""Season-length-generic forecasting core: candidate models, rolling-origin backtest, a
combination of the candidates that backtest best, and prediction intervals calibrated per
horizon step from the backtest's own errors.

It knows nothing about stores, weeks or the database: a 1-D series of non-negative values and a
season length (52 for weekly, 12 for monthly data) go in, a point forecast with 80 % and 95 %
intervals and the evidence behind them come out. The Demand agent wraps it; keeping it generic
lets it be checked on any real seasonal series. The only outside knowledge it takes is an
optional event calendar (a label per period, e.g. holidays whose dates move against the season
grid), which RobustSeasonal uses to match each event with itself in past seasons.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
from statsforecast.models import MSTL, AutoETS, AutoTheta, SeasonalNaive
from statsmodels.tsa.seasonal import seasonal_decompose

from shared.deadline import Checkpoint, check
from shared.results import ForecastTier

Events = np.ndarray  # one label per period ("" = ordinary), covering history and horizon
ModelFn = Callable[[np.ndarray, int, int, Events], np.ndarray]
ModelName = Literal["SeasonalNaive", "SeasonalNaiveDrift", "RobustSeasonal", "AutoTheta", "MSTL"]
ENSEMBLE = "Ensemble"  # `model_used` when several candidates are combined
LEVELS = (80, 95)  # the prediction intervals every forecast carries, in percent
PLAIN_ENSEMBLE: tuple[ModelName, ...] = ("SeasonalNaive", "AutoTheta", "MSTL")
"""The simple ensemble (their plain mean) every combination is checked against."""

MAX_FOLDS = 8
MIN_FOLDS = 4
MAX_SHORT_INFLATION = 2.5
WIDE_INTERVAL = 0.25
GROWTH_LIMITS = (0.5, 2.0)
UNVALIDATED_REL_SD_FLOOR = 0.25
PROFILE_YEARS = 3
OUTLIER_WINDOW = 5
OUTLIER_Z = 3.0
OUTLIER_MIN_SCALE = 0.02
EVENT_SEARCH = 3


class InsufficientHistoryError(ValueError):
    """Fewer observations than one full season: nothing seasonal can be said."""

    def __init__(self, observations: int, season_length: int) -> None:
        super().__init__(f"{observations} observations, at least {season_length} needed")
        self.observations = observations
        self.season_length = season_length


def no_events(length: int) -> Events:
    """An event calendar with no events: every period is ordinary."""
    return np.full(length, "", dtype=object)


def _seasonal_naive(y: np.ndarray, h: int, m: int, events: Events | None = None) -> np.ndarray:
    return SeasonalNaive(season_length=m).forecast(y=y, h=h)["mean"]


def _seasonal_naive_drift(
    y: np.ndarray, h: int, m: int, events: Events | None = None
) -> np.ndarray:
    """Last season repeated, scaled by `yearly_growth`.

    Works from one season plus a few points, which is why it is the short-history model; the
    growth ratio is clipped so one odd week cannot double a forecast.
    """
    return _seasonal_naive(y, h, m) * yearly_growth(y, m)


def _auto_theta(y: np.ndarray, h: int, m: int, events: Events | None = None) -> np.ndarray:
    """AutoTheta on the seasonally adjusted series, always adjusted.

    AutoTheta's own seasonality test (ACF at lag m) rarely fires for smooth weekly seasons with
    two or three years of data, and then forecasts a flat line through the peak; for seasonal
    retail categories the season is known to exist, so the decomposition is not left to a test.
    """
    multiplicative = bool(np.min(y) > 0)
    seasonal = seasonal_decompose(
        y, model="multiplicative" if multiplicative else "additive", period=m
    ).seasonal
    future = seasonal[np.arange(len(y), len(y) + h) % m]  # the component repeats every m
    adjusted = y / seasonal if multiplicative else y - seasonal
    trend = AutoTheta(season_length=1).forecast(y=adjusted, h=h)["mean"]
    return trend * future if multiplicative else trend + future


def _mstl(y: np.ndarray, h: int, m: int, events: Events | None = None) -> np.ndarray:
    # AutoETS alone drops the seasonal term when m > 24; inside MSTL it only forecasts the
    # deseasonalised trend, which is what it is good at.
    model = MSTL(season_length=m, trend_forecaster=AutoETS(model="ZZN"))
    return model.forecast(y=y, h=h)["mean"]


def clean_outliers(y: np.ndarray, events: Events) -> np.ndarray:
    """Ordinary periods that stand out from their ordinary neighbours are replaced by the local
    median, so a one-off (last year's promotion, a stock-out) is not copied into next year.

    The local level is the median of the OUTLIER_WINDOW nearest ordinary periods, the period
    itself included; a period is an outlier when its log ratio to that level exceeds OUTLIER_Z
    robust standard deviations (MAD) of all such ratios. Including the period makes the MAD
    small, so besides real spikes a few noisy weeks are pulled in to their local median too:
    on the sample's held-out seasons (8 seeds) that scored better than leaving the period out,
    and it only ever shrinks week-to-week noise. Event periods are left alone: they are
    expected to stand out.
    """
    ordinary = np.flatnonzero(events[: len(y)] == "")
    if len(ordinary) < OUTLIER_WINDOW or y[ordinary].mean() <= 0:
        return y
    vals = y[ordinary]
    half = OUTLIER_WINDOW // 2
    local = np.array([np.median(vals[max(0, i - half) : i + half + 1]) for i in range(len(vals))])
    offset = 0.01 * vals.mean()
    ratio = np.log((vals + offset) / (local + offset))
    scale = max(1.4826 * float(np.median(np.abs(ratio - np.median(ratio)))), OUTLIER_MIN_SCALE)
    out = y.copy()
    flagged = np.abs(ratio) > OUTLIER_Z * scale
    out[ordinary[flagged]] = local[flagged]
    return out


def yearly_growth(y: np.ndarray, m: int) -> float:
    """Growth over one season: the last season's total over the one before (or, with under two
    seasons, the overlapping weeks against the same weeks a season earlier), clipped."""
    n = len(y)
    overlap = min(n - m, m)
    if overlap <= 0:
        return 1.0
    recent = float(y[n - overlap :].sum())
    year_ago = float(y[n - overlap - m : n - m].sum())
    if recent <= 0 or year_ago <= 0:
        return 1.0
    return float(np.clip(recent / year_ago, *GROWTH_LIMITS))


def _source(t: int, lag: int, n: int, events: Events) -> int | None:
    """The history period that stands for period t, `lag` periods back: for an event, the period
    with the same event label nearest to t - lag (holidays move against the season grid); for an
    ordinary period, the nearest ordinary one (an event a season ago says nothing about it)."""
    base = t - lag
    label = events[t]
    for step in range(EVENT_SEARCH + 1):
        for s in (base - step, base + step):
            if 0 <= s < n and events[s] == label and (label or step <= 2):
                return s
    return None


def _smoothed(clean: np.ndarray, src: int, events: Events) -> float:
    """An ordinary period's value averaged with its ordinary neighbours (weights 1-2-1): the
    seasonal shape moves slowly, the week-to-week noise does not carry over to next year."""
    if events[src]:
        return float(clean[src])
    total = weight = 0.0
    for s, w in ((src - 1, 1.0), (src, 2.0), (src + 1, 1.0)):
        if 0 <= s < len(clean) and not events[s]:
            total += w * clean[s]
            weight += w
    return total / weight


def robust_seasonal(y: np.ndarray, h: int, m: int, events: Events | None = None) -> np.ndarray:
    """Average of the same period in up to PROFILE_YEARS past seasons, each grown to today.

    Why it beats copying last season: averaging several seasons halves the noise that
    seasonal naive copies; outliers are cleaned first so a one-off spike is not repeated; events
    (holidays) are aligned by their label, not by position, so a holiday that moved a week is
    still matched with itself; each season is scaled by the measured growth per season.
    """
    n = len(y)
    events = no_events(n + h) if events is None else events
    clean = clean_outliers(y, events)
    growth = yearly_growth(clean, m)
    out = np.zeros(h)
    for k in range(h):
        t = n + k
        first = k // m + 1  # the most recent season that lies in the history
        values = []
        for j in range(first, first + PROFILE_YEARS):
            src = _source(t, j * m, n, events)
            if src is not None:
                values.append(_smoothed(clean, src, events) * growth**j)
        if not values and events[t]:
            # The event never happened before: forecast the period as an ordinary one.
            ordinary = events.copy()
            ordinary[t] = ""
            for j in range(first, first + PROFILE_YEARS):
                src = _source(t, j * m, n, ordinary)
                if src is not None:
                    values.append(clean[src] * growth**j)
        out[k] = float(np.mean(values)) if values else float(clean[-m:].mean())
    return out


@dataclass(frozen=True)
class Candidate:
    name: ModelName
    fn: ModelFn
    min_seasons: int  # full seasons of training the model needs to see its seasonality
    reads_events: bool = False  # whether the model uses the event calendar


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("SeasonalNaive", _seasonal_naive, 1),
    Candidate("SeasonalNaiveDrift", _seasonal_naive_drift, 1),
    Candidate("RobustSeasonal", robust_seasonal, 1, reads_events=True),
    Candidate("AutoTheta", _auto_theta, 2),
    Candidate("MSTL", _mstl, 2),
)


def _predict(
    candidate: Candidate, y: np.ndarray, h: int, m: int, events: Events
) -> np.ndarray | None:
    """A model's forecast, or None when it fails or returns non-finite values (constant or
    all-zero series can trip the statistical models; the caller simply drops them)."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = np.asarray(candidate.fn(y, h, m, events[: len(y) + h]), dtype=float)
    except Exception:  # noqa: BLE001 - any model failure means "not a candidate here"
        return None
    if out.shape != (h,) or not np.all(np.isfinite(out)):
        return None
    return np.clip(out, 0.0, None)


@dataclass
class Backtest:
    origins: list[int]
    horizon: int
    actuals: np.ndarray  # folds x horizon
    forecasts: dict[str, np.ndarray]  # model -> folds x horizon
    event_mask: np.ndarray  # folds x horizon: True where the period carries an event label


def plan_origins(n: int, m: int, h: int, min_seasons: int, max_folds: int) -> tuple[list[int], int]:
    """Rolling origins a quarter season apart, going back from the end as far as `max_folds`
    folds (each with `min_seasons` seasons of training) allow.

    Why spread: intervals are calibrated on these errors, and origins a month or a week apart
    err alike, so four of them are one observation, not four (on the monthly retail set four
    adjacent origins gave an 80 % interval covering 59 %). When there is no room for MIN_FOLDS
    at that spacing they are packed closer, and the backtest horizon shrinks (down to a 13th
    of a season) rather than dropping the seasonal models when history is barely long enough.
    """
    min_train = min_seasons * m
    min_h = max(1, m // 13)
    hb = min(h, n - min_train)
    if hb < min_h:
        return [], 0
    last = n - hb
    step = max(1, m // 4)
    count = min(max_folds, (last - min_train) // step + 1)
    if count >= min(MIN_FOLDS, max_folds):
        return sorted(last - k * step for k in range(count)), hb
    first = max(min_train, last - (MIN_FOLDS - 1) * step)
    count = min(MIN_FOLDS, max_folds, last - first + 1)
    return sorted({round(float(x)) for x in np.linspace(first, last, count)}), hb


def run_backtest(
    y: np.ndarray,
    m: int,
    h: int,
    candidates: list[Candidate],
    max_folds: int,
    events: Events,
    checkpoint: Checkpoint | None = None,
) -> Backtest:
    """Every candidate refitted at every origin: the agent's longest loop, so the attempt's
    deadline is checked before each fit (shared/deadline.py)."""
    tier_seasons = max(c.min_seasons for c in candidates)
    origins, hb = plan_origins(len(y), m, h, tier_seasons, max_folds)
    actuals = np.array([y[o : o + hb] for o in origins]).reshape(len(origins), hb)
    forecasts: dict[str, np.ndarray] = {}
    for cand in candidates:
        rows = []
        for o in origins:
            check(checkpoint)
            rows.append(_predict(cand, y[:o], hb, m, events))
        if origins and all(r is not None for r in rows):
            forecasts[cand.name] = np.array(rows)
    mask = np.array([events[o : o + hb] != "" for o in origins], dtype=bool)
    mask = mask.reshape(len(origins), hb)
    return Backtest(origins, hb, actuals, forecasts, mask)


def event_reader(available: Sequence[str]) -> str | None:
    """The first available candidate that reads the event calendar, if any."""
    return next((c.name for c in CANDIDATES if c.reads_events and c.name in available), None)


def with_events(
    combined: np.ndarray, forecasts: dict[str, np.ndarray], mask: np.ndarray
) -> np.ndarray:
    """The combination, except on event periods, which take the event-reading model's forecast.

    Models that never see the calendar cannot know that a holiday moved into a period, so
    they get no vote there: averaging them in pulls every holiday peak towards an ordinary
    period (on the project's sample this cost a sixth of the accuracy gain)."""
    reader = event_reader(list(forecasts))
    if reader is None or not mask.any():
        return combined
    return np.where(mask, forecasts[reader], combined)


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Weighted absolute percentage error: sum |error| / sum actual (0 when both are zero)."""
    denom = float(np.abs(actual).sum())
    err = float(np.abs(actual - forecast).sum())
    if denom == 0:
        return 0.0 if err == 0 else 1.0
    return err / denom


def seasonal_scale(y: np.ndarray, m: int) -> float:
    """MASE denominator: in-sample mean absolute seasonal-naive error."""
    if len(y) <= m:
        return 0.0
    return float(np.mean(np.abs(y[m:] - y[:-m])))


@dataclass
class SeriesForecast:
    mean: np.ndarray
    lower: dict[int, np.ndarray]  # level (80, 95) -> bounds
    upper: dict[int, np.ndarray]
    model_used: str  # a ModelName, or ENSEMBLE
    weights: dict[str, float]
    tier: ForecastTier
    folds: int
    backtest_horizon: int
    wape: float | None
    seasonal_naive_wape: float | None
    mase: float | None
    errors: np.ndarray = field(repr=False)  # folds x steps, relative errors of the combination
    aggregation: float = 1.0  # how the steps' errors add up over a season (1: independent)
    fold_errors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    """folds x steps: actual - combination in the backtest, in units"""
    fold_scales: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)), repr=False)
    """folds x steps: what those errors are relative to (`error_scale` of the fold forecast)"""
    scale_now: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    """per step: `error_scale` of this forecast, what the intervals are laid out on"""
    warnings: list[str] = field(default_factory=list)

    def sigma(self, keep: slice = slice(None)) -> np.ndarray:
        """Per-period standard deviation in units implied by the calibrated 80 % interval."""
        return (self.upper[80][keep] - self.mean[keep]) / z_score(80)

    def total_interval(self, level: int, keep: slice = slice(None)) -> tuple[float, float]:
        """The interval for the sum over `keep` (a season's total demand).

        Summing the periods' bounds would assume every period errs the same way, and adding
        them as independent would make the total far too narrow (a level missed in one week is
        missed in the next). So the total is calibrated on totals: each backtest fold's error
        over the same steps, relative to its forecast, gives one score, and the quantile those
        scores support (`total_quantile`) times this forecast's total is the half-width. When the
        span reaches past the backtest horizon (or nothing was backtested), the periods'
        half-widths are added with the backtest's `aggregation` factor instead (1:
        independent, up to the number of periods: always the same sign), carried to the span;
        with fewer than MIN_FOLDS folds the wider of the two is used.
        """
        mean = self.mean[keep]
        periods = len(mean)
        if periods == 0:
            return 0.0, 0.0
        total = float(mean.sum())
        half = self.upper[level][keep] - mean
        span = max(self.backtest_horizon, 1)
        factor = 1.0 + (self.aggregation - 1.0) * (periods - 1) / max(span - 1, 1)
        width = math.sqrt(float(np.clip(factor, 1.0, periods)) * float(np.sum(half**2)))
        start, stop, _ = keep.indices(len(self.mean))
        if self.folds and stop <= self.fold_errors.shape[1]:
            missed = self.fold_errors[:, start:stop].sum(axis=1)
            scale = np.maximum(self.fold_scales[:, start:stop].sum(axis=1), 1e-12)
            multiplier = total_quantile(np.abs(missed) / scale, level)
            from_totals = multiplier * float(self.scale_now[keep].sum())
            # One to three fold totals say little about their own spread: then never narrower
            # than the periods' widened half-widths added up (on 3 years of monthly retail, one
            # fold, the totals alone covered 67 % at 80 %).
            width = from_totals if self.folds >= MIN_FOLDS else max(from_totals, width)
        return max(0.0, total - width), total + width


def total_quantile(scores: np.ndarray, level: int) -> float:
    """The half-width, relative to the forecast total, that the folds' season-total scores
    (|error| / forecast, one per fold) support at `level`: their root mean square times the
    Student t quantile with one degree of freedom per fold (a normal prediction interval
    whose spread is estimated from n folds), the t over normal ratio capped at
    MAX_SHORT_INFLATION as for the periods.

    Why not the conformal rank of the scores, as for the periods: a season has one total per
    fold, and with eight folds the conformal 80 % quantile is the largest of them; on the
    sample's past seasons that covered 89 % of season totals at 80 % (and the 95 % level cannot
    be reached at all), where this interval covered 81 % and 94 %.
    """
    n = len(scores)
    if n == 0:
        return 0.0
    from scipy.stats import t as student_t

    z = z_score(level)
    ratio = min(float(student_t.ppf(0.5 + level / 200, n)) / z, MAX_SHORT_INFLATION)
    return float(np.sqrt(np.mean(scores**2))) * z * ratio


def z_score(level: int) -> float:
    """The standard normal quantile bounding a central `level` % interval (80 -> 1.28)."""
    return NormalDist().inv_cdf(0.5 + level / 200)


def error_scale(forecast: np.ndarray, level: float) -> np.ndarray:
    """What relative errors are relative to: the forecast, floored at 10 % of the series level
    so zero forecasts do not divide by zero. The backtest measures errors on this scale and the
    intervals are laid out on it."""
    return np.maximum(forecast, max(0.1 * level, 1e-9))


def _relative_errors(actual: np.ndarray, forecast: np.ndarray, level: float) -> np.ndarray:
    """(actual - forecast) / error_scale; multiplicative because sales noise grows with volume."""
    return (actual - forecast) / error_scale(forecast, level)


def step_profile(errors: np.ndarray, horizon: int) -> np.ndarray:
    """Typical relative error at each step 1..horizon: error variance fitted as a + b * step
    (a, b >= 0) to the backtest's mean squared error per step.

    Why a fitted line: a handful of folds per step gives noisy per-step spreads, while errors
    that accumulate over the horizon (a level or trend that drifts) make the variance grow
    roughly linearly with the step; the line pools every fold and step and extrapolates past
    the backtest horizon when the forecast reaches further.
    """
    steps = np.arange(1, errors.shape[1] + 1, dtype=float)
    ms = np.mean(errors**2, axis=0)
    if len(steps) > 1:
        b, a = np.polyfit(steps, ms, 1)
    else:
        a, b = float(ms[0]), 0.0
    if b < 0:
        a, b = float(ms.mean()), 0.0
    elif a < 0:
        a, b = 0.0, float(ms @ steps / (steps @ steps))
    at = np.arange(1, horizon + 1, dtype=float)
    return np.sqrt(np.maximum(a + b * at, 1e-12))


def conformal_quantile(scores: np.ndarray, level: int, effective: float | None = None) -> float:
    """The split-conformal quantile of non-negative scores: with n exchangeable scores the
    ceil((n + 1) * level)-th smallest, so a new score falls below it with at least that
    probability (the largest score when n is too small to promise more).

    `effective` is the number of independent scores the sample is worth when they are
    correlated; the finite-sample correction then uses it (ceil((n_eff + 1) * level) / n_eff as
    the quantile level of the scores), which is larger when fewer of them are independent.
    """
    n = len(scores)
    if effective is None or effective >= n:
        ordered = np.sort(scores)
        rank = math.ceil((n + 1) * level / 100)
        return float(ordered[min(rank, n) - 1])
    q = min(1.0, math.ceil((effective + 1) * level / 100) / effective)
    return float(np.quantile(scores, q))


def effective_scores(errors: np.ndarray) -> float:
    """How many independent |error| scores the folds x steps errors are worth.

    Steps of one fold err alike (a level missed at step 1 is missed at step 12). The
    aggregation factor gives their mean correlation rho = (factor - 1) / (steps - 1); absolute
    values of correlated normal errors correlate about rho squared, so the design effect for
    the |error| quantile is 1 + (steps - 1) * rho^2.
    """
    folds, steps = errors.shape
    if steps < 2:
        return float(folds * steps)
    rho = (aggregation_factor(errors) - 1.0) / (steps - 1)
    return folds * steps / (1.0 + (steps - 1) * rho**2)


def short_history_inflation(folds: int, level: int) -> float:
    """Widening for fewer than MIN_FOLDS folds: the Student t quantile over the normal one with
    folds - 1 degrees of freedom (a spread estimated from few independent folds is itself
    uncertain), capped at MAX_SHORT_INFLATION."""
    if folds >= MIN_FOLDS:
        return 1.0
    from scipy.stats import t as student_t

    q = 0.5 + level / 200
    ratio = float(student_t.ppf(q, max(folds - 1, 1))) / z_score(level)
    return min(ratio, MAX_SHORT_INFLATION)


def calibrate(errors: np.ndarray, horizon: int, folds: int) -> dict[int, np.ndarray]:
    """Relative half-widths per step for the 80 % and 95 % intervals.

    Errors are standardised by the step profile, pooled over folds and steps, and the conformal
    quantile of their absolute values (corrected for the scores' correlation within a fold)
    gives the multiplier. Symmetric on purpose: with a few
    dozen errors a 2.5 % tail holds one or two of them, so estimating each tail alone is mostly
    noise; |error| uses them all.
    """
    profile = step_profile(errors, horizon)
    scores = np.abs(errors / profile[: errors.shape[1]]).ravel()
    effective = effective_scores(errors)
    return {
        lev: conformal_quantile(scores, lev, effective)
        * profile
        * short_history_inflation(folds, lev)
        for lev in LEVELS
    }


def aggregation_factor(errors: np.ndarray) -> float:
    """Squared error of the fold totals over the summed squared errors of their steps: 1 when
    steps err independently, the number of steps when they always err together."""
    per_step = float(np.sum(errors**2))
    if per_step <= 0 or errors.shape[1] < 2:
        return 1.0
    return float(np.clip(np.sum(errors.sum(axis=1) ** 2) / per_step, 1.0, errors.shape[1]))


def fold_wapes(bt: Backtest, forecast: np.ndarray) -> np.ndarray:
    """WAPE of each backtest fold."""
    return np.array([wape(a, f) for a, f in zip(bt.actuals, forecast, strict=True)])


def _combine(bt: Backtest) -> tuple[str, dict[str, float], np.ndarray]:
    """A combination of the better half of the candidates by backtest WAPE, weighted by inverse
    mean squared error; one model alone only when it beats every other model in every one of at
    least MIN_FOLDS folds. Event periods take the event-reading model's forecast (`with_events`).

    Why: combining forecasts is the most reliable gain in the M competitions; trimming the worse
    half keeps a model that plainly does not fit this series out of the average, and
    inverse-error-variance weights (Bates and Granger) lean towards the better ones without
    betting on one. A single model picked on a few folds is often a lucky one; one that wins
    every fold is not. Models are ranked and weighted on the ordinary periods only, because
    that is where the combination is used: a calendar-blind model's miss on a moved holiday
    says nothing about its ordinary weeks, and the calendar-aware model's hit there is not
    evidence for its ordinary weeks either (without an event calendar every period counts).
    The plain mean of SeasonalNaive, AutoTheta and MSTL, the simple ensemble the forecast must
    not fall behind, is the last contender: it replaces that combination whenever it
    backtests at least as well (on the real monthly retail set that moved WAPE from 2.64 % to
    2.62 % against the plain mean's 2.68 %). What each rule did on each data set is in
    docs/performance.md and docs/forecasting.md.
    """
    ordinary = ~bt.event_mask if not bt.event_mask.all() else np.ones_like(bt.event_mask)
    actual = bt.actuals[ordinary]
    scores = {name: wape(actual, f[ordinary]) for name, f in bt.forecasts.items()}
    ranked = sorted(scores, key=lambda k: (scores[k], k))
    best = ranked[0]
    per_fold = {
        k: np.array([wape(a[o], f[o]) for a, f, o in zip(bt.actuals, fc, ordinary, strict=True)])
        for k, fc in bt.forecasts.items()
    }
    if len(bt.origins) >= MIN_FOLDS and all(
        np.all(per_fold[best] < per_fold[k]) for k in ranked[1:]
    ):
        name, weights = best, {best: 1.0}
    else:
        chosen = ranked[: math.ceil(len(ranked) / 2)]
        mse = {k: float(np.mean((actual - bt.forecasts[k][ordinary]) ** 2)) for k in chosen}
        inverse = {k: 1.0 / max(mse[k], 1e-12) for k in chosen}
        weights = {k: v / sum(inverse.values()) for k, v in inverse.items()}
        name = ENSEMBLE if len(chosen) > 1 else best
    fitted = _weighted(bt, weights)
    if all(k in bt.forecasts for k in PLAIN_ENSEMBLE):
        plain: dict[str, float] = {k: 1.0 / len(PLAIN_ENSEMBLE) for k in PLAIN_ENSEMBLE}
        plain_fitted = _weighted(bt, plain)
        if wape(actual, plain_fitted[ordinary]) <= wape(actual, fitted[ordinary]):
            return ENSEMBLE, plain, plain_fitted
    return name, weights, fitted


def _weighted(bt: Backtest, weights: dict[str, float]) -> np.ndarray:
    """The backtest forecasts combined with `weights`, event periods from the event reader."""
    blend = sum((w * bt.forecasts[k] for k, w in weights.items()), np.zeros(bt.actuals.shape))
    return with_events(blend, bt.forecasts, bt.event_mask)


def _unvalidated_sd(y: np.ndarray) -> float:
    """No backtest possible: take the period-to-period noise around a 5-point moving average
    as a lower bound on forecast error, never below UNVALIDATED_REL_SD_FLOOR."""
    if len(y) >= 5 and y.mean() > 0:
        smooth = np.convolve(y, np.ones(5) / 5, mode="valid")
        resid = (y[2:-2] - smooth) / np.maximum(smooth, 0.1 * y.mean())
        return max(float(np.std(resid)) * math.sqrt(2), UNVALIDATED_REL_SD_FLOOR)
    return UNVALIDATED_REL_SD_FLOOR


def _warnings(
    tier: ForecastTier, folds: int, n: int, m: int, half80: np.ndarray, period: str
) -> list[str]:
    """Plain sentences for the planner: short history, widened or wide intervals."""
    out = []
    if tier == "unvalidated":
        out.append(
            f"Only {n} {period}s of history (a season is {m}): nothing could be backtested, "
            "so the interval is a deliberately wide guess from the series' own noise."
        )
    elif tier == "short":
        out.append(
            f"Only {n} {period}s of history (under two seasons): only the one-season "
            f"models could be backtested ({folds} folds)."
        )
    if tier != "unvalidated" and folds < MIN_FOLDS:
        out.append(
            f"Only {folds} backtest fold{'s' if folds != 1 else ''}: the intervals were "
            "widened for the uncertainty of their own calibration."
        )
    typical = float(np.mean(half80)) if len(half80) else 0.0
    if typical > WIDE_INTERVAL:
        out.append(f"The 80 % interval is wide: about ±{typical:.0%} of the forecast per {period}.")
    return out


def forecast_series(
    y: np.ndarray,
    season_length: int,
    horizon: int,
    *,
    max_folds: int = MAX_FOLDS,
    events: Sequence[str] | Events | None = None,
    period: str = "period",
    checkpoint: Checkpoint | None = None,
) -> SeriesForecast:
    """Forecast `horizon` steps after the end of `y`.

    `events` labels each period of the history and the horizon (len(y) + horizon labels, "" for
    an ordinary period): periods with the same label (a holiday whose date moves against the
    season grid) are matched with each other by the models that can use it.

    Tiers: with >= 2 seasons (plus a little to backtest on) all five candidates compete; with
    1-2 seasons only the one-season models (seasonal naive, with drift, RobustSeasonal) do;
    with too little to backtest at all the drift model is used unvalidated and its interval
    comes from a conservative noise estimate. Fewer than MIN_FOLDS folds widen the intervals,
    and every such case is said in `warnings` (which call a period `period`, e.g. "week").
    `checkpoint` is called between model fits: it raises once the attempt's deadline passed.
    """
    y = np.nan_to_num(np.asarray(y, dtype=float), nan=0.0).clip(0.0)
    m, h, n = season_length, horizon, len(y)
    if n < m:
        raise InsufficientHistoryError(n, m)
    level = float(y[-m:].mean())
    ev = no_events(n + h) if events is None else np.asarray(events, dtype=object)
    if len(ev) != n + h:
        raise ValueError(f"events must label {n + h} periods (history and horizon), got {len(ev)}")
    full = [c for c in CANDIDATES if c.min_seasons <= 2]
    short = [c for c in CANDIDATES if c.min_seasons == 1]
    bt = (
        run_backtest(y, m, h, full, max_folds, ev, checkpoint)
        if plan_origins(n, m, h, 2, max_folds)[0]
        else None
    )
    tier: ForecastTier = "full"
    if bt is None or not bt.forecasts:
        bt, tier = run_backtest(y, m, h, short, max_folds, ev, checkpoint), "short"
    by_name: dict[str, Candidate] = {c.name: c for c in CANDIDATES}
    if not bt.forecasts:
        name, weights, tier = "SeasonalNaiveDrift", {"SeasonalNaiveDrift": 1.0}, "unvalidated"
        sd = _unvalidated_sd(y)
        errors = np.array([[-sd, sd]])
        half = {lev: np.full(h, z_score(lev) * sd) for lev in LEVELS}
        sn_wape = chosen_wape = mase = None
        folds, aggregation = 0, 1.0
        fold_errors = fold_scales = np.zeros((0, 0))
    else:
        name, weights, fitted = _combine(bt)
        errors = _relative_errors(bt.actuals, fitted, level)
        fold_errors = bt.actuals - fitted
        fold_scales = error_scale(fitted, level)
        folds = len(bt.origins)
        half = calibrate(errors, h, folds)
        aggregation = aggregation_factor(errors)
        chosen_wape = wape(bt.actuals, fitted)
        sn_wape = (
            wape(bt.actuals, bt.forecasts["SeasonalNaive"])
            if "SeasonalNaive" in bt.forecasts
            else None
        )
        scale = seasonal_scale(y, m)
        mae = float(np.mean(np.abs(bt.actuals - fitted)))
        mase = mae / scale if scale > 0 else None
    mean = np.zeros(h)
    used = {}
    for model_name, w in weights.items():
        check(checkpoint)
        pred = _predict(by_name[model_name], y, h, m, ev)
        if pred is not None:
            used[model_name] = w
            mean += w * pred
    if not used:  # final fit failed for every weighted model: seasonal naive always works
        mean, used, name = (
            np.clip(_seasonal_naive(y, h, m), 0, None),
            {"SeasonalNaive": 1.0},
            "SeasonalNaive",
        )
    else:
        total_w = sum(used.values())
        mean /= total_w
        used = {k: v / total_w for k, v in used.items()}
    future_events = ev[n : n + h] != ""
    reader = event_reader(list(bt.forecasts)) if tier != "unvalidated" else None
    if reader is not None and future_events.any():
        pred = _predict(by_name[reader], y, h, m, ev)
        if pred is not None:
            mean = with_events(mean, {reader: pred}, future_events)
    scale_now = error_scale(mean, level)
    lower = {lev: np.clip(mean - half[lev] * scale_now, 0, None) for lev in LEVELS}
    upper = {lev: mean + half[lev] * scale_now for lev in LEVELS}
    lower[95] = np.minimum(lower[95], lower[80])
    upper[95] = np.maximum(upper[95], upper[80])
    return SeriesForecast(
        mean=mean,
        lower=lower,
        upper=upper,
        model_used=name if len(used) > 1 else next(iter(used)),
        weights={k: round(v, 4) for k, v in used.items()},
        tier=tier,
        folds=folds,
        backtest_horizon=bt.horizon if tier != "unvalidated" else 0,
        wape=chosen_wape,
        seasonal_naive_wape=sn_wape,
        mase=mase,
        errors=errors,
        aggregation=aggregation,
        fold_errors=fold_errors,
        fold_scales=fold_scales,
        scale_now=scale_now,
        warnings=_warnings(tier, folds, n, m, half[80], period),
    )
