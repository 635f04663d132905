"""The season description the extraction tests start from, what it states, and the language
model's side of the wire (a chat-completions answer), shared by the rules, LLM, HTTP and keyless
tests so they all describe the same season."""

from __future__ import annotations

import json
from typing import Any

SPEC = (
    "I need 8000 units over 12 weeks starting Jan 1, 2025. Weekly replenishment. 15% DC holdback."
)

# What SPEC states, as the parameters' JSON carries it (the end date follows from start and weeks).
SPEC_FIELDS = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "season_end_date": "2025-03-26",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
    "unit_target": 8000,
}

# An API key that must never appear in an answer, a log or an error body.
KEY = "sk-super-secret-key-value-123"

# The model's structured answer to SPEC: every stated value, with its reasoning quoting the text.
ANSWER: dict[str, Any] = {
    "forecast_horizon_weeks": 12,
    "season_start_date": "2025-01-01",
    "replenishment_strategy": "weekly",
    "dc_holdback_percentage": 0.15,
    "unit_target": 8000,
    "markdown_checkpoint_week": None,
    "markdown_threshold": None,
    "reasoning": "'12 weeks', 'Jan 1, 2025', 'Weekly replenishment', '15% DC holdback'.",
}


def completion(
    content: dict[str, Any] | str | None,
    *,
    finish_reason: str = "stop",
    refusal: str | None = None,
) -> dict[str, Any]:
    """A chat-completions response body carrying `content` (a dict is sent as its JSON text)."""
    text = json.dumps(content) if isinstance(content, dict) else content
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1730700000,
        "model": "gpt-5.4-mini",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "message": {"role": "assistant", "content": text, "refusal": refusal},
            }
        ],
        "usage": {"prompt_tokens": 900, "completion_tokens": 80, "total_tokens": 980},
    }
