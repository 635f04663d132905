"""Route templates of HTTP-triggered functions, matched with the Functions host's rules.

Templates like `orchestrator/workflows/{workflow_id}` or `items/{id:int}/{rest?}` compile to
regular expressions; literal segments outrank parameters, as in the host, so
`workflows/{id}/events` never swallows a more specific sibling.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from localdev.host.functions import FunctionEntry

_PARAM = re.compile(r"^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+)(?:\(([^)]*)\))?)?(\?)?\}$")
_CONSTRAINTS: dict[str, str] = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "double": r"-?\d+(?:\.\d+)?",
    "float": r"-?\d+(?:\.\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "bool": r"(?i:true|false)",
    "alpha": r"[A-Za-z]+",
    "guid": r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}",
}


@dataclass(frozen=True)
class Route:
    """One HTTP function's compiled route template."""

    entry: FunctionEntry
    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str] | None
    precedence: tuple[int, ...]

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}


def compile_route(template: str) -> tuple[re.Pattern[str], tuple[int, ...]]:
    """Compile a Functions route template into a regex and its matching precedence.

    Supported like the host's routing: literal segments (case-insensitive), `{name}`,
    `{name:constraint}` (int, long, double, float, decimal, bool, alpha, guid, minlength(n),
    maxlength(n), length(n), regex(...)), optional `{name?}` and catch-all `{*name}`.
    Precedence ranks literal < constrained < plain < optional < catch-all per segment, so
    `items/new` wins over `items/{id}` whatever order the functions were registered in.
    """
    parts = [p for p in template.strip("/").split("/") if p]
    regex = ""
    ranks: list[int] = []
    for part in parts:
        param = _PARAM.match(part)
        if param is None:
            regex += "/" + re.escape(part)
            ranks.append(0)
            continue
        catch_all, name, constraint, argument, optional = param.groups()
        if catch_all:
            regex += f"(?:/(?P<{name}>.*))?"
            ranks.append(4)
            continue
        body = _constraint_regex(constraint, argument)
        if optional:
            regex += f"(?:/(?P<{name}>{body}))?"
            ranks.append(3)
        else:
            regex += f"/(?P<{name}>{body})"
            ranks.append(1 if constraint else 2)
    return re.compile(regex, re.IGNORECASE), tuple(ranks)


def _constraint_regex(constraint: str | None, argument: str | None) -> str:
    if constraint is None:
        return r"[^/]+"
    kind = constraint.lower()
    if kind in _CONSTRAINTS:
        return _CONSTRAINTS[kind]
    if kind == "regex" and argument:
        return f"(?:{argument})"
    if kind in ("minlength", "maxlength", "length") and argument:
        low, high = {"minlength": (argument, ""), "maxlength": ("1", argument)}.get(
            kind, (argument, argument)
        )
        return rf"[^/]{{{low},{high}}}"
    raise ValueError(f"unsupported route constraint: {constraint}")


def build_routes(entries: Sequence[FunctionEntry], route_prefix: str) -> list[Route]:
    """The HTTP functions' routes under the prefix, most specific first."""
    routes = []
    prefix = route_prefix.strip("/")
    for entry in entries:
        if entry.trigger_type != "httpTrigger":
            continue
        trigger = entry.trigger
        template = "/".join(p for p in (prefix, trigger.get("route") or entry.name) if p)
        pattern, precedence = compile_route(template)
        methods = trigger.get("methods")
        routes.append(
            Route(
                entry=entry,
                template=template,
                pattern=pattern,
                methods=frozenset(m.upper() for m in methods) if methods else None,
                precedence=precedence,
            )
        )
    return sorted(routes, key=lambda r: (r.precedence + (5,) * 32)[:32])


def route_prefix_from(host_json: Path) -> str:
    """`extensions.http.routePrefix` from host.json; "api" when absent, like the host."""
    try:
        data = json.loads(host_json.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "api"
    return data.get("extensions", {}).get("http", {}).get("routePrefix", "api")
