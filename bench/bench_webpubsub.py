"""Publish -> receive latency and fan-out throughput through the local Web PubSub emulator.

`python -m bench.bench_webpubsub [--messages 1000] [--clients 100] [--per-client 20]`

1. Latency: one browser (plain WebSocket from a negotiate URL); each message goes through the
   whole Publisher path (validate, record in SQLite, REST call with a fresh JWT, emulator
   fan-out) and the time until the browser has it is measured. The same again for the bare
   service SDK call, to show what the database write costs.
2. Fan-out: N browsers, one session each, all connected at once; 8 threads publish
   `--per-client` progress messages to every session; each browser must get exactly its own
   messages in sequence order. Reports throughput and latency, split into the publish call
   (the event-log write, queued behind the other publishing threads) and recorded -> browser
   (the send path: delivery queue, REST call, emulator, WebSocket).
3. Black hole: how long `publish` holds its caller (an agent) when the service accepts TCP and
   never answers: the database write and a queue append, never the network.
Targets: p99 < 10 ms (the specification asks < 50 ms), for the latency and the black hole.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import websockets
from websockets.sync.client import connect

from localdev.webpubsub import EmulatorThread
from orchestrator.http.negotiate import negotiate_response
from shared.data.db import dispose_engine, get_engine
from shared.messaging.publisher import Publisher, group_for
from shared.settings import Settings
from tests.support.black_hole import BlackHole

KEY = "bench-access-key-0123456789abcdefghijklmnopq"
P99_TARGET_MS = 10.0

BENCH_OWNER = "bench-planner"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _stats(latencies_s: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in latencies_s]
    return {
        "n": len(ms),
        "p50_ms": _pct(ms, 0.5),
        "p99_ms": _pct(ms, 0.99),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


def _summary(name: str, stats: dict[str, float]) -> None:
    print(
        f"{name:<42} n={stats['n']:>5}  p50={stats['p50_ms']:6.2f} ms  "
        f"p99={stats['p99_ms']:6.2f} ms  max={stats['max_ms']:6.2f} ms  "
        f"mean={stats['mean_ms']:6.2f} ms"
    )


def _wait_member(emu, hub: str, group: str) -> None:
    deadline = time.monotonic() + 5
    while not emu.emulator.hub(hub).group_connections(group) and time.monotonic() < deadline:
        time.sleep(0.005)


def latency(emu, publisher: Publisher, settings: Settings, messages: int) -> dict[str, Any]:
    url = negotiate_response("bench-latency", BENCH_OWNER, settings)["url"]
    group = group_for("bench-latency", owner_id=BENCH_OWNER)
    with connect(url, open_timeout=5) as ws:
        _wait_member(emu, settings.webpubsub_hub, group)
        through_publisher, through_sdk = [], []
        for i in range(messages):
            started = time.perf_counter()
            publisher.publish(  # each message new to the log: 100 rising steps per workflow
                {
                    "type": "progress",
                    "agent_name": "Demand Agent",
                    "progress": i % 100 + 1,
                    "message": f"step {i}",
                },
                session_id="bench-latency",
                workflow_id=f"bench-latency-{i // 100}",
                owner_id=BENCH_OWNER,
            )
            json.loads(ws.recv(timeout=5))
            through_publisher.append(time.perf_counter() - started)
        client = publisher.service_client
        for i in range(messages):
            started = time.perf_counter()
            client.send_to_group(group, message={"i": i}, content_type="application/json")
            ws.recv(timeout=5)
            through_sdk.append(time.perf_counter() - started)
    return {"publisher": _stats(through_publisher), "sdk": _stats(through_sdk)}


async def _browsers(urls: list[str], expected: int, received: dict, ready: threading.Event):
    async def browser(index: int, url: str) -> None:
        async with websockets.connect(url, open_timeout=10) as ws:
            ready_count.append(index)
            if len(ready_count) == len(urls):
                ready.set()
            for _ in range(expected):
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                received[index].append((time.perf_counter(), message))

    ready_count: list[int] = []
    await asyncio.gather(*(browser(i, u) for i, u in enumerate(urls)))


def fan_out(
    emu, publisher: Publisher, settings: Settings, clients: int, per_client: int
) -> dict[str, Any]:
    sessions = [f"bench-s{i}" for i in range(clients)]
    urls = [negotiate_response(s, BENCH_OWNER, settings)["url"] for s in sessions]
    received: dict[int, list] = {i: [] for i in range(clients)}
    ready = threading.Event()
    loop_thread = threading.Thread(
        target=lambda: asyncio.run(_browsers(urls, per_client, received, ready)), daemon=True
    )
    loop_thread.start()
    ready.wait(30)
    for s in sessions:
        _wait_member(emu, settings.webpubsub_hub, group_for(s, owner_id=BENCH_OWNER))
    sent_at: dict[tuple[str, int], float] = {}
    recorded_at: dict[tuple[str, int], float] = {}

    def publish_session(index: int) -> None:
        for step in range(per_client):
            started = time.perf_counter()
            event = publisher.publish(
                {
                    "type": "progress",
                    "agent_name": "Pricing Agent",
                    "progress": step,
                    "message": f"session {index}",
                },
                session_id=sessions[index],
                workflow_id=f"bench-wf-{index}",
                owner_id=BENCH_OWNER,
            )
            if event.sequence is None:
                raise RuntimeError(f"session {index}'s progress was not recorded")
            sent_at[(sessions[index], event.sequence)] = started
            recorded_at[(sessions[index], event.sequence)] = time.perf_counter()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(publish_session, range(clients)))
    loop_thread.join(60)
    elapsed = time.perf_counter() - started
    latencies, recording, delivering, wrong = [], [], [], 0
    for index, items in received.items():
        for got_at, message in items:
            if message["session_id"] != sessions[index]:
                wrong += 1
            key = (message["session_id"], message["sequence"])
            latencies.append(got_at - sent_at[key])
            recording.append(recorded_at[key] - sent_at[key])
            delivering.append(got_at - recorded_at[key])
        if [m["sequence"] for _, m in items] != list(range(1, per_client + 1)):
            wrong += 1
    total = sum(len(items) for items in received.values())
    return {
        "clients": clients,
        "per_client": per_client,
        "delivered": total,
        "expected": clients * per_client,
        "misrouted_or_out_of_order": wrong,
        "messages_per_s": total / elapsed,
        "seconds": elapsed,
        "latency": _stats(latencies),
        # Where the time goes: the publish call (event-log write, behind the other publishing
        # threads), then the send path (queue, REST call, emulator, WebSocket).
        "recording": _stats(recording),
        "delivering": _stats(delivering),
    }


def held_by_black_hole(db_url: str, messages: int) -> dict[str, float]:
    """How long each `publish` call takes while Web PubSub black-holes every request."""
    held = []
    with BlackHole() as hole:
        settings = Settings(
            database_url=db_url, webpubsub_connection_string=hole.connection_string(KEY)
        )
        publisher = Publisher(settings, get_engine(db_url))
        for i in range(messages):
            started = time.perf_counter()
            publisher.publish(
                {
                    "type": "progress",
                    "agent_name": "Pricing Agent",
                    "progress": i % 100 + 1,
                    "message": f"step {i}",
                },
                session_id="bench-hole",
                workflow_id=f"bench-hole-{i // 100}",
                owner_id=BENCH_OWNER,
            )
            held.append(time.perf_counter() - started)
        publisher.close()
    return _stats(held)


def run(messages: int = 1000, clients: int = 100, per_client: int = 20) -> dict[str, Any]:
    """Latency (through the Publisher and the bare SDK) and fan-out figures, as numbers."""
    with tempfile.TemporaryDirectory() as tmp, EmulatorThread(access_key=KEY) as emu:
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = Settings(database_url=db_url, webpubsub_connection_string=emu.connection_string)
        publisher = Publisher(settings, get_engine(db_url))
        try:
            figures = latency(emu, publisher, settings, messages)
            figures["fan_out"] = fan_out(emu, publisher, settings, clients, per_client)
            figures["black_hole"] = held_by_black_hole(db_url, min(messages, 300))
        finally:
            publisher.close()
            dispose_engine(db_url)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--per-client", type=int, default=20)
    args = parser.parse_args()
    figures = run(args.messages, args.clients, args.per_client)
    _summary("Publisher.publish -> browser (with DB)", figures["publisher"])
    _summary("service SDK send_to_group -> browser", figures["sdk"])
    fan = figures["fan_out"]
    print(
        f"fan-out: {fan['clients']} browsers x {fan['per_client']} messages = {fan['delivered']} "
        f"delivered (expected {fan['expected']}), "
        f"misrouted/out-of-order={fan['misrouted_or_out_of_order']}, "
        f"{fan['messages_per_s']:,.0f} msg/s over {fan['seconds']:.2f} s"
    )
    _summary(f"publish -> own browser ({fan['clients']} concurrent)", fan["latency"])
    _summary("  of which the publish call (log write)", fan["recording"])
    _summary("  of which recorded -> browser (send path)", fan["delivering"])
    _summary("publish call, black-holed Web PubSub", figures["black_hole"])


if __name__ == "__main__":
    main()
