"""Season-length-generic forecasting core: candidate models, rolling-origin backtest, model
choice or weighting, and prediction intervals calibrated from the backtest's own errors.

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

import numpy as np
from statsforecast.models import MSTL, AutoETS, AutoTheta, SeasonalNaive
from statsmodels.tsa.seasonal import seasonal_decompose

Events = np.ndarray  # one label per period ("" = ordinary), covering history and horizon
ModelFn = Callable[[np.ndarray, int, int, Events], np.ndarray]

MAX_FOLDS = 4
MIN_FOLDS_TO_PICK = 3
EMPIRICAL_MIN_ERRORS = 20
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


def _seasonal_naive_drift(y: np.ndarray, h: int, m: int, events: Events | None = None) -> np.ndarray:
    """Last season repeated, scaled by the year-over-year growth of the overlapping weeks.

    Works from one season plus a few points, which is why it is the short-history model; the
    growth ratio is clipped so one odd week cannot double a forecast.
    """
    base = _seasonal_naive(y, h, m)
    overlap = min(len(y) - m, m)
    if overlap <= 0:
        return base
    recent = float(y[-overlap:].sum())
    year_ago = float(y[-overlap - m : len(y) - m].sum())
    if year_ago <= 0 or recent <= 0:
        return base
    return base * float(np.clip(recent / year_ago, *GROWTH_LIMITS))


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
    name: str
    fn: ModelFn
    min_seasons: int  # full seasons of training the model needs to see its seasonality


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("SeasonalNaive", _seasonal_naive, 1),
    Candidate("SeasonalNaiveDrift", _seasonal_naive_drift, 1),
    Candidate("RobustSeasonal", robust_seasonal, 1),
    Candidate("AutoTheta", _auto_theta, 2),
    Candidate("MSTL", _mstl, 2),
)


def _predict(candidate: Candidate, y: np.ndarray, h: int, m: int, events: Events) -> np.ndarray | None:
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


def plan_origins(n: int, m: int, h: int, min_seasons: int, max_folds: int) -> tuple[list[int], int]:
    """Rolling origins in the last season, each with `min_seasons` seasons of training.

    The backtest horizon shrinks (down to a quarter season) rather than dropping the seasonal
    models when history is barely long enough; errors are pooled across steps anyway.
    """
    min_train = min_seasons * m
    min_h = max(1, m // 13)
    hb = min(h, n - min_train)
    if hb < min_h:
        return [], 0
    last = n - hb
    # Origins span the last season; when the horizon nearly fills it, step back further (a
    # quarter season's spacing per fold) so there are still several folds.
    first = max(min_train, min(n - m, last - (max_folds - 1) * min_h))
    first = min(first, last)
    count = min(max_folds, last - first + 1)
    origins = sorted({int(round(x)) for x in np.linspace(first, last, count)})
    return origins, hb


def run_backtest(
    y: np.ndarray, m: int, h: int, candidates: list[Candidate], max_folds: int, events: Events
) -> Backtest:
    tier_seasons = max(c.min_seasons for c in candidates)
    origins, hb = plan_origins(len(y), m, h, tier_seasons, max_folds)
    actuals = np.array([y[o : o + hb] for o in origins]).reshape(len(origins), hb)
    forecasts: dict[str, np.ndarray] = {}
    for cand in candidates:
        rows = [_predict(cand, y[:o], hb, m, events) for o in origins]
        if origins and all(r is not None for r in rows):
            forecasts[cand.name] = np.array(rows)
    return Backtest(origins, hb, actuals, forecasts)


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
    model_used: str
    weights: dict[str, float]
    tier: str  # "full" | "short" | "unvalidated"
    folds: int
    backtest_horizon: int
    wape: float | None
    seasonal_naive_wape: float | None
    mase: float | None
    rel_rmse: float  # RMSE of relative errors, the sigma behind safety stock
    errors: np.ndarray = field(repr=False)  # pooled relative backtest errors of the chosen model


def _relative_errors(actual: np.ndarray, forecast: np.ndarray, level: float) -> np.ndarray:
    """(actual - forecast) / forecast, with the forecast floored at 10 % of the series level so
    zero forecasts do not divide by zero; multiplicative because sales noise grows with volume."""
    scale = np.maximum(forecast, max(0.1 * level, 1e-9))
    return ((actual - forecast) / scale).ravel()


def _quantiles(errors: np.ndarray, level: int) -> tuple[float, float]:
    alpha = 1 - level / 100
    n = len(errors)
    if n >= EMPIRICAL_MIN_ERRORS:
        # Split-conformal finite-sample correction: widen the quantile level slightly.
        lo_q = max(0.0, math.floor((n + 1) * alpha / 2) / n - 1 / n)
        hi_q = min(1.0, math.ceil((n + 1) * (1 - alpha / 2)) / n)
        return float(np.quantile(errors, lo_q)), float(np.quantile(errors, hi_q))
    z = NormalDist().inv_cdf(1 - alpha / 2)
    sd = float(np.sqrt(np.mean(errors**2))) if n else UNVALIDATED_REL_SD_FLOOR
    return -z * sd, z * sd


def _choose(bt: Backtest) -> tuple[str, dict[str, float], np.ndarray]:
    """Best single model or the inverse-WAPE-weighted blend, whichever backtests better.

    With fewer than MIN_FOLDS_TO_PICK folds one lucky fold could crown a poor model, so the
    blend is used: weighting dilutes a bad pick instead of betting on it.
    """
    scores = {name: wape(bt.actuals, f) for name, f in bt.forecasts.items()}
    best = min(scores, key=lambda k: (scores[k], k))
    inv = {k: 1.0 / max(v, 1e-6) for k, v in scores.items()}
    total = sum(inv.values())
    weights = {k: v / total for k, v in inv.items()}
    blend = sum(w * bt.forecasts[k] for k, w in weights.items())
    thin = len(bt.origins) < MIN_FOLDS_TO_PICK
    if len(weights) > 1 and (thin or wape(bt.actuals, blend) < scores[best]):
        return "Ensemble", weights, blend
    return best, {best: 1.0}, bt.forecasts[best]


def _unvalidated_errors(y: np.ndarray) -> np.ndarray:
    """No backtest possible: take the week-to-week noise around a 5-point moving average as a
    lower bound on forecast error, never below UNVALIDATED_REL_SD_FLOOR."""
    if len(y) >= 5 and y.mean() > 0:
        smooth = np.convolve(y, np.ones(5) / 5, mode="valid")
        resid = (y[2:-2] - smooth) / np.maximum(smooth, 0.1 * y.mean())
        sd = max(float(np.std(resid)) * math.sqrt(2), UNVALIDATED_REL_SD_FLOOR)
    else:
        sd = UNVALIDATED_REL_SD_FLOOR
    return np.array([-sd, sd])


def forecast_series(
    y: np.ndarray,
    season_length: int,
    horizon: int,
    *,
    max_folds: int = MAX_FOLDS,
    events: Sequence[str] | None = None,
) -> SeriesForecast:
    """Forecast `horizon` steps after the end of `y`.

    `events` labels each period of the history and the horizon (len(y) + horizon labels, "" for
    an ordinary period): periods with the same label (a holiday whose date moves against the
    season grid) are matched with each other by the models that can use it.

    Tiers: with >= 2 seasons (plus a quarter season to backtest on) all five candidates compete;
    with 1-2 seasons only the one-season models (seasonal naive, with drift, RobustSeasonal) do; with too little to backtest at all the
    drift model is used unvalidated and its interval comes from a conservative noise estimate.
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
    bt = run_backtest(y, m, h, full, max_folds, ev) if plan_origins(n, m, h, 2, max_folds)[0] else None
    tier = "full"
    if bt is None or not bt.forecasts:
        bt, tier = run_backtest(y, m, h, short, max_folds, ev), "short"
    by_name = {c.name: c for c in CANDIDATES}
    if not bt.forecasts:
        name, weights, tier = "SeasonalNaiveDrift", {"SeasonalNaiveDrift": 1.0}, "unvalidated"
        errors = _unvalidated_errors(y)
        sn_wape = chosen_wape = mase = None
    else:
        name, weights, fitted = _choose(bt)
        errors = _relative_errors(bt.actuals, fitted, level)
        chosen_wape = wape(bt.actuals, fitted)
        sn_wape = wape(bt.actuals, bt.forecasts["SeasonalNaive"]) if "SeasonalNaive" in bt.forecasts else None
        scale = seasonal_scale(y, m)
        mae = float(np.mean(np.abs(bt.actuals - fitted)))
        mase = mae / scale if scale > 0 else None
    mean = np.zeros(h)
    used = {}
    for model_name, w in weights.items():
        pred = _predict(by_name[model_name], y, h, m, ev)
        if pred is not None:
            used[model_name] = w
            mean += w * pred
    if not used:  # final fit failed for every weighted model: seasonal naive always works
        mean, used, name = np.clip(_seasonal_naive(y, h, m), 0, None), {"SeasonalNaive": 1.0}, "SeasonalNaive"
    else:
        total_w = sum(used.values())
        mean /= total_w
        used = {k: v / total_w for k, v in used.items()}
    scale_now = np.maximum(mean, max(0.1 * level, 1e-9))
    lower, upper = {}, {}
    for lev in (80, 95):
        q_lo, q_hi = _quantiles(errors, lev)
        lower[lev] = np.minimum(np.clip(mean + q_lo * scale_now, 0, None), mean)
        upper[lev] = np.maximum(mean + q_hi * scale_now, mean)
    lower[95] = np.minimum(lower[95], lower[80])
    upper[95] = np.maximum(upper[95], upper[80])
    return SeriesForecast(
        mean=mean,
        lower=lower,
        upper=upper,
        model_used=name,
        weights={k: round(v, 4) for k, v in used.items()},
        tier=tier,
        folds=len(bt.origins) if tier != "unvalidated" else 0,
        backtest_horizon=bt.horizon if tier != "unvalidated" else 0,
        wape=chosen_wape,
        seasonal_naive_wape=sn_wape,
        mase=mase,
        rel_rmse=float(np.sqrt(np.mean(errors**2))),
        errors=errors,
    )
