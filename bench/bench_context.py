"""Context assembly timings and peak memory: `python -m bench.bench_context [--large]`.

Builds each database in a temporary directory, then times the first (uncached) demand-context
assembly (median of 3, cache cleared before each) and the cached one (1,000 calls, each including
the data-version check), and reports the peak Python memory of a first load (tracemalloc) and
the process's max RSS (which includes generating and loading the data). Targets: first <= 100 ms on the default
sample, cached <= 1 ms, first <= 1 s at 2,000 stores x 156 weeks x 10 categories.
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

from shared.context import ContextAssembler, clear_context_cache
from shared.db import dispose_engine, get_engine
from shared.sample_data import generate_sample, load_sample
from shared.schemas import SeasonParameters

PARAMS = SeasonParameters(forecast_horizon_weeks=12, season_start_date=date(2025, 1, 1),
                          replenishment_strategy="weekly", dc_holdback_percentage=0.45)
SIZES = {"default": (50, 156, 3), "large": (2000, 156, 10)}


def measure(name: str, stores: int, weeks: int, categories: int, directory: Path) -> dict[str, str]:
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
    first = statistics.median(firsts)
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
    return {
        "size": f"{stores} x {weeks} x {categories}",
        "rows": f"{rows:,}",
        "generate": f"{generated:.2f} s",
        "load db": f"{loaded:.2f} s",
        "category rows": f"{len(context.sales):,}",
        "first (median of 3)": f"{first * 1000:.1f} ms",
        "cached (median)": f"{statistics.median(cached) * 1e6:.0f} us",
        "cached (p99)": f"{sorted(cached)[989] * 1e6:.0f} us",
        "peak mem first": f"{peak / 2**20:.1f} MiB",
        "process max RSS": f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 2,000 stores x 10 categories")
    args = parser.parse_args()
    names = ["default", "large"] if args.large else ["default"]
    with tempfile.TemporaryDirectory() as tmp:
        results = [measure(n, *SIZES[n], Path(tmp)) for n in names]
    keys = list(results[0])
    width = max(len(k) for k in keys)
    for key in keys:
        print(f"{key:<{width}}  " + "  ".join(f"{r[key]:>18}" for r in results))


if __name__ == "__main__":
    main()
