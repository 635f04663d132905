"""`python -m localdev plan "<strategy>"`: plan a season from the command line.

Without --url it starts the app on free ports in this process (the same stack as `serve`, from
`serve.PLUGINS`), plans, and stops it. Human mode shows live agent progress (on a terminal;
piped, the agents' final state once) and then the plan as tables; --json prints one JSON
document and nothing else on stdout. Errors go to stderr in both modes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from localdev.cli import serve
from localdev.cli.planner import PlanBoard, PlanOutcome, run_plan
from localdev.cli.season_tables import (
    buy_plan_table,
    change,
    cover,
    dc_flow_table,
    history_note,
    money,
    money_table,
    stock_flow_table,
    store_deliveries_table,
    units,
)
from localdev.host.server import LocalOptions, free_port, start_host
from shared.agents import INVENTORY
from shared.field_words import field_sentence

HELP = "plan a season from a strategy in plain words, with live agent progress"

EmbeddedHost = Callable[[], AbstractAsyncContextManager[str]]

_STYLE = {"pending": "dim", "running": "yellow", "completed": "green", "failed": "red"}
PARAMETER_LABELS = {
    "category_id": "Category",
    "forecast_horizon_weeks": "Season length (weeks)",
    "season_start_date": "Season starts",
    "season_end_date": "Season ends",
    "replenishment_strategy": "Store replenishment",
    "dc_holdback_percentage": "Held back at the DC",
    "unit_target": "Unit target (units)",
    "markdown_checkpoint_week": "Markdown checkpoint (week)",
    "markdown_threshold": "Mark down if sell-through is below",
    "confidence_score": "Extraction confidence",
}
SOURCE_WORDS = {
    "stated": "from your text",
    "inferred": "inferred - please check",
    "computed": "computed",
    "not_mentioned": "not in your text",
}
CATEGORY_SOURCE_WORDS = {
    "stated": "from your text",
    "inferred": "inferred - please check",
    "given": "from --category",
    "not_mentioned": "not in your text: the default category",
}
_SHARES = ("dc_holdback_percentage", "markdown_threshold", "confidence_score")


@contextlib.asynccontextmanager
async def embedded_host() -> AsyncIterator[str]:
    """The local stack on free ports, for one plan run; yields its base URL."""
    options = LocalOptions(port=free_port(), pubsub_port=free_port())
    async with start_host(options, plugins=serve.PLUGINS(options)) as url:
        yield url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("strategy", help="the season strategy in plain words (10-500 characters)")
    parser.add_argument("--category", dest="category_id", default=None, help="category id")
    parser.add_argument("--url", default=None, help="a running app (default: start one here)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--top", type=int, default=10, help="stores shown in the allocation table")
    parser.add_argument(
        "--token",
        default=os.environ.get("PLANNER_TOKEN"),
        help="a signed-in user's Entra id_token for a deployed app (default: $PLANNER_TOKEN)",
    )


def render_board(board: PlanBoard) -> Table:
    """The three agents with their status and a progress bar."""
    table = Table(show_header=False, box=None, padding=(0, 1))
    failed = board.failed_agent
    for agent in board.agents.values():
        detail = agent.error if agent.status == "failed" else agent.message
        if failed is not None and agent.status == "pending":
            detail = f"did not run: {failed.name} failed first"
        table.add_row(
            Text(agent.name, style="bold"),
            Text(agent.status, style=_STYLE[agent.status]),
            ProgressBar(total=100, completed=agent.progress, width=30),
            Text(f"{agent.progress:3d}%"),
            Text(detail or "", style="dim"),
        )
    return table


def forecast_notes(forecast: dict[str, Any]) -> str:
    """What the forecast's method and figures mean, in a sentence each."""
    notes = []
    if forecast.get("model_description"):
        notes.append(f"{forecast['model_used']}: {forecast['model_description']}.")
    notes.append(
        f"Forecast confidence {forecast['confidence']:.1%}: how well this method forecast past "
        "seasons (100 % less its typical error, lower when history is short)."
    )
    notes.append(
        f"Safety stock {forecast['safety_stock_pct']:.1%} ({forecast['safety_stock_units']:,} "
        f"units): extra stock for a {forecast.get('service_level', 0.95):.0%} chance of not "
        f"running out over {forecast.get('cover_weeks', 1)} week(s) between replenishments."
    )
    notes.append("80% low/high: the range the week's sales fall in 8 times out of 10.")
    missing = forecast.get("last_year_missing_weeks") or []
    if missing:
        weeks = len(forecast["forecast_by_week"])
        notes.append(
            f"Last year covers {weeks - len(missing)} of {weeks} weeks: the history has no week "
            f"one year before week{'s' if len(missing) > 1 else ''} "
            f"{', '.join(str(w) for w in missing)}."
        )
    return " ".join(notes)


