"""A throwaway PostgreSQL server for the tests that prove nothing in the data layer is
SQLite-only. Uses the Debian PostgreSQL binaries when the machine has them; skips otherwise."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres_user(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; drop to the `postgres` account when root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@contextmanager
def postgres_server(password: str | None = None) -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its SQLAlchemy URL; stop and delete it.

    With `password`, the server checks passwords (scram-sha-256) and the user `app` starts with
    that one; the URL carries none, so the caller supplies it (as Entra token auth does)."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL server binaries are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is needed to start PostgreSQL as root")
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    try:
        auth = ["-A", "trust"]
        if password is not None:
            pwfile = root / "pwfile"
            pwfile.write_text(password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, user="postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        subprocess.run(
            _as_postgres_user([str(PG_BIN / "initdb"), "-D", str(data), *auth, "-U", "app"]),
            check=True, capture_output=True, timeout=60,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres_user([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]),
            check=True, capture_output=True, timeout=60,
        )
        yield f"postgresql+psycopg://app@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres_user([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True, timeout=60
        )
        shutil.rmtree(root, ignore_errors=True)
