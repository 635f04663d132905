"""A faithful local Durable Functions runtime: replay runner, task hub in the database, and the
extension's HTTP API for the real DurableOrchestrationClient."""

from localdev.durable.clock import Clock, ManualClock, SystemClock
from localdev.durable.runtime import DurableRuntime
from localdev.durable.store import InstanceExistsError, UnknownOrchestratorError

__all__ = [
    "Clock",
    "DurableRuntime",
    "InstanceExistsError",
    "ManualClock",
    "SystemClock",
    "UnknownOrchestratorError",
]