def _parameter_value(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name in _SHARES:
        return f"{value:.0%}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_parameters(outcome: PlanOutcome) -> Table:
    """The season parameters in words, each with where its value came from."""
    params = Table(title="Season parameters")
    params.add_column("Parameter")
    params.add_column("Value", justify="right")
    params.add_column("Source", style="dim")
    for name, label in PARAMETER_LABELS.items():
        value = (outcome.parameters or {}).get(name)
        words = CATEGORY_SOURCE_WORDS if name == "category_id" else SOURCE_WORDS
        source = words.get(outcome.field_sources.get(name, ""), "")
        if name == "category_id" and value is None:
            value = "the default category" if source else None
        if outcome.field_notes.get(name):
            source = f"{source} ({outcome.field_notes[name]})"
        params.add_row(label, _parameter_value(name, value), source)
    return params


def render_plan(outcome: PlanOutcome, top: int = 10) -> Group:
    """The plan as tables: parameters, forecast by week, clusters, allocations, markdowns."""
    parts: list[Any] = []
    if outcome.parameters:
        parts.append(render_parameters(outcome))
    forecast = outcome.results.get("forecast")
    if forecast:
        weeks = Table(
            title=f"Demand forecast - {forecast['category_id']} ({forecast['model_used']})"
        )
        for col in ("Week", "Starts", "Units", "80% low", "80% high", "Last year", "vs LY"):
            weeks.add_column(col, justify="right")
        for i, week in enumerate(forecast["forecast_by_week"], 1):
            weeks.add_row(
                str(i),
                week["week_start"],
                units(week["units"]),
                units(week["lower"]),
                units(week["upper"]),
                units(week.get("last_year_units")),
                change(week["units"], week.get("last_year_units")),
            )
        last_year = forecast.get("last_year_total")
        missing = forecast.get("last_year_missing_weeks") or []
        weeks.add_row(
            "",
            f"Season ({len(forecast['forecast_by_week'])} weeks)",
            units(forecast["total_demand"]),
            "",
            "",
            units(last_year),
            "-" if missing else change(forecast["total_demand"], last_year),
            style="bold",
        )
        weeks.caption = forecast_notes(forecast)
        parts.append(weeks)
        for warning in forecast.get("warnings") or []:
            parts.append(Text(f"Demand warning: {warning}", style="bold yellow"))
    inventory = outcome.results.get("inventory")
    if inventory:
        clusters = Table(title="Store clusters")
        for col in ("Cluster", "Label", "Stores", "Share", "Units"):
            clusters.add_column(col, justify="right")
        for c in inventory["clusters"]:
            clusters.add_row(
                str(c["cluster_id"]),
                c["cluster_label"],
                str(len(c["stores"])),
                f"{c['allocation_percentage']:.1%}",
                units(c["total_units"]),
            )
        parts.append(clusters)
        stores = sorted(
            ((s, str(c["cluster_id"])) for c in inventory["clusters"] for s in c["stores"]),
            key=lambda pair: -pair[0]["initial_allocation"],
        )
        allocation = Table(
            title=f"Store allocations (top {min(top, len(stores))} of {len(stores)})"
        )
        allocation.add_column("Store")
        allocation.add_column("Name")
        allocation.add_column("Region")
        allocation.add_column("Cluster", justify="right")
        allocation.add_column("Launch units", justify="right")
        allocation.add_column("Launch WOS", justify="right")
        for store, label in stores[:top]:
            allocation.add_row(
                store["store_id"],
                store.get("store_name") or "",
                store.get("region") or "",
                label,
                units(store["initial_allocation"]),
                cover(store.get("launch_weeks_of_supply")),
            )
        allocation.add_row(
            f"Total over all {len(stores)} stores",
            "",
            "",
            "",
            units(inventory["initial_allocation_total"]),
            cover(inventory.get("launch_weeks_of_supply")),
            style="bold",
        )
        holdback = units(inventory["dc_holdback_total"])
        allocation.add_row("Plus held back at the DC", "", "", "", holdback)
        allocation.add_row(
            "Equals manufacturing quantity",
            "",
            "",
            "",
            units(inventory["manufacturing_qty"]),
            style="bold",
        )
        allocation.caption = "Launch WOS: weeks of the store's forecast its launch units cover."
        parts.append(allocation)
        if inventory.get("replenishment_policy"):
            parts.append(Text(inventory["replenishment_policy"]))
        for warning in plan_warnings(outcome):
            parts.append(Text(f"Warning: {warning}", style="bold yellow"))
    pricing = outcome.results.get("pricing")
    if pricing:
        currency = outcome.currency
        markdowns = Table(title=f"Markdowns (full price {money(pricing['full_price'], currency)})")
        for col in ("Week", "Starts", "Markdown", "Price", "Expected units sold"):
            markdowns.add_column(col, justify="right")
        for step in pricing["markdowns"]:
            markdowns.add_row(
                str(step["week_number"]),
                step["week_start"],
                f"{step['markdown_pct']:.0%}",
                money(step["price"], currency),
                units(step.get("expected_units_sold")),
            )
        parts.append(markdowns)
        parts.append(
            Text(
                f"Expected sell-through {pricing['expected_sell_through']:.1%}, revenue "
                f"{money(pricing['expected_revenue'], currency)}, "
                f"leftover {pricing['leftover_units']:,} units"
            )
        )
        season = pricing.get("season_plan")
        if season:
            history = history_note(season)
            if history:
                parts.append(Text(history, style="bold"))
            parts += [stock_flow_table(season), dc_flow_table(season)]
            parts += [money_table(season), buy_plan_table(season), store_deliveries_table(season)]
    return Group(*parts)


def plan_warnings(outcome: PlanOutcome) -> list[str]:
    """The Inventory agent's warnings, its unit-target check first (when its summary has one)."""
    summary = outcome.board.agents[INVENTORY.name].result or {}
    check = summary.get("target_check") or {}
    sentences: list[str] = []
    if check.get("message") and check.get("verdict") not in ("within_80", "no_target"):
        sentences.append(check["message"])
    full = outcome.results.get("inventory")
    if full is not None:
        sentences += full.get("warnings") or []
    elif isinstance(summary.get("warnings"), list):
        sentences += summary["warnings"]  # the first few, shortened: only without the result
    return list(dict.fromkeys(sentences))


def render_error(error: dict[str, Any]) -> Group:
    """The error in words: its message, each field problem, the suggestions, the request id."""
    lines: list[Any] = [
        Text(f"{error.get('error_type')}: {error.get('message')}", style="bold red")
    ]
    details = error.get("details") or {}
    for problem in details.get("validation_errors") or []:
        sentence = field_sentence(str(problem.get("field", "")), str(problem.get("message", "")))
        if sentence not in str(error.get("message")):
            lines.append(Text(f"  {sentence}", style="red"))
    for name in details.get("missing_parameters") or []:
        lines.append(Text(f"  missing: {PARAMETER_LABELS.get(name, name)}", style="red"))
    for name, key in (
        ("Season starts", "season_start_date"),
        ("History's first week", "history_first_week"),
        ("History's last week", "history_last_week"),
    ):
        if details.get(key):
            lines.append(Text(f"  {name}: {details[key]}", style="red"))
    for suggestion in error.get("suggestions") or []:
        lines.append(Text(f"- {suggestion}"))
    if error.get("request_id"):
        lines.append(Text(f"request id: {error['request_id']}", style="dim"))
    return Group(*lines)


class BoardView:
    """The agents' progress on `out`: redrawn live on a terminal, from the first update on (so
    nothing is drawn when no workflow started); elsewhere (a pipe, a file) drawn once at the end,
    so the output is plain lines, each ending with a newline."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.live: Live | None = None

    def update(self, board: PlanBoard) -> None:
        if not self.out.is_terminal:
            return
        if self.live is None:
            self.live = Live(console=self.out, refresh_per_second=8, transient=False)
            self.live.start()
        self.live.update(render_board(board))

    def close(self, outcome: PlanOutcome) -> None:
        if self.live is not None:
            self.live.update(render_board(outcome.board))
            self.live.stop()
        elif outcome.workflow_id is not None:
            self.out.print(render_board(outcome.board))


async def plan(
    args: argparse.Namespace,
    out: Console,
    embedded: EmbeddedHost = embedded_host,
) -> PlanOutcome:
    """Run one plan, showing the agents' progress on `out` unless --json."""
    async with contextlib.AsyncExitStack() as stack:
        url = args.url or await stack.enter_async_context(embedded())
        if args.json:
            return await run_plan(
                url,
                args.strategy,
                category_id=args.category_id,
                timeout=args.timeout,
                token=args.token,
            )
        view = BoardView(out)
        outcome = await run_plan(
            url,
            args.strategy,
            category_id=args.category_id,
            timeout=args.timeout,
            on_update=view.update,
            token=args.token,
        )
        view.close(outcome)
        return outcome


def main(
    args: argparse.Namespace,
    embedded: EmbeddedHost = embedded_host,
    out: Console | None = None,
    err: Console | None = None,
) -> int:
    """Plan, print, and exit 0 on success, 1 on failure (the ErrorResponse on stderr)."""
    # stderr carries the plan's error; the embedded app's own request warnings would repeat it.
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("localdev.cli.planner").setLevel(logging.WARNING)
    # Why the planner waits (429: too many plans running; 503: the database is busy).
    logging.getLogger("localdev.cli.retry").setLevel(logging.WARNING)
    out = out or Console()
    err = err or Console(stderr=True)
    outcome = asyncio.run(plan(args, out, embedded))
    if args.json:
        sys.stdout.write(json.dumps(outcome.document(), default=str) + "\n")
        if not outcome.ok and outcome.error:
            sys.stderr.write(json.dumps(outcome.error, default=str) + "\n")
        return 0 if outcome.ok else 1
    if outcome.results and any(outcome.results.values()):
        out.print(render_plan(outcome, args.top))
    elif outcome.parameters:
        # A failed run shows what it was asked to plan, so a wrong year or category is seen.
        out.print(render_parameters(outcome))
    if not outcome.ok and outcome.error:
        err.print(render_error(outcome.error))
    return 0 if outcome.ok else 1
