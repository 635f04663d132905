"""Orchestration versions: how a deploy changes an orchestrator without breaking the instances
that are running on the old code.

The Durable extension's orchestration versioning (Microsoft Learn, "Orchestration versioning in
Durable Functions"; Python needs azure-functions-durable 1.5.0 or later, this app pins 1.7.0,
and extension bundle 4.26.0 or later, which host.json requires): every new instance is stamped
for good with host.json's `extensions.durableTask.defaultVersion`, the orchestrator reads it as
`context.version` (None for instances created before versioning was on), and with the default
`versionMatchStrategy` CurrentOrOlder plus `versionFailureStrategy` Reject a worker runs only
instances whose version is not newer than its own; newer ones wait untouched for a newer worker.

So a breaking change to an orchestrator (an activity added, removed or reordered; a wait
changed) is made this way: raise `defaultVersion` in host.json, and keep the old code path,
byte for byte in what it schedules, under `if not at_least(context.version, "<new>")`. An
instance started on the old release then replays its own path on the new code and finishes;
new instances take the new path. `tests/localdev/durable/test_versioning.py` shows both on the
local runtime, which applies the same stamping and matching rules.
"""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"^\d+(\.\d+)*$")


def compare_versions(a: str | None, b: str | None) -> int:
    """-1, 0 or 1 as `a` is older than, equal to or newer than `b`, by the extension's rules:
    empty or None versions are equal and older than any defined one; two numeric versions
    ("1.0", "2.10") compare as version numbers; anything else compares as case-insensitive
    text."""
    if not a or not b:
        return (1 if a else 0) - (1 if b else 0)
    if _NUMERIC.match(a) and _NUMERIC.match(b):
        left = [int(part) for part in a.split(".")]
        right = [int(part) for part in b.split(".")]
        width = max(len(left), len(right))
        left += [0] * (width - len(left))
        right += [0] * (width - len(right))
    else:
        left_text, right_text = a.casefold(), b.casefold()
        return (left_text > right_text) - (left_text < right_text)
    return (left > right) - (left < right)


def at_least(version: str | None, minimum: str) -> bool:
    """Whether an instance of `version` was started on release `minimum` or later: the branch
    an orchestrator takes for the code paths that release introduced."""
    return compare_versions(version, minimum) >= 0


def may_run(instance_version: str | None, worker_version: str | None) -> bool:
    """CurrentOrOlder: a worker runs instances whose version is not newer than its own."""
    return compare_versions(instance_version, worker_version) <= 0
