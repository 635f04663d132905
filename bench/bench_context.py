"""Context assembly timings and peak memory: `python -m bench.bench_context [--large]`.

Builds each database in a temporary directory, then times the first (uncached) demand-context
assembly (median of 3, cache cleared before each) and the cached one (1,000 calls, each including
the data-version check), and reports the peak Python memory of a first load (tracemalloc) and
the process's max RSS (which includes generating and loading the data). Targets: first <= 100 ms
on the default sample, cached <= 1 ms, first <= 1 s at 2,000 stores x 156 weeks x 10 categories.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
import tracemalloc
from datetime import date
from pathlib import Path
from typing import Any

from localdev.sample_data import generate_sample, load_sample
from shared.data.context import ContextAssembler, clear_context_cache
from shared.data.db import dispose_engine, get_engine
from shared.schemas import SeasonParameters

PARAMS = SeasonParameters(
    forecast_horizon_weeks=12,
    season_start_date=date(2025, 1, 1),
    replenishment_strategy="weekly",
    dc_holdback_percentage=0.45,
)
SIZES = {"default": (50, 156, 3), "large": (2000, 156, 10)}
TARGETS = {"default_first_ms": 100.0, "cached_ms": 1.0, "large_first_ms": 1000.0}


def measure(name: str, stores: int, weeks: int, categories: int, directory: Path) -> dict[str, Any]:
    """One database size: timings in ms/us, memory in MiB (numbers, for aggregation)."""
    url = f"sqlite:///{directory / f'{name}.db'}"
    engine = get_engine(url)
    started = time.perf_counter()
    sample = generate_sample(stores=stores, weeks=weeks, categories=categories)
    generated = time.perf_counter() - started
    load_sample(engine, sample)
    loaded = time.perf_counter() - started - generated
    rows = len(sample.sales)
    del sample
    assembler = ContextAssembler(engine)
    firsts = []
    for _ in range(3):
        clear_context_cache()
        started = time.perf_counter()
        context = assembler.assemble_demand_context("outerwear", PARAMS)
        firsts.append(time.perf_counter() - started)
    clear_context_cache()
    tracemalloc.start()  # a separate run: tracing slows allocation-heavy code several-fold
    context = assembler.assemble_demand_context("outerwear", PARAMS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    cached = []
    for _ in range(1000):
        started = time.perf_counter()
        assembler.assemble_demand_context("outerwear", PARAMS)
        cached.append(time.perf_counter() - started)
    dispose_engine(url)
    clear_context_cache()
    return {
        "size": f"{stores} x {weeks} x {categories}",
        "rows": rows,
        "generate_s": generated,
        "load_db_s": loaded,
        "category_rows": rows // categories,
        "weeks_summed": len(context.history.weekly_totals()),
        "first_ms": statistics.median(firsts) * 1000,
        "cached_median_us": statistics.median(cached) * 1e6,
        "cached_p99_us": sorted(cached)[989] * 1e6,
        "peak_first_mib": peak / 2**20,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run(large: bool = False) -> dict[str, dict[str, Any]]:
    """Figures per database size: {"default": {...}} plus {"large": {...}} with `large`."""
    names = ["default", "large"] if large else ["default"]
    with tempfile.TemporaryDirectory() as tmp:
        return {name: measure(name, *SIZES[name], Path(tmp)) for name in names}


def _rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("size", figures["size"]),
        ("rows", f"{figures['rows']:,}"),
        ("generate", f"{figures['generate_s']:.2f} s"),
        ("load db", f"{figures['load_db_s']:.2f} s"),
        ("category rows", f"{figures['category_rows']:,}"),
        ("weeks summed", f"{figures['weeks_summed']:,}"),
        ("first (median of 3)", f"{figures['first_ms']:.1f} ms"),
        ("cached (median)", f"{figures['cached_median_us']:.0f} us"),
        ("cached (p99)", f"{figures['cached_p99_us']:.0f} us"),
        ("peak mem first", f"{figures['peak_first_mib']:.1f} MiB"),
        ("process max RSS", f"{figures['max_rss_mib']:.0f} MiB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 2,000 stores x 10 categories")
    args = parser.parse_args()
    columns = [_rows(figures) for figures in run(args.large).values()]
    width = max(len(label) for label, _ in columns[0])
    for index, (label, _) in enumerate(columns[0]):
        print(f"{label:<{width}}  " + "  ".join(f"{col[index][1]:>18}" for col in columns))


if __name__ == "__main__":
    main()
