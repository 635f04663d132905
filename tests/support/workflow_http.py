"""A workflow watched from outside, over the app's public HTTP API, as an operator would.

Shared by the fault suites, which drive a running stack (in this process or in its own) and
judge it only by what its status and events endpoints answer.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from shared.runtime_status import FINISHED


def status_of(
    base_url: str, workflow_id: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The workflow's status, asked as the caller `headers` sign in (the default user without)."""
    response = httpx.get(
        f"{base_url}/api/orchestrator/workflows/{workflow_id}", headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def wait_finished(
    base_url: str,
    workflow_id: str,
    timeout: float,
    poll: float = 0.1,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The status once the runtime reports a final state; fails the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = status_of(base_url, workflow_id, headers)
        if status["runtime_status"] in FINISHED:
            return status
        time.sleep(poll)
    last = status_of(base_url, workflow_id, headers)
    raise AssertionError(f"workflow {workflow_id} not finished in {timeout} s: {last}")


def events_of(base_url: str, workflow_id: str) -> list[dict[str, Any]]:
    """Every logged event of the workflow, following the endpoint's pages."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        response = httpx.get(
            f"{base_url}/api/orchestrator/workflows/{workflow_id}/events",
            params={"after": after},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        events += page["events"]
        after = page["last_sequence"]
        if not page["has_more"]:
            return events
