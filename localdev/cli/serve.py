"""`python -m localdev serve`: the app on localhost, as Core Tools would serve it.

The plug-ins (Durable runtime, Web PubSub emulator, database seeding) come from `PLUGINS`, the
one line that wires the whole local stack together. When `WebPubSubConnectionString` is set in
the environment (a real Azure Web PubSub, or an emulator started elsewhere), the app publishes
there and no emulator starts; `FUNCTIONS_REQUEST_BODY_SIZE_LIMIT` sets the host's body limit as
it does on Azure.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import sys
from collections.abc import Mapping
from typing import TextIO
from urllib.parse import urlsplit

from localdev.cli.ports import bind_failure
from localdev.host.server import (
    BODY_SIZE_SETTING,
    DEFAULT_MAX_REQUEST_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_PUBSUB_PORT,
    LocalDeveloper,
    LocalOptions,
    PluginFactory,
    serve_forever,
)
from localdev.stack import PUBSUB_SETTING, local_stack
from localdev.webpubsub.auth import ConnectionString
from shared.log_safety import EscapedMessages

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


class ConfigurationError(ValueError):
    """A setting from the environment is unusable; the message names it, never its value."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="Functions host port")
    parser.add_argument(
        "--pubsub-port",
        type=int,
        default=DEFAULT_PUBSUB_PORT,
        help=f"Web PubSub emulator port (unused when {PUBSUB_SETTING} is set)",
    )
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: settings)")
    parser.add_argument(
        "--hop-delay-ms",
        type=_hop_delay,
        default=None,
        help="latency added to every activity dispatch, timer and orchestrator episode, as "
        "Azure's queue round trips add it (default: the LOCAL_HOP_DELAY_MS setting, 0)",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="log at DEBUG, including every HTTP request and the Azure SDK's wire logs",
    )
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
    parser.add_argument(
        "--require-sign-in",
        action="store_true",
        help="play Easy Auth as deployed: forged X-MS-* headers dropped, every route a 401 "
        "without 'Authorization: Bearer <the sign-in token printed at start>' (the developer)",
    )


def _hop_delay(text: str) -> float:
    """A per-hop delay in milliseconds, 0 to 10,000 (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of milliseconds") from None
    if not 0 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 0 and 10000 ms")
    return value


def configure_logging(verbose: bool = False, stream: TextIO | None = None) -> logging.Handler:
    """One line per meaningful event at INFO (requests that change something or fail, workflow
    start and end, agent outcomes, publish failures); everything, wire logs included, with
    --verbose. Written to `stream` (stderr by default), every message escaped
    (shared/log_safety.py): a request path or a value never forges a line. Returns the
    handler it added to the root logger."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(EscapedMessages())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler


def public_endpoint(connection_string: str) -> str:
    """The service endpoint of a connection string, as scheme://host[:port] only: never the
    access key, nor credentials someone put in the URL."""
    try:
        url = urlsplit(ConnectionString.parse(connection_string).endpoint)
        port = url.port
    except ValueError:
        raise ConfigurationError(
            f"{PUBSUB_SETTING} must look like Endpoint=https://<name>.webpubsub.azure.com;"
            "AccessKey=<key>;Version=1.0;"
        ) from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigurationError(f"{PUBSUB_SETTING}'s Endpoint must be an http(s) URL")
    return f"{url.scheme}://{url.hostname}" + (f":{port}" if port else "")


def body_limit(environ: Mapping[str, str]) -> int:
    raw = environ.get(BODY_SIZE_SETTING, "").strip()
    if not raw:
        return DEFAULT_MAX_REQUEST_BODY_BYTES
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{BODY_SIZE_SETTING} must be a positive number of bytes")
    return int(raw)


def options_from(args: argparse.Namespace, environ: Mapping[str, str]) -> LocalOptions:
    """The stack's options from the command line and the environment (checked here, so a bad
    setting stops the command before anything starts)."""
    external = environ.get(PUBSUB_SETTING, "").strip() or None
    if external is not None:
        public_endpoint(external)
    require_sign_in = getattr(args, "require_sign_in", False)
    if require_sign_in and args.no_default_user:
        raise ConfigurationError("--require-sign-in signs in the developer: drop --no-default-user")
    developer = None if args.no_default_user else LocalDeveloper(args.user_id, args.user_name)
    return LocalOptions(
        host=args.host,
        port=args.port,
        pubsub_port=args.pubsub_port,
        database_url=args.database_url,
        max_request_body_bytes=body_limit(environ),
        pubsub_connection_string=external,
        developer=developer,
        hop_delay_ms=getattr(args, "hop_delay_ms", None),
        sign_in_token=secrets.token_urlsafe(32) if require_sign_in else None,
    )


def describe_pubsub(options: LocalOptions) -> str:
    if options.pubsub_connection_string:
        return (
            f"Web PubSub: {public_endpoint(options.pubsub_connection_string)} "
            f"({PUBSUB_SETTING} from the environment; the emulator is not started)"
        )
    return f"Web PubSub: emulator on http://{options.host}:{options.pubsub_port}"


def main(args: argparse.Namespace, plugins: PluginFactory | None = None) -> int:
    configure_logging(getattr(args, "verbose", False))
    try:
        options = options_from(args, os.environ)
    except ConfigurationError as exc:
        print(f"cannot start the local host: {exc}", file=sys.stderr)
        return 2

    def ready(url: str) -> None:
        print(f"Functions host: {url}/api/   console: {url}/   (Ctrl-C to stop)", flush=True)
        print(describe_pubsub(options), flush=True)
        if options.sign_in_token is not None:
            # Local only, per start: what a signed-in browser's id_token is on Azure.
            print(f"Sign-in required: Authorization: Bearer {options.sign_in_token}", flush=True)

    try:
        asyncio.run(serve_forever(options, plugins=(plugins or PLUGINS)(options), ready=ready))
    except OSError as exc:
        print(f"cannot start the local host: {bind_failure(exc, options) or exc}", file=sys.stderr)
        return 1
    return 0
