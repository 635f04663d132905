"""Suite-wide isolation, the PostgreSQL fixtures, and loud reporting of real-component skips.

The Durable SDK keeps one process-wide aiohttp session (as the Functions worker, with its one
event loop, expects). Tests run on many event loops, so a test never inherits a session bound to
a loop that an earlier test already closed.

HTTP functions called in-process run as under Core Tools with `local.settings.json` copied from
the example: no Easy Auth in front, and a request without principal headers is the developer
LOCAL_DEVELOPER_ID names. (The live stack plays Easy Auth instead; see
tests/support/live_stack.py.)

Test tiers: every test under tests/integration/ carries the `integration` marker (added here,
by path); `make test-fast` runs the rest, `make test` everything.

A real-component test (PostgreSQL, Chromium: see tests/support/real_components.py) that skips is
listed under a banner at the end of the run, and fails the run when CI=true.
"""

import asyncio
import os
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from azure.durable_functions.models.utils import http_utils
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.data.context import clear_context_cache
from shared.data.db import dispose_engine
from tests.support.postgres import COMPONENT as POSTGRES
from tests.support.postgres import postgres_server
from tests.support.real_components import (
    MARKER,
    MissingComponent,
    describe_skip,
    is_ci,
    summary_lines,
)

MISSING = pytest.StashKey[list[MissingComponent]]()
POSTGRES_FIXTURES = ("postgres_server_url", "postgres_url")

os.environ.setdefault("LOCAL_DEVELOPER_ID", "local-developer")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Drop the Durable SDK's process-wide HTTP session once its event loop has closed: each
    async test has a loop of its own (a worker has one). A hook rather than an autouse fixture,
    because module-scoped fixtures (a whole stack) are set up before any function fixture."""
    session = http_utils._client_session
    if session is not None and (session.closed or session._loop.is_closed()):
        session.detach()
        http_utils._client_session = None
        http_utils._session_lock = asyncio.Lock()


@pytest.fixture
async def runtime(tmp_path):
    """The local Durable runtime over the test app (real orchestrator, scripted activities)."""
    from localdev.durable import DurableRuntime
    from tests.support.durable_app import SCRIPT, app

    SCRIPT.reset()
    rt = DurableRuntime(app, f"sqlite:///{tmp_path}/hub.db")
    await rt.start()
    yield rt
    await rt.stop()
    SCRIPT.reset()


# ------------------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """One throwaway PostgreSQL server for the whole run (tests/support/postgres.py); its admin
    URL."""
    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the run's PostgreSQL server, dropped (connections and all)
    after the test; the app's engine and context caches for it are released first."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database_url = (
        make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    )
    try:
        yield database_url
    finally:
        clear_context_cache()
        dispose_engine(database_url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


# ------------------------------------------------------------------------- real components


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name): needs a real component (PostgreSQL, Chromium); skipping it is "
        "reported at the end of the run and fails the run when CI=true",
    )
    config.stash[MISSING] = []


INTEGRATION_TIER = Path(__file__).resolve().parent / "integration"
"""The slower tier (the whole local stack, real components): its tests carry the `integration`
marker by where they live, so `-m "not integration"` (make test-fast) leaves them out and no
test has to remember a decorator."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(INTEGRATION_TIER):
            item.add_marker(pytest.mark.integration)
        fixtures = getattr(item, "fixturenames", ())
        uses_postgres = any(f in fixtures for f in POSTGRES_FIXTURES)
        if uses_postgres and item.get_closest_marker(MARKER) is None:
            item.add_marker(pytest.mark.real_component(POSTGRES))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        marker = item.get_closest_marker(MARKER)
        described = describe_skip(marker.args[0] if marker else None, reason)
        if described is not None:
            component, why = described
            item.config.stash[MISSING].append(MissingComponent(component, item.nodeid, why))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    if session.config.stash[MISSING] and is_ci() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    missing = config.stash[MISSING]
    if not missing:
        return
    terminalreporter.write_sep("!", "REAL COMPONENTS MISSING: TESTS SKIPPED", red=True, bold=True)
    for line in summary_lines(missing, is_ci()):
        terminalreporter.write_line(line, red=True, bold=True)
    terminalreporter.write_sep("!", red=True, bold=True)
