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
    LocalDeveloper,
    LocalOptions,
    PluginFactory,
    serve_forever,
)
from localdev.stack import local_stack

PLUGINS: PluginFactory = local_stack
HELP = "serve the app on localhost with the Durable runtime, Web PubSub emulator and sample data"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Functions host port")
    parser.add_argument(
        "--pubsub-port", type=int, default=DEFAULT_PUBSUB_PORT, help="Web PubSub emulator port"
    )
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: settings)")
    parser.add_argument(
        "--user-id",
        default=LocalDeveloper.user_id,
        help="who a request without X-MS-CLIENT-PRINCIPAL headers is signed in as",
    )
    parser.add_argument("--user-name", default=LocalDeveloper.name, help="that user's name")
    parser.add_argument(
        "--no-default-user",
        action="store_true",
        help="sign nobody in by default: requests without principal headers get 401",
    )


def main(args: argparse.Namespace, plugins: PluginFactory | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    developer = None if args.no_default_user else LocalDeveloper(args.user_id, args.user_name)
    options = LocalOptions(
        host=args.host,
        port=args.port,
        pubsub_port=args.pubsub_port,
        database_url=args.database_url,
        developer=developer,
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
