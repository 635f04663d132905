"""Run code in a new Python interpreter from the project root and read what it printed.

Import-cost, purity and schema checks need a process that has imported nothing yet: the test
process has long since imported everything. The code prints its answer as JSON on its last
line; settings the parent's environment carries can be removed so the child starts clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def last_json_line(
    code: str, *, env: dict[str, str] | None = None, unset: Iterable[str] = ()
) -> Any:
    """What `code` prints last (JSON), run by a fresh interpreter with the project importable;
    `env` adds variables, `unset` removes the parent's."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    for name in unset:
        environment.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def modules_loaded_after(code: str, prefixes: Iterable[str], **env: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` that are one of `prefixes`
    or inside one (`shared.data` matches `shared.data.db`, not `shared.database`)."""
    wanted = tuple(prefixes)
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules "
        f"if any(m == p or m.startswith(p + '.') for p in {wanted!r}))))"
    )
    return set(last_json_line(probe, env=env))
