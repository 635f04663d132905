"""The whole local stack for integration tests: the real app behind the local host, with the
`local_stack` plug-ins (seeded SQLite database, Web PubSub emulator, Durable runtime), on free
ports, on its own event loop thread so that synchronous tests (selenium, subprocesses) and async
tests alike can talk to it over real HTTP and WebSocket.

The stack configures the app through the environment (DATABASE_URL, WebPubSubConnectionString)
and resets the cached settings and publisher, as Functions does with app settings; leaving the
context restores the environment and drops every cache built on it, so later tests see the
process as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Coroutine, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from localdev.host.server import LocalDeveloper, LocalOptions, free_port, start_host
from localdev.sample_data import (
    DEFAULT_END_DATE,
    current_calendar,
    ensure_sample_data,
    generate_sample,
)
from localdev.stack import PUBSUB_SETTING, STACK_ENVIRONMENT, local_stack
from shared.data.context import clear_context_cache
from shared.data.csv_import import write_frames
from shared.data.db import dispose_engine, get_engine
from shared.messaging.publisher import get_publisher
from shared.settings import get_settings

T = TypeVar("T")

STARTUP_SECONDS = 30.0

FAST_SETTINGS = {
    # Rules only: a developer's LLM settings must not send test strategies over the network.
    "EXTRACTOR": "rules",
    # Test-sized pauses between agent attempts (the policy itself stays 3 attempts).
    "AGENT_RETRY_INTERVAL_MS": "20",
}
# Who a request without principal headers is signed in as, unless a test says otherwise.
SIGNED_IN_DEVELOPER = LocalDeveloper()
# Where the sample history of a test stack ends: fixed, so no test depends on today's date
# (`seed` and the first `make run` end it last week).
SAMPLE_END_DATE = DEFAULT_END_DATE


def pin_sample(database_url: str) -> None:
    """Load the fixed-date sample into an empty database before a process that would seed it
    with today's calendar (a `serve` or an embedded `plan`) starts on it."""
    ensure_sample_data(get_engine(database_url), **current_calendar(SAMPLE_END_DATE))
    dispose_engine(database_url)


@dataclass(frozen=True)
class LiveStack:
    """A running stack: where it listens, its database, and its event loop."""

    base_url: str
    database_url: str
    pubsub_connection_string: str
    loop: asyncio.AbstractEventLoop

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run `coroutine` on the stack's loop (for code that must share it) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


def reset_app_caches(database_url: str) -> None:
    """Forget the settings, publisher, context cache and engine built for the stack."""
    if get_publisher.cache_info().currsize:
        get_publisher().close()
    get_publisher.cache_clear()
    get_settings.cache_clear()
    clear_context_cache(get_engine(database_url))
    dispose_engine(database_url)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    names = set(values) | set(STACK_ENVIRONMENT)
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(values)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def live_stack(
    directory: Path,
    settings: Mapping[str, str] = FAST_SETTINGS,
    developer: LocalDeveloper | None = SIGNED_IN_DEVELOPER,
    sign_in_token: str | None = None,
) -> Iterator[LiveStack]:
    """Start the stack with a fresh SQLite database in `directory`; stop it on exit.
    `developer` is who a request without principal headers is signed in as (None: 401);
    `sign_in_token` makes the host play Easy Auth as deployed (only that bearer token signs in,
    as `developer`; forged principal headers are dropped)."""
    database_url = f"sqlite:///{directory / 'stack.db'}"
    options = LocalOptions(
        port=free_port(),
        pubsub_port=free_port(),
        database_url=database_url,
        developer=developer,
        sample_end_date=SAMPLE_END_DATE,
        sign_in_token=sign_in_token,
    )
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    failure: list[BaseException] = []
    thread: threading.Thread | None = None

    async def serve() -> None:
        try:
            async with start_host(options, plugins=plugins):
                ready.set()
                await stop.wait()
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            failure.append(exc)
            ready.set()

    with _environment(settings):
        try:
            plugins = local_stack(options)
            thread = threading.Thread(
                target=loop.run_until_complete, args=(serve(),), name="live-stack", daemon=True
            )
            thread.start()
            if not ready.wait(STARTUP_SECONDS) or failure:
                raise RuntimeError(f"the local stack did not start: {failure}")
            yield LiveStack(
                base_url=options.base_url,
                database_url=database_url,
                pubsub_connection_string=os.environ[PUBSUB_SETTING],
                loop=loop,
            )
        finally:
            if thread is not None and thread.is_alive():
                loop.call_soon_threadsafe(stop.set)
                thread.join(STARTUP_SECONDS)
            loop.close()
            reset_app_caches(database_url)


def import_short_category(
    database_url: str, category_id: str, weeks: int, stores: int = 50
) -> None:
    """Add a category whose sales history (`weeks` weeks, for the first `stores` of the sample's
    stores, ending before the sample's end date) is too short to forecast: real data that makes
    the Demand agent fail."""
    sample = generate_sample(stores=stores, weeks=weeks, categories=1)
    original = sample.categories["category_id"].iloc[0]
    categories = sample.categories.assign(category_id=category_id, name=f"{category_id} (short)")
    sales = sample.sales.assign(
        category_id=sample.sales["category_id"].replace({original: category_id})
    )
    write_frames(get_engine(database_url), categories=categories, sales=sales)
