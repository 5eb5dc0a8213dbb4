"""The XML reader: the same dicts as ``xmltodict`` (tidied), whatever the document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.parsers.expat import ExpatError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contactnow_async import ResponseFormatError
from contactnow_async._wire import decode
from contactnow_async._xml import MAX_XML_DEPTH, parse, read_general
from tests._helpers import cpu_seconds, examples

_names = st.sampled_from(["result", "list", "agent", "uid", "name", "call", "item", "a:b"])
_text = st.text(st.sampled_from(list("ab <>&\n\t\r é€\"'")), max_size=6)
_attributes = st.dictionaries(st.sampled_from(["id", "type"]), _text, max_size=2)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_between = st.sampled_from(["", "\n  ", " ", "x", "<!-- note -->", "<![CDATA[<c>]]>"])


@st.composite
def _element(draw: st.DrawFn, depth: int = 0) -> str:
    name = draw(_names)
    attributes = "".join(
        f' {key}="{_escape(value)}"'
        for key, value in draw(st.one_of(st.just({}), _attributes)).items()
    )
    if depth >= 3 or draw(st.booleans()):
        text = draw(_text)
        return f"<{name}{attributes}>{_escape(text)}</{name}>" if text else f"<{name}{attributes}/>"
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        parts.append(
            draw(st.sampled_from(["", "\n  ", " ", "x", "<!-- note -->", "<![CDATA[<c>]]>"]))
        )
        parts.append(draw(_element(depth + 1)))
    parts.append(draw(st.sampled_from(["", "\n", " y "])))
    return f"<{name}{attributes}>{''.join(parts)}</{name}>"


def _nested(depth: int, attribute: bytes = b"") -> bytes:
    """``depth`` levels of elements, each but the deepest holding two of the next."""
    inner = b"<a>x</a>"
    for _ in range(depth - 1):
        inner = b"<a>" + inner + b"\n<a/></a>"
    return b"<result" + attribute + b"><success>1</success>" + inner[3:-4] + b"</result>"


_prologs = st.sampled_from(
    [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        "",
        "<!DOCTYPE result [<!ELEMENT a ANY><!ATTLIST agent id CDATA #IMPLIED>]>",
        "<!DOCTYPE result [<!ATTLIST uid type CDATA 'x'>]>",  # a default: refused
        '<!DOCTYPE result SYSTEM "result.dtd">',
    ]
)


def _reference(content: bytes) -> Any:
    """The general reader, xmltodict's, as parse() takes a document with attributes."""
    return read_general(content)


def _outcome(read: Any, content: bytes) -> Any:
    try:
        return read(content)
    except (ExpatError, ValueError) as exc:
        return type(exc)


@settings(max_examples=examples(100), deadline=None)
@given(_element(), _prologs)
def test_the_reader_gives_what_xmltodict_gives(element: str, declaration: str) -> None:
    content = (declaration + element).encode()
    assert _outcome(parse, content) == _outcome(_reference, content)


@pytest.mark.parametrize(
    "content",
    [
        b"<result><list><agent><uid>1</uid></agent><agent><uid>2</uid></agent></list></result>",
        b"<result>\n  <list>\n  </list>\n  <name> Joe </name><phone/></result>",
        b'<result><list count="2"><agent id="1">x</agent></list></result>',  # xmltodict's path
        b'<?xml version="1.0" encoding="ISO-8859-1"?><result><name>\xe9</name></result>',
        b"<result>text<a>1</a>more</result>",
        b"<result/>",
        # Runs past expat's 8 KiB buffer, in a leaf and beside a child element.
        b"<result><a>" + b" \n" * 9_000 + b"</a><b>" + b"x&amp;\n" * 3_000 + b"</b></result>",
        b"<result>" + b"\n" * 9_000 + b"<a>1</a>" + b" \n" * 9_000 + b"<a/></result>",
    ],
)
def test_examples_read_alike(content: bytes) -> None:
    assert parse(content) == _reference(content)


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE r [<!ENTITY a 'aaaa'>]><result>&a;</result>",
        b"<result><a></result>",
        b"",
        b'<?xml version="1.0" encoding="UTF-16"?><result/>',
        b"<!DOCTYPE result [<!ATTLIST a x CDATA 'y'>]><result><a/></result>",
        b'<!DOCTYPE result SYSTEM "x"><result>&foo;</result>',
        _nested(MAX_XML_DEPTH + 1),
        _nested(MAX_XML_DEPTH + 1) + b"<junk/>",  # not well formed past the depth
        _nested(MAX_XML_DEPTH + 1).replace(b"</a>", b'</a><b id="1"/>', 1),
    ],
)
def test_what_xmltodict_refuses_is_refused_alike(content: bytes) -> None:
    assert _outcome(parse, content) == _outcome(_reference, content)
    assert issubclass(_outcome(parse, content), (ExpatError, ValueError))


