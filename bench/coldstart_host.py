"""A fresh Functions host process for bench_coldstart: `python -m bench.coldstart_host ...`.

What a new Azure instance does before its first answer: start Python, import function_app,
index the functions, listen. It serves the app's real functions through the local host
(localdev.host.server, which imports only aiohttp and the app's light modules). The Durable client
binding comes either from `--binding` (a task hub run by the benchmark process, as the Durable
extension runs beside the worker) or, with `--durable-runtime`, from a Durable runtime inside
this process, so that activities (the agents) run here too: that is the first-workflow case.

Prints one JSON line when listening (`url`; `import_s`, the seconds `import function_app` took;
`module_at`, when this module started running, by the wall clock;
with `--durable-runtime`, `binding`, which other hosts can use to reach this task hub) and one
when stopped by SIGTERM (`max_rss_kib`: this process's peak resident memory).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable
from typing import Any

MODULE_AT = time.time()  # wall clock, comparable with the spawning process's


def peak_rss_kib() -> int:
    """This process's peak resident memory. Linux's VmHWM starts afresh at exec; ru_maxrss
    would also count the spawning process's memory, copied at fork."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _plugins(
    app: Any, binding: str | None, durable_runtime: bool
) -> tuple[Any, Callable[[], str | None]]:
    """The host's plug-ins, and what gives the binding JSON once the services have started."""
    from localdev.host.server import HostPlugins, Service

    if not durable_runtime:
        plugins = HostPlugins(durable_client=(lambda _binding: binding) if binding else None)
        return plugins, lambda: binding
    from localdev.durable import DurableRuntime
    from shared.settings import get_settings

    runtime = DurableRuntime(app, get_settings().database_url)
    plugins = HostPlugins(
        services=(Service("durable-runtime", runtime.start, runtime.stop),),
        durable_client=lambda _binding: runtime.client_binding_json(),
    )
    return plugins, runtime.client_binding_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binding", help="durableClient binding JSON of an external task hub")
    parser.add_argument(
        "--durable-runtime",
        action="store_true",
        help="run the Durable runtime (and so the activities) in this process",
    )
    args = parser.parse_args()

    # The app first, timed alone (as the worker imports it); the local host's own modules after.
    started = time.perf_counter()
    import function_app

    import_s = time.perf_counter() - started
    from localdev.host.server import LocalOptions, free_port, serve_forever

    options = LocalOptions(port=free_port())
    plugins, binding = _plugins(function_app.app, args.binding, args.durable_runtime)

    def ready(url: str) -> None:
        print(
            json.dumps(
                {"url": url, "import_s": import_s, "binding": binding(), "module_at": MODULE_AT}
            ),
            flush=True,
        )

    asyncio.run(
        serve_forever(options, functions_app=function_app.app, plugins=plugins, ready=ready)
    )
    print(json.dumps({"max_rss_kib": peak_rss_kib()}), flush=True)


if __name__ == "__main__":
    main()
