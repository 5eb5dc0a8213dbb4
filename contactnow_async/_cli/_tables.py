"""A table for a pipe or a file: the lines rich draws, without its layout engine."""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len


def piped_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of ``rows`` under ``columns``, each column as wide as its widest cell
    (in terminal cells: a CJK character or an emoji takes two), as rich draws a table
    without edges: a bold rule under the header, a bar between columns."""
    widths = [max(map(cell_len, column)) for column in zip(columns, *rows, strict=True)]
    last = len(widths) - 1

    def line(values: Sequence[str], bar: str) -> str:
        return bar.join(
            f"{' ' if at else ''}{value}{' ' * (widths[at] - cell_len(value))}"
            f"{' ' if at < last else ''}"
            for at, value in enumerate(values)
        )

    rule = "╇".join("━" * (width + (at > 0) + (at < last)) for at, width in enumerate(widths))
    return [line(columns, "┃"), rule, *(line(row, "│") for row in rows)]
