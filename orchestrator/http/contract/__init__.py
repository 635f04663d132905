"""The API's description: the OpenAPI document (openapi.py, from the route table in routes.py)
and the AsyncAPI document of the WebSocket messages (asyncapi.py). What both say the same way
lives here, importing nothing, so the AsyncAPI document does not load the route table (and the
data layer's models behind it) for two strings."""

TITLE = "Season planning API"
VERSION = "1.0.0"
SCHEMA_REF = "#/components/schemas/{model}"
"""Where a component schema is referenced, in both documents."""
