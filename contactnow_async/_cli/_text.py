"""Text from the API made safe to print: escaped in a table or a line, and in JSON."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import click

from .._values import utf8_text

#: The characters that reorder the text after them on a screen (Unicode's Bidi_Control),
#: as a regex class: an agent named "\u202e..." turned the rest of its row around.
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI_CONTROL = re.compile(f"[{_BIDI_CONTROLS}]")
#: Control characters (terminal escapes, newlines), lone surrogates, and the line and
#: paragraph separators (a line break to ``str.splitlines``, editors and pagers).
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
#: What json.dumps leaves raw in a string (it escapes only below U+0020) that a reader
#: of JSON lines takes for a line break (NEL, U+2028, U+2029: ``str.splitlines``,
#: JavaScript before ES2019) or a terminal for a command (C1 controls, bidi controls).
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI_CONTROLS}]")


def printable(value: object) -> str:
    """``str(value)`` with control characters (newlines, terminal escapes), bidi
    controls, line separators and lone surrogates escaped, so that a name from the API
    cannot break a table or a line, turn it around, or send commands to the terminal."""
    text = str(value)
    if text.isprintable():  # False for each character escaped below
        return text
    return "".join(
        char.encode("unicode_escape", "backslashreplace").decode("ascii")
        if unicodedata.category(char) in _ESCAPED_CATEGORIES or _BIDI_CONTROL.match(char)
        else char
        for char in text
    )


def json_line(data: Any) -> str:
    """``data`` as one line of JSON, for any reader's idea of a line: the characters of
    ``_JSON_UNSAFE`` are written as their ``\\uXXXX`` escapes, which read back as the
    same text (json.dumps puts them only inside strings, where an escape is valid)."""
    return line_safe_json(json.dumps(data, ensure_ascii=False, default=str))


def line_safe_json(text: str) -> str:
    """JSON ``text`` with the characters of ``_JSON_UNSAFE`` written as their ``\\uXXXX``
    escapes (valid where they can be: inside a string); the same JSON when read back."""
    return _JSON_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def not_utf8_value(ctx: click.Context) -> str | None:
    """Why a value given to ``ctx``'s command cannot be sent, or None: it holds a byte the
    locale could not decode (``surrogateescape`` keeps it as a lone surrogate, which has
    no UTF-8; httpx's "'utf-8' codec can't encode character" said so). A path's value is
    the file system's to read as it is. The value is not quoted: it may be a secret's."""
    for param in ctx.command.params:
        if isinstance(param.type, (click.Path, click.File)):
            continue
        value = ctx.params.get(param.name or "")
        values = value if isinstance(value, tuple) else (value,)
        if any(isinstance(one, str) and not utf8_text(one) for one in values):
            return (
                f"Invalid value for {param.get_error_hint(ctx)}: it is not UTF-8 text, which "
                "the API takes (a byte the locale could not decode: the terminal's encoding?)"
            )
    return None
