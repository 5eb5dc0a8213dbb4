"""An XML reply as nested dicts, read as ``xmltodict`` reads it, then tidied.

The replies the API sends (``<result>``, ``<list>``, one element per field, no
attributes) are read by a small expat handler of our own, about three times
faster than ``xmltodict`` and without importing it. A document with an
attribute anywhere is read again by ``xmltodict``, the general case. Both
have expat set up by :func:`_parser` (no namespace processing; entity declarations,
attribute defaults and entities left undefined refused) and read no deeper than
:data:`MAX_XML_DEPTH` elements, so a document either reads the same through both or
fails the same way (``ExpatError``, ``ValueError``); a Hypothesis property checks it.

What "tidied" means (:func:`tidy`): whitespace is kept so that ``" Joe"`` in XML
is ``" Joe"`` as in JSON, but the indentation between elements is dropped, and
an element holding only a line break and indentation is empty (None).
"""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace
from typing import Any
from xml.parsers import expat

from ._json_decoders import MAX_JSON_DEPTH

__all__ = ["MAX_XML_DEPTH", "TooDeep", "parse", "read_general", "tidy"]

#: The elements a document may nest, as many as a JSON body's arrays and objects.
MAX_XML_DEPTH = MAX_JSON_DEPTH


class TooDeep(ValueError):
    """A document nested deeper than :data:`MAX_XML_DEPTH` elements."""

    def __init__(self) -> None:
        super().__init__(f"XML nested deeper than {MAX_XML_DEPTH} levels")


class _HasAttributes(Exception):
    """The document has an attribute: the general reader takes it."""


def _refuse_entities(*_: Any) -> None:
    raise ValueError("entities are disabled")


def _refuse_defaults(element: str, name: str, kind: str, default: str | None, *_: Any) -> None:
    # Expat gives each element the default: a billion laughs without an entity.
    if default is not None:
        raise ValueError("attribute defaults are disabled")


def _refuse_skipped(name: str, *_: Any) -> None:
    # An entity the DTD may define in a part expat did not read: read as nothing.
    raise ValueError(f"undefined entity &{name}; (entities are disabled)")


def _parser(encoding: str | None = None, separator: str | None = None) -> expat.XMLParserType:
    """An expat parser as both readers have it: no entity, no attribute default."""
    parser = expat.ParserCreate(encoding, separator)
    parser.EntityDeclHandler = _refuse_entities
    parser.AttlistDeclHandler = _refuse_defaults
    parser.SkippedEntityHandler = _refuse_skipped
    return parser


_EXPAT = SimpleNamespace(ParserCreate=_parser)  # expat, to xmltodict


def parse(content: bytes) -> dict[str, Any]:
    """``{root_name: value}`` of a document; raises ``ExpatError`` or ``ValueError``
    (:class:`TooDeep` for one nested too deep) for one the readers refuse, and
    ``LookupError`` for one declaring an encoding Python does not know."""
    try:
        return _read_plain(content)
    except _HasAttributes:
        return read_general(content)
    except IndexError:  # nested too deep: the reader's stack forgot the outermost element
        # A document not well formed past there is an ExpatError, as the general reader's.
        _parser().Parse(content, True)
        raise TooDeep from None


def read_general(content: bytes) -> dict[str, Any]:
    """The general reader: ``xmltodict``'s dicts, tidied, on expat set up as for ours."""
    import xmltodict  # the general case is rare: imported when first met

    doc: dict[str, Any] = tidy(
        xmltodict.parse(content, expat=_EXPAT, disable_entities=True, strip_whitespace=False)
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
    # Bounded: past MAX_XML_DEPTH the first is forgotten, and its end finds none (IndexError).
    parents: deque[tuple[dict[str, Any] | None, Any]] = deque(maxlen=MAX_XML_DEPTH)
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

    parser = _parser()
    # As xmltodict sets it up: whole text runs, attributes as a list.
    parser.ordered_attributes = True
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = characters
    parser.Parse(content, True)
    return children or {}


def tidy(node: Any) -> Any:
    """Drop indentation xmltodict kept: whitespace-only text beside child elements,
    and whitespace-only content of an element (``<list>\\n</list>`` is empty).

    Without recursion, to :data:`MAX_XML_DEPTH` elements (:class:`TooDeep` past them).
    """
    top = [node]
    # Where an untidied value is (its container and key or index), and its element's depth.
    todo: list[tuple[Any, Any, int]] = [(top, 0, 0)]
    while todo:
        into, at, depth = todo.pop()
        value = into[at]
        if isinstance(value, dict):
            if depth >= MAX_XML_DEPTH and any(key[:1] not in "@#" for key in value):
                raise TooDeep
            tidied: dict[str, Any] = {}
            for key, child in value.items():
                if isinstance(child, str):
                    # Text leaves (most of a reply) are tidied here, not each in turn.
                    if not child.strip():
                        if key == "#text":
                            continue
                        if "\n" in child:
                            child = None
                elif child is not None:
                    todo.append((tidied, key, depth + 1))
                tidied[key] = child
            into[at] = tidied or None
        elif isinstance(value, list):
            into[at] = items = value.copy()
            todo.extend((items, index, depth) for index in range(len(items)))
        elif isinstance(value, str) and not value.strip() and "\n" in value:
            into[at] = None  # layout: an element holding only a line break and indentation
    return top[0]
