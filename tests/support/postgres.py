"""A throwaway PostgreSQL server for the tests: the deployed app's database, run for real.

The server binaries come from PATH (`initdb`) or from the Debian packages' versioned directory
(/usr/lib/postgresql/<version>/bin, newest first); `make test` installs the `postgresql` package
when neither exists. Each server lives in a temporary directory on a free loopback port with
trust authentication (or a password, for the token-as-password tests) and is deleted afterwards.
conftest.py exposes it as fixtures: `postgres_server_url` (one server per run) and
`postgres_url` (a fresh database per test).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.real_components import skip_missing

DEBIAN_LIB = Path("/usr/lib/postgresql")
SERVICE_ACCOUNT = "postgres"
COMPONENT = "PostgreSQL"


def find_bin_dir(path: str | None = None, debian_lib: Path = DEBIAN_LIB) -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when none is installed."""
    on_path = shutil.which("initdb", path=path)
    if on_path:
        return Path(on_path).resolve().parent
    versions = sorted(
        (d for d in debian_lib.glob("*/bin") if d.parent.name.isdigit()),
        key=lambda d: int(d.parent.name),
        reverse=True,
    )
    versions = [d for d in versions if (d / "initdb").exists()]
    return versions[0] if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_service_account(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root; drop to the `postgres` account when root."""
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVICE_ACCOUNT, "--", *args]
    return args


def _root_can_run_postgres() -> str | None:
    """Why root cannot start PostgreSQL here, or None when it can."""
    if shutil.which("runuser") is None:
        return "runuser is needed to start PostgreSQL as root"
    try:
        pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        return f"the `{SERVICE_ACCOUNT}` account (created by the Debian package) is missing"
    return None


@contextmanager
def postgres_server(bin_dir: Path | None = None, password: str | None = None) -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its SQLAlchemy URL; stop and delete it.

    Skips (loudly: see tests/support/real_components.py) when no server binaries are installed. With
    `password`, the server checks passwords (scram-sha-256) and the user `app` starts with that
    one; the URL carries none, so the caller supplies it (as Entra token auth does)."""
    bin_dir = bin_dir or find_bin_dir()
    if bin_dir is None:
        skip_missing(COMPONENT, "server binaries not installed (`make postgresql` installs them)")
    if os.geteuid() == 0 and (why := _root_can_run_postgres()):
        skip_missing(COMPONENT, why)
    root = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVICE_ACCOUNT)
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data)]
    try:
        auth = ["-A", "trust"]
        if password is not None:
            pwfile = root / "pwfile"
            pwfile.write_text(password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, user=SERVICE_ACCOUNT)
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        subprocess.run(
            _as_service_account([str(bin_dir / "initdb"), "-D", str(data), *auth, "-U", "app"]),
            check=True,
            capture_output=True,
            timeout=60,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_service_account([*pg_ctl, "-o", options, "-l", str(root / "log"), "-w", "start"]),
            check=True,
            capture_output=True,
            timeout=60,
        )
        yield f"postgresql+psycopg://app@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_service_account([*pg_ctl, "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
