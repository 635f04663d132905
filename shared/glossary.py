"""One definition per figure of the season plan: the single source the API's field descriptions
(OpenAPI), the console's hover text and the command line's captions all say.

docs/glossary.md is this table for readers; tests/shared/test_glossary.py holds the page, the
OpenAPI document, the console (orchestrator/http/console/app.js) and the CLI to these words.
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    label: str
    definition: str


GLOSSARY: dict[str, Term] = {
    "demand": Term(
        "Demand",
        "Units the stores would sell with stock enough: the forecast with any markdown's uplift "
        "(for weeks already sold, what really sold).",
    ),
    "lost_sales": Term(
        "Lost sales",
        "Demand a store could not serve because it had no stock, summed over the stores.",
    ),
    "store_sell_through": Term(
        "Sell-through (stores)",
        "Units the stores sold / units the stores received, cumulative to the week.",
    ),
    "dc_sell_through": Term(
        "Sell-through (DC)",
        "Units the DC delivered to the stores / units the DC received from the vendor, "
        "cumulative to the week.",
    ),
    "chain_sell_through": Term(
        "Sell-through (chain)",
        "Units the stores sold / units the chain received from the vendor (the buy), "
        "cumulative to the week.",
    ),
    "store_weeks_of_supply": Term(
        "Weeks of supply (stores)",
        "The stores' closing stock / the coming weeks' demand, counted week by week.",
    ),
    "dc_weeks_of_supply": Term(
        "Weeks of supply (DC)",
        "The DC's closing stock / its planned deliveries to the stores in the coming weeks, "
        "counted week by week; none when no delivery is planned.",
    ),
    "average_inventory_cost": Term(
        "Average inventory at cost",
        "The mean of the weekly closing stock (stores + DC), at unit cost.",
    ),
    "gmroi": Term(
        "GMROI (season)",
        "Gross margin / average inventory at cost, over the season's weeks.",
    ),
    "gmroi_annualised": Term(
        "GMROI (annualised)",
        "GMROI (season) x 52 / the season's weeks: the same return at a year's pace.",
    ),
    "buy_plan": Term(
        "Buy plan",
        "Vendor receipts into the DC: when they land, how many units, and the date to order "
        "by (the landing week less the category's vendor lead time).",
    ),
    "store_deliveries": Term(
        "Store deliveries",
        "Units the DC delivers to the stores each week: the launch, then the replenishment "
        "policy's top-ups.",
    ),
    "stranded_units": Term(
        "Stranded at the DC",
        "Units the DC held, not committed to a delivery, at the end of weeks in which stores "
        "lost sales (each week at most that week's lost sales).",
    ),
    "expected_sell_through": Term(
        "Expected sell-through",
        "Units the season is expected to sell / units bought (the chain's sell-through at the "
        "season's end).",
    ),
    "checkpoint_sell_through": Term(
        "Sell-through at the checkpoint",
        "The chain's sell-through at the markdown checkpoint week, read from the stock flow.",
    ),
}


def describe(key: str) -> str:
    """The definition of figure `key` (a KeyError names a figure the glossary lacks)."""
    return GLOSSARY[key].definition


def caption(key: str) -> str:
    """'Label: definition', as the command line prints it under a table."""
    term = GLOSSARY[key]
    return f"{term.label}: {term.definition}"
