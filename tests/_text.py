"""Text strategies for the properties: any character UTF-8 can carry, as ``st.text()``
draws by default, without the table Hypothesis builds for a codec.

``st.text()`` draws from ``st.characters(codec="utf-8")``. The first time a process
meets that codec, with no table in ``.hypothesis/`` yet (a fresh clone, a CI run),
Hypothesis encodes and decodes every one of the 1.1 million code points in Python to
build it: about 4 s of CPU, in each test worker at once. The same characters named by
category (all but ``Cs``, the surrogates, which are exactly what UTF-8 cannot encode)
need only the category table, about a fifth of that. The properties draw their text
here; ``tests/test_layout.py`` refuses ``st.text()`` with Hypothesis' default alphabet
and ``codec=`` in a test.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: One character UTF-8 can encode: every code point but a surrogate.
utf8_chars = st.characters(exclude_categories=["Cs"])


def text(**bounds: Any) -> st.SearchStrategy[str]:
    """``st.text(**bounds)`` over :data:`utf8_chars` (``max_size=``, ``min_size=``)."""
    return st.text(utf8_chars, **bounds)
