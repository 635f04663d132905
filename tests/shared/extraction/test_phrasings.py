"""The phrasing table (tests/support/phrasings.py) against both extractors.

Rules: the deterministic reader on the text alone. Language model: the real openai SDK, its wire
replaced by an `httpx2.MockTransport` that answers with the recorded structured answer for the
text; the rules still read the same text behind it, and where the model contradicts what the
text states (an explicit date, the year of a named season, a category named verbatim) the text
wins.
"""

from __future__ import annotations

import json

import httpx2
import pytest

from shared.errors import InvalidParametersError
from shared.extraction import StrategyReading, read_strategy
from shared.settings import Settings
from tests.support.extraction import completion
from tests.support.phrasings import CATEGORIES, PHRASINGS, TODAY, Phrasing, model_answer

RULES = Settings(extractor="rules")
MODEL = Settings(
    extractor="llm",
    azure_openai_endpoint="https://contoso.openai.azure.com",
    azure_openai_api_key="sk-test-key-0000",
    llm_max_retries=0,
)


def by_rules(case: Phrasing) -> StrategyReading:
    return read_strategy(case.full_text, RULES, today=TODAY, categories=CATEGORIES)


def by_model(case: Phrasing) -> StrategyReading:
    answer = json.dumps(model_answer(case))
    transport = httpx2.MockTransport(lambda _request: httpx2.Response(200, json=completion(answer)))
    return read_strategy(
        case.full_text,
        MODEL,
        today=TODAY,
        categories=CATEGORIES,
        http_client=httpx2.Client(transport=transport),
    )


def check(case: Phrasing, read) -> None:
    if case.unknown_product is not None:
        with pytest.raises(InvalidParametersError) as caught:
            read(case)
        error = caught.value
        assert error.status_code == 422
        assert f"'{case.unknown_product}'" in error.message
        for category in CATEGORIES:
            assert category.name in error.message
        assert error.details["product"] == case.unknown_product
        assert error.details["available_categories"] == [c.category_id for c in CATEGORIES]
        if case.did_you_mean is not None:
            assert f"Did you mean {case.did_you_mean}?" in error.message
            assert error.suggestions[0].startswith(f"Did you mean {case.did_you_mean}?")
        else:
            assert "Did you mean" not in error.message
        assert any("localdev load" in suggestion for suggestion in error.suggestions)
        return
    reading = read(case)
    params, sources = reading.parameters, reading.field_sources
    assert params.season_start_date.isoformat() == case.start
    assert sources["season_start_date"] == case.start_source
    assert reading.category_id == case.category
    assert sources["category_id"] == case.expected_category_source
    if case.expected_category_source == "inferred":  # a typo read as a category says so
        assert reading.field_notes["category_id"]
    if case.note is not None:
        assert case.note in (params.extraction_reasoning or "")
    if case.start_source == "inferred":  # an inferred start says why, next to the field
        assert reading.field_notes["season_start_date"]
        if case.note is not None:
            assert case.note in reading.field_notes["season_start_date"]


@pytest.mark.parametrize("case", PHRASINGS, ids=lambda c: c.text[:48])
def test_rules_extractor(case: Phrasing) -> None:
    check(case, by_rules)


@pytest.mark.parametrize("case", PHRASINGS, ids=lambda c: c.text[:48])
def test_language_model_path(case: Phrasing) -> None:
    check(case, by_model)


def test_the_table_covers_every_kind_of_phrasing() -> None:
    assert len(PHRASINGS) >= 40
    assert sum(c.unknown_product is not None for c in PHRASINGS) >= 4
    assert sum(c.category is None and c.unknown_product is None for c in PHRASINGS) >= 4
    assert sum(bool(c.model) or c.model_product is not None for c in PHRASINGS) >= 2
    assert sum(c.category_source == "inferred" for c in PHRASINGS) >= 3  # typos
    assert sum(c.did_you_mean is not None for c in PHRASINGS) >= 2
    assert sum(" week of " in c.text or "Monday of" in c.text for c in PHRASINGS) >= 4
