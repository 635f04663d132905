"""The runtime statuses of a Durable orchestration instance, as the Durable HTTP API spells them.

The workflow endpoints (orchestrator/http/runs.py) and the local Durable runtime
(localdev/durable/runtime.py) both decide from these whether an instance has finished.
"""

from __future__ import annotations

from typing import Literal

RuntimeStatus = Literal[
    "Pending", "Running", "Completed", "Failed", "Terminated", "Canceled", "ContinuedAsNew"
]

# An instance in one of these states never runs again: it has an output (or a failure or a
# termination reason) and cannot be terminated.
FINISHED: frozenset[RuntimeStatus] = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
