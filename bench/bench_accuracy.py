"""Forecast accuracy on real data: the project's forecaster against statsforecast's baselines.

    python -m bench accuracy                 # both real sets, table + bench/results/accuracy.json
    python -m bench.bench_accuracy --limit 20 --sets aus_retail   # a quick subset

Data: `../shared/data/` beside the project root (see its README), or `--data DIR` (or the
BENCH_DATA_DIR environment variable). When the files are absent the benchmark says so and exits
with status 2; nothing is downloaded.

Method: rolling origins at a season planner's horizons (12 months for the monthly set; 12 and 26
weeks for the weekly one). At every origin each method sees only a window of history before it
(`history` periods) and forecasts `horizon` periods, scored against what happened. A fourth,
untargeted setup repeats the monthly one with 3 years of history to show the short-history path.
Pooled over every series, origin and step:
  WAPE  = sum |actual - forecast| / sum actual
  MASE  = mean of |actual - forecast| / (in-sample mean |y_t - y_{t-m}| of that window)
  coverage = share of actuals inside the project's 80 % / 95 % intervals
  width = sum (upper - lower) / sum actual (the interval's width relative to the volume)
  total coverage = share of windows whose horizon total falls inside the total's 80 % interval
Baselines are statsforecast's own SeasonalNaive(m), AutoTheta(m) and MSTL(m) (default trend
model), and their plain mean ("Mean3"), the simple ensemble the project must at least match.

Then the Demand agent itself on past seasons of the project's sample, per category (weekly and
season-total 80 % coverage, the store split's error): bench.sample_seasons, setup name "sample".
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from activities.planning.forecasting import forecast_series, seasonal_scale

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path(os.environ.get("BENCH_DATA_DIR") or ROOT.parent / "shared" / "data")
DEFAULT_JSON = ROOT / "bench" / "results" / "accuracy.json"
TARGET_VS_NAIVE = 0.80
TARGET_COVERAGE = {80: (0.75, 0.85), 95: (0.90, 0.97)}
TARGET_TOTAL_COVERAGE80 = (0.70, 0.90)
SAMPLE_SETUP = "sample"
BASELINES = ("SeasonalNaive", "AutoTheta", "MSTL", "Mean3")


@dataclass(frozen=True)
class Setup:
    """One evaluation: a data set at one horizon, with its origins and history window."""

    name: str
    file: str
    season: int
    horizon: int
    history: int  # periods of history each forecast sees (at most)
    origins: int  # rolling origins per series, `step` apart, the last ending at the data's end
    step: int
    targeted: bool = True  # False: reported only (short history is widened on purpose)


SETUPS = (
    Setup("aus_retail 12 months", "aus_retail_monthly.csv.gz", 12, 12, 120, 4, 6),
    Setup("us_gasoline 12 weeks", "us_gasoline_weekly.csv.gz", 52, 12, 520, 32, 13),
    Setup("us_gasoline 26 weeks", "us_gasoline_weekly.csv.gz", 52, 26, 520, 32, 13),
    Setup(
        "short aus_retail 12 months, 3 years",
        "aus_retail_monthly.csv.gz",
        12,
        12,
        36,
        4,
        6,
        targeted=False,
    ),
)


def _read_csv(path: Path) -> list[list[str]]:
    import csv

    with gzip.open(path, "rt", newline="") as fh:
        return list(csv.reader(fh))[1:]


def load_series(data_dir: Path, file: str) -> dict[str, np.ndarray]:
    """{series id: values in time order}. Monthly: one series per ABS Series ID; weekly: one."""
    rows = _read_csv(data_dir / file)
    if file.startswith("aus_retail"):
        import pandas as pd

        frame = pd.DataFrame(rows, columns=["state", "industry", "id", "month", "turnover"])
        frame["month"] = pd.to_datetime(frame["month"], format="%Y %b")
        frame["turnover"] = frame["turnover"].astype(float)
        return {
            sid: g.sort_values("month")["turnover"].to_numpy(float)
            for sid, g in frame.groupby("id", sort=True)
        }
    ordered = sorted(rows, key=lambda r: (int(r[0][:4]), int(r[0].split("W")[1])))
    return {"us_gasoline": np.array([float(r[1]) for r in ordered])}


def _baselines(y: np.ndarray, h: int, m: int) -> dict[str, np.ndarray]:
    from statsforecast.models import MSTL, AutoTheta, SeasonalNaive

    out = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for name, model in (
            ("SeasonalNaive", SeasonalNaive(season_length=m)),
            ("AutoTheta", AutoTheta(season_length=m)),
            ("MSTL", MSTL(season_length=m)),
        ):
            try:
                fc = np.asarray(model.forecast(y=y, h=h)["mean"], dtype=float)
            except Exception:  # noqa: BLE001 - a failing baseline falls back to seasonal naive
                fc = np.full(h, np.nan)
            out[name] = fc
    for name in ("AutoTheta", "MSTL"):
        if not np.all(np.isfinite(out[name])):
            out[name] = out["SeasonalNaive"]
    out["Mean3"] = (out["SeasonalNaive"] + out["AutoTheta"] + out["MSTL"]) / 3
    return out


def _windows(values: np.ndarray, s: Setup) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    n = len(values)
    for k in range(s.origins):
        origin = n - s.horizon - k * s.step
        train = values[max(0, origin - s.history) : origin]
        if len(train) >= s.season + 1:
            yield train, values[origin : origin + s.horizon]


def evaluate_series(args: tuple[Setup, np.ndarray]) -> dict[str, Any]:
    """Sums for one series over its origins (pooled later): per method abs error and scaled
    abs error; for the project also interval hits and widths, and the tiers it used."""
    s, values = args
    sums: dict[str, Any] = {
        "actual": 0.0,
        "points": 0,
        "abs": {},
        "scaled": {},
        "in80": 0,
        "in95": 0,
        "width80": 0.0,
        "width95": 0.0,
        "tiers": {},
        "warnings": 0,
        "windows": 0,
        "total_in80": 0,
        "total_in95": 0,
    }
    for train, actual in _windows(values, s):
        scale = seasonal_scale(train, s.season) or 1e-9
        fc = forecast_series(train, s.season, s.horizon)
        forecasts = {"Project": fc.mean} | _baselines(train, s.horizon, s.season)
        for name, f in forecasts.items():
            err = np.abs(actual - f)
            sums["abs"][name] = sums["abs"].get(name, 0.0) + float(err.sum())
            sums["scaled"][name] = sums["scaled"].get(name, 0.0) + float((err / scale).sum())
        sums["actual"] += float(actual.sum())
        sums["points"] += len(actual)
        for lev in (80, 95):
            inside = (actual >= fc.lower[lev]) & (actual <= fc.upper[lev])
            sums[f"in{lev}"] += int(inside.sum())
            sums[f"width{lev}"] += float((fc.upper[lev] - fc.lower[lev]).sum())
        for lev in (80, 95):
            lo, hi = fc.total_interval(lev)
            sums[f"total_in{lev}"] += int(lo <= actual.sum() <= hi)
        sums["windows"] += 1
        sums["tiers"][fc.tier] = sums["tiers"].get(fc.tier, 0) + 1
        sums["warnings"] += int(bool(fc.warnings))
    return sums


def _pool(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = parts[0]
    for p in parts[1:]:
        for key in (
            "actual",
            "points",
            "in80",
            "in95",
            "width80",
            "width95",
            "warnings",
            "windows",
            "total_in80",
            "total_in95",
        ):
            total[key] += p[key]
        for key in ("abs", "scaled", "tiers"):
            for name, v in p[key].items():
                total[key][name] = total[key].get(name, 0) + v
    return total


def summarise(s: Setup, total: dict[str, Any], seconds: float, series: int) -> dict[str, Any]:
    methods = {
        name: {
            "wape": total["abs"][name] / total["actual"],
            "mase": total["scaled"][name] / total["points"],
        }
        for name in ("Project", *BASELINES)
    }
    project = methods["Project"]
    fig = {
        "setup": s.name,
        "season": s.season,
        "horizon": s.horizon,
        "history": s.history,
        "origins": s.origins,
        "series": series,
        "points": total["points"],
        "seconds": round(seconds, 1),
        "methods": methods,
        "targeted": s.targeted,
        "vs_seasonal_naive": project["wape"] / methods["SeasonalNaive"]["wape"],
        "vs_mean3": project["wape"] / methods["Mean3"]["wape"],
        "coverage80": total["in80"] / total["points"],
        "coverage95": total["in95"] / total["points"],
        "width80": total["width80"] / total["actual"],
        "width95": total["width95"] / total["actual"],
        "total_coverage80": total["total_in80"] / total["windows"],
        "total_coverage95": total["total_in95"] / total["windows"],
        "tiers": total["tiers"],
        "forecasts_with_warnings": total["warnings"],
    }
    lo80, hi80 = TARGET_COVERAGE[80]
    lo95, hi95 = TARGET_COVERAGE[95]
    fig["targets_met"] = {
        "wape_vs_mean3": fig["vs_mean3"] <= 1.0,
        "wape_vs_naive": fig["vs_seasonal_naive"] <= TARGET_VS_NAIVE,
        "coverage80": lo80 <= fig["coverage80"] <= hi80,
        "coverage95": lo95 <= fig["coverage95"] <= hi95,
        "total_coverage80": (
            TARGET_TOTAL_COVERAGE80[0] <= fig["total_coverage80"] <= TARGET_TOTAL_COVERAGE80[1]
        ),
    }
    return fig


def run_setup(s: Setup, data_dir: Path, limit: int | None, jobs: int) -> dict[str, Any]:
    series = load_series(data_dir, s.file)
    chosen = list(series.values())[:limit] if limit else list(series.values())
    started = time.perf_counter()
    work = [(s, v) for v in chosen]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            parts = list(pool.map(evaluate_series, work, chunksize=4))
    else:
        parts = [evaluate_series(w) for w in work]
    return summarise(s, _pool(parts), time.perf_counter() - started, len(chosen))


def print_table(figures: list[dict[str, Any]]) -> None:
    for f in figures:
        m = f["methods"]
        print(
            f"\n{f['setup']}: {f['series']} series x {f['origins']} origins, "
            f"{f['points']:,} held-out points, history {f['history']}, {f['seconds']:.0f} s"
        )
        print("  " + "  ".join(f"{n:>13}" for n in ("method", "WAPE", "MASE")))
        for name in ("Project", *BASELINES):
            print("  " + f"{name:>13}  {m[name]['wape']:>13.2%}  {m[name]['mase']:>13.3f}")
        ok = f["targets_met"]
        mark = {True: "ok", False: "MISSED"} if f["targeted"] else {True: "", False: "(no target)"}
        print(
            f"  Project vs SeasonalNaive {f['vs_seasonal_naive']:.2f}x "
            f"(target <= {TARGET_VS_NAIVE:.2f}) "
            f"{mark[ok['wape_vs_naive']]}; vs Mean3 {f['vs_mean3']:.2f}x (target <= 1.00) "
            f"{mark[ok['wape_vs_mean3']]}"
        )
        print(
            f"  80 % interval covers {f['coverage80']:.1%} (75-85 %) {mark[ok['coverage80']]}, "
            f"width {f['width80']:.1%} of actual; 95 % covers {f['coverage95']:.1%} (90-97 %) "
            f"{mark[ok['coverage95']]}, width {f['width95']:.1%}"
        )
        print(
            f"  horizon totals: 80 % interval covers {f['total_coverage80']:.0%} (70-90 %) "
            f"{mark[ok['total_coverage80']]}, 95 % covers "
            f"{f['total_coverage95']:.0%} of {f['series'] * f['origins']} windows; "
            f"tiers {f['tiers']}, "
            f"{f['forecasts_with_warnings']} forecasts with warnings"
        )


def run(
    data_dir: Path = DEFAULT_DATA,
    sets: tuple[str, ...] = (),
    limit: int | None = None,
    jobs: int = 1,
) -> list[dict[str, Any]] | None:
    """Figures per setup, printed; None (and a message) when the real data are absent."""
    missing = sorted({s.file for s in SETUPS if not (data_dir / s.file).is_file()})
    if missing:
        print(
            f"Real data not found in {data_dir}: {', '.join(missing)} missing. Put the shared "
            "data beside the project root (../shared/data) or pass --data DIR."
        )
        return None
    chosen = [s for s in SETUPS if not sets or any(s.name.startswith(x) for x in sets)]
    figures = []
    for s in chosen:
        print(f"running {s.name} ...", file=sys.stderr, flush=True)
        figures.append(run_setup(s, data_dir, limit, jobs))
    print_table(figures)
    if not sets or any(SAMPLE_SETUP.startswith(x) for x in sets):
        from bench import sample_seasons

        print(f"running {SAMPLE_SETUP} ...", file=sys.stderr, flush=True)
        figures.append(sample_seasons.run())
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the real data")
    parser.add_argument(
        "--sets", nargs="*", default=[], help="setup prefixes, e.g. aus_retail or sample"
    )
    parser.add_argument("--limit", type=int, default=None, help="first N series per set")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="figures file")
    args = parser.parse_args(argv)
    figures = run(args.data, tuple(args.sets), args.limit, args.jobs)
    if figures is None:
        return 2
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=2))
    print(f"\nfigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
