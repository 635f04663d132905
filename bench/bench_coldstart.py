"""Cold start: `python -m bench.bench_coldstart [--runs N] [--repeats R]`.

What a new instance pays before it answers, each measured in fresh processes:

1. Import: `import function_app` against the SDK floor (`import azure.functions,
   azure.durable_functions`), N of each, interleaved, timed inside the interpreter (wall clock
   and CPU time, which a loaded machine does not stretch); the median difference is the app's
   own cost (target <= 0.5 s), plus which heavy libraries the import loaded (none expected) and
   each process's peak memory.
2. First HTTP answer: a fresh host process (bench/coldstart_host.py: Python start, import,
   index, listen) gets one request per route; the time from spawning it to the answer arrives
   (target <= 1.5 s for extraction with the rules extractor, negotiate and status; categories
   is reported: it loads the data layer) and the CPU time the process used until then. Median
   of R processes per route.
3. First workflow: a fresh host process with the Durable runtime inside (so the agents run in
   it) gets run-workflow for the specification's example and is polled until Completed; then a
   second workflow in the same, now warm, process. Peak memory of that process.
4. Deployed dependency set: the distributions requirements.txt installs (its closure, read from
   the installed distributions' metadata and RECORD files), their size on disk, the largest, and
   which requirement pulls each in (pyarrow: statsforecast -> fugue -> triad).

Everything runs against a temporary SQLite database seeded with the default sample and the Web
PubSub emulator; the benchmark process itself plays the part of the platform (storage, Web
PubSub, the client).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
IMPORT_TARGET_S = 0.5
FIRST_ANSWER_TARGET_S = 1.5
HEAVY = ("statsforecast", "statsmodels", "scipy", "sklearn", "pandas", "numpy", "openai", "pyarrow")
FLOOR = "import azure.functions, azure.durable_functions"
APP = "import function_app"
SPEC_TEXT = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)
PUBSUB_KEY = "bench-coldstart-access-key-0123456789abcdefg"
READY_TIMEOUT_S = 60.0
WORKFLOW_TIMEOUT_S = 300.0
TARGETED_ROUTES = ("extract", "negotiate", "status")


# -- 1. import -------------------------------------------------------------------------------


def _probe(statement: str) -> dict[str, Any]:
    """Run `statement` in a fresh interpreter: seconds it took, peak RSS, heavy modules."""
    code = (
        "import time, sys, json\n"
        "t, c = time.perf_counter(), time.process_time()\n"
        f"{statement}\n"
        "s, cpu = time.perf_counter() - t, time.process_time() - c\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "from bench.coldstart_host import peak_rss_kib\n"
        "print(json.dumps({'s': s, 'cpu_s': cpu, 'rss_kib': peak_rss_kib(), 'heavy': heavy}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=_env({}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.splitlines()[-1])


def import_cost(runs: int) -> dict[str, Any]:
    """Floor and app imports, interleaved so both see the same machine load."""
    floor, app = [], []
    for _ in range(runs):
        floor.append(_probe(FLOOR))
        app.append(_probe(APP))
    floor_s = statistics.median(p["s"] for p in floor)
    app_s = statistics.median(p["s"] for p in app)
    floor_cpu_s = statistics.median(p["cpu_s"] for p in floor)
    app_cpu_s = statistics.median(p["cpu_s"] for p in app)
    return {
        "runs": runs,
        "floor_s": floor_s,
        "app_s": app_s,
        "overhead_s": app_s - floor_s,
        "floor_cpu_s": floor_cpu_s,
        "app_cpu_s": app_cpu_s,
        "overhead_cpu_s": app_cpu_s - floor_cpu_s,
        "heavy_loaded": sorted({m for p in app for m in p["heavy"]}),
        "floor_rss_mib": statistics.median(p["rss_kib"] for p in floor) / 1024,
        "app_rss_mib": statistics.median(p["rss_kib"] for p in app) / 1024,
    }


# -- fresh host processes --------------------------------------------------------------------


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "EXTRACTOR": "rules", **extra}


@dataclass
class Host:
    """A running bench/coldstart_host.py process."""

    process: subprocess.Popen[str]
    spawned: float
    ready_s: float
    startup_s: float
    url: str
    import_s: float
    binding: str | None

    def stop(self) -> float:
        """SIGTERM, wait, and return the process's peak memory in MiB."""
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        last = json.loads(out.strip().splitlines()[-1])
        return last["max_rss_kib"] / 1024


