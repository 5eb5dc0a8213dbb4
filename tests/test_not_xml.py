"""The characters XML 1.0 cannot carry, as the client refuses and the simulator replaces them."""

from __future__ import annotations

import re

from contactnow_async._wire import NOT_XML


def test_the_pattern_is_the_complement_of_the_xml_char_production() -> None:
    # XML 1.0, production [2], Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD]
    # | [#x10000-#x10FFFF]
    every = "".join(map(chr, range(0x110000)))
    spec = re.findall("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", every)
    assert re.findall(NOT_XML, every) == spec
    assert len(spec) == 29 + 2048 + 2  # controls, surrogates, U+FFFE and U+FFFF
