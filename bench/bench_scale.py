"""Plans at retail scale on the local Durable runtime: `python -m bench.bench_scale`.

    python -m bench.bench_scale                       # every case below (tens of minutes)
    python -m bench.bench_scale --stores 10000,50000 --hops 0 --no-categories --no-concurrent
    python -m bench.bench_scale --json                # the table, then every figure as JSON

Every case runs in a fresh Python process (so its peak memory is that case's alone: one
Functions instance) over a SQLite database seeded once with the project's sample generator
(156 weeks of history) and kept in `--data-dir` for the next run. Cases:

1. Stores (default 50, 500, 2,000, 10,000, 50,000; one category) x per-hop delay (default 0 and
   200 ms, the local runtime's `hop_delay_seconds`: every activity dispatch, timer and
   orchestrator episode waits that long, as Azure's storage-queue round trips do). One cold plan
   (first in the process: context load, numba compilation), then `--warm` more: end-to-end
   seconds, each agent's time (the orchestrator's execution log), the process's peak RSS. Then,
   at the largest store count, a cold Demand's CPU seconds (context load, first and second
   agent call) in a fresh process: on a shared machine CPU time, unlike wall time, does not
   grow with other jobs' load.
2. 10 categories x 10,000 stores: one plan per category in turn in one process, peak and final
   RSS (what the context cache keeps), each plan's end-to-end time.
3. `--concurrent` plans (default 60) started at once in one process on the default sample size
   (50 stores, 3 categories): wall time and each agent's slowest time against half its deadline.

Agent deadlines are raised to 300 s for cases 1 and 2, so a slow agent is measured rather than
cut off; case 3 keeps the app's deadlines. Goals (issue 25): 50,000 stores with peak memory
<= 1.5 GB and a cold Demand <= 5 s; 10,000 stores end to end <= 3 s warm at 200 ms per hop;
60 concurrent plans with every agent under half its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_STORES = (50, 500, 2_000, 10_000, 50_000)
DEFAULT_HOPS_MS = (0, 200)
HISTORY_WEEKS = 156
CATEGORY_CASE = {"stores": 10_000, "categories": 10}
CONCURRENT_SAMPLE = {"stores": 50, "categories": 3}
RAISED_TIMEOUT_S = "300"
GOALS = {
    "peak_50k_mib": 1536.0,
    "cold_demand_50k_s": 5.0,
    "warm_10k_200ms_s": 3.0,
    "concurrent_share_of_deadline": 0.5,
}
AGENT_SHORT = {"Demand Agent": "demand", "Inventory Agent": "inventory", "Pricing Agent": "pricing"}


def _rss_mib() -> dict[str, float]:
    """Peak (kernel's max RSS) and current resident memory of this process, MiB."""
    with open("/proc/self/statm") as statm:
        current_pages = int(statm.read().split()[1])
    return {
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "current_rss_mib": current_pages * os.sysconf("SC_PAGE_SIZE") / 2**20,
    }


def _agent_seconds(status: dict[str, Any]) -> dict[str, float]:
    output = status.get("output")
    log = output.get("execution_log", []) if isinstance(output, dict) else []
    return {AGENT_SHORT.get(e["agent_name"], e["agent_name"]): e["duration_ms"] / 1000 for e in log}


# -- what runs in the child process -------------------------------------------------------------


def seed(path: Path, stores: int, categories: int) -> float:
    """Generate and load the sample into a new SQLite file; returns the seconds it took."""
    from localdev.sample_data import generate_sample, load_sample
    from shared.data.db import dispose_engine, get_engine

    started = time.perf_counter()
    partial = path.with_suffix(".partial")
    for leftover in (partial, *(Path(f"{partial}{end}") for end in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)  # an interrupted earlier seeding
    url = f"sqlite:///{partial}"
    sample = generate_sample(stores=stores, weeks=HISTORY_WEEKS, categories=categories)
    load_sample(get_engine(url), sample)
    dispose_engine(url)
    partial.rename(path)
    return time.perf_counter() - started


async def _plans(case: dict[str, Any]) -> dict[str, Any]:
    """Run one case's plans against its database inside a live app environment."""
    from bench.bench_workflow import _app_environment, _load_app, _run_one, spec_parameters
    from localdev.durable import DurableRuntime
    from shared.data.context import get_assembler
    from shared.settings import get_settings

    url = f"sqlite:///{case['database']}"
    extra = {}
    if case["raise_timeouts"]:
        extra = {
            f"{agent}_AGENT_TIMEOUT_SECONDS": RAISED_TIMEOUT_S
            for agent in ("DEMAND", "INVENTORY", "PRICING")
        }
    app = _load_app("function_app:app")
    parameters = spec_parameters()
    before = _rss_mib()
    with _app_environment(url, extra):
        settings = get_settings()
        categories = [c.category_id for c in get_assembler(url).list_categories()]
        async with DurableRuntime(
            app, url, hop_delay_seconds=case["hop_ms"] / 1000, activity_workers=16
        ) as rt:
            runs: list[dict[str, Any]] = []

            async def plan(name: str, category: str) -> dict[str, Any]:
                seconds, status = await _run_one(rt, name, category, parameters, settings)
                return {
                    "category": category,
                    "status": status["runtimeStatus"],
                    "end_to_end_s": seconds,
                    "agents_s": _agent_seconds(status),
                }

            started = time.perf_counter()
            if case["kind"] == "workflow":
                for n in range(1 + case["warm"]):
                    runs.append(await plan(f"plan-{n}", categories[0]))
            elif case["kind"] == "categories":
                for n, category in enumerate(categories):
                    runs.append(await plan(f"plan-{n}", category))
            else:
                runs = list(
                    await asyncio.gather(
                        *(
                            plan(f"plan-{n}", categories[n % len(categories)])
                            for n in range(case["concurrent"])
                        )
                    )
                )
            wall = time.perf_counter() - started
        deadlines = {
            "demand": settings.demand_agent_timeout_seconds,
            "inventory": settings.inventory_agent_timeout_seconds,
            "pricing": settings.pricing_agent_timeout_seconds,
        }
    return {
        "case": case,
        "runs": runs,
        "wall_s": wall,
        "deadlines_s": deadlines,
        "rss_before_mib": before["current_rss_mib"],
        **_rss_mib(),
        "load_average": os.getloadavg(),
    }


def demand_cpu(database: str) -> dict[str, Any]:
    """CPU seconds (load-independent, unlike wall time on a shared machine) of a cold Demand in
    a fresh process: importing the agent's libraries (the same at any size), assembling the
    context (the database's weekly and store sums, the category's stores), then the agent
    twice."""
    imported = time.process_time()
    from activities.planning.demand import run_demand_agent
    from bench.bench_workflow import spec_parameters
    from shared.data.context import ContextAssembler
    from shared.data.db import get_engine

    parameters = spec_parameters()
    assembler = ContextAssembler(get_engine(f"sqlite:///{database}"))
    category = assembler.default_category_id()
    started = time.process_time()
    context = assembler.assemble_demand_context(category, parameters)
    loaded = time.process_time()
    run_demand_agent(context)
    first = time.process_time()
    run_demand_agent(assembler.assemble_demand_context(category, parameters))
    second = time.process_time()
    return {
        "imports_cpu_s": started - imported,
        "load_cpu_s": loaded - started,
        "first_call_cpu_s": first - loaded,
        "second_call_cpu_s": second - first,
        **_rss_mib(),
    }


def child(argument: str) -> None:
    case = json.loads(argument)
    if case["kind"] == "demand_cpu":
        figures: dict[str, Any] = {"stores": case["stores"], **demand_cpu(case["database"])}
    elif case["kind"] == "seed":
        figures = {"seed_s": seed(Path(case["database"]), case["stores"], case["categories"])}
    else:
        figures = asyncio.run(_plans(case))
    print(json.dumps(figures))


# -- the parent: seeds, spawns a process per case, summarises --------------------------------


def _spawn(case: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_scale", "--child", json.dumps(case)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"case {case} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def database_for(data_dir: Path, stores: int, categories: int) -> Path:
    """The seeded database for that size, generated on first use and kept for later runs."""
    path = data_dir / f"stores{stores}-weeks{HISTORY_WEEKS}-categories{categories}.db"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        print(f"seeding {path.name} ...", file=sys.stderr, flush=True)
        figures = _spawn(
            {"kind": "seed", "database": str(path), "stores": stores, "categories": categories},
            3600,
        )
        print(f"  seeded in {figures['seed_s']:.0f} s", file=sys.stderr, flush=True)
    return path


def _workflow_summary(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    cold, warm = runs[0], runs[1:]
    return {
        "stores": result["case"]["stores"],
        "hop_ms": result["case"]["hop_ms"],
        "statuses": sorted({r["status"] for r in runs}),
        "cold_s": cold["end_to_end_s"],
        "cold_agents_s": cold["agents_s"],
        "warm_s": statistics.median(r["end_to_end_s"] for r in warm) if warm else None,
        "warm_agents_s": warm[-1]["agents_s"] if warm else None,
        "peak_rss_mib": result["peak_rss_mib"],
        "load_average": result["load_average"],
    }


def _concurrent_summary(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    slowest = {
        agent: max((r["agents_s"].get(agent, 0.0) for r in runs), default=0.0)
        for agent in result["deadlines_s"]
    }
    share = max(slowest[a] / result["deadlines_s"][a] for a in slowest)
    return {
        "plans": len(runs),
        "completed": sum(r["status"] == "Completed" for r in runs),
        "wall_s": result["wall_s"],
        "slowest_agent_s": slowest,
        "deadlines_s": result["deadlines_s"],
        "worst_share_of_deadline": share,
        "peak_rss_mib": result["peak_rss_mib"],
        "load_average": result["load_average"],
    }


def _categories_summary(result: dict[str, Any]) -> dict[str, Any]:
    runs = result["runs"]
    return {
        "plans": len(runs),
        "completed": sum(r["status"] == "Completed" for r in runs),
        "plan_s": [round(r["end_to_end_s"], 2) for r in runs],
        "slowest_demand_s": max(r["agents_s"].get("demand", 0.0) for r in runs),
        "peak_rss_mib": result["peak_rss_mib"],
        "final_rss_mib": result["current_rss_mib"],
        "load_average": result["load_average"],
    }


def run(
    stores: list[int],
    hops_ms: list[int],
    warm: int = 2,
    categories_case: bool = True,
    concurrent: int = 60,
    data_dir: Path | None = None,
) -> dict[str, Any]:
    """Every requested case's figures (numbers), each measured in its own process."""
    data_dir = data_dir or Path(tempfile.gettempdir()) / "season-planning-bench-scale"
    figures: dict[str, Any] = {"workflow": [], "load_average_start": os.getloadavg()}
    for count in stores:
        database = database_for(data_dir, count, 1)
        for hop in hops_ms:
            print(f"planning {count:,} stores at {hop} ms per hop ...", file=sys.stderr, flush=True)
            case = {
                "kind": "workflow",
                "database": str(database),
                "stores": count,
                "hop_ms": hop,
                "warm": warm,
                "raise_timeouts": True,
            }
            figures["workflow"].append(_workflow_summary(_spawn(case, 3600)))
    if stores:
        largest = max(stores)
        database = database_for(data_dir, largest, 1)
        print(f"cold Demand CPU at {largest:,} stores ...", file=sys.stderr, flush=True)
        figures["demand_cpu"] = _spawn(
            {"kind": "demand_cpu", "database": str(database), "stores": largest}, 3600
        )
    if categories_case:
        database = database_for(data_dir, CATEGORY_CASE["stores"], CATEGORY_CASE["categories"])
        print("planning 10 categories x 10,000 stores ...", file=sys.stderr, flush=True)
        case = {
            "kind": "categories",
            "database": str(database),
            "hop_ms": 0,
            "raise_timeouts": True,
        }
        figures["categories"] = _categories_summary(_spawn(case, 3600))
    if concurrent:
        database = database_for(
            data_dir, CONCURRENT_SAMPLE["stores"], CONCURRENT_SAMPLE["categories"]
        )
        print(f"planning {concurrent} plans at once ...", file=sys.stderr, flush=True)
        case = {
            "kind": "concurrent",
            "database": str(database),
            "hop_ms": 0,
            "concurrent": concurrent,
            "raise_timeouts": False,
        }
        figures["concurrent"] = _concurrent_summary(_spawn(case, 3600))
    figures["load_average_end"] = os.getloadavg()
    return figures


def _agents(times: dict[str, float] | None) -> str:
    if not times:
        return "-"
    return " / ".join(f"{times.get(a, 0.0):.2f}" for a in ("demand", "inventory", "pricing"))


def print_report(figures: dict[str, Any]) -> None:
    start, end = figures["load_average_start"], figures["load_average_end"]
    print(
        f"load average (1 min) at start {start[0]:.1f}, at end {end[0]:.1f} on "
        f"{os.cpu_count()} CPUs"
    )
    if figures["workflow"]:
        print(
            f"{'stores':>7} {'hop':>6} {'cold e2e':>9} {'cold agents d/i/p':>20} "
            f"{'warm e2e':>9} {'warm agents d/i/p':>20} {'peak RSS':>9}  status"
        )
    for row in figures["workflow"]:
        warm = f"{row['warm_s']:.2f} s" if row["warm_s"] is not None else "-"
        print(
            f"{row['stores']:>7,} {row['hop_ms']:>3} ms {row['cold_s']:>7.2f} s "
            f"{_agents(row['cold_agents_s']):>20} {warm:>9} {_agents(row['warm_agents_s']):>20} "
            f"{row['peak_rss_mib']:>5.0f} MiB  {','.join(row['statuses'])}"
        )
    if "demand_cpu" in figures:
        cpu = figures["demand_cpu"]
        print(
            f"cold Demand at {cpu['stores']:,} stores, CPU seconds: context load "
            f"{cpu['load_cpu_s']:.2f} + first call {cpu['first_call_cpu_s']:.2f} = "
            f"{cpu['load_cpu_s'] + cpu['first_call_cpu_s']:.2f} (goal <= 5), after importing the "
            f"libraries {cpu['imports_cpu_s']:.2f}; second call {cpu['second_call_cpu_s']:.2f}; "
            f"peak RSS {cpu['peak_rss_mib']:.0f} MiB"
        )
    if "categories" in figures:
        cat = figures["categories"]
        print(
            f"10 categories x 10,000 stores: {cat['completed']}/{cat['plans']} completed, plans "
            f"{', '.join(f'{s:.2f}' for s in cat['plan_s'])} s, slowest Demand "
            f"{cat['slowest_demand_s']:.2f} s, peak RSS {cat['peak_rss_mib']:.0f} MiB, "
            f"after the last plan {cat['final_rss_mib']:.0f} MiB"
        )
    if "concurrent" in figures:
        par = figures["concurrent"]
        slowest = ", ".join(
            f"{agent} {seconds:.2f} s of {par['deadlines_s'][agent]:.0f} s"
            for agent, seconds in par["slowest_agent_s"].items()
        )
        print(
            f"{par['plans']} concurrent plans (50 stores): {par['completed']}/{par['plans']} "
            f"completed in {par['wall_s']:.1f} s; slowest {slowest} "
            f"(worst {par['worst_share_of_deadline']:.0%} of its deadline, goal < 50 %); "
            f"peak RSS {par['peak_rss_mib']:.0f} MiB"
        )


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stores", type=_ints, default=list(DEFAULT_STORES))
    parser.add_argument("--hops", type=_ints, default=list(DEFAULT_HOPS_MS), help="ms per hop")
    parser.add_argument("--warm", type=int, default=2, help="warm plans after the cold one")
    parser.add_argument("--no-categories", action="store_true", help="skip 10 x 10,000 stores")
    parser.add_argument("--concurrent", type=int, default=60, help="0 skips the concurrent case")
    parser.add_argument("--no-concurrent", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=None, help="where seeded databases stay")
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    figures = run(
        args.stores,
        args.hops,
        args.warm,
        not args.no_categories,
        0 if args.no_concurrent else args.concurrent,
        args.data_dir,
    )
    print_report(figures)
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
