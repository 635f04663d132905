"""The three agent activities: announce the agent, load context, run the pure agent (streaming
its progress), persist the full result, return a compact summary.

Everything bulky (history DataFrames, per-store allocations, forecasts by week) stays inside
this process and the database; the orchestrator only ever sees ids and summaries.

Each activity publishes its own `agent_status running` and progress messages (one queue round
trip fewer per message on Azure than an orchestrator-side publish; shared/data/events.py drops the
repeats of a retried or re-run attempt). It first announces the previous agent's accepted result
(`complete` + `agent_status completed`, handed over in the AgentTask): the orchestrator scheduled
this activity only after accepting that result, so nothing is announced early, and the chain
saves a publishing activity (and an orchestrator episode) per agent. It returns an AgentOutcome
(shared/outcomes.py): the summary, or the failure it understood (missing data, invalid
parameters: not retryable; a locked database: retryable), so the orchestrator gets the error
type deterministically on every host. The persisted result is served only once the
orchestrator has accepted it.

This is the agents' implementation: importing it loads pandas, statsforecast (statsmodels,
scipy) and scikit-learn, about 3 s. The functions the host registers live in
activities.agent_triggers, which imports this module on the first agent call. Each agent's run
function here is named by its registry entry (`Agent.run` in shared/agents.py), which is how
`run_agent_activity` finds it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from activities.planning.demand import run_demand_agent
from activities.planning.inventory import UnitEconomics, run_inventory_agent
from activities.planning.pricing import PricingInputs, run_pricing_agent
from activities.planning.replenishment import ReplenishmentPolicy
from shared.activity_inputs import AgentTask
from shared.agents import DEMAND, INVENTORY, PRICING, Agent, ResultT
from shared.data.context import CategoryInfo, get_assembler
from shared.data.db import get_engine
from shared.data.results_store import load_result, save_result
from shared.deadline import Checkpoint, deadline_checkpoint
from shared.errors import DataNotFoundError
from shared.messaging.attempt_messages import AttemptMessages
from shared.messaging.publisher import get_publisher
from shared.outcomes import run_agent_step
from shared.progress import ProgressReporter
from shared.results import DemandSummary, InventorySummary, PricingSummary
from shared.schemas import AgentStatusMessage
from shared.settings import Settings

logger = logging.getLogger(__name__)


def _earlier_result(settings: Settings, task: AgentTask, agent: Agent[ResultT]) -> ResultT:
    """An earlier agent's full result, as its activity saved it for this workflow."""
    result = load_result(
        get_engine(settings.database_url), task.workflow_id, agent.key, agent.result_model
    )
    if result is None:
        raise DataNotFoundError(
            f"No {agent.key} result stored for workflow {task.workflow_id}",
            details={"workflow_id": task.workflow_id, "missing_result": agent.key},
            suggestions=[
                f"Run the {agent.key} agent first; the chain runs Demand, Inventory, Pricing."
            ],
        )
    return result


def _checkpoint(task: AgentTask) -> Checkpoint | None:
    """The attempt's deadline as the planning loops check it (run_agent_activity sets it)."""
    return None if task.deadline is None else deadline_checkpoint(task.deadline)


def run_demand(task: AgentTask, settings: Settings, progress: ProgressReporter) -> DemandSummary:
    ctx = get_assembler(settings.database_url).assemble_demand_context(
        task.category_id, task.parameters
    )
    result = run_demand_agent(ctx, progress, _checkpoint(task))
    save_result(get_engine(settings.database_url), task.workflow_id, DEMAND.key, result)
    return result.summary()


def replenishment_policy(settings: Settings) -> ReplenishmentPolicy:
    """The DC's replenishment policy as the settings give it (both agents run the same one)."""
    return ReplenishmentPolicy(
        cover_weeks=settings.replenishment_cover_weeks,
        safety_weeks=settings.replenishment_safety_weeks,
        transit_weeks=settings.replenishment_transit_weeks,
    )


def run_inventory(
    task: AgentTask, settings: Settings, progress: ProgressReporter
) -> InventorySummary:
    demand = _earlier_result(settings, task, DEMAND)
    assembler = get_assembler(settings.database_url)
    ctx = assembler.assemble_inventory_context(task.category_id, task.parameters, demand)
    category = assembler.category_info(task.category_id)
    economics = UnitEconomics(category.full_price, category.unit_cost, category.currency)
    result = run_inventory_agent(
        ctx, progress, economics, replenishment_policy(settings), checkpoint=_checkpoint(task)
    )
    save_result(get_engine(settings.database_url), task.workflow_id, INVENTORY.key, result)
    return result.summary()


def pricing_inputs(category: CategoryInfo) -> PricingInputs:
    """What the Pricing agent takes of a category: its prices, costs and vendor lead time (the
    plan's agent and a live season's re-plan alike)."""
    return PricingInputs(
        full_price=category.full_price,
        unit_cost=category.unit_cost,
        salvage_fraction=category.salvage_fraction,
        elasticity=category.price_elasticity,
        currency=category.currency,
        vendor_lead_weeks=category.vendor_lead_weeks,
    )


def run_pricing(task: AgentTask, settings: Settings, progress: ProgressReporter) -> PricingSummary:
    demand = _earlier_result(settings, task, DEMAND)
    inventory = _earlier_result(settings, task, INVENTORY)
    assembler = get_assembler(settings.database_url)
    ctx = assembler.assemble_pricing_context(task.category_id, task.parameters, demand, inventory)
    inputs = pricing_inputs(assembler.category_info(task.category_id))
    result = run_pricing_agent(ctx, inputs, progress, replenishment_policy(settings))
    save_result(get_engine(settings.database_url), task.workflow_id, PRICING.key, result)
    return result.summary()


def run_agent_activity(agent: Agent[Any], payload: Any, settings: Settings) -> dict[str, Any]:
    """Announce the agent, run it with a progress reporter, and return its AgentOutcome."""
    task = AgentTask.model_validate(payload)
    timeout = timedelta(seconds=agent.timeout(settings))
    # Absent in a task started by an earlier version: the agent's timeout from now.
    deadline = task.deadline or datetime.now(UTC) + timeout
    task = task.model_copy(update={"deadline": deadline})
    checkpoint = deadline_checkpoint(deadline)
    messages = AttemptMessages(
        get_publisher(),
        workflow_id=task.workflow_id,
        session_id=task.session_id,
        owner_id=task.owner_id,
        deadline=deadline,
    )
    if task.accepted is not None:
        # The orchestrator accepted the previous agent before scheduling this one, so its
        # result may be announced now, ahead of this agent's messages as the order requires.
        for message in task.accepted.announcement():
            messages.publish(message)
    messages.publish(AgentStatusMessage(agent_name=agent.name, status="running"))

    def progress(percent: int, message: str) -> None:
        # Every step boundary of every agent is also a deadline check: an abandoned attempt
        # stops at its next step (the loops inside a step check it too).
        checkpoint()
        messages.report(percent, message, agent_name=agent.name)

    run = agent.load_run()

    def step() -> BaseModel:
        # A success counts only once its messages are recorded; a failure reports as it is
        # (the orchestrator's own batch repeats `running` and says why).
        summary = run(task, settings, progress)
        messages.settle()
        return summary

    try:
        return run_agent_step(agent.name, step)
    finally:
        if messages.pending:
            logger.warning(
                "%d message(s) of %s for workflow %s left unrecorded",
                messages.pending,
                agent.name,
                task.workflow_id,
            )
