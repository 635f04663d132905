"""What both extractors produce (a Draft) and the one way a Draft becomes SeasonParameters.

The rules and the LLM extractor differ in how they read text, not in what counts as complete,
valid or trustworthy; keeping that judgement here means a 400, a 422 and a confidence score mean
the same thing whichever extractor answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import ValidationError

from shared.errors import InvalidParametersError, ParameterExtractionError, validation_details
from shared.schemas import SeasonParameters, season_end

REQUIRED_FIELDS = (
    "forecast_horizon_weeks",
    "season_start_date",
    "replenishment_strategy",
    "dc_holdback_percentage",
)
OPTIONAL_FIELDS = ("unit_target", "markdown_checkpoint_week", "markdown_threshold")

MISSING_SUGGESTIONS = {
    "forecast_horizon_weeks": "Say how long the season runs, e.g. '12 weeks' or "
    "'through March 26, 2025'.",
    "season_start_date": "Say when the season starts, e.g. 'starting Jan 1, 2025'.",
    "replenishment_strategy": "Say how stores are replenished: 'weekly', 'bi-weekly' or "
    "'no replenishment'.",
    "dc_holdback_percentage": "Say how much inventory the DC holds back, e.g. "
    "'15% DC holdback' or 'no DC holdback'.",
}
IN_PLANNER_TERMS = {
    "forecast_horizon_weeks": "how long the season runs",
    "season_start_date": "when the season starts",
    "replenishment_strategy": "how often the DC replenishes the stores",
    "dc_holdback_percentage": "how much stock the DC holds back",
}
"""What each required field is, in the words a planner would use for it."""
INVALID_SUGGESTIONS = {
    "forecast_horizon_weeks": "Use a season of 4 to 52 weeks.",
    "season_start_date": "Give a real calendar date, e.g. 'Jan 1, 2025'.",
    "season_end_date": "Give an end date after the start date, or the season length in weeks.",
    "replenishment_strategy": "Use weekly, bi-weekly or no replenishment.",
    "dc_holdback_percentage": "Use a DC holdback between 0% and 100%.",
    "unit_target": "Use a unit target between 1 and 100,000,000 units.",
    "markdown_checkpoint_week": "Use a markdown checkpoint week within the season.",
    "markdown_threshold": "Use a sell-through threshold above 0% and below 100%.",
}

ExtractorName = Literal["rules", "llm"]
FieldSource = Literal["stated", "inferred", "computed", "not_mentioned"]


@dataclass(frozen=True)
class Finding:
    """One value read from the text, with the words it came from.

    `inferred` marks values the text implies rather than states (a year assumed, months converted
    to weeks, a horizon computed from an end date); they lower the confidence score.
    """

    value: Any
    source: str
    inferred: bool = False
    note: str | None = None


@dataclass
class Draft:
    """Everything one extractor read from one text, before any judgement."""

    extractor: ExtractorName
    findings: dict[str, Finding] = field(default_factory=dict)
    conflicts: dict[str, list[Any]] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    reasoning: str | None = None
    product: str | None = None
    """The product as the language model read it from the text (the rules read it themselves)."""
    overruled: list[str] = field(default_factory=list)
    """Fields where the text's own words overruled the model's answer (lowers confidence)."""

    def value(self, name: str) -> Any:
        found = self.findings.get(name)
        return None if found is None else found.value


def _json_safe(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def extracted_parameters(draft: Draft) -> dict[str, Any]:
    """The values found so far, JSON-safe, for error details."""
    return {name: _json_safe(f.value) for name, f in draft.findings.items()}


def field_sources(draft: Draft) -> dict[str, FieldSource]:
    """Where each parameter's value came from, so a form can show the planner which values the
    text gave (stated or inferred), which were computed (the season end) and which the text did
    not mention (left empty, never carried over from an earlier extraction)."""
    sources: dict[str, FieldSource] = {}
    for name in (*REQUIRED_FIELDS, "season_end_date", *OPTIONAL_FIELDS):
        found = draft.findings.get(name)
        if found is not None:
            sources[name] = "inferred" if found.inferred else "stated"
        else:
            sources[name] = "computed" if name == "season_end_date" else "not_mentioned"
    return sources


def field_notes(draft: Draft) -> dict[str, str]:
    """Why a value is what it is, in words, where the text alone does not show it ("assumed
    2027: the text names no year", "January of FW25 falls in 2026"), so a form can say it next
    to the field."""
    return {
        name: found.note
        for name, found in draft.findings.items()
        if found.note and name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
    }


def finalize(draft: Draft, *, cross_check: Draft | None = None) -> SeasonParameters:
    """Judge a Draft: incomplete -> 400, out of contract -> 422, else scored parameters.

    `cross_check` is a second reading of the same text (the rules extractor behind the LLM);
    it changes only the confidence score and the reasoning, never a value.
    """
    missing = [
        name
        for name in REQUIRED_FIELDS
        if name not in draft.findings and name not in draft.problems
    ]
    if missing:
        details: dict[str, Any] = {
            "missing_parameters": missing,
            "extracted_parameters": extracted_parameters(draft),
            "extractor": draft.extractor,
        }
        if draft.problems:
            details["invalid_parameters"] = dict(draft.problems)
        raise ParameterExtractionError(
            f"The description does not say {_either(IN_PLANNER_TERMS[name] for name in missing)}.",
            details=details,
            suggestions=[MISSING_SUGGESTIONS[name] for name in missing]
            + [INVALID_SUGGESTIONS[name] for name in draft.problems if name in INVALID_SUGGESTIONS],
        )
    params = _validate(draft)
    confidence, reasoning = _score(draft, params, cross_check)
    return params.model_copy(
        update={"confidence_score": confidence, "extraction_reasoning": reasoning[:4000]}
    )


def _either(phrases: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    items = list(phrases)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _invalid(draft: Draft, problems: dict[str, str]) -> InvalidParametersError:
    return InvalidParametersError(
        "Out-of-range parameters: " + ", ".join(problems),
        details={
            "invalid_parameters": problems,
            "extracted_parameters": extracted_parameters(draft),
            "extractor": draft.extractor,
        },
        suggestions=[INVALID_SUGGESTIONS.get(name, f"Fix {name}.") for name in problems],
    )


def _validate(draft: Draft) -> SeasonParameters:
    """SeasonParameters from the findings, or one 422 naming every out-of-contract field."""
    problems = dict(draft.problems)
    weeks = draft.value("forecast_horizon_weeks")
    checkpoint = draft.value("markdown_checkpoint_week")
    if isinstance(weeks, int) and isinstance(checkpoint, int) and checkpoint > weeks:
        problems["markdown_checkpoint_week"] = (
            f"week {checkpoint} falls after the {weeks}-week season"
        )
    values = {n: f.value for n, f in draft.findings.items() if n not in problems}
    try:
        params = SeasonParameters.model_validate(values)
    except ValidationError as exc:
        for error in validation_details(exc)["validation_errors"]:
            problems.setdefault(error["field"], error["message"])
        raise _invalid(draft, problems) from None
    if problems:
        raise _invalid(draft, problems)
    return params


def prefer_the_text(draft: Draft, text_reading: Draft) -> None:
    """Where the rules read the season start as the text states it (an explicit date, or a day
    whose year the named season gives) and the model answered another day, the text wins; where
    both agree, the rules' finding is kept for its words and reason (a year assumed, a season's
    default day). A model answer that is no date at all stays a problem (422), and every other
    field stays as the model read it."""
    name = "season_start_date"
    read, model = text_reading.findings.get(name), draft.findings.get(name)
    if read is None or model is None:
        return
    if _same(model.value, read.value):
        draft.findings[name] = read
    elif not read.inferred:
        note = f"the text states it; the model answered {_json_safe(model.value)}"
        draft.findings[name] = Finding(
            read.value, read.source, False, f"{read.note}; {note}" if read.note else note
        )
        draft.overruled.append(name)


def _describe(name: str, found: Finding) -> str:
    text = f"{name}={_json_safe(found.value)}"
    if found.source:
        text += f" from '{found.source[:80]}'"
    if found.note:
        text += f" ({found.note})"
    return text


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and abs(a - b) < 1e-6
    return bool(a == b)


def _score(draft: Draft, params: SeasonParameters, cross_check: Draft | None) -> tuple[float, str]:
    """Confidence from what was matched: explicit beats inferred, agreement beats conflict."""
    end = season_end(params.season_start_date, params.forecast_horizon_weeks)
    used = "; ".join(
        _describe(n, draft.findings[n])
        for n in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS)
        if n in draft.findings
    )
    parts = []
    if draft.extractor == "rules":
        inferred = [n for n in REQUIRED_FIELDS if draft.findings[n].inferred]
        score = 0.95 - 0.08 * len(inferred) - 0.15 * len(draft.conflicts)
        parts.append(f"Rules extractor matched {used}.")
        if inferred:
            parts.append("Inferred rather than stated: " + ", ".join(inferred) + ".")
    else:
        score = 0.8
        parts.append(f"Language model read {used}.")
        if draft.reasoning:
            parts.append(f"Model's reasoning: {draft.reasoning.strip()[:1000]}")
    if draft.conflicts:
        parts.append(
            "Text also mentions "
            + "; ".join(
                f"{n}={', '.join(str(_json_safe(v)) for v in vals)}"
                for n, vals in draft.conflicts.items()
            )
            + " (the first explicit mention was used)."
        )
    if draft.overruled:
        score -= 0.2 * len(draft.overruled)
        parts.append("The text overrules the model on " + ", ".join(draft.overruled) + ".")
    if cross_check is not None:
        score += _cross_check(draft, cross_check, parts)
    parts.append(
        f"season_end_date = start + 7 x {params.forecast_horizon_weeks} days = {end.isoformat()}."
    )
    return round(min(max(score, 0.05), 0.99), 2), " ".join(parts)


def _cross_check(draft: Draft, other: Draft, parts: list[str]) -> float:
    """Compare with a second extractor: each agreeing required field adds, each clash subtracts."""
    agree, disagree, unchecked = [], [], []
    for name in (*REQUIRED_FIELDS, *OPTIONAL_FIELDS):
        mine, theirs = draft.value(name), other.value(name)
        if mine is None or theirs is None:
            if mine is not None and name in REQUIRED_FIELDS:
                unchecked.append(name)
            continue
        if _same(mine, theirs):
            agree.append(name)
        else:
            disagree.append(
                f"{name} ({draft.extractor} {_json_safe(mine)}, "
                f"{other.extractor} {_json_safe(theirs)})"
            )
    delta = 0.04 * sum(1 for n in agree if n in REQUIRED_FIELDS) - 0.2 * len(disagree)
    if agree:
        parts.append(f"The {other.extractor} extractor agrees on " + ", ".join(agree) + ".")
    if disagree:
        parts.append(f"The {other.extractor} extractor disagrees on " + "; ".join(disagree) + ".")
    if unchecked:
        parts.append(
            f"The {other.extractor} extractor found nothing for " + ", ".join(unchecked) + "."
        )
    return delta
