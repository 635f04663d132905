"""Attacks on what the app takes from a request, against the real local stack over HTTP.

Nothing a caller controls may shape what the app hands out or whom it takes the caller for:
- the URLs in a run's answer (Location, status_url, ...) come from PUBLIC_BASE_URL, never from
  the Host header (a forged Host would otherwise send the planner's client elsewhere);
- a principal id is compared exactly: `alice` followed by a no-break space is somebody else,
  never alice (str.strip() would make it alice).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.identity import PLANNER, principal_headers
from tests.support.live_stack import FAST_SETTINGS, LiveStack, live_stack

PUBLIC = "https://plans.example.com"
BODY = {
    "session_id": "trust",
    "parameters": {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.2,
    },
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    settings = {**FAST_SETTINGS, "PUBLIC_BASE_URL": PUBLIC}
    with live_stack(Path(tmp_path_factory.mktemp("trust")), settings) as running:
        yield running


def as_user(user_id: str) -> dict[bytes, bytes]:
    """Easy Auth's headers for `user_id`, as the UTF-8 bytes a client can send."""
    headers = principal_headers("someone", "Someone", [PLANNER])
    headers["X-MS-CLIENT-PRINCIPAL-ID"] = user_id
    return {name.encode(): value.encode() for name, value in headers.items()}


def test_urls_in_a_run_answer_never_come_from_the_host_header(stack):
    response = httpx.post(
        f"{stack.base_url}/api/orchestrator/run-workflow",
        json=BODY,
        headers={b"Host": b"evil.example.net", **as_user("alice")},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    workflow_id = body["workflow_id"]
    assert body["status_url"] == f"{PUBLIC}/api/orchestrator/workflows/{workflow_id}"
    assert response.headers["Location"] == body["status_url"]
    for key in ("status_url", "terminate_url", "events_url", "negotiate_url"):
        assert body[key].startswith(f"{PUBLIC}/api/orchestrator/"), body[key]
        assert "evil" not in body[key]


def test_a_principal_id_with_unicode_whitespace_is_not_the_same_user(stack):
    started = httpx.post(
        f"{stack.base_url}/api/orchestrator/run-workflow",
        json=BODY,
        headers=as_user("alice"),
        timeout=30,
    )
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    status_path = f"{stack.base_url}/api/orchestrator/workflows/{workflow_id}"

    assert httpx.get(status_path, headers=as_user("alice"), timeout=30).status_code == 200
    for lookalike in ("alice\u00a0", "\u2003alice", "alice\u3000"):
        me = httpx.get(f"{stack.base_url}/api/me", headers=as_user(lookalike), timeout=30)
        assert me.json()["user_id"] == lookalike
        for path in (status_path, f"{status_path}/events"):
            answer = httpx.get(path, headers=as_user(lookalike), timeout=30)
            assert answer.status_code == 404, (lookalike, path, answer.text)
