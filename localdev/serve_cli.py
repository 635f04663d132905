"""`python -m localdev serve`: the app on localhost, as Core Tools would serve it.

The plug-ins (Durable runtime, Web PubSub emulator, database seeding) come from `PLUGINS`, the
one line that wires the whole local stack together.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from localdev.host import (
    DEFAULT_PORT,
    DEFAULT_PUBSUB_PORT,
    LocalOptions,
    PluginFactory,
    serve_forever,
)
from localdev.stack import local_stack

PLUGINS: PluginFactory = local_stack
HELP = "serve the app on localhost with the Durable runtime, Web PubSub emulator and sample data"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that log every HTTP exchange (the Azure SDK dumps request and response headers at
# INFO, about 15 lines per published message): their lines only with --verbose.
WIRE_LOGGERS = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.functions.DurableFunctions",
    "httpx",
    "openai",
    "aiohttp.access",
    "websockets",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Functions host port")
    parser.add_argument(
        "--pubsub-port", type=int, default=DEFAULT_PUBSUB_PORT, help="Web PubSub emulator port"
    )
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: settings)")
    parser.add_argument(
        "--verbose", action="store_true",
        help="log at DEBUG, including every HTTP request and the Azure SDK's wire logs",
    )


def configure_logging(verbose: bool = False) -> None:
    """One line per meaningful event at INFO (requests that change something or fail, workflow
    start and end, agent outcomes, publish failures); everything, wire logs included, with
    --verbose."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)


def main(args: argparse.Namespace, plugins: PluginFactory | None = None) -> int:
    configure_logging(getattr(args, "verbose", False))
    options = LocalOptions(
        host=args.host, port=args.port, pubsub_port=args.pubsub_port, database_url=args.database_url
    )

    def ready(url: str) -> None:
        print(f"Functions host: {url}/api/   console: {url}/   (Ctrl-C to stop)", flush=True)

    try:
        asyncio.run(serve_forever(options, plugins=(plugins or PLUGINS)(options), ready=ready))
    except OSError as exc:
        print(f"cannot start the local host: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m localdev serve")
    add_arguments(parser)
    sys.exit(main(parser.parse_args()))
