"""A port `localdev serve` cannot listen on, said in words: which port, what it was for, and the
flag (and the `make run` variable) that moves it, with a port that is free right now.

The OS reports a busy port as `[Errno 98] error while attempting to bind on address
('127.0.0.1', 7071): address already in use`, which names neither the flag nor the other port
`serve` opens; a newcomer whose 7071 or 8080 is taken reads this instead.
"""

from __future__ import annotations

import errno
import re
import socket
from dataclasses import dataclass

from localdev.host.server import LocalOptions

BOUND_ADDRESS = re.compile(r"\('[^']*', (\d+)\)")
# How far above a busy port to look for a free one to suggest.
SUGGESTION_RANGE = 20


@dataclass(frozen=True)
class ServedPort:
    """One of the ports `serve` listens on, and how a user moves it."""

    port: int
    purpose: str
    flag: str
    make_variable: str


def served_ports(options: LocalOptions) -> list[ServedPort]:
    """The ports `serve` opens for these options (no emulator port when an external Web PubSub
    is configured)."""
    ports = [ServedPort(options.port, "the Functions host", "--port", "PORT")]
    if not options.pubsub_connection_string:
        ports.append(
            ServedPort(
                options.pubsub_port, "the Web PubSub emulator", "--pubsub-port", "PUBSUB_PORT"
            )
        )
    return ports


def is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_near(host: str, port: int, taken: set[int]) -> int | None:
    """The first free port above `port` (skipping those `serve` uses itself), if one is near."""
    for candidate in range(port + 1, min(port + 1 + SUGGESTION_RANGE, 65536)):
        if candidate not in taken and is_free(host, candidate):
            return candidate
    return None


def bind_failure(exc: OSError, options: LocalOptions) -> str | None:
    """The words for an OSError raised while `serve` started listening; None when it is not a
    bind error (the caller then shows the OS's own text)."""
    ports = served_ports(options)
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {options.host}: no network interface of this machine has that "
            "address. Choose another with --host (127.0.0.1 is this machine only)."
        )
    if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
        return None
    found = BOUND_ADDRESS.search(str(exc))
    named = [served for served in ports if found and served.port == int(found[1])]
    if not named:
        flags = " and ".join(f"{served.flag} ({served.make_variable}=…)" for served in ports)
        return f"cannot listen on a port it needs ({exc.strerror}). Choose others with {flags}."
    served = named[0]
    where = f"port {served.port} ({served.purpose}) on {options.host}"
    if exc.errno == errno.EACCES:
        problem = f"{where} needs privileges this user does not have: choose a port above 1023"
    else:
        problem = f"{where} is already in use: another `localdev serve`, or another program"
    suggestion = free_port_near(options.host, served.port, {p.port for p in ports})
    number = str(suggestion) if suggestion is not None else "N"
    return (
        f"{problem}. Start on another port with {served.flag} {number} "
        f"(make run {served.make_variable}={number})."
    )
