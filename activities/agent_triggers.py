"""The agent activity functions the host registers: one per agent of the registry
(shared/agents.py), named by its `activity`, built in a loop over the registry.

Why a module of its own: the agents need pandas, statsforecast (statsmodels, scipy) and
scikit-learn, about 3 s of imports, while a fresh worker must answer the planner's first HTTP
calls (negotiate, extraction, status) in well under a second. So this blueprint imports only the
Durable SDK, the registry and settings, and each function imports activities.agent_runs (and
the agent's run function, by the dotted path its registry entry names) where it runs: the first
agent call in a process pays for the scientific stack, once; every later call finds the module
already loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from shared.agents import AGENTS, Agent, Registry
from shared.settings import get_settings
from shared.telemetry import agent_span

logger = logging.getLogger(__name__)


def _run(agent: Agent[Any], payload: dict[str, Any]) -> dict[str, Any]:
    with agent_span(agent.name, payload) as finished:
        from activities import agent_runs

        outcome = agent_runs.run_agent_activity(agent, payload, get_settings())
        finished(outcome)
        # In Azure the line operators read per agent; with telemetry on it carries the trace.
        failure = outcome.get("failure")
        logger.info(
            "%s %s (workflow %s)",
            agent.name,
            f"failed: {failure.get('error_type')}" if failure else "completed",
            payload.get("workflow_id") if isinstance(payload, dict) else None,
        )
        return outcome


def _trigger(agent: Agent[Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The activity function of `agent`, named by its `activity` (the host indexes functions
    by name, and the orchestrator calls the activity by that name)."""

    def trigger(payload: dict) -> dict:
        return _run(agent, payload)

    trigger.__name__ = trigger.__qualname__ = agent.activity
    return trigger


def agent_blueprint(agents: Registry = AGENTS) -> df.Blueprint:
    """A blueprint with one activity function per agent of `agents`, in chain order."""
    blueprint = df.Blueprint()
    for agent in agents:
        blueprint.activity_trigger(input_name="payload", activity=agent.activity)(_trigger(agent))
    return blueprint


bp = agent_blueprint()
