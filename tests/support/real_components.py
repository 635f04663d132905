"""Tests that need a real component the machine may lack (PostgreSQL, Chromium, axe-core).

`make test` installs those components, so a skip means the install failed or the suite ran
outside make. Such a skip must not pass unnoticed: conftest.py prints every one under a banner
at the end of the run and, when the environment says it is CI (`CI=true`), fails the run.

A test is a real-component test when it carries `@pytest.mark.real_component("<name>")` (tests
using the PostgreSQL fixtures get it automatically) or when it skips through `skip_missing`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

import pytest

MARKER = "real_component"
SKIP_PREFIX = "real component missing"


@dataclass(frozen=True)
class MissingComponent:
    """One skipped real-component test: which component, which test, and why."""

    component: str
    test: str
    reason: str


def skip_missing(component: str, why: str) -> NoReturn:
    """Skip the current test because `component` is not usable here, in the loud way."""
    pytest.skip(f"{SKIP_PREFIX}: {component}: {why}")


def describe_skip(marker_name: str | None, reason: str) -> tuple[str, str] | None:
    """(component, why) for a real-component skip, from the test's marker or from the reason
    `skip_missing` wrote; None for any other skip."""
    reason = reason.removeprefix("Skipped: ")
    _, found, rest = reason.partition(f"{SKIP_PREFIX}: ")
    if found:
        component, _, why = rest.partition(": ")
        return marker_name or component, why
    return (marker_name, reason) if marker_name is not None else None


def is_ci(environ: Mapping[str, str] = os.environ) -> bool:
    """What CI services set (GitHub Actions, GitLab, Azure Pipelines' `CI` variable, ...)."""
    return environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def summary_lines(missing: list[MissingComponent], ci: bool) -> list[str]:
    """The banner's lines: per component, how many tests skipped and why."""
    lines: list[str] = []
    for component in sorted({m.component for m in missing}):
        skipped = [m for m in missing if m.component == component]
        lines.append(f"{component}: {len(skipped)} test(s) did NOT run")
        for reason in sorted({m.reason for m in skipped}):
            lines.append(f"    {reason}")
    lines.append("`make test` installs PostgreSQL, Chromium and axe-core; see docs/testing.md.")
    if ci:
        lines.append("CI=true: a real-component test may not skip, so this run FAILS.")
    return lines
