"""The WebSocket messages as an AsyncAPI 3.0 document, built from the models that define them
(`WebSocketMessage` in shared/schemas.py): one message per member of the union, named by its
`type`, with the documented example of it (docs/api.md).

A client gets its URL from `GET /api/orchestrator/negotiate` and only receives: the token joins
the caller's own group of one session and carries no roles, so nothing it sends is delivered.
"""

from __future__ import annotations

import functools
from typing import Any, get_args

from pydantic import BaseModel, TypeAdapter

from orchestrator.http.contract import SCHEMA_REF, TITLE, VERSION, examples
from shared.schemas import WebSocketMessage


def message_models() -> list[type[BaseModel]]:
    """The members of the WebSocketMessage union, in its order."""
    union = get_args(WebSocketMessage)[0]
    return list(get_args(union))


def message_type(model: type[BaseModel]) -> str:
    """The `type` a message model writes (its discriminator value)."""
    value = model.model_fields["type"].default
    assert isinstance(value, str)
    return value


@functools.cache
def asyncapi_document() -> dict[str, Any]:
    models = message_models()
    inputs = [(model, "serialization", TypeAdapter(model)) for model in models]
    refs, defs = TypeAdapter.json_schemas(inputs, ref_template=SCHEMA_REF)  # type: ignore[arg-type]
    messages = {
        message_type(model): {
            "name": message_type(model),
            "title": model.__name__,
            "contentType": "application/json",
            "payload": refs[(model, "serialization")],
            "examples": [{"payload": examples.MESSAGES[message_type(model)]}],
        }
        for model in models
    }
    message_refs = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"{TITLE}: live updates",
            "version": VERSION,
            "description": (
                "What a browser receives over Azure Web PubSub while a workflow runs: each "
                "message one JSON text frame. The four about a workflow carry `session_id`, "
                "`workflow_id`, `timestamp` and a per-workflow, gap-free `sequence`; missed "
                "ones are fetched from GET /api/orchestrator/workflows/{workflow_id}/events."
            ),
        },
        "servers": {
            "azure": {
                "host": "{service}.webpubsub.azure.com",
                "pathname": "/client/hubs/{hub}",
                "protocol": "wss",
                "description": "Azure Web PubSub; the full URL with its access token comes from "
                "GET /api/orchestrator/negotiate?session_id=...",
                "variables": {
                    "service": {"description": "the Web PubSub resource name"},
                    "hub": {"default": "season_planning", "description": "WebPubSubHub"},
                },
            },
            "local": {
                "host": "127.0.0.1:8080",
                "pathname": "/client/hubs/season_planning",
                "protocol": "ws",
                "description": "The Web PubSub emulator `python -m localdev serve` starts",
            },
        },
        "channels": {
            "session": {
                "address": None,
                "title": "The caller's group of one session",
                "description": "The negotiated URL joins it on connect",
                "messages": message_refs,
            }
        },
        "operations": {
            "receiveUpdates": {
                "action": "receive",
                "channel": {"$ref": "#/channels/session"},
                "messages": [{"$ref": f"#/channels/session/messages/{name}"} for name in messages],
            }
        },
        "components": {"messages": messages, "schemas": dict(defs.get("$defs", {}))},
    }
