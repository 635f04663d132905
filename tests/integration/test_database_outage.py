"""A locked or unreachable database gets a fast, honest answer, and clients retry as told.

The stack is `python -m localdev serve` in its own process, driven over HTTP as a client would.
- SQLite write-locked by another connection (BEGIN IMMEDIATE): every endpoint that must write
  answers 503 DATABASE_UNAVAILABLE with Retry-After within a few seconds (it used to hang for the
  15 s busy timeout and then answer 500 CONTEXT_ASSEMBLY_ERROR); reads go on answering (SQLite's
  WAL lets readers past a writer). The command-line planner, started while the lock is held,
  retries after Retry-After and completes its plan once the lock goes.
- PostgreSQL refusing connections: every endpoint that touches the database answers 503 with
  Retry-After, never a 500; a black-holed PostgreSQL host (accepts TCP, never answers) too,
  within seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

import function_app
from localdev.cli.planner import run_plan
from orchestrator.http.dependencies import overridden
from shared.data.context import clear_context_cache
from shared.data.db import dispose_engine, get_engine
from shared.settings import Settings
from tests.support.black_hole import BlackHole
from tests.support.errors import assert_error
from tests.support.functions import call_http
from tests.support.postgres import postgres_server
from tests.support.serve_process import ServeProcess, serving
from tests.support.sqlite_lock import hold_sqlite_write_lock, write_locked
from tests.support.workflow_http import wait_finished

# Well under SQLite's 15 s busy timeout: the request's own lock wait (HTTP_DATABASE_WAIT_MS, 2 s)
# plus a loaded machine's slack.
FAST_ANSWER_SECONDS = 6.0
STRATEGY = "Spring denim, 12 weeks from March 3 2025, weekly replenishment, hold back 45%"
BODY = {
    "session_id": "outage",
    "parameters": {
        "forecast_horizon_weeks": 12,
        "season_start_date": "2025-01-01",
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.2,
    },
}
STORES = (
    "store_id,store_name,region,store_size_sqft,location_tier,median_income,store_format\n"
    "S900,Harbour,North,1000,A,50000,mall\n"
)


def timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def assert_busy(response: httpx.Response, seconds: float) -> None:
    assert_error(response, 503, "DATABASE_UNAVAILABLE")
    assert int(response.headers["Retry-After"]) > 0
    assert seconds < FAST_ANSWER_SECONDS, seconds


@pytest.fixture(scope="module")
def sqlite_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, Path]]:
    directory = tmp_path_factory.mktemp("outage")
    database = directory / "stack.db"
    with serving(directory, f"sqlite:///{database}") as served:
        yield served, database


def test_a_write_locked_sqlite_is_a_fast_503_with_retry_after(sqlite_stack):
    served, database = sqlite_stack
    api = httpx.Client(base_url=f"{served.base_url}/api", timeout=30)
    started = api.post("/orchestrator/run-workflow", json=BODY)
    assert started.status_code == 202, started.text
    workflow_id = started.json()["workflow_id"]
    status = wait_finished(served.base_url, workflow_id, 120, poll=0.2)
    assert status["runtime_status"] == "Completed", status

    with write_locked(database):
        assert_busy(*timed(lambda: api.post("/orchestrator/run-workflow", json=BODY)))
        assert_busy(
            *timed(
                lambda: api.post(
                    "/data/import", files={"stores": ("stores.csv", STORES, "text/csv")}
                )
            )
        )
        for path in (  # reads pass a writer
            f"/orchestrator/workflows/{workflow_id}",
            f"/orchestrator/workflows/{workflow_id}/events",
            f"/forecasts/{workflow_id}",
            "/categories",
        ):
            response, seconds = timed(lambda path=path: api.get(path))
            assert response.status_code == 200, (path, response.text)
            assert seconds < FAST_ANSWER_SECONDS
    assert "Traceback" not in served.log_text()


def test_the_planner_started_during_a_lock_retries_as_told_and_completes(sqlite_stack):
    served, database = sqlite_stack
    holder = hold_sqlite_write_lock(database, 8.0)
    try:
        outcome = asyncio.run(run_plan(served.base_url, STRATEGY, timeout=120, poll_interval=0.5))
    finally:
        holder.join()
    assert outcome.status == "completed", outcome.error
    assert "503 DATABASE_UNAVAILABLE" in served.log_text()  # it did meet the lock


def refuse_connections(database_url: str) -> None:
    """The server stops taking connections to the app's database and drops the open ones (as
    when it is down or failing over): every statement the stack sends meets a closed door."""
    admin = database_url.rsplit("/", 1)[0] + "/template1"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ALTER DATABASE postgres WITH ALLOW_CONNECTIONS false"))
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = 'postgres'"
            )
        )
    engine.dispose()


def test_an_unreachable_postgresql_is_a_503_on_every_endpoint(tmp_path):
    with postgres_server() as database_url:
        stopped = False
        with serving(tmp_path, database_url) as served:
            api = httpx.Client(base_url=f"{served.base_url}/api", timeout=30)
            started = api.post("/orchestrator/run-workflow", json=BODY)
            assert started.status_code == 202, started.text
            workflow_id = started.json()["workflow_id"]
            refuse_connections(database_url)
            stopped = True
            for method, path, kwargs in (
                ("POST", "/orchestrator/run-workflow", {"json": BODY}),
                ("GET", f"/orchestrator/workflows/{workflow_id}/events", {}),
                ("GET", f"/forecasts/{workflow_id}", {}),
                ("GET", "/stores/clusters", {}),
                ("GET", "/categories", {}),
                ("POST", "/data/import", {"files": {"stores": ("s.csv", STORES, "text/csv")}}),
            ):
                response, seconds = timed(lambda m=method, p=path, k=kwargs: api.request(m, p, **k))
                assert_busy(response, seconds)
        assert stopped


def test_a_black_holed_database_server_is_a_503_in_seconds_not_a_hang():
    """A PostgreSQL host that accepts TCP and never answers (a dead server behind a firewall):
    the request's connect gives up within its wait instead of waiting for the OS's TCP timeout."""
    with BlackHole() as hole:
        url = f"postgresql+psycopg://app@127.0.0.1:{hole.port}/postgres"
        try:
            with overridden(settings=Settings(database_url=url)):
                response, seconds = timed(lambda: call_http(function_app.app, "list_categories"))
            assert_busy(response, seconds)
        finally:
            clear_context_cache(get_engine(url))
            dispose_engine(url)