@pytest.mark.parametrize(
    "document",
    [
        # Text beside child elements: one run of the root's text per child.
        lambda count: b"<r>" + (b"x" * 200 + b"<a/>") * count + b"</r>",
        # Lines in one element: expat hands text over a line (and 8 KiB) at a time.
        lambda count: b"<r>" + (b"x" * 100 + b"\n") * count + b"</r>",
    ],
    ids=["beside children", "past expat's buffer"],
)
def test_text_in_many_runs_reads_in_time_linear_in_its_length(
    document: Callable[[int], bytes],
) -> None:
    # Each run was appended to a copy of the runs before it: gigabytes copied for 2 MB.
    # Eight times the runs: linear is 8 times the time, quadratic 64 (a loaded machine's
    # noise stays well inside the margin between them).
    small, large = document(5_000), document(40_000)
    assert cpu_seconds(lambda: parse(large)) < 24 * cpu_seconds(lambda: parse(small)) + 0.05


def _leaves(node: Any) -> list[tuple[int, Any]]:
    """Every key and leaf of a decoded document with its depth, in document order, without
    recursion (``==`` on a thousand levels of dicts and lists recurses past the limit)."""
    seen, todo = [], [(0, node)]
    while todo:
        depth, node = todo.pop()
        if isinstance(node, dict):
            for key, value in reversed(node.items()):
                todo.append((depth + 1, value))
                todo.append((depth, key))
        elif isinstance(node, list):
            todo.extend((depth, item) for item in reversed(node))
        else:
            seen.append((depth, node))
    return seen


def test_nesting_to_the_limit_reads_alike_with_an_attribute_or_without() -> None:
    # The general reader's tidy() recursed, three frames an element deep (the dict, the
    # list of repeated ones, its comprehension): a RecursionError past about 330 levels.
    plain = _leaves(parse(_nested(MAX_XML_DEPTH)))
    with_one = _leaves(parse(_nested(MAX_XML_DEPTH, b' id="1"')))
    assert with_one == [(0, "result"), (1, "@id"), (2, "1"), *plain[1:]]
    assert max(depth for depth, _ in plain) == MAX_XML_DEPTH


@pytest.mark.parametrize("attribute", [b"", b' id="1"'])
def test_nesting_past_the_limit_is_refused_by_either_reader(attribute: bytes) -> None:
    # Read by the fast path, at any depth; a RecursionError from the general reader.
    content = _nested(MAX_XML_DEPTH + 1, attribute)
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_XML_DEPTH}"):
        parse(content)
    with pytest.raises(ResponseFormatError, match=f"XML nested deeper than {MAX_XML_DEPTH}"):
        decode(content)


@pytest.mark.parametrize(
    "declaration",
    [
        b'<!ATTLIST a x CDATA "yyyy">',
        b'<!ATTLIST a x CDATA #FIXED "y">',
        b"<!ATTLIST a x (y|z) 'z'>",
    ],
)
def test_a_declared_attribute_default_is_refused(declaration: bytes) -> None:
    # Expat gives every <a/> the default: 50 kB declaring 10 kB for 10,000 of them took
    # 100 MB to read, a billion laughs without an entity.
    content = b"<!DOCTYPE result [" + declaration + b"]><result><a/><a/></result>"
    with pytest.raises(ValueError, match="attribute defaults are disabled"):
        parse(content)
    with pytest.raises(ResponseFormatError):
        decode(content)


def test_an_attribute_declared_without_a_default_reads() -> None:
    content = b"<!DOCTYPE result [<!ATTLIST a x CDATA #IMPLIED>]><result><a/><a/></result>"
    assert parse(content) == {"result": {"a": [None, None]}}


@pytest.mark.parametrize(
    "doctype", [b'<!DOCTYPE result SYSTEM "x.dtd">', b"<!DOCTYPE result [%p;]>"]
)
def test_an_undefined_entity_is_refused_beside_an_external_dtd(doctype: bytes) -> None:
    # Expat skips an entity it cannot find defined when the DTD has parts it did not
    # read: "a&foo;b" was "ab", where without the DOCTYPE it is refused.
    content = doctype + b"<result><success>1</success><error>a&foo;b</error></result>"
    with pytest.raises(ValueError, match="entity"):
        parse(content)
    with pytest.raises(ResponseFormatError):
        decode(content)
