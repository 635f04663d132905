"""Request fields in a planner's words, for the sentences an invalid request is answered with.

Why: an ErrorResponse is read by people (the console shows its message, the CLI prints it), and
"strategy_description: String should have at least 10 characters" is a request-field path and
a parser's phrase. The field paths stay in `details.validation_errors` for programs.
"""

from __future__ import annotations

FIELD_WORDS = {
    "body": "the request",
    "strategy_description": "the description",
    "session_id": "the session id",
    "category_id": "the category",
    "parameters": "the season parameters",
    "forecast_horizon_weeks": "the season length in weeks",
    "season_start_date": "the season start",
    "season_end_date": "the season end",
    "replenishment_strategy": "the store replenishment",
    "dc_holdback_percentage": "the DC holdback",
    "unit_target": "the unit target",
    "markdown_checkpoint_week": "the markdown checkpoint week",
    "markdown_threshold": "the markdown threshold",
    "reason": "the reason",
    "after": "the event number to read after",
}
"""The last meaningful part of a field path, in words; a path not listed is shown as its words."""

_SUBJECTS = ("String ", "Input ", "Value ", "Integer ", "Number ", "Date ")


def field_words(path: str) -> str:
    """'parameters.season_start_date' -> 'the season start'."""
    parts = [part for part in path.split(".") if not part.isdigit()]
    last = parts[-1] if parts else "body"
    return FIELD_WORDS.get(last, "the " + last.replace("_", " "))


def field_sentence(path: str, message: str) -> str:
    """One problem as a sentence: 'The description should have at least 10 characters.'"""
    subject = field_words(path)
    text = message.rstrip(".")
    if text == "Field required":
        sentence = f"{subject} is missing"
    elif text.startswith(_SUBJECTS):
        sentence = f"{subject} {text.split(' ', 1)[1]}"
    elif text.startswith("Value error, "):
        sentence = f"{subject}: {text.removeprefix('Value error, ')}"
    else:
        sentence = f"{subject}: {text[:1].lower()}{text[1:]}"
    return sentence[:1].upper() + sentence[1:] + "."
