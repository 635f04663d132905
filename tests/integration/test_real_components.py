"""Real components are installed by `make test` and never skip quietly: the Makefile installs
PostgreSQL and the pinned axe-core only when they are missing (checked with stand-in apt-get
and npm on a controlled PATH), the
fixture finds the server binaries wherever the packages put them, and a skipped real-component
test is listed under a banner and fails the run when CI=true (checked on a pytest subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.axe import AXE_CORE_VERSION
from tests.support.postgres import find_bin_dir

ROOT = Path(__file__).resolve().parents[2]


def executable(path: Path, script: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_server_binaries_are_found_on_path_or_in_the_newest_debian_version(tmp_path):
    lib = tmp_path / "lib"
    for version in ("13", "15"):
        executable(lib / version / "bin" / "initdb", "")
    (lib / "17" / "bin").mkdir(parents=True)  # a client-only version: no server binaries
    (lib / "common" / "bin").mkdir(parents=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert find_bin_dir(path=str(empty), debian_lib=lib) == lib / "15" / "bin"
    assert find_bin_dir(path=str(empty), debian_lib=tmp_path / "none") is None

    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "initdb").symlink_to(lib / "13" / "bin" / "initdb")
    assert find_bin_dir(path=str(linked), debian_lib=lib) == (lib / "13" / "bin").resolve()


@pytest.fixture
def controlled_path(tmp_path) -> tuple[str, Path]:
    """A PATH holding only what the Makefile recipe runs, with apt-get and sudo stand-ins that
    record their calls in the returned log."""
    tools = tmp_path / "tools"
    tools.mkdir()
    for tool in ("make", "ls", "id"):
        found = shutil.which(tool)
        if found is None:
            pytest.skip(f"{tool} is not installed")
        (tools / tool).symlink_to(found)
    log = tmp_path / "calls.log"
    executable(tools / "apt-get", f'echo "apt-get $*" >> {log}')
    executable(tools / "sudo", f'echo "sudo" >> {log}; exec "$@"')
    return str(tools), log


def run_make(target: str, path: str, pg_lib: Path) -> str:
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT), target, f"PG_LIB={pg_lib}"],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_installs_postgresql_with_apt_get_only_when_it_is_missing(tmp_path, controlled_path):
    path, log = controlled_path
    run_make("postgresql", path, tmp_path / "no-postgresql")
    calls = [line for line in log.read_text().splitlines() if line != "sudo"]
    assert calls == ["apt-get update -q", "apt-get install -y -q postgresql"]

    log.unlink()
    installed = tmp_path / "lib"
    executable(installed / "15" / "bin" / "initdb", "")
    run_make("postgresql", path, installed)
    assert not log.exists()

    on_path = tmp_path / "on-path"
    on_path.mkdir()
    executable(on_path / "initdb", "")
    run_make("postgresql", f"{on_path}:{path}", tmp_path / "no-postgresql")
    assert not log.exists()


def test_make_says_what_will_skip_when_apt_get_is_missing_or_fails(tmp_path, controlled_path):
    path, _log = controlled_path
    (Path(path) / "apt-get").unlink()
    shown = run_make("postgresql", path, tmp_path / "none")
    assert "postgresql missing and apt-get unavailable: the PostgreSQL tests will skip" in shown

    executable(Path(path) / "apt-get", "exit 100")
    shown = run_make("postgresql", path, tmp_path / "none")
    assert "installing postgresql failed: the PostgreSQL tests will skip" in shown


def run_axe_core_target(prefix: Path, path: str) -> str:
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "axe-core", f"NPM_PREFIX={prefix}"],
        env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_installs_the_pinned_axe_core_from_npm_only_when_it_is_missing(
    tmp_path, controlled_path
):
    path, log = controlled_path
    for tool in ("grep", "sed"):
        (Path(path) / tool).symlink_to(shutil.which(tool) or pytest.skip(f"{tool} missing"))
    executable(Path(path) / "npm", f'echo "npm $*" >> {log}')
    install = (
        f"npm install --prefix {tmp_path} --no-save --no-package-lock --no-audit --no-fund "
        f"axe-core@{AXE_CORE_VERSION}"
    )
    run_axe_core_target(tmp_path, path)
    assert log.read_text().splitlines() == [install]  # the pin of tests/support/axe.py

    manifest = tmp_path / "node_modules" / "axe-core" / "package.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"name": "axe-core", "version": AXE_CORE_VERSION}, indent=2))
    log.unlink()
    run_axe_core_target(tmp_path, path)
    assert not log.exists()

    manifest.write_text(json.dumps({"name": "axe-core", "version": "4.0.0"}, indent=2))
    run_axe_core_target(tmp_path, path)
    assert log.read_text().splitlines() == [install]

    # Without npm, apt-get brings it; when nothing does, make says what will skip.
    (Path(path) / "npm").unlink()
    log.unlink()
    shown = run_axe_core_target(tmp_path, path)
    calls = [line for line in log.read_text().splitlines() if line != "sudo"]
    assert calls == ["apt-get update -q", "apt-get install -y -q npm"]
    assert "installing axe-core failed: the accessibility checks will skip" in shown


SKIPPING_TESTS = """
import pytest

import tests.support.postgres
from tests.support.real_components import skip_missing

tests.support.postgres.find_bin_dir = lambda: None  # as on a machine without PostgreSQL


@pytest.mark.real_component("Chromium")
def test_browser():
    pytest.skip("Chromium not installed")


def test_explicit():
    skip_missing("Web PubSub", "no endpoint")


def test_database(postgres_url):
    pass


def test_unrelated():
    pytest.skip("not a real component")


def test_passes():
    pass
"""


@pytest.mark.parametrize("ci", ["", "true"])
def test_skipped_real_components_are_reported_and_fail_the_run_under_ci(tmp_path, ci):
    (tmp_path / "test_skipping.py").write_text(SKIPPING_TESTS)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_skipping.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout
    assert "4 skipped" in out and "1 passed" in out, out
    banner = out[out.index("REAL COMPONENTS MISSING") :]
    assert "Chromium: 1 test(s) did NOT run" in banner
    assert "PostgreSQL: 1 test(s) did NOT run" in banner
    assert "server binaries not installed" in banner
    assert "Web PubSub: 1 test(s) did NOT run" in banner
    assert "not a real component" not in banner
    if ci:
        assert result.returncode == 1, out
        assert "CI=true" in banner
    else:
        assert result.returncode == 0, out
