"""Plan digests: a SHA-256 of every agent's full result, to show that a change to how the data
is read leaves the plans as they were. `python -m bench.bench_plan_digest [--database URL]`

    python -m bench.bench_plan_digest                          # the default sample, seeded here
    python -m bench.bench_plan_digest --database sqlite:///big.db --demand-only

For every category with history and three season starts (just after the history, a past
season replayed against its stored actuals, and a Friday start that leaves out the week it
starts in), the three real agents run through the ContextAssembler as the activities chain them,
and each result's canonical JSON is hashed. Run it on two commits over the same database: equal
lines mean equal plans, to the last unit and cent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import func, select

from activities.planning.demand import run_demand_agent
from activities.planning.inventory import run_inventory_agent
from activities.planning.pricing import PricingInputs, run_pricing_agent
from shared.data.context import ContextAssembler
from shared.data.db import dispose_engine, get_engine
from shared.data.tables import HistoricalSale
from shared.schemas import SeasonParameters


def digest(result: BaseModel) -> str:
    """The first 16 hex digits of the SHA-256 of the result's canonical JSON."""
    canonical = json.dumps(result.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def season_starts(last_week: date) -> list[date]:
    """After the history (a Wednesday), 26 weeks back (replayed: its actuals are stored), and
    a Friday 13 weeks back."""
    after = last_week + timedelta(days=9)
    return [after, after - timedelta(weeks=26), after - timedelta(weeks=13, days=-2)]


def plan_digests(database_url: str, demand_only: bool = False) -> list[str]:
    """One line per (category, season start): the digest of each agent's result."""
    assembler = ContextAssembler(get_engine(database_url))
    lines = []
    for category in assembler.list_categories():
        with assembler.engine.connect() as conn:
            last_week = conn.execute(
                select(func.max(HistoricalSale.week_start_date)).where(
                    HistoricalSale.category_id == category.category_id
                )
            ).scalar_one()
        for start in season_starts(last_week):
            parameters = SeasonParameters(
                forecast_horizon_weeks=12,
                season_start_date=start,
                replenishment_strategy="weekly",
                dc_holdback_percentage=0.3,
            )
            cid = category.category_id
            demand = run_demand_agent(assembler.assemble_demand_context(cid, parameters))
            parts = [f"demand {digest(demand)}"]
            if not demand_only:
                inventory = run_inventory_agent(
                    assembler.assemble_inventory_context(cid, parameters, demand)
                )
                pricing = run_pricing_agent(
                    assembler.assemble_pricing_context(cid, parameters, demand, inventory),
                    PricingInputs(
                        full_price=category.full_price,
                        unit_cost=category.unit_cost,
                        salvage_fraction=category.salvage_fraction,
                        elasticity=category.price_elasticity,
                        currency=category.currency,
                    ),
                )
                parts += [f"inventory {digest(inventory)}", f"pricing {digest(pricing)}"]
            lines.append(f"{cid} {start.isoformat()}: {'  '.join(parts)}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL (default: the sample, seeded here)")
    parser.add_argument("--demand-only", action="store_true", help="only the Demand agent")
    args = parser.parse_args()
    if args.database:
        lines = plan_digests(args.database, args.demand_only)
    else:
        from localdev.sample_data import generate_sample, load_sample

        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'sample.db'}"
            load_sample(get_engine(url), generate_sample())
            lines = plan_digests(url, args.demand_only)
            dispose_engine(url)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
