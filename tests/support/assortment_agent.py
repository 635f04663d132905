"""A fourth agent that lives only in the tests: it proves that one registry entry (plus the
agent's own code: result model, summary model, run function) is all the chain needs to run an
agent. It plans how many styles to carry from the season's length; the app never registers it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.activity_inputs import AgentTask
from shared.agents import AGENTS, Agent
from shared.progress import ProgressReporter, report
from shared.settings import Settings

STYLES_PER_WEEK = 4
TIMEOUT_SECONDS = 45.0


class AssortmentSummary(BaseModel):
    styles: int
    weeks: int


class AssortmentResult(BaseModel):
    styles_by_week: list[int]

    def summary(self) -> AssortmentSummary:
        return AssortmentSummary(styles=sum(self.styles_by_week), weeks=len(self.styles_by_week))


def run_assortment(
    task: AgentTask, settings: Settings, progress: ProgressReporter
) -> AssortmentSummary:
    """Plan STYLES_PER_WEEK new styles for every week of the season's horizon."""
    weeks = task.parameters.forecast_horizon_weeks
    report(progress, 50, f"Planning styles for {weeks} weeks")
    result = AssortmentResult(styles_by_week=[STYLES_PER_WEEK] * weeks)
    report(progress, 100, "Assortment planned")
    return result.summary()


ASSORTMENT: Agent[AssortmentResult] = Agent(
    name="Assortment Agent",
    key="assortment",
    activity="assortment_agent",
    result_model=AssortmentResult,
    summary_model=AssortmentSummary,
    timeout=lambda settings: TIMEOUT_SECONDS,
    run="tests.support.assortment_agent.run_assortment",
)
WITH_ASSORTMENT: tuple[Agent[Any], ...] = (*AGENTS, ASSORTMENT)
