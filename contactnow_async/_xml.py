"""An XML reply as nested dicts, read as ``xmltodict`` reads it, then tidied.

The replies the API sends (``<result>``, ``<list>``, one element per field, no
attributes) are read by a small expat handler of our own, about three times
faster than ``xmltodict`` and without importing it. A document with an
attribute anywhere is read again by ``xmltodict``, the general case. Both
configure expat alike (no namespace processing, entity declarations refused),
so a document either reads the same through both or fails the same way
(``ExpatError``, ``ValueError``); a Hypothesis property checks the first.

What "tidied" means (:func:`tidy`): whitespace is kept so that ``" Joe"`` in XML
is ``" Joe"`` as in JSON, but the indentation between elements is dropped, and
an element holding only a line break and indentation is empty (None).
"""

from __future__ import annotations

from typing import Any
from xml.parsers import expat

__all__ = ["parse", "tidy"]


class _HasAttributes(Exception):
    """The document has an attribute: the general reader takes it."""


def _refuse_entities(*_: Any) -> None:
    raise ValueError("entities are disabled")


def parse(content: bytes) -> dict[str, Any]:
    """``{root_name: value}`` of a document; raises ``ExpatError`` or ``ValueError``
    for one expat refuses."""
    try:
        return _read_plain(content)
    except _HasAttributes:
        import xmltodict  # the general case is rare: imported when first met

        doc: dict[str, Any] = tidy(
            xmltodict.parse(content, disable_entities=True, strip_whitespace=False)
        )
        return doc


def _read_plain(content: bytes) -> dict[str, Any]:
    """``xmltodict.parse(content, strip_whitespace=False)``, tidied, for a document
    without attributes.

    Each open element has a dict of its children (None until the first) and its
    text so far; at its end it becomes its parent's entry: a repeated name makes
    a list, text beside children is ``#text`` (dropped when only whitespace), and
    a leaf is its text (None when empty, or only a line break and indentation).
    """
    parents: list[tuple[dict[str, Any] | None, Any]] = []
    children: dict[str, Any] | None = None
    text: Any = None  # str, or a list of its runs when more than one

    def start(name: str, attributes: list[str]) -> None:
        nonlocal children, text
        if attributes:
            raise _HasAttributes
        parents.append((children, text))
        children = None
        text = None

    def characters(data: str) -> None:
        nonlocal children, text
        if text is None:
            text = data
        else:  # a run after a child element, or past expat's 8 KiB: kept as a list of
            # runs, joined at the end (appending to a copy of all before was quadratic)
            if children is None:
                children = {}  # an element of no child yet: end() reads it as a leaf
            if text.__class__ is list:
                text.append(data)
            else:
                text = [text, data]

    def end(name: str) -> None:
        nonlocal children, text
        value: Any
        if children is None:
            value = text
            if value is not None and "\n" in value and value.isspace():
                value = None
        else:
            if text.__class__ is list:
                text = "".join(text)
            if not children:  # a leaf whose text came in runs
                value = None if "\n" in text and text.isspace() else text
            else:
                if text is not None and not text.isspace():
                    children["#text"] = text
                value = children
        children, text = parents.pop()
        if children is None:
            children = {name: value}
        elif name in children:
            previous = children[name]
            if previous.__class__ is list:
                previous.append(value)
            else:
                children[name] = [previous, value]
        else:
            children[name] = value

    parser = expat.ParserCreate()
    # As xmltodict sets it up: whole text runs, attributes as a list, no entities.
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.EntityDeclHandler = _refuse_entities
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.Parse(content, True)
    return children or {}


def tidy(node: Any) -> Any:
    """Drop indentation xmltodict kept: whitespace-only text beside child elements,
    and whitespace-only content of an element (``<list>\\n</list>`` is empty)."""
    if isinstance(node, dict):
        tidied = {}
        for key, value in node.items():
            if isinstance(value, str):
                # Text leaves (most of a reply) are tidied here, not by a call each.
                if not value.strip():
                    if key == "#text":
                        continue
                    if value and "\n" in value:
                        value = None
                tidied[key] = value
            else:
                tidied[key] = tidy(value)
        return tidied or None
    if isinstance(node, list):
        return [tidy(item) for item in node]
    if isinstance(node, str) and node and not node.strip() and "\n" in node:
        return None  # layout: an element holding only a line break and indentation
    return node
