"""A port `serve` cannot take is said in words: which one, what it was for, the flag and the
`make run` variable that move it, and a port free right now; `make run PORT=… PUBSUB_PORT=…`
reaches `localdev serve --port … --pubsub-port …`, the command pyproject.toml installs."""

from __future__ import annotations

import errno
import re
import shutil
import socket
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.cli.ports import bind_failure, is_free
from localdev.host.server import LocalOptions, free_port

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def bind_error(port: int, code: int = errno.EADDRINUSE) -> OSError:
    """The error asyncio raises when a server cannot bind (its wording, with the address)."""
    return OSError(
        code,
        f"error while attempting to bind on address ('127.0.0.1', {port}): "
        f"{'address already in use' if code == errno.EADDRINUSE else 'permission denied'}",
    )


def test_a_busy_functions_port_names_the_flag_the_make_variable_and_a_free_port(held_port):
    options = LocalOptions(port=held_port, pubsub_port=free_port())
    said = bind_failure(bind_error(held_port), options)
    assert said is not None
    assert f"port {held_port} (the Functions host) on 127.0.0.1 is already in use" in said
    found = re.search(r"--port (\d+) \(make run PORT=(\d+)\)", said)
    assert found is not None and found[1] == found[2]
    suggested = int(found[1])
    assert suggested > held_port and suggested != options.pubsub_port
    assert is_free("127.0.0.1", suggested)


def test_a_busy_emulator_port_names_its_own_flag(held_port):
    options = LocalOptions(port=free_port(), pubsub_port=held_port)
    said = bind_failure(bind_error(held_port), options)
    assert said is not None
    assert "(the Web PubSub emulator)" in said
    assert re.search(r"--pubsub-port \d+ \(make run PUBSUB_PORT=\d+\)", said)


def test_a_privileged_port_says_so():
    said = bind_failure(bind_error(80, errno.EACCES), LocalOptions(port=80))
    assert said is not None
    assert "needs privileges" in said and "above 1023" in said and "--port" in said


def test_an_unknown_port_in_the_error_names_both_flags():
    said = bind_failure(bind_error(1), LocalOptions())
    assert said is not None
    assert "--port (PORT=…)" in said and "--pubsub-port (PUBSUB_PORT=…)" in said


def test_with_an_external_web_pubsub_only_the_host_port_is_named():
    options = LocalOptions(pubsub_connection_string="Endpoint=http://x;AccessKey=k;Version=1.0;")
    said = bind_failure(bind_error(1), options)
    assert said is not None
    assert "--pubsub-port" not in said


def test_an_error_that_is_not_about_binding_is_left_to_the_os_text():
    assert bind_failure(OSError(errno.EMFILE, "too many open files"), LocalOptions()) is None


def test_the_project_installs_the_localdev_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"localdev": "localdev.__main__:main"}
    assert "function_app" in project["tool"]["setuptools"]["py-modules"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_passes_its_ports_to_serve(tmp_path):
    """`make -n` prints the recipe without running it; the environment's PORT is not taken."""
    for name in ("Makefile", "pyproject.toml", "requirements.txt", "requirements-dev.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "constraints.txt", tmp_path)
    (tmp_path / "tests" / "support").mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "support" / "axe.py", tmp_path / "tests" / "support" / "axe.py")
    printed = subprocess.run(
        ["make", "-n", "run", "PORT=7072", "PUBSUB_PORT=8081"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".venv/bin/localdev serve --port 7072 --pubsub-port 8081" in printed
    assert "pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e ." in (
        printed
    )
    default = subprocess.run(
        ["make", "-n", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "PORT": "3000"},
    ).stdout
    assert ".venv/bin/localdev serve --port 7071 --pubsub-port 8080" in default
