"""The OData filter subset the service accepts on `:send` (`filter=` query parameter).

Grammar: `expr := term (("and" | "or") term)*`, with `and` binding tighter than `or`;
`term := "not" term | "(" expr ")" | field ("eq" | "ne") string | string "in" "groups"`;
fields `userId` and `connectionId`; strings in single quotes with `''` as an escaped quote.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from localdev.webpubsub.hub import Connection
from localdev.webpubsub.protocol import ProtocolError

Predicate = Callable[[Connection], bool]


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda c: a(c) or b(c)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda c: a(c) and b(c)


_TOKEN = re.compile(r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|([A-Za-z]+))")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise ProtocolError(f"invalid filter near position {pos}")
        lparen, rparen, string, word = match.groups()
        if lparen:
            tokens.append(("(", "("))
        elif rparen:
            tokens.append((")", ")"))
        elif string is not None:
            tokens.append(("str", string.replace("''", "'")))
        else:
            tokens.append(("word", word))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        token = self.peek()
        if token is None or token[0] != kind or (value is not None and token[1].lower() != value):
            raise ProtocolError(f"invalid filter: expected {value or kind}")
        self.pos += 1
        return token[1]

    def is_word(self, value: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "word" and token[1].lower() == value

    def expr(self) -> Predicate:
        left = self.conjunction()
        while self.is_word("or"):
            self.pos += 1
            left = _either(left, self.conjunction())
        return left

    def conjunction(self) -> Predicate:
        left = self.term()
        while self.is_word("and"):
            self.pos += 1
            left = _both(left, self.term())
        return left

    def term(self) -> Predicate:
        if self.is_word("not"):
            self.pos += 1
            inner = self.term()
            return lambda c: not inner(c)
        token = self.peek()
        if token and token[0] == "(":
            self.pos += 1
            inner = self.expr()
            self.take(")")
            return inner
        if token and token[0] == "str":
            group = self.take("str")
            self.take("word", "in")
            self.take("word", "groups")
            return lambda c: group in c.groups
        field = self.take("word")
        getter = {"userid": lambda c: c.user_id, "connectionid": lambda c: c.id}.get(field.lower())
        if getter is None:
            raise ProtocolError(f"unsupported filter field {field!r}")
        op = self.take("word").lower()
        value = self.take("str")
        if op == "eq":
            return lambda c: getter(c) == value
        if op == "ne":
            return lambda c: getter(c) != value
        raise ProtocolError(f"unsupported filter operator {op!r}")


def compile_filter(text: str | None) -> Predicate:
    """A predicate over connections; no filter lets every connection through."""
    if not text or not text.strip():
        return lambda _c: True
    parser = _Parser(text)
    predicate = parser.expr()
    if parser.peek() is not None:
        raise ProtocolError("invalid filter: unexpected trailing input")
    return predicate
