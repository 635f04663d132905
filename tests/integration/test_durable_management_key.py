"""Another local process attacks the local Durable runtime's management port.

`python -m localdev serve` runs in its own process; the test plays a local process of another
user: it finds the runtime's loopback port the way any process can (the stack's listening
sockets, from /proc) and calls the Durable HTTP API there to read a planner's instance input,
terminate the run and start a forged orchestration. Without the runtime's system key (generated
per start, handed to the host in memory, never printed) every call is refused with 401, as the
Functions host refuses a webhook call without its system key; the planner's run completes.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from localdev.host.server import free_port
from orchestrator.workflow import ORCHESTRATOR_NAME
from tests.support.serve_process import ServeProcess, serving
from tests.support.workflow_http import wait_finished

WEBHOOK = "/runtime/webhooks/durabletask"
BODY = {
    "session_id": "victim",
    "parameters": {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.2,
    },
}


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on, as /proc shows them to any local process."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def runtime_port(served: ServeProcess, pubsub_port: int) -> int:
    """The stack's one listening port that is neither the host's nor the emulator's."""
    host_port = int(served.base_url.rsplit(":", 1)[1])
    (port,) = listening_ports(served.process.pid) - {host_port, pubsub_port}
    return port


@pytest.fixture(scope="module")
def pubsub_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, pubsub_port: int):
    directory = tmp_path_factory.mktemp("durable-key")
    database = f"sqlite:///{directory / 'stack.db'}"
    with serving(directory, database, pubsub_port=pubsub_port) as running:
        yield running


@pytest.mark.parametrize("code", [None, "wrong-key"], ids=["no-key", "wrong-key"])
def test_the_management_port_refuses_every_call_without_the_system_key(served, pubsub_port, code):
    started = httpx.post(f"{served.base_url}/api/orchestrator/run-workflow", json=BODY, timeout=30)
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    runtime = f"http://127.0.0.1:{runtime_port(served, pubsub_port)}"
    key = {} if code is None else {"code": code}

    for path in (f"{WEBHOOK}/instances/{workflow_id}", f"/durabletask/instances/{workflow_id}"):
        read = httpx.get(f"{runtime}{path}", params={"showInput": "true", **key}, timeout=10)
        assert read.status_code in (401, 404), read.text
        assert "owner_id" not in read.text and "parameters" not in read.text
    if code is not None:
        read = httpx.get(f"{runtime}/durabletask/{code}/instances/{workflow_id}", timeout=10)
        assert read.status_code == 401
    for path in (
        f"{WEBHOOK}/instances/{workflow_id}/terminate",
        f"/durabletask/{code}/instances/{workflow_id}/terminate",
    ):
        terminate = httpx.post(f"{runtime}{path}", params={"reason": "x", **key}, timeout=10)
        assert terminate.status_code == 401
    forged = httpx.post(
        f"{runtime}{WEBHOOK}/orchestrators/{ORCHESTRATOR_NAME}", params=key, json="{}", timeout=10
    )
    assert forged.status_code == 401

    status = wait_finished(served.base_url, workflow_id, 120, poll=0.25)
    assert status["runtime_status"] == "Completed"
    log = served.log_text()
    assert "code=" not in log and "/durabletask/" not in log
