"""Work stops when its deadline passes (issue 32 case 1: abandoned attempts burned CPU for
146-175 s): the planning loops call the attempt's checkpoint between fits and stop at the first
call after the deadline. The clock is injected, so the tests say exactly where work stops."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from activities.planning import forecasting
from activities.planning.clustering import choose_k
from activities.planning.demand import run_demand_agent
from shared.deadline import DeadlinePassedError, deadline_checkpoint
from tests.support.agent_data import demand_context, make_chain, next_season_start, params

DEADLINE = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


class SteppingClock:
    """Before the deadline for the first `checks_before` readings, at it afterwards."""

    def __init__(self, checks_before: int) -> None:
        self.checks_before = checks_before
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        if self.readings <= self.checks_before:
            return DEADLINE - timedelta(seconds=1)
        return DEADLINE


@pytest.fixture(scope="module")
def chain():
    return make_chain(stores=6, weeks=156, categories=1, seed=3)


def test_the_demand_agent_stops_at_the_first_fit_after_its_deadline(chain, monkeypatch):
    fits = []
    real_predict = forecasting._predict

    def counted(*args, **kwargs):
        fits.append(args[0].name)
        return real_predict(*args, **kwargs)

    monkeypatch.setattr(forecasting, "_predict", counted)
    ctx = demand_context(chain, "outerwear", params(next_season_start(chain), 12))
    clock = SteppingClock(checks_before=5)
    with pytest.raises(DeadlinePassedError) as info:
        run_demand_agent(ctx, checkpoint=deadline_checkpoint(DEADLINE, clock))
    assert clock.readings == 6 and len(fits) == 5  # no fit after the deadline
    err = info.value
    assert err.error_type == "AGENT_TIMEOUT" and not err.retryable
    assert err.details["deadline"] == DEADLINE.isoformat()


def test_without_a_deadline_in_reach_the_forecast_is_unchanged(chain):
    ctx = demand_context(chain, "outerwear", params(next_season_start(chain), 12))
    clock = SteppingClock(checks_before=10_000)
    checked = run_demand_agent(ctx, checkpoint=deadline_checkpoint(DEADLINE, clock))
    assert checked == run_demand_agent(ctx)
    assert clock.readings > 20  # every fit was preceded by a check


def test_the_store_clustering_stops_before_its_next_k_means_fit():
    stores = np.random.default_rng(1).normal(size=(300, 4))
    clock = SteppingClock(checks_before=2)
    with pytest.raises(DeadlinePassedError):
        choose_k(stores, checkpoint=deadline_checkpoint(DEADLINE, clock))
    assert clock.readings == 3


def test_a_naive_deadline_is_utc_as_the_durable_clock_gives_it():
    naive = DEADLINE.replace(tzinfo=None)
    deadline_checkpoint(naive, lambda: DEADLINE - timedelta(milliseconds=1))()
    with pytest.raises(DeadlinePassedError):
        deadline_checkpoint(naive, lambda: DEADLINE)()
