"""`python -m localdev serve` in its own process, started as a user starts it: free ports, the
database it is given, the test settings. Tests that need a real process (kill -9 and restart, the
command line's own output, Ctrl-C) use this; the rest run the stack in-process (`live_stack`).

What the command prints for its user (stdout) and what it logs (stderr) go to two files in the
stack's directory, appended to, so a restarted stack keeps one record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from localdev.host.server import free_port
from tests.support.live_stack import FAST_SETTINGS, pin_sample

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 120.0
STOP_SECONDS = 30.0
# A developer's settings that would send the stack elsewhere (their database, Web PubSub
# service or language model): a test sets what it needs explicitly.
DROPPED_ENVIRONMENT = (
    "DATABASE_URL",
    "WebPubSubConnectionString",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "OPENAI_API_KEY",
)


@dataclass
class ServeProcess:
    """One running `python -m localdev serve`: its URL and where its output goes."""

    process: subprocess.Popen[bytes]
    base_url: str
    stdout: Path
    stderr: Path

    def printed(self) -> list[str]:
        """The lines the command printed for its user so far."""
        return self.stdout.read_text(errors="replace").splitlines()

    def log_text(self) -> str:
        """Everything the process wrote: printed lines, then its log."""
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_SECONDS)

    def stop(self) -> int | None:
        """SIGINT, as Ctrl-C (SIGKILL if it does not exit in time); the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.process.returncode


def start_serve(
    directory: Path,
    database_url: str,
    *,
    environment: Mapping[str, str] | None = None,
    pubsub_port: int | None = None,
) -> ServeProcess:
    """Start the stack in `directory` (its working directory and output files) over
    `database_url` (seeded with the sample on first start) and wait until it answers.
    `environment` adds settings on top of the test settings; `pubsub_port` is where the
    emulator listens (a free port unless given)."""
    port = free_port()
    pin_sample(database_url)
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENVIRONMENT}
    env.update(FAST_SETTINGS)
    env.update(environment or {})
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    command = [
        sys.executable,
        "-m",
        "localdev",
        "serve",
        "--port",
        str(port),
        "--pubsub-port",
        str(free_port() if pubsub_port is None else pubsub_port),
        "--database-url",
        database_url,
    ]
    stdout, stderr = directory / "serve.out", directory / "serve.err"
    with stdout.open("ab") as out, stderr.open("ab") as err:
        process = subprocess.Popen(command, cwd=directory, env=env, stdout=out, stderr=err)
    served = ServeProcess(process, f"http://127.0.0.1:{port}", stdout, stderr)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stack exited at start:\n{served.log_text()[-3000:]}")
        try:
            if httpx.get(f"{served.base_url}/api/categories", timeout=5).status_code == 200:
                return served
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"the stack did not answer in {STARTUP_SECONDS} s")


@contextmanager
def serving(
    directory: Path,
    database_url: str,
    *,
    environment: Mapping[str, str] | None = None,
    pubsub_port: int | None = None,
) -> Iterator[ServeProcess]:
    """`start_serve`, stopped on leaving."""
    served = start_serve(directory, database_url, environment=environment, pubsub_port=pubsub_port)
    try:
        yield served
    finally:
        served.stop()
