"""One definition per figure: the glossary page, the OpenAPI document, the console and the CLI
say what shared/glossary.py says, word for word."""

import json
import re
from pathlib import Path

import pytest

from localdev.cli.season_tables import buy_plan_table, dc_flow_table, money_table, stock_flow_table
from orchestrator.http.contract.openapi import openapi_document
from shared.glossary import GLOSSARY, caption, describe

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "orchestrator" / "http" / "console" / "app.js"


def _descriptions(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["description"]] if isinstance(node.get("description"), str) else []
        return found + [d for value in node.values() for d in _descriptions(value)]
    if isinstance(node, list):
        return [d for value in node for d in _descriptions(value)]
    return []


def test_the_page_lists_every_figure_with_its_one_definition():
    page = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    for key, term in GLOSSARY.items():
        assert f"| {term.label} | `{key}` | {term.definition} |" in page


@pytest.mark.parametrize(
    "key",
    [
        "demand",
        "lost_sales",
        "chain_sell_through",
        "average_inventory_cost",
        "gmroi",
        "gmroi_annualised",
        "buy_plan",
        "store_deliveries",
        "stranded_units",
        "expected_sell_through",
        "checkpoint_sell_through",
    ],
)
def test_the_openapi_document_describes_each_field_with_the_glossary(key):
    descriptions = _descriptions(openapi_document())
    assert describe(key) in descriptions


def test_the_stock_positions_name_each_level_by_its_definition():
    descriptions = _descriptions(openapi_document())
    sell_through = f"stores: {describe('store_sell_through')} DC: {describe('dc_sell_through')}"
    cover = f"stores: {describe('store_weeks_of_supply')} DC: {describe('dc_weeks_of_supply')}"
    assert sell_through in descriptions and cover in descriptions


def test_the_console_carries_the_glossary_word_for_word():
    source = CONSOLE.read_text(encoding="utf-8")
    block = re.search(r"/\* glossary \*/ (\{.*?\}) /\* end glossary \*/", source, re.S)
    assert block, "app.js has no glossary block"
    assert json.loads(block.group(1)) == {
        key: {"label": term.label, "definition": term.definition} for key, term in GLOSSARY.items()
    }
    # The hover text of the figures the console shows reads the glossary, not its own words.
    for key in ("store_sell_through", "store_weeks_of_supply", "dc_weeks_of_supply", "gmroi"):
        assert f'define("{key}")' in source


def _plan() -> dict:
    from tests.activities.planning.test_stock_flow import _plan as plan_of

    _, _, pricing = plan_of([500] * 8, 5000, 0.3)
    return pricing.season_plan.model_dump(mode="json")


def test_the_cli_captions_are_the_glossary():
    plan = _plan()
    tables = (stock_flow_table, dc_flow_table, money_table, buy_plan_table)
    captions = " ".join(str(table(plan).caption) for table in tables)
    for key in (
        "demand",
        "lost_sales",
        "store_sell_through",
        "store_weeks_of_supply",
        "dc_sell_through",
        "dc_weeks_of_supply",
        "average_inventory_cost",
        "gmroi",
        "gmroi_annualised",
        "buy_plan",
    ):
        assert caption(key) in captions
