"""The whole local stack behind the host: database (seeded on first start), the Web PubSub
emulator and the Durable runtime, wired the way Core Tools + Azurite + Azure would provide them.

The app reads its configuration from the environment (as Functions does from app settings), so
the stack writes the database URL, the Web PubSub connection string and the Easy Auth marker
there before anything reads them, then drops the cached settings and publisher. The connection
string is the emulator's, with a fresh random access key on every start (never a published
constant), or `options.pubsub_connection_string` (a real service) when given, in which case no
emulator starts.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from azure.durable_functions.models.utils import http_utils

from localdev.durable import DurableRuntime
from localdev.durable.runtime import DEFAULT_ACTIVITY_WORKERS, DEFAULT_ORCHESTRATOR_WORKERS
from localdev.host.server import PROJECT_ROOT, HostPlugins, LocalOptions, Service, default_app
from localdev.sample_data import current_calendar, ensure_sample_data
from localdev.webpubsub.auth import ConnectionString, generate_access_key
from localdev.webpubsub.launch import RunningEmulator, start_emulator
from shared.data.db import get_engine
from shared.messaging.publisher import get_publisher
from shared.settings import Settings, get_settings

logger = logging.getLogger(__name__)

PUBSUB_SETTING = "WebPubSubConnectionString"
EASY_AUTH_SETTING = "WEBSITE_AUTH_ENABLED"
STACK_ENVIRONMENT = ("DATABASE_URL", PUBSUB_SETTING, EASY_AUTH_SETTING)
"""What `local_stack` writes into the environment (for whoever must restore it)."""


def _configure_environment(options: LocalOptions) -> None:
    """DATABASE_URL; the Web PubSub connection string; WEBSITE_AUTH_ENABLED, because the host
    plays App Service Authentication (it decides who the caller is), as the platform says when
    Easy Auth is on."""
    if options.database_url:
        os.environ["DATABASE_URL"] = options.database_url
    if options.pubsub_connection_string:
        os.environ[PUBSUB_SETTING] = options.pubsub_connection_string
    else:
        os.environ[PUBSUB_SETTING] = (
            f"Endpoint=http://{options.host}:{options.pubsub_port};"
            f"AccessKey={generate_access_key()};Version=1.0;"
        )
    os.environ[EASY_AUTH_SETTING] = "True"
    get_settings.cache_clear()
    get_publisher.cache_clear()


def hop_delay_seconds(options: LocalOptions, settings: Settings) -> float:
    """The Durable runtime's per-hop delay: `serve --hop-delay-ms` when given, else the
    LOCAL_HOP_DELAY_MS setting."""
    chosen = settings.local_hop_delay_ms if options.hop_delay_ms is None else options.hop_delay_ms
    return chosen / 1000


def default_orchestration_version(host_json: Path) -> str | None:
    """`extensions.durableTask.defaultVersion` from host.json: what the Durable extension stamps
    new instances with (None when absent, as the extension treats it)."""
    data = json.loads(host_json.read_text(encoding="utf-8"))
    version = data.get("extensions", {}).get("durableTask", {}).get("defaultVersion")
    return str(version) if version else None


def local_stack(options: LocalOptions) -> HostPlugins:
    """Services and the durable-client binding for `python -m localdev serve` and `plan`."""
    _configure_environment(options)
    settings = get_settings()
    runtime = DurableRuntime(
        default_app(),
        settings.database_url,
        quiet_activities=frozenset({"publish_message"}),
        hop_delay_seconds=hop_delay_seconds(options, settings),
        default_version=default_orchestration_version(PROJECT_ROOT / "host.json"),
        activity_workers=options.activity_workers or DEFAULT_ACTIVITY_WORKERS,
        orchestrator_workers=options.orchestrator_workers or DEFAULT_ORCHESTRATOR_WORKERS,
    )
    emulator: list[RunningEmulator] = []

    async def seed() -> None:
        engine = get_engine(settings.database_url)
        end = options.sample_end_date or datetime.now(UTC).date()
        if ensure_sample_data(engine, **current_calendar(end)):
            # engine.url renders any password as ***
            logger.info("Created %s and loaded the sample data", engine.url)

    async def start_pubsub() -> None:
        key = ConnectionString.parse(settings.webpubsub_connection())
        emulator.append(
            await start_emulator(options.host, options.pubsub_port, access_key=key.access_key)
        )

    async def stop_pubsub() -> None:
        while emulator:
            await emulator.pop().stop()

    async def nothing() -> None:
        return None

    async def stop_durable() -> None:
        await runtime.stop()
        # The SDK's client session lives for the worker process; the embedded host ends first.
        await http_utils._close_session()

    pubsub = (
        ()
        if options.pubsub_connection_string
        else (Service("web-pubsub-emulator", start_pubsub, stop_pubsub),)
    )
    return HostPlugins(
        services=(
            Service("database", seed, nothing),
            *pubsub,
            Service("durable-runtime", runtime.start, stop_durable),
        ),
        durable_client=lambda _binding: runtime.client_binding_json(),
    )
