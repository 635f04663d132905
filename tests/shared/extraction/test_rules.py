"""The deterministic extractor on the ways planners actually write a season."""

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from shared.errors import InvalidParametersError, ParameterExtractionError
from shared.extraction import extract_parameters
from shared.settings import Settings
from tests.support.extraction import SPEC, SPEC_FIELDS

TODAY = date(2024, 11, 4)  # a Monday
RULES = Settings(extractor="rules")


# (text, expected fields); every case must come out complete.
PHRASINGS = [
    (SPEC, SPEC_FIELDS),
    (
        "A 12-week season from January 1st 2025 with bi-weekly shipments; hold back 15% at the DC.",
        {
            "forecast_horizon_weeks": 12,
            "season_start_date": "2025-01-01",
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.15,
        },
    ),
    (
        "Twelve weeks starting 1 January 2025, biweekly, "
        "15 percent held at the distribution center.",
        {
            "forecast_horizon_weeks": 12,
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.15,
        },
    ),
    (
        "Season starts 2025-01-01 and runs a quarter; "
        "every two weeks replenishment; no DC holdback.",
        {
            "forecast_horizon_weeks": 13,
            "season_start_date": "2025-01-01",
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.0,
        },
    ),
    (
        "6-month season starting 1/1/2025, fortnightly deliveries, all inventory to stores.",
        {
            "forecast_horizon_weeks": 26,
            "season_start_date": "2025-01-01",
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.0,
        },
    ),
    (
        "3 months from March 1, no replenishment, 20% holdback at the DC.",
        {
            "forecast_horizon_weeks": 13,
            "season_start_date": "2025-03-01",
            "replenishment_strategy": "none",
            "dc_holdback_percentage": 0.2,
        },
    ),
    (
        "6 months beginning 2025-02-03 with weekly shipments and a 10% DC holdback.",
        {
            "forecast_horizon_weeks": 26,
            "season_start_date": "2025-02-03",
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.1,
        },
    ),
    (
        "Start next Monday for 10 weeks, weekly shipments, keep 10% in the warehouse.",
        {
            "forecast_horizon_weeks": 10,
            "season_start_date": "2024-11-11",
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.1,
        },
    ),
    (
        "One initial allocation, 8,000 units, 12 weeks from Jan 1, 2025, 5% DC holdback. "
        "Markdown at week 6 if sell-through is below 60%.",
        {
            "replenishment_strategy": "none",
            "unit_target": 8000,
            "markdown_checkpoint_week": 6,
            "markdown_threshold": 0.6,
            "dc_holdback_percentage": 0.05,
        },
    ),
    (
        "8k units starting Jan 1, 2025 through March 26, 2025, weekly replenishment, 15% DC "
        "holdback, check sell-through in week 8.",
        {
            "forecast_horizon_weeks": 12,
            "season_end_date": "2025-03-26",
            "unit_target": 8000,
            "markdown_checkpoint_week": 8,
        },
    ),
    (
        "Launch on March 1 for twenty-six weeks, replenish every other week, hold back twenty "
        "percent at the DC, 30% off markdown at week 10.",
        {
            "forecast_horizon_weeks": 26,
            "season_start_date": "2025-03-01",
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.2,
            "markdown_checkpoint_week": 10,
        },
    ),
    (
        "Jan 6 - Mar 31, 2025, weekly restock, no holdback.",
        {
            "forecast_horizon_weeks": 12,
            "season_start_date": "2025-01-06",
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.0,
        },
    ),
    (
        "From Feb 3 to May 5, 2025 with no replenishment and 25% DC holdback.",
        {
            "forecast_horizon_weeks": 13,
            "season_start_date": "2025-02-03",
            "replenishment_strategy": "none",
            "dc_holdback_percentage": 0.25,
        },
    ),
    (
        "We plan a 52-week year starting January 6, 2025, weekly replenishment, 0% DC holdback.",
        {
            "forecast_horizon_weeks": 52,
            "season_start_date": "2025-01-06",
            "dc_holdback_percentage": 0.0,
        },
    ),
    (
        "Spring: 16 wks starting 3/3/2025, weekly shipments, hold back 12.5% at the DC.",
        {
            "forecast_horizon_weeks": 16,
            "season_start_date": "2025-03-03",
            "dc_holdback_percentage": 0.125,
        },
    ),
    (
        "A quarter-long season starting April 7th, 2025. "
        "Replenish every 2 weeks. Reserve 10% at DC.",
        {
            "forecast_horizon_weeks": 13,
            "season_start_date": "2025-04-07",
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 0.1,
        },
    ),
    (
        "Half a year starting 7 April 2025, single allocation, all units go to stores.",
        {
            "forecast_horizon_weeks": 26,
            "replenishment_strategy": "none",
            "dc_holdback_percentage": 0.0,
        },
    ),
    (
        "Twenty weeks from Sept 1, 2025; restock once a week; retain 15% at the warehouse.",
        {
            "forecast_horizon_weeks": 20,
            "season_start_date": "2025-09-01",
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.15,
        },
    ),
    (
        "Season of 8 weeks beginning 2025-06-02. Weekly replenishment. DC holdback of 30%.",
        {"forecast_horizon_weeks": 8, "dc_holdback_percentage": 0.3},
    ),
    (
        "Plan 1.5k units for 10 weeks from Dec 1, with weekly deliveries and 10% held back.",
        {
            "unit_target": 1500,
            "season_start_date": "2024-12-01",
            "replenishment_strategy": "weekly",
        },
    ),
    (
        "12 weeks from January 1 2025. Don't replenish. Don't hold anything back.",
        {"replenishment_strategy": "none", "dc_holdback_percentage": 0.0},
    ),
    (
        "Starting 2025-01-01, 4 weeks, bi weekly shipments, 100% held at the DC.",
        {
            "forecast_horizon_weeks": 4,
            "replenishment_strategy": "bi-weekly",
            "dc_holdback_percentage": 1.0,
        },
    ),
    (
        "13-week season from Monday 3 March 2025, fortnightly top-ups, 15% DC holdback. "
        "Review sell-through at week 7; mark down if below 55% sell-through.",
        {
            "forecast_horizon_weeks": 13,
            "season_start_date": "2025-03-03",
            "markdown_checkpoint_week": 7,
            "markdown_threshold": 0.55,
        },
    ),
    (
        "Over 12 weeks starting Jan 1, 2025 with weekly replenishment and a 15% DC holdback, "
        "targeting 8 thousand units.",
        {"unit_target": 8000, "forecast_horizon_weeks": 12},
    ),
    (
        "Starting tomorrow for 6 weeks, weekly replenishment, hold back 5% at the DC.",
        {"season_start_date": "2024-11-05", "forecast_horizon_weeks": 6},
    ),
    (
        "Three-month season starting Mar 1 2025, weekly, 10% DC holdback, 2,500,000 units.",
        {
            "forecast_horizon_weeks": 13,
            "replenishment_strategy": "weekly",
            "unit_target": 2_500_000,
        },
    ),
    (
        "Nine weeks starting June 2nd 2025. Ship weekly. Keep 5 percent at the DC.",
        {
            "forecast_horizon_weeks": 9,
            "season_start_date": "2025-06-02",
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.05,
        },
    ),
    (
        "12 weeks starting January 1st, 2025, weekly, hold back 15% in the DC, 40% markdown at "
        "week 10.",
        {"dc_holdback_percentage": 0.15, "markdown_checkpoint_week": 10},
    ),
    (
        "Starting March 1 2025 and running through May 24 2025, replenishment every two weeks, "
        "no DC holdback.",
        {
            "forecast_horizon_weeks": 12,
            "season_start_date": "2025-03-01",
            "replenishment_strategy": "bi-weekly",
        },
    ),
    (
        "A 26-week season from 2025-03-03, every week shipments, fifteen percent DC holdback, "
        "sell-through threshold of 65%, checkpoint at week 12.",
        {
            "forecast_horizon_weeks": 26,
            "replenishment_strategy": "weekly",
            "dc_holdback_percentage": 0.15,
            "markdown_threshold": 0.65,
            "markdown_checkpoint_week": 12,
        },
    ),
    (
        "12 weeks, start 01/06/2025, weekly replenishment \u2013 15% DC holdback.",
        {"season_start_date": "2025-01-06", "dc_holdback_percentage": 0.15},
    ),
    (
        "For one quarter from Jan 6, 2025: weekly shipments, 10% kept at the distribution centre.",
        {"forecast_horizon_weeks": 13, "dc_holdback_percentage": 0.1},
    ),
]


