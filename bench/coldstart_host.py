"""A fresh Functions host process for bench_coldstart: `python -m bench.coldstart_host ...`.

What a new Azure instance does before its first answer: start Python, import function_app,
index the functions, listen. It serves the app's real functions through the local host
(localdev.host, which imports only aiohttp and the app's light modules). The Durable client
binding comes either from `--binding` (a task hub run by the benchmark process, as the Durable
extension runs beside the worker) or, with `--durable-runtime`, from a Durable runtime inside
this process, so that activities (the agents) run here too: that is the first-workflow case.

Prints one JSON line when listening (`url`; `import_s`, the seconds `import function_app` took;
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

import azure.functions as func

from localdev.host import HostPlugins, LocalOptions, Service, free_port, serve_forever


def _plugins(
    app: func.FunctionApp, binding: str | None, durable_runtime: bool
) -> tuple[HostPlugins, Callable[[], str | None]]:
    """The host's plug-ins, and what gives the binding JSON once the services have started."""
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
    parser.add_argument("--durable-runtime", action="store_true",
                        help="run the Durable runtime (and so the activities) in this process")
    args = parser.parse_args()

    started = time.perf_counter()
    import function_app

    import_s = time.perf_counter() - started
    options = LocalOptions(port=free_port())
    plugins, binding = _plugins(function_app.app, args.binding, args.durable_runtime)

    def ready(url: str) -> None:
        print(json.dumps({"url": url, "import_s": import_s, "binding": binding()}), flush=True)

    asyncio.run(serve_forever(options, functions_app=function_app.app, plugins=plugins, ready=ready))
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"max_rss_kib": max_rss}), flush=True)


if __name__ == "__main__":
    main()
