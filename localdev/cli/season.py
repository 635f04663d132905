"""`python -m localdev season ...`: a live season from the command line (docs/seasons.md).

    season launch WORKFLOW_ID          launch a completed plan into a live season
    season upload SEASON_ID FILE.csv   upload a week's actuals (the sales file's columns)
    season show SEASON_ID [--watch]    versions and plan against actual by week; --watch
                                       redraws when a `plan_updated` lands on the socket

All talk to a running app (`--url`, default the local `serve`); the figures are the API's, so
they are the console's to the unit.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from localdev.cli.serve import DEFAULT_PORT

HELP = "live seasons: launch a plan, upload a week's actuals, show plan against actual"
TIMEOUT = 60.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the running app")
    parser.add_argument(
        "--token",
        default=os.environ.get("PLANNER_TOKEN"),
        help="a signed-in user's Entra id_token for a deployed app (default: $PLANNER_TOKEN)",
    )
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    launch = sub.add_parser("launch", help="launch a completed plan into a live season")
    launch.add_argument("workflow_id")
    upload = sub.add_parser("upload", help="upload a week's actuals (CSV)")
    upload.add_argument("season_id")
    upload.add_argument("file", type=Path)
    show = sub.add_parser("show", help="versions and plan against actual by week")
    show.add_argument("season_id")
    show.add_argument("--watch", action="store_true", help="redraw on each plan_updated")


def _client(args: argparse.Namespace) -> httpx.Client:
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    return httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=TIMEOUT)


def _answer(response: httpx.Response) -> dict[str, Any]:
    if response.is_success:
        body: dict[str, Any] = response.json()
        return body
    try:
        error = response.json()
        message = f"{error.get('error_type')}: {error.get('message')}"
        details = error.get("details") or {}
        for row in details.get("refused_rows", [])[:10]:
            message += f"\n  row {row['row']}: {', '.join(row['problems'])}"
    except ValueError:
        message = response.text[:300]
    raise SystemExit(f"error {response.status_code} {message}")


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f} %"


def season_table(season: dict[str, Any]) -> Table:
    """Plan against actual by week, as GET /api/seasons/{id} gives it."""
    table = Table(title=f"{season['season_id']}  ({season['status']}, {season['category_id']})")
    for header in (
        "Week",
        "Starts",
        "Original",
        "Working",
        "Actual",
        "Variance",
        "Sell-thru",
        "Cover (wk)",
        "DC ship",
        "Markdown",
    ):
        table.add_column(header, justify="right")
    for week in season["weeks_plan_against_actual"]:
        actual = week["actual_units"]
        table.add_row(
            str(week["week_number"]),
            week["week_start"],
            f"{week['original_units']:,}",
            f"{week['working_units']:,}",
            "" if actual is None else f"{actual:,}",
            _pct(week["variance_pct"]),
            "" if week["sell_through"] is None else f"{week['sell_through']:.0%}",
            "" if week["weeks_of_supply"] is None else f"{week['weeks_of_supply']:.1f}",
            f"{week['shipment_units']:,}",
            f"{week['markdown_pct']:.0%}" if week["markdown_pct"] else "",
        )
    return table


def versions_table(season: dict[str, Any]) -> Table:
    table = Table(title="Plan versions")
    for header in ("Version", "From uploads", "Variance", "What changed and why"):
        table.add_column(header, justify="left")
    for version in season["versions"]:
        table.add_row(
            str(version["version"]),
            str(version["actuals_version"]),
            _pct(version["variance"].get("variance_pct")),
            version["changes"].get("reason", ""),
        )
    return table


def _show(console: Console, season: dict[str, Any]) -> None:
    console.print(versions_table(season))
    console.print(season_table(season))


def _watch(client: httpx.Client, console: Console, season: dict[str, Any]) -> None:
    from websockets.sync.client import connect

    negotiated = _answer(
        client.get("/api/orchestrator/negotiate", params={"session_id": season["session_id"]})
    )
    with connect(negotiated["url"], open_timeout=10) as ws:
        console.print("watching for plan_updated (Ctrl-C to stop)")
        for frame in ws:
            message = json.loads(frame)
            if message.get("type") == "plan_updated" and (
                message.get("season_id") == season["season_id"]
            ):
                console.print(f"plan_updated: version {message['version']}: {message['reason']}")
                _show(console, _answer(client.get(f"/api/seasons/{season['season_id']}")))


def main(args: argparse.Namespace) -> int:
    console = Console()
    with _client(args) as client:
        if args.action == "launch":
            answer = _answer(client.post("/api/seasons", json={"workflow_id": args.workflow_id}))
            if not args.json:
                console.print(
                    f"season {answer['season_id']}: {answer['status']}, {answer['weeks']} weeks "
                    f"from {answer['season_start_date']}"
                )
        elif args.action == "upload":
            answer = _answer(
                client.post(
                    f"/api/seasons/{args.season_id}/actuals",
                    content=args.file.read_bytes(),
                    headers={"Content-Type": "text/csv"},
                )
            )
            if not args.json:
                outcome = (
                    "already recorded: nothing new to plan"
                    if answer["duplicate"]
                    else "recorded; the season re-plans now"
                )
                console.print(
                    f"{answer['rows']} rows {outcome} (upload {answer['upload_id']}, "
                    f"actuals version {answer['actuals_version']})"
                )
        else:
            answer = _answer(client.get(f"/api/seasons/{args.season_id}"))
            if not args.json:
                _show(console, answer)
                if args.watch:
                    try:
                        _watch(client, console, answer)
                    except KeyboardInterrupt:
                        return 0
        if args.json:
            print(json.dumps(answer, indent=2))
    return 0
