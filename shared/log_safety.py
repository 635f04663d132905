"""Log lines that cannot be forged: CR, LF, NUL and every other control character escaped.

Why: a log line is a record someone reads and tools parse line by line. A request path with
`%0a` decoded into a line feed wrote a fake log line on the local host, even without sign-in,
and `%00` wrote a raw NUL. The filter escapes the whole formatted message (the path and every
value logged with it) as Python escapes (`\\n`, `\\r`, `\\x00`), so one record is one line.
A traceback, which the formatter appends after the message, keeps its own line breaks.
"""

from __future__ import annotations

import logging
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """`text` with every control or line-separating character written as its escape."""
    if all(unicodedata.category(char) not in ("Cc", "Zl", "Zp") for char in text):
        return text
    return "".join(
        _NAMED.get(char, f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        if unicodedata.category(char) in ("Cc", "Zl", "Zp")
        else char
        for char in text
    )


class EscapedMessages(logging.Filter):
    """A handler filter: the record's message, formatted with its arguments, escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped is not message:
            record.msg, record.args = escaped, None
        return True
