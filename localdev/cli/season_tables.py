"""The season plan as terminal tables: weekly stock flow, money and the buy plan.

Every figure is read from the served results (the season plan of `GET /api/markdowns/{id}`);
totals are sums of the rows shown, which the plan's contract guarantees equal the agents' own
totals, so the terminal shows the same numbers as the console, the CSV and the JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.numbers import format_currency
from rich import box
from rich.table import Table

from shared.glossary import GLOSSARY, caption

LOCALE = "en_US"

FIGURE_NOTES = {
    "markdown_cost": "Markdown cost: (full price - price paid) x units sold marked down.",
    "salvage": "Salvage: what leftovers fetch at the category's salvage fraction of unit cost.",
}
"""The notes of figures outside the glossary; the glossary's own come from shared.glossary."""


def money(value: float | None, currency: str, digits: int = 2) -> str:
    """An amount with its currency's symbol ($1,234.50, €1,234.50; the code where none)."""
    if value is None:
        return "-"
    pattern = "¤#,##0" + ("." + "0" * digits if digits else "")
    return format_currency(value, currency, format=pattern, locale=LOCALE, currency_digits=False)


def units(value: Any) -> str:
    return "-" if value is None else f"{value:,.0f}"


def share(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def cover(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def change(current: float, before: float | None) -> str:
    """The change against last year, as a signed percentage."""
    if not before:
        return "-"
    return f"{current / before - 1:+.1%}"


def _compact(title: str, columns: tuple[str, ...]) -> Table:
    """A table narrow enough for an 80-column terminal: no vertical rules, right-aligned."""
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right")
    return table


def short_date(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%b %d")


def stock_flow_table(plan: dict[str, Any]) -> Table:
    """The stores, week by week: demand (the forecast with any markdown's uplift, or what sold in
    weeks already past, marked "a"), opening stock, receipts, sales, lost sales, closing stock,
    cumulative sell-through and weeks of supply."""
    table = _compact(
        "Weekly stock flow at the stores (units)",
        (
            "Week",
            "Starts",
            "Demand",
            "Open",
            "Receipts",
            "Sales",
            "Lost",
            "Close",
            "Sell-thru",
            "WOS",
        ),
    )
    weeks = plan["weeks"]
    for week in weeks:
        stores = week["stores"]
        table.add_row(
            f"{week['week_number']}{' a' if week.get('actual') else ''}",
            short_date(week["week_start"]),
            units(week["demand_units"]),
            units(stores["opening"]),
            units(stores["receipts"]),
            units(stores["sales"]),
            units(week.get("lost_sales")),
            units(stores["closing"]),
            share(stores["sell_through"]),
            cover(stores["weeks_of_supply"]),
        )
    if weeks:
        last = weeks[-1]["stores"]
        table.add_row(
            "",
            "Season",
            units(sum(w["demand_units"] for w in weeks)),
            "",
            units(sum(w["stores"]["receipts"] for w in weeks)),
            units(sum(w["stores"]["sales"] for w in weeks)),
            units(sum(w.get("lost_sales", 0) for w in weeks)),
            units(last["closing"]),
            share(last["sell_through"]),
            "",
            style="bold",
        )
    notes = ("demand", "lost_sales", "store_sell_through", "store_weeks_of_supply")
    table.caption = " ".join([*(caption(k) for k in notes), "a: actual sales (history)."])
    return table


def history_note(plan: dict[str, Any]) -> str | None:
    """What part of the season is history, in a sentence (None for a season still to come)."""
    sold, weeks = plan.get("history_weeks", 0), len(plan["weeks"])
    if not sold:
        return None
    if sold >= weeks:
        return (
            f"This season is history: all {weeks} weeks have sold. The rows are actual sales; "
            "the markdown is what the policy would have decided, not advice."
        )
    return (
        f"History up to week {sold}: weeks 1-{sold} are actual sales, weeks {sold + 1}-{weeks} "
        "the plan."
    )


def dc_flow_table(plan: dict[str, Any]) -> Table:
    """The DC, week by week: the vendor receipts, its deliveries to the stores, what it holds,
    its sell-through and its weeks of supply at the planned deliveries."""
    table = _compact(
        "Weekly stock flow at the DC (units)",
        ("Week", "Starts", "Open", "Received", "Delivered", "Close", "Sell-thru", "WOS"),
    )
    weeks = plan["weeks"]
    for week in weeks:
        dc = week["dc"]
        table.add_row(
            str(week["week_number"]),
            short_date(week["week_start"]),
            units(dc["opening"]),
            units(dc["receipts"]),
            units(dc["sales"]),
            units(dc["closing"]),
            share(dc["sell_through"]),
            cover(dc["weeks_of_supply"]),
        )
    if weeks:
        table.add_row(
            "",
            "Season",
            "",
            units(sum(w["dc"]["receipts"] for w in weeks)),
            units(sum(w["dc"]["sales"] for w in weeks)),
            units(weeks[-1]["dc"]["closing"]),
            share(weeks[-1]["dc"]["sell_through"]),
            "",
            style="bold",
        )
    table.caption = (
        " ".join(
            (caption("dc_sell_through"), caption("dc_weeks_of_supply"), caption("stranded_units"))
        )
        + f" This plan: {units(plan.get('stranded_units', 0))} units."
    )
    return table


def money_table(plan: dict[str, Any]) -> Table:
    """Revenue, cost, margin, markdown cost, leftovers and GMROI in the category's currency."""
    m = plan["money"]
    currency = m["currency"]
    table = Table(title=f"Money ({currency})")
    table.add_column("Figure")
    table.add_column("Units", justify="right")
    table.add_column("Amount", justify="right")
    margin_pct = f" ({share(m['gross_margin_pct'])})" if m["gross_margin_pct"] else ""
    leftover = units(m["leftover_units"])
    rows: list[tuple[str, str, str]] = [
        (
            f"Revenue at full price ({money(m['full_price'], currency)})",
            units(m["units_sold_full_price"]),
            money(m["revenue_full_price"], currency),
        ),
        (
            "Revenue marked down",
            units(m["units_sold_marked_down"]),
            money(m["revenue_marked_down"], currency),
        ),
        ("Revenue", units(m["units_sold"]), money(m["revenue"], currency)),
        (
            f"Cost of goods sold ({money(m['unit_cost'], currency)} a unit)",
            units(m["units_sold"]),
            money(m["cogs"], currency),
        ),
        (
            f"Gross margin{margin_pct}",
            "",
            money(m["gross_margin"], currency),
        ),
        ("Markdown cost", units(m["units_sold_marked_down"]), money(m["markdown_cost"], currency)),
        ("Leftover at cost", leftover, money(m["leftover_cost"], currency)),
        ("Salvage value of leftovers", leftover, money(m["salvage_value"], currency)),
        (
            GLOSSARY["average_inventory_cost"].label,
            "",
            money(m["average_inventory_cost"], currency),
        ),
        (GLOSSARY["gmroi"].label, "", _ratio(m["gmroi"])),
        (GLOSSARY["gmroi_annualised"].label, "", _ratio(m.get("gmroi_annualised"))),
    ]
    for row in rows:
        table.add_row(*row, style="bold" if row[0].startswith(("Revenue", "Gross")) else None)
    defined = ("average_inventory_cost", "gmroi", "gmroi_annualised")
    table.caption = " ".join(
        [FIGURE_NOTES["markdown_cost"], FIGURE_NOTES["salvage"], *(caption(k) for k in defined)]
    )
    return table


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def buy_plan_table(plan: dict[str, Any]) -> Table:
    """Vendor receipts into the DC: the week each lands, the date to order by, units at cost
    and retail."""
    currency = plan["money"]["currency"]
    table = Table(title="Buy plan: vendor receipts into the DC")
    lead = plan.get("vendor_lead_weeks", 0)
    for column in (
        "Week",
        "Lands",
        f"Order by ({lead} wk lead)",
        "Units",
        f"Cost ({currency})",
        f"Retail ({currency})",
    ):
        table.add_column(column, justify="right")
    buys = plan["buy_plan"]
    for buy in buys:
        table.add_row(
            str(buy["week_number"]),
            buy["week_start"],
            buy.get("order_by") or "-",
            units(buy["units"]),
            money(buy["cost"], currency),
            money(buy["retail_value"], currency),
        )
    table.add_row(
        "",
        f"All {len(buys)} receipts",
        "",
        units(sum(b["units"] for b in buys)),
        money(sum(b["cost"] for b in buys), currency),
        money(sum(b["retail_value"] for b in buys), currency),
        style="bold",
    )
    table.add_row("", "Equals manufacturing quantity", "", units(plan["manufacturing_qty"]), "", "")
    table.caption = caption("buy_plan")
    return table


def store_deliveries_table(plan: dict[str, Any]) -> Table:
    """Units the DC delivers to the stores each week: the launch, then the policy's top-ups."""
    table = _compact("Store deliveries (units)", ("Week", "Starts", "Units"))
    deliveries = plan.get("store_deliveries") or []
    for delivery in deliveries:
        table.add_row(
            str(delivery["week_number"]),
            short_date(delivery["week_start"]),
            units(delivery["units"]),
        )
    table.add_row(
        "",
        f"All {len(deliveries)} deliveries",
        units(sum(d["units"] for d in deliveries)),
        style="bold",
    )
    table.caption = caption("store_deliveries")
    return table
