"""In-season re-forecast against the pre-season forecast, on the remaining weeks of a season.

    python -m bench.bench_inseason                    # both real sets (see --help)
    python -m bench.bench_inseason --limit 10 --data ../shared/data

Method (a rolling backtest on the real data in `../shared/data/`, see its README): at every
origin the project's forecaster (`forecast_series`) sees only the history before it and makes
the pre-season forecast of a season of `horizon` periods. Then, for every k = 1 .. horizon-1
periods "sold", the live season's re-forecast (`reforecast_ratio` of
activities/planning/season_replan.py: the remaining pre-season forecast scaled by actual /
forecast over the k periods, clipped to [0.25, 4]) is scored against the pre-season forecast
on the same remaining periods. Pooled over series, origins and k:
  WAPE = sum |actual - forecast| / sum actual, over the remaining periods only.
When the data are absent it says so and exits with status 2; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from activities.planning.forecasting import forecast_series
from activities.planning.season_replan import PRIOR_WEEKS, reforecast_ratio
from bench.bench_accuracy import DEFAULT_DATA, load_series


@dataclass(frozen=True)
class Setup:
    name: str
    file: str
    season: int
    horizon: int
    history: int
    origins: int
    step: int


SETUPS = (
    Setup("us_gasoline, 12-week seasons", "us_gasoline_weekly.csv.gz", 52, 12, 520, 32, 13),
    Setup("us_gasoline, 26-week seasons", "us_gasoline_weekly.csv.gz", 52, 26, 520, 16, 26),
    Setup("aus_retail, 12-month seasons", "aus_retail_monthly.csv.gz", 12, 12, 120, 4, 6),
)


def evaluate(
    setup: Setup, series: dict[str, np.ndarray], priors: tuple[float, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Absolute errors of the pre-season forecast and of the re-forecast under each prior
    weight (rows), and the actual units, over the remaining periods after k sold (columns)."""
    h = setup.horizon
    pre_error, actual_sum = np.zeros(h), np.zeros(h)
    live_error = np.zeros((len(priors), h))
    for y in series.values():
        last = len(y) - h
        for i in range(setup.origins):
            origin = last - i * setup.step
            if origin - setup.history < 0 and origin < 2 * setup.season + h:
                break
            history = y[max(0, origin - setup.history) : origin]
            actual = y[origin : origin + h]
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                pre = forecast_series(history, setup.season, h).mean
            for k in range(1, h):
                rest = actual[k:]
                pre_error[k] += float(np.abs(rest - pre[k:]).sum())
                actual_sum[k] += float(rest.sum())
                for j, prior in enumerate(priors):
                    ratio = reforecast_ratio(actual[:k], pre, prior)
                    live_error[j, k] += float(np.abs(rest - pre[k:] * ratio).sum())
    return pre_error, live_error, actual_sum


PRIORS = (0.0, 2.0, PRIOR_WEEKS, 8.0)


def _wape(errors: np.ndarray, actual: np.ndarray) -> float:
    return float(errors.sum() / actual.sum()) if actual.sum() else float("nan")


def run(data_dir: Path = DEFAULT_DATA, limit: int | None = None) -> dict[str, dict] | None:
    """Figures per setup, printed; None (and a message) when the real data are absent."""
    figures: dict[str, dict] = {}
    chosen = PRIORS.index(PRIOR_WEEKS)
    for setup in SETUPS:
        if not (data_dir / setup.file).exists():
            print(f"The real data are absent: {data_dir / setup.file} (see its README).")
            return None
        series = load_series(data_dir, setup.file)
        if limit is not None:
            series = dict(list(series.items())[:limit])
        pre_error, live_error, actual = evaluate(setup, series, PRIORS)
        print(f"\n{setup.name} ({len(series)} series, {setup.origins} origins each)")
        head = "  ".join(f"{f'prior {p:g} wk':>12}" for p in PRIORS)
        print(f"  {'periods sold':>12}  {'pre-season':>12}  {head}")
        for k in sorted({1, 2, 4, setup.horizon // 2, setup.horizon - 2}):
            cells = "  ".join(
                f"{_wape(live_error[j, k], actual[k]):>12.4f}" for j in range(len(PRIORS))
            )
            print(f"  {k:>12}  {_wape(pre_error[k], actual[k]):>12.4f}  {cells}")
        totals = "  ".join(f"{_wape(live_error[j], actual):>12.4f}" for j in range(len(PRIORS)))
        pre = _wape(pre_error, actual)
        live = _wape(live_error[chosen], actual)
        print(f"  {'all k':>12}  {pre:>12.4f}  {totals}")
        print(f"  in-season (prior {PRIOR_WEEKS:g} weeks) vs pre-season: {live / pre - 1:+.1%}")
        figures[setup.name] = {"pre_season_wape": round(pre, 4), "in_season_wape": round(live, 4)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the data")
    parser.add_argument("--limit", type=int, default=None, help="at most this many series a set")
    args = parser.parse_args(argv)
    return 2 if run(args.data, args.limit) is None else 0


if __name__ == "__main__":
    sys.exit(main())
