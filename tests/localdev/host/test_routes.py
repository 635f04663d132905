"""Route templates as the Functions host compiles them: constraints, optional and catch-all
parameters."""

import re

import pytest

from localdev.host.routes import compile_route


def matched(pattern: re.Pattern[str], path: str) -> re.Match[str]:
    match = pattern.fullmatch(path)
    assert match is not None, path
    return match


def test_route_templates_compile_with_constraints_optional_and_catch_all():
    pattern, _ = compile_route("api/items/{id:int}/{label?}")
    assert matched(pattern, "/api/items/12").groupdict() == {"id": "12", "label": None}
    assert matched(pattern, "/API/Items/12/red").group("label") == "red"
    assert pattern.fullmatch("/api/items/abc") is None
    guid, _ = compile_route("api/w/{id:guid}")
    assert guid.fullmatch("/api/w/0f8fad5b-d9cb-469f-a165-70867728950e")
    assert guid.fullmatch("/api/w/nope") is None
    catch, _ = compile_route("api/files/{*path}")
    assert matched(catch, "/api/files/a/b/c.txt").group("path") == "a/b/c.txt"
    length, _ = compile_route("api/s/{code:length(3)}")
    assert length.fullmatch("/api/s/abc") and length.fullmatch("/api/s/abcd") is None
    with pytest.raises(ValueError):
        compile_route("api/{x:unknownthing}")
