"""Text from the API made safe to print: one harmless line in a table or a message, and
one exact line of JSON for any reader's idea of a line."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async._cli._text import json_line, printable
from tests._helpers import examples
from tests._text import text

#: Bidi controls (Unicode's Bidi_Control): each reorders the text after it on a screen.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: What a terminal, a pager or ``str.splitlines`` reads as a command or a line break.
UNSAFE = [*"\x1b\x07\n\r\x85\x9b\u2028\u2029", *BIDI_CONTROLS]


@pytest.mark.parametrize("char", UNSAFE, ids=lambda char: f"U+{ord(char):04X}")
def test_printable_escapes_what_moves_the_cursor_or_turns_the_line_around(char: str) -> None:
    shown = printable(f"Ann{char}LIVE")
    assert shown == f"Ann{char.encode('unicode_escape').decode('ascii')}LIVE"
    assert char not in shown


@pytest.mark.parametrize("name", ["Zoë ✓ 名前 😀", "👩\u200d👩\u200d👧", "soft\u00adhyphen"])
def test_printable_keeps_what_draws_as_it_should(name: str) -> None:
    # A zero-width joiner (emoji families) or a soft hyphen is a format character too.
    assert printable(name) == name


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(text(max_size=4), text(max_size=12), max_size=3))
def test_json_line_is_one_line_that_reads_back_exactly(data: dict[str, str]) -> None:
    line = json_line(data)
    assert json.loads(line) == data  # exact: every escape reads back as its character
    assert line.splitlines() == [line] or line == ""  # one line, for str.splitlines too
    assert not any(char in line for char in UNSAFE)
    assert not any(unicodedata.category(char) == "Cc" for char in line)
