"""`python -m localdev.webpubsub --port 8080 --connection-string "Endpoint=...;AccessKey=...;"`.

Without `--connection-string` the app's own setting (`WebPubSubConnectionString`) supplies the
access key, so the app and the emulator agree; without either, the emulator makes up a random
key and prints the connection string to give the app (never a published constant key).
"""

from __future__ import annotations

import argparse
import logging
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from localdev.webpubsub.auth import ConnectionString, generate_access_key
from localdev.webpubsub.server import Emulator
from shared.settings import get_settings


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Access log without query strings: client URLs carry their access token there."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %s %.1f ms",
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )


def _connection_string(given: str | None, port: int | None) -> str:
    """The one given, else the app's setting, else a new one with a random key, printed so
    that it can be given to the app (it is this emulator's own throwaway key)."""
    if given:
        return given
    try:
        return get_settings().webpubsub_connection()
    except ValueError:
        key = generate_access_key()
        made = f"Endpoint=http://localhost:{port or 8080};AccessKey={key};Version=1.0;"
        print(f"WebPubSubConnectionString={made}", flush=True)
        return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m localdev.webpubsub", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: the endpoint's port")
    parser.add_argument("--connection-string", default=None)
    args = parser.parse_args(argv)
    conn = ConnectionString.parse(_connection_string(args.connection_string, args.port))
    port = args.port or urlsplit(conn.endpoint).port or 8080
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger(__name__).info(
        "Web PubSub emulator for %s on %s:%s", conn.endpoint, args.host, port
    )
    web.run_app(
        Emulator(conn.access_key).build_app(),
        host=args.host,
        port=port,
        print=None,
        access_log_class=PathOnlyAccessLogger,
    )


if __name__ == "__main__":
    main()