@pytest.mark.parametrize("text,expected", PHRASINGS, ids=[p[0][:40] for p in PHRASINGS])
def test_phrasings(text, expected):
    params = extract_parameters(text, RULES, today=TODAY).model_dump(mode="json")
    assert {k: params[k] for k in expected} == expected
    assert params["season_end_date"] is not None
    assert 0.0 < params["confidence_score"] <= 0.95
    assert params["extraction_reasoning"].startswith("Rules extractor matched")


def test_spec_example_is_fully_explicit_and_scores_highest():
    params = extract_parameters(SPEC, RULES, today=TODAY)
    assert params.confidence_score == 0.95
    assert params.extraction_reasoning is not None
    assert "'12 weeks'" in params.extraction_reasoning
    assert "'Jan 1, 2025'" in params.extraction_reasoning
    assert "2025-03-26" in params.extraction_reasoning


def test_inferred_values_lower_confidence_and_are_named():
    stated = extract_parameters(SPEC, RULES, today=TODAY)
    inferred = extract_parameters(
        "A quarter starting March 1, weekly replenishment, 15% DC holdback.", RULES, today=TODAY
    )
    assert inferred.confidence_score is not None and stated.confidence_score is not None
    assert inferred.extraction_reasoning is not None
    assert inferred.confidence_score < stated.confidence_score
    assert "forecast_horizon_weeks" in inferred.extraction_reasoning.split("Inferred")[1]
    assert "season_start_date" in inferred.extraction_reasoning.split("Inferred")[1]