def start_host(env: dict[str, str], *args: str) -> Host:
    spawned, spawned_at = time.perf_counter(), time.time()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.coldstart_host", *args],
        cwd=ROOT,
        env=_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    ready_s = time.perf_counter() - spawned
    if not line:
        process.kill()
        raise RuntimeError(f"coldstart_host did not start (exit {process.wait()})")
    ready = json.loads(line)
    return Host(
        process,
        spawned,
        ready_s,
        ready["module_at"] - spawned_at,
        ready["url"],
        ready["import_s"],
        ready["binding"],
    )


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process `pid` has used so far; a loaded machine stretches
    wall-clock times, not this. Linux /proc; NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _call(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


# -- 2. first HTTP answer --------------------------------------------------------------------


def _route_requests(workflow_id: str) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    return {
        "extract": (
            "POST",
            "/api/orchestrator/extract-parameters",
            {"strategy_description": SPEC_TEXT},
        ),
        "negotiate": ("GET", "/api/orchestrator/negotiate?session_id=bench-cold", None),
        "status": ("GET", f"/api/orchestrator/workflows/{workflow_id}", None),
        "categories": ("GET", "/api/categories", None),
    }


def first_answers(
    env: dict[str, str], binding: str, workflow_id: str, repeats: int
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for route, (method, path, body) in _route_requests(workflow_id).items():
        samples = []
        for _ in range(repeats):
            host = start_host(env, "--binding", binding)
            sent = time.perf_counter()
            status, _ = _call(method, host.url + path, body)
            answered = time.perf_counter()
            cpu_s = _cpu_s(host.process.pid)
            samples.append(
                {
                    "status": status,
                    "answer_s": answered - host.spawned,
                    "cpu_s": cpu_s,
                    "ready_s": host.ready_s,
                    "startup_s": host.startup_s,
                    "request_s": answered - sent,
                    "import_s": host.import_s,
                    "rss_mib": host.stop(),
                }
            )
        figures[route] = {
            "statuses": sorted({s["status"] for s in samples}),
            **{
                key: statistics.median(s[key] for s in samples)
                for key in (
                    "answer_s",
                    "cpu_s",
                    "ready_s",
                    "startup_s",
                    "request_s",
                    "import_s",
                    "rss_mib",
                )
            },
        }
    return figures


# -- 3. first workflow -----------------------------------------------------------------------


def _run_workflow(host: Host, parameters: dict[str, Any], session_id: str) -> dict[str, Any]:
    sent = time.perf_counter()
    status, started = _call(
        "POST",
        host.url + "/api/orchestrator/run-workflow",
        {"session_id": session_id, "parameters": parameters},
    )
    if status != 202:
        raise RuntimeError(f"run-workflow answered {status}: {started}")
    workflow_id = started["workflow_id"]
    deadline = sent + WORKFLOW_TIMEOUT_S
    while time.perf_counter() < deadline:
        _, body = _call("GET", f"{host.url}/api/orchestrator/workflows/{workflow_id}")
        if body.get("runtime_status") not in ("Pending", "Running"):
            break
        time.sleep(0.02)
    done = time.perf_counter()
    return {
        "workflow_id": workflow_id,
        "runtime_status": body.get("runtime_status"),
        "workflow_s": done - sent,
        "since_spawn_s": done - host.spawned,
        "cpu_since_spawn_s": _cpu_s(host.process.pid),
    }


# -- 4. deployed dependency set --------------------------------------------------------------


def _requirements(path: Path) -> list[Requirement]:
    found = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            found.append(Requirement(line))
    return found


def _dist_size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or ():
        try:
            total += Path(str(dist.locate_file(file))).stat().st_size
        except OSError:
            continue
    return total


def deployed_set(requirements: Path = ROOT / "requirements.txt") -> dict[str, Any]:
    """The closure of `requirements` over the installed distributions, with sizes and, for each
    distribution, the chain of requirements that brings it in."""
    via: dict[str, list[str]] = {}
    dists: dict[str, metadata.Distribution] = {}
    pending: list[tuple[Requirement, list[str]]] = [
        (req, [canonicalize_name(req.name)]) for req in _requirements(requirements)
    ]
    while pending:
        req, chain = pending.pop(0)
        name = canonicalize_name(req.name)
        if name in dists:
            continue
        dist = metadata.distribution(req.name)
        dists[name], via[name] = dist, chain
        for spec in dist.requires or ():
            child = Requirement(spec)
            extras = ["", *sorted(req.extras)]
            if child.marker is None or any(child.marker.evaluate({"extra": e}) for e in extras):
                pending.append((child, [*chain, canonicalize_name(child.name)]))
    sizes = {name: _dist_size(dist) for name, dist in dists.items()}
    largest = sorted(sizes, key=sizes.__getitem__, reverse=True)
    return {
        "distributions": len(dists),
        "total_mb": sum(sizes.values()) / 1e6,
        "largest": [
            {"name": n, "mb": sizes[n] / 1e6, "via": " -> ".join(via[n])} for n in largest[:10]
        ],
    }


# -- the whole run ---------------------------------------------------------------------------


@contextmanager
def _platform(directory: Path) -> Iterator[dict[str, str]]:
    """A seeded database and the Web PubSub emulator; yields the app settings for hosts. The
    hosts sign requests in as the local developer (principal headers, as App Service
    Authentication would), so the app is told it runs behind it, as `local_stack` tells it."""
    from localdev.sample_data import generate_sample, load_sample
    from localdev.stack import EASY_AUTH_SETTING, PUBSUB_SETTING
    from localdev.webpubsub import EmulatorThread
    from shared.data.db import dispose_engine, get_engine

    url = f"sqlite:///{directory / 'coldstart.db'}"
    load_sample(get_engine(url), generate_sample())
    dispose_engine(url)
    with EmulatorThread(access_key=PUBSUB_KEY) as emulator:
        yield {
            "DATABASE_URL": url,
            PUBSUB_SETTING: emulator.connection_string,
            EASY_AUTH_SETTING: "True",
        }


def _spec_parameters() -> dict[str, Any]:
    from bench.bench_workflow import spec_parameters

    return spec_parameters().model_dump(mode="json")


def run(runs: int = 15, repeats: int = 3) -> dict[str, Any]:
    """Every figure as numbers: {"import", "first_answer", "first_workflow", "deployed"}."""
    figures: dict[str, Any] = {"load_average": os.getloadavg(), "import": import_cost(runs)}
    parameters = _spec_parameters()
    with tempfile.TemporaryDirectory() as tmp, _platform(Path(tmp)) as env:
        hub = start_host(env, "--durable-runtime")
        try:
            first = _run_workflow(hub, parameters, "bench-first")
            second = _run_workflow(hub, parameters, "bench-second")
            assert hub.binding is not None
            figures["first_answer"] = first_answers(env, hub.binding, first["workflow_id"], repeats)
        finally:
            peak = hub.stop()
        figures["first_workflow"] = {
            "ready_s": hub.ready_s,
            "import_s": hub.import_s,
            "first": first,
            "second": second,
            "rss_mib": peak,
        }
    figures["deployed"] = deployed_set()
    figures["load_average_after"] = os.getloadavg()
    return figures


def _print(figures: dict[str, Any]) -> None:
    before, after = figures["load_average"][0], figures["load_average_after"][0]
    print(
        f"Machine: {os.cpu_count()} CPUs, 1-minute load average {before:.1f} at the start, "
        f"{after:.1f} at the end (figures stretch with load)"
    )
    imp = figures["import"]
    print(f"Import (median of {imp['runs']} fresh interpreters each, interleaved):")
    print(f"  SDK floor (azure.functions + azure.durable_functions): {imp['floor_s']:.3f} s")
    print(
        f"  import function_app: {imp['app_s']:.3f} s -> the app's own cost "
        f"{imp['overhead_s']:.3f} s (target <= {IMPORT_TARGET_S} s)"
    )
    print(
        f"  CPU time (what load does not stretch): floor {imp['floor_cpu_s']:.3f} s, app "
        f"{imp['app_cpu_s']:.3f} s -> {imp['overhead_cpu_s']:.3f} s"
    )
    print(f"  heavy libraries loaded by the import: {', '.join(imp['heavy_loaded']) or 'none'}")
    print(
        f"  peak memory after the import: floor {imp['floor_rss_mib']:.0f} MiB, "
        f"app {imp['app_rss_mib']:.0f} MiB"
    )
    print("First HTTP answer of a fresh host process (spawn -> answer; median):")
    for route, f in figures["first_answer"].items():
        target = f"target <= {FIRST_ANSWER_TARGET_S} s" if route in TARGETED_ROUTES else "reported"
        print(
            f"  {route:>10}: {f['answer_s']:.3f} s ({target}), CPU {f['cpu_s']:.2f} s; "
            f"HTTP {f['statuses']}; "
            f"interpreter up {f['startup_s']:.3f} s, app imported +{f['import_s']:.3f} s, "
            f"listening at {f['ready_s']:.3f} s, request {f['request_s'] * 1000:.0f} ms; "
            f"peak {f['rss_mib']:.0f} MiB"
        )
    wf = figures["first_workflow"]
    first, second = wf["first"], wf["second"]
    print("First workflow in a fresh process (Durable runtime and agents in that process):")
    print(
        f"  listening after {wf['ready_s']:.3f} s; first workflow {first['workflow_s']:.2f} s "
        f"({first['runtime_status']}), completed {first['since_spawn_s']:.2f} s after spawn "
        f"(process CPU by then {first['cpu_since_spawn_s']:.2f} s)"
    )
    second_cpu = second["cpu_since_spawn_s"] - first["cpu_since_spawn_s"]
    print(
        f"  second workflow, same process: {second['workflow_s']:.2f} s "
        f"({second['runtime_status']}, CPU {second_cpu:.2f} s); peak memory "
        f"{wf['rss_mib']:.0f} MiB"
    )
    dep = figures["deployed"]
    print(
        f"Deployed dependency set (requirements.txt closure): {dep['distributions']} "
        f"distributions, {dep['total_mb']:.0f} MB on disk"
    )
    for item in dep["largest"]:
        print(f"  {item['mb']:7.1f} MB  {item['name']:<16} via {item['via']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per import")
    parser.add_argument("--repeats", type=int, default=3, help="fresh hosts per route")
    parser.add_argument("--json", action="store_true", help="also print every figure as JSON")
    args = parser.parse_args()
    figures = run(args.runs, args.repeats)
    _print(figures)
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
