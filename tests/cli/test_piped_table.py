"""A table piped to a file or a program is drawn without rich's layout engine (2,000
agents took 6 s of CPU), in exactly the lines rich drew."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from contactnow_async._cli._tables import piped_table
from contactnow_async._cli._text import printable
from tests._helpers import examples
from tests._text import utf8_chars

#: Any text the API may send, as the table shows it (control characters escaped).
cell = st.text(utf8_chars, max_size=8).map(printable)


def drawn_by_rich(columns: list[str], rows: list[list[str]]) -> list[str]:
    """The lines rich draws for the table, at its natural width (as ``print_table`` did)."""
    console = Console(file=io.StringIO(), highlight=False, force_terminal=False)
    table = Table(*columns, show_edge=False, pad_edge=False)
    for row in rows:
        table.add_row(*(Text(value) for value in row))
    uncut = 1_000_000
    options = console.options.update_width(uncut)
    options = options.update_width(console.measure(table, options=options).maximum)
    lines = Segment.split_and_crop_lines(console.render(table, options), uncut, pad=False)
    return ["".join(segment.text for segment in line).rstrip("\n") for line in lines]


@pytest.mark.slow
@settings(max_examples=examples(200), deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda width: st.tuples(
            st.lists(st.text("abc_", min_size=1, max_size=6), min_size=width, max_size=width),
            st.lists(st.lists(cell, min_size=width, max_size=width), max_size=5),
        )
    )
)
def test_the_piped_table_is_the_table_rich_draws(table: tuple[list[str], list[list[str]]]) -> None:
    columns, rows = table
    assert piped_table(columns, rows) == drawn_by_rich(columns, rows)


def test_wide_characters_take_two_cells() -> None:
    lines = piped_table(["name", "id"], [["名前", "1"], ["Zoë", "22"]])
    assert lines == ["name ┃ id", "━━━━━╇━━━", "名前 │ 1 ", "Zoë  │ 22"]