def test_conflicting_mentions_lower_confidence_and_are_reported():
    params = extract_parameters(
        "12 weeks starting Jan 1, 2025, weekly, 15% DC holdback; actually make it 10 weeks.",
        RULES,
        today=TODAY,
    )
    assert params.forecast_horizon_weeks == 12
    assert params.confidence_score is not None and params.extraction_reasoning is not None
    assert params.confidence_score <= 0.8
    assert "forecast_horizon_weeks=10" in params.extraction_reasoning


def test_year_less_date_is_the_next_one_on_or_after_today():
    text = "12 weeks from November 4, weekly, no DC holdback."
    assert extract_parameters(text, RULES, today=TODAY).season_start_date == date(2024, 11, 4)
    later = extract_parameters(text, RULES, today=date(2024, 11, 5))
    assert later.season_start_date == date(2025, 11, 4)


def test_missing_fields_answer_400_with_what_was_found():
    with pytest.raises(ParameterExtractionError) as info:
        extract_parameters("Weekly replenishment with 10% held back at the DC.", RULES, today=TODAY)
    err = info.value
    assert err.status_code == 400
    assert err.details["missing_parameters"] == ["forecast_horizon_weeks", "season_start_date"]
    assert err.details["extracted_parameters"] == {
        "replenishment_strategy": "weekly",
        "dc_holdback_percentage": 0.1,
    }
    assert len(err.suggestions) == 2 and "12 weeks" in err.suggestions[0]
    assert err.message == (
        "The description does not say how long the season runs or when the season starts."
    )


def test_nothing_recognisable_lists_all_four_in_the_planners_words_with_an_example_each():
    with pytest.raises(ParameterExtractionError) as info:
        extract_parameters("Make it a great season for everyone!", RULES, today=TODAY)
    assert len(info.value.details["missing_parameters"]) == 4
    assert info.value.details["extracted_parameters"] == {}
    message = info.value.message
    assert message == (
        "The description does not say how long the season runs, when the season starts, how "
        "often the DC replenishes the stores or how much stock the DC holds back."
    )
    assert "_" not in message  # no field names
    assert all(re.search(r"e\.g\. '|'weekly'", s) for s in info.value.suggestions)


@pytest.mark.parametrize(
    "text,fields",
    [
        (
            "60 weeks starting Jan 1 2025, weekly, 150% holdback at the DC",
            {"forecast_horizon_weeks", "dc_holdback_percentage"},
        ),
        ("2 weeks starting Jan 1 2025, weekly, 10% DC holdback", {"forecast_horizon_weeks"}),
        (
            "Monthly replenishment, 12 weeks from Jan 1 2025, 10% DC holdback",
            {"replenishment_strategy"},
        ),
        ("Starting Feb 30, 2025, 12 weeks, weekly, 10% DC holdback", {"season_start_date"}),
        (
            "12 weeks from Jan 1 2025, weekly, 10% DC holdback, markdown at week 20",
            {"markdown_checkpoint_week"},
        ),
        (
            "12 weeks from Jan 1 2025, weekly, 10% DC holdback, mark down if sell-through is "
            "below 120%",
            {"markdown_threshold"},
        ),
    ],
)
def test_out_of_contract_values_answer_422_naming_the_field(text, fields):
    with pytest.raises(InvalidParametersError) as info:
        extract_parameters(text, RULES, today=TODAY)
    assert info.value.status_code == 422
    assert set(info.value.details["invalid_parameters"]) == fields
    assert all(f in info.value.message for f in fields)


def test_discount_percent_is_not_a_holdback():
    with pytest.raises(ParameterExtractionError) as info:
        extract_parameters(
            "12 weeks from Jan 1 2025, weekly, 30% off markdown at week 6", RULES, today=TODAY
        )
    assert info.value.details["missing_parameters"] == ["dc_holdback_percentage"]


@hyp_settings(max_examples=150, deadline=None)
@given(st.text(max_size=500))
def test_arbitrary_text_gives_parameters_or_a_documented_error(text):
    try:
        params = extract_parameters(text, RULES, today=TODAY)
    except (ParameterExtractionError, InvalidParametersError) as exc:
        assert exc.status_code in (400, 422)
    else:
        assert 4 <= params.forecast_horizon_weeks <= 52


WORDS = st.sampled_from(
    [
        "12",
        "weeks",
        "Jan",
        "1,",
        "2025",
        "weekly",
        "bi-weekly",
        "15%",
        "DC",
        "holdback",
        "no",
        "replenishment",
        "months",
        "a",
        "quarter",
        "through",
        "March",
        "26",
        "at",
        "week",
        "6",
        "sell-through",
        "below",
        "60%",
        "units",
        "8k",
        "every",
        "two",
        "-",
        "/",
        "next",
        "Monday",
    ]
)


@hyp_settings(max_examples=150, deadline=None)
@given(st.lists(WORDS, max_size=30).map(" ".join))
def test_planner_like_word_salad_never_crashes(text):
    try:
        extract_parameters(text, RULES, today=TODAY)
    except (ParameterExtractionError, InvalidParametersError) as exc:
        assert exc.status_code in (400, 422)
