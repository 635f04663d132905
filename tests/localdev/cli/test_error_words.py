"""The CLI speaks in sentences: an error it prints names no request-field path, whatever the
server's details carry for programs."""

from __future__ import annotations

import re

from pydantic import ValidationError
from rich.console import Console

from localdev.cli.plan import render_error
from shared.errors import ParameterExtractionError, invalid_from_validation
from shared.extraction import extract_parameters
from shared.schemas import ExtractionRequest, RunWorkflowRequest
from shared.settings import Settings

FIELD_PATH = re.compile(r"\b[a-z]+_[a-z_]+\b|details\.")


def printed(error: dict) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(render_error(error))
    return console.export_text()


def answer(exc: Exception) -> dict:
    return exc.to_response("req-1").model_dump()  # type: ignore[attr-defined]


def test_a_too_short_description_is_one_sentence():
    try:
        ExtractionRequest.model_validate({"strategy_description": "short"})
    except ValidationError as exc:
        text = printed(answer(invalid_from_validation(exc)))
    assert "The description should have at least 10 characters." in text
    assert not FIELD_PATH.search(text), text


def test_bad_season_values_are_sentences_in_the_planners_words():
    try:
        RunWorkflowRequest.model_validate(
            {
                "session_id": "s1",
                "parameters": {
                    "forecast_horizon_weeks": 99,
                    "season_start_date": "2025-01-06",
                    "replenishment_strategy": "daily",
                    "dc_holdback_percentage": 0.1,
                },
            }
        )
    except ValidationError as exc:
        text = printed(answer(invalid_from_validation(exc)))
    assert "The season length in weeks should be less than or equal to 52." in text
    assert "The store replenishment should be" in text
    assert not FIELD_PATH.search(text), text


def test_missing_fields_are_named_in_the_planners_terms_with_an_example_each():
    try:
        extract_parameters("Make it a great season for everyone!", Settings(extractor="rules"))
    except ParameterExtractionError as exc:
        text = printed(answer(exc))
    assert "does not say how long the season runs" in text
    assert "e.g. '12 weeks'" in text and "e.g. '15% DC holdback'" in text
    assert not FIELD_PATH.search(text.replace("bi-weekly", "")), text
