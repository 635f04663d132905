"""Starting the emulator: inside a running event loop, or on a background thread for sync code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from localdev.webpubsub.entra import EntraTrust
from localdev.webpubsub.server import Emulator

T = TypeVar("T")


@dataclass
class RunningEmulator:
    """A started emulator: where it listens and how the app connects to it."""

    emulator: Emulator
    runner: web.AppRunner
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connection_string(self) -> str:
        return f"Endpoint={self.endpoint};AccessKey={self.emulator.access_key};Version=1.0;"

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_emulator(
    host: str = "127.0.0.1", port: int = 0, *, access_key: str, entra: EntraTrust | None = None
) -> RunningEmulator:
    """Serve the emulator on `host:port` (0 picks a free port) in the current event loop;
    `entra` also admits Microsoft Entra tokens from that issuer on the REST API."""
    emulator = Emulator(access_key, entra)
    runner = web.AppRunner(
        emulator.build_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return RunningEmulator(emulator=emulator, runner=runner, host=host, port=bound_port)


class EmulatorThread:
    """The emulator on its own thread and loop, for synchronous tests and hosts.

    `with EmulatorThread(access_key=...) as emu:` gives a started `RunningEmulator`-like object;
    leaving the block stops the server and joins the thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_key: str,
        entra: EntraTrust | None = None,
    ) -> None:
        self._host, self._port, self._access_key = host, port, access_key
        self._entra = entra
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, daemon=True, name="webpubsub"
        )
        self.running: RunningEmulator | None = None

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the emulator's loop (the only safe way to touch its state)."""
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> RunningEmulator:
        self._thread.start()
        self.running = self.call(
            start_emulator(self._host, self._port, access_key=self._access_key, entra=self._entra)
        )
        return self.running

    def stop(self) -> None:
        if self.running is not None:
            self.call(self.running.stop())
            self.running = None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
