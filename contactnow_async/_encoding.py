"""Read a reply's body and undo its ``Content-Encoding`` under a size cap, whatever the stack.

httpx decodes a whole network chunk at once, so 2 KB of ``gzip, gzip`` can
inflate to gigabytes before anyone counts the bytes. Here every stage inflates
at most :data:`PIECE` bytes at a time and the decoded total is counted as it
grows: memory stays within the cap plus a constant per stage.

:func:`read_body` keeps the body (an envelope); :func:`read_file` hands a file
(a recording) to a writer piece by piece, and keeps the body only if it turns out
to be an envelope (an error in place of the file).
"""

from __future__ import annotations

import codecs
import contextlib
import zlib
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Final, cast

import anyio
import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "BodyDecoder",
    "CutShort",
    "EncodingError",
    "FileTooLarge",
    "TooLarge",
    "content_length",
    "read_body",
    "read_file",
]

#: What the client asks for: the encodings this module can undo.
ACCEPT_ENCODING: Final = "gzip, deflate"
#: The most one stage inflates in one step.
PIECE: Final = 64 * 1024
# A stack deeper than this is an attack, not a server.
_MAX_STAGES: Final = 4


class EncodingError(Exception):
    """The body does not decode as its ``Content-Encoding`` says."""


class CutShort(EncodingError):
    """The body ends inside its encoded stream: the connection ended before the body did
    (a body without a declared length has no other sign of it)."""


class TooLarge(Exception):
    """The decoded body passed the cap; ``size`` is how far it got."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _Inflate:
    """One gzip or deflate stage, inflating in bounded pieces.

    A gzip body may be several members one after another (RFC 1952, 2.2: what
    ``cat a.gz b.gz`` makes), each inflated in turn: the first alone was a body cut
    short (a file saved without its rest, with nothing to say so). Bytes after the end
    that start no member (padding, a stray newline) are ignored, as other clients do.
    """

    __slots__ = ("_done", "_head", "_kind", "_started", "_z")

    def __init__(self, kind: str) -> None:
        self._kind = kind
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS if kind == "gzip" else zlib.MAX_WBITS)
        self._started = False
        self._head = b""
        self._done = False  # past the end: what follows is ignored

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._kind == "deflate" and not self._started:
            # zlib's header is two bytes: with fewer, a raw stream is not told apart yet
            # (and a network chunk, or an outer stage's piece, may be one byte long).
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            self._head = b""
        while data and not self._done:
            if self._z.eof:
                if self._kind != "gzip":
                    self._done = True
                    return
                data = self._head + data
                if len(data) < 2:  # the magic bytes of a next member may come apart too
                    self._head = data
                    return
                self._head = b""
                if not data.startswith(_GZIP_MAGIC):
                    self._done = True
                    return
                self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = self._z.decompress(data, PIECE)
            except zlib.error as exc:
                if self._kind == "deflate" and not self._started:
                    # "deflate" is often sent raw, without the zlib header (as httpx allows).
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise EncodingError(f"{self._kind}: {exc}") from None
            self._started = True
            if out:
                yield out
            data = self._z.unused_data if self._z.eof else self._z.unconsumed_tail

    def flush(self) -> Iterator[bytes]:
        if self._head and not self._z.eof:
            raise EncodingError(f"{self._kind}: a stream of one byte")
        if self._head == _GZIP_MAGIC[:1]:
            raise CutShort(f"{self._kind}: a member that stops after its first byte (cut short?)")
        try:
            tail = self._z.flush(PIECE)
        except zlib.error as exc:  # pragma: no cover -- flush after a valid stream does not fail
            raise EncodingError(f"{self._kind}: {exc}") from None
        if tail:
            yield tail
        if self._started and not self._z.eof:
            raise CutShort(f"{self._kind}: the stream stops before its end (cut short?)")


_GZIP_MAGIC: Final = b"\x1f\x8b"


class BodyDecoder:
    """Decodes a body through its encodings (the last applied is undone first), capped.

    Feed raw chunks with :meth:`feed`, then call :meth:`finish`, which returns the
    decoded body; with ``out``, each decoded piece goes there instead (and
    :meth:`finish` returns ``b""``). Raises :class:`TooLarge` past ``cap`` decoded
    bytes and :class:`EncodingError` for an unknown encoding or a body that does
    not decode.
    """

    def __init__(
        self,
        content_encoding: str | None,
        *,
        cap: int,
        out: Callable[[bytes], None] | None = None,
    ) -> None:
        written = [name.strip() for name in (content_encoding or "").split(",") if name.strip()]
        written = [name for name in written if name.lower() != "identity"]
        names = [name.lower() for name in written]
        if len(names) > _MAX_STAGES:
            raise EncodingError(f"{len(names)} stacked content encodings")
        for name, as_written in zip(names, written, strict=True):
            if name not in ("gzip", "x-gzip", "deflate"):
                # As written, whole: the caller hides a secret it echoes, then cuts it short.
                raise EncodingError(f"unsupported content encoding {as_written!r}")
        self._stages = [_Inflate("deflate" if n == "deflate" else "gzip") for n in reversed(names)]
        self._cap = cap
        self._size = 0
        self._parts: list[bytes] = []
        self._out = out if out is not None else self._parts.append

    @property
    def size(self) -> int:
        """Decoded bytes so far."""
        return self._size

    def feed(self, chunk: bytes) -> None:
        """Decode one raw chunk."""
        self._push(0, chunk)

    def finish(self) -> bytes:
        """Flush every stage and return the decoded body."""
        for index, stage in enumerate(self._stages):
            for piece in stage.flush():
                self._push(index + 1, piece)
        return b"".join(self._parts)

    def _push(self, index: int, data: bytes) -> None:
        if index == len(self._stages):
            self._size += len(data)
            if self._size > self._cap:
                raise TooLarge(self._size)
            if data:
                self._out(data)
            return
        for piece in self._stages[index].feed(data):
            self._push(index + 1, piece)


#: A length of more digits than this (leading zeros aside) is past any cap and any file.
_LENGTH_DIGITS: Final = 19


def content_length(response: httpx.Response) -> int | None:
    """The reply's ``Content-Length`` as a number, or None: absent, or not ASCII digits.

    Leading zeros are read past: aiohttp's parser takes ``0...066`` (66 after 5,000 zeros),
    where ``int()`` refuses more than 4,300 digits, whatever they are worth, with a
    ValueError that reached the caller bare. A length of more than 19 digits, past any
    cap, reads as ``10**19``.
    """
    value = response.headers.get("content-length")
    if value is None:
        return None
    value = value.strip()
    if not (value.isascii() and value.isdigit()):
        return None
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= _LENGTH_DIGITS else 10**_LENGTH_DIGITS


async def read_body(response: httpx.Response, *, cap: int) -> bytes:
    """Read and decode a streamed reply's body; :class:`TooLarge` past ``cap`` decoded
    bytes (or a declared length past it), :class:`EncodingError` if it does not decode.

    A stream with a ``read_whole()`` coroutine (the ``[speed]`` wire's) is read with
    it when the reply declares its length: one read instead of a chunk loop."""
    declared = content_length(response)
    if declared is not None and declared > cap:
        raise TooLarge(declared)
    if response.is_stream_consumed:
        # An in-memory reply (httpx.MockTransport): httpx read and decoded it already.
        if len(response.content) > cap:
            raise TooLarge(len(response.content))
        return response.content
    encoding = response.headers.get("content-encoding")
    read_whole = getattr(response.stream, "read_whole", None)
    if read_whole is not None and declared is not None:
        # A stream that reads a body framed by its declared length (no more than the
        # cap, checked above) at once: the raw bytes are bounded, and the decoded
        # ones are counted as the stages inflate them, as below.
        raw_body: bytes = await read_whole()
        if encoding is None:
            if len(raw_body) > cap:  # pragma: no cover -- the framing bounds it already
                raise TooLarge(len(raw_body))
            return raw_body
        whole = BodyDecoder(encoding, cap=cap)
        whole.feed(raw_body)
        return whole.finish()
    decoder = BodyDecoder(encoding, cap=cap)
    # Leaving the loop early (too big, undecodable) must finish the stream's
    # generators here, not in the garbage collector (trio warns about that):
    # aclosing finishes the outermost, _wind_down the ones beneath it.
    raw = cast("AsyncGenerator[bytes, None]", response.aiter_raw())  # it is one
    async with contextlib.aclosing(raw):
        try:
            async for chunk in raw:
                decoder.feed(chunk)
        except (TooLarge, EncodingError):
            await _wind_down(raw)
            raise
    return decoder.finish()


class FileTooLarge(TooLarge):
    """The file passed its own cap (not the envelope's)."""


def _names_no_file(content_type: str | None) -> bool:
    """Whether a content type says a page or an envelope (text, JSON, XML), never audio."""
    media = (content_type or "").partition(";")[0].strip().lower()
    return media.startswith("text/") or media.endswith(("json", "xml"))


class _Sniff:
    """Decoded pieces of a reply that should be a file: passed on to ``write`` once the
    first bytes show a file (up to ``cap`` bytes), kept if they show an envelope (up to
    ``envelope_cap``): ``{`` or ``<`` first, after any byte-order mark and white space,
    as :func:`~._wire.decode` reads it."""

    def __init__(
        self,
        write: Callable[[bytes], None],
        *,
        cap: int,
        envelope_cap: int,
        is_file: bool | None = None,
    ) -> None:
        self._write = write
        self._cap = cap
        self._envelope_cap = envelope_cap
        self.kept: list[bytes] = []
        self.size = 0
        self.is_file = is_file  # None: not told yet

    def __call__(self, piece: bytes) -> None:
        before, self.size = self.size, self.size + len(piece)
        if self.is_file is None:
            self.kept.append(piece)
            if before < len(codecs.BOM_UTF8):  # a mark may straddle the pieces: a few bytes
                head = b"".join(self.kept)
                if codecs.BOM_UTF8.startswith(head):  # empty, or a mark not all here yet
                    return
                head = head.removeprefix(codecs.BOM_UTF8).lstrip()
            else:  # what came before was a mark and white space: not joined again
                head = piece.lstrip()
            if not head:
                if self.size > self._envelope_cap:  # white space only: no file starts so
                    raise TooLarge(self.size)
                return
            self.is_file = head[:1] not in (b"{", b"<")
            if self.is_file:
                piece = b"".join(self.kept)
                self.kept.clear()
        elif not self.is_file:
            self.kept.append(piece)
        if self.is_file:
            if self.size > self._cap:
                raise FileTooLarge(self.size)
            self._write(piece)
        elif self.size > self._envelope_cap:
            raise TooLarge(self.size)


async def read_file(
    response: httpx.Response, *, cap: int, envelope_cap: int, write: Callable[[bytes], None]
) -> int | bytes:
    """Read a reply that should be a file, handing its decoded bytes to ``write``.

    Returns the file's size, or the body itself when it is an envelope (it starts
    with ``{`` or ``<``, or is empty, or its content type names text, JSON or XML:
    an error in place of the file), read under
    ``envelope_cap``. Raises :class:`FileTooLarge` past ``cap`` bytes of file (or a
    declared length past both caps), :class:`TooLarge` past ``envelope_cap`` bytes of
    envelope and :class:`EncodingError` for a body that does not decode.
    """
    declared = content_length(response)
    if declared is not None and declared > max(cap, envelope_cap):
        raise FileTooLarge(declared)
    # A reply whose content type names a page or an envelope is read as one, whatever
    # its first byte (an error page in plain text is not a recording).
    no_file = _names_no_file(response.headers.get("content-type"))
    sniff = _Sniff(write, cap=cap, envelope_cap=envelope_cap, is_file=False if no_file else None)
    encoding = response.headers.get("content-encoding")
    if response.is_stream_consumed and encoding and (sent := await _as_sent(response)):
        # An in-memory reply decoded by httpx, whose decoders take a gzip stream cut
        # before its end for a whole one: the body as sent goes through ours instead.
        decoder = BodyDecoder(encoding, cap=max(cap, envelope_cap), out=sniff)
        decoder.feed(sent)
        decoder.finish()
    elif response.is_stream_consumed:
        # An in-memory reply (httpx.MockTransport): httpx read and decoded it already.
        content = response.content
        for start in range(0, len(content), PIECE):
            sniff(content[start : start + PIECE])
    else:
        decoder = BodyDecoder(
            response.headers.get("content-encoding"), cap=max(cap, envelope_cap), out=sniff
        )
        raw = cast("AsyncGenerator[bytes, None]", response.aiter_raw())  # it is one
        async with contextlib.aclosing(raw):
            try:
                async for chunk in raw:
                    decoder.feed(chunk)
                decoder.finish()
            except Exception:  # the caps, and whatever writing raised (a full disk)
                await _wind_down(raw)
                raise
    return sniff.size if sniff.is_file else b"".join(sniff.kept)


async def _as_sent(response: httpx.Response) -> bytes:
    """The body of an in-memory reply as it was sent, before httpx decoded it (its
    ``httpx.ByteStream`` reads again), or b"" where its stream cannot be read again."""
    stream = response.stream
    parts: list[bytes] = []
    if isinstance(stream, httpx.AsyncByteStream):
        with contextlib.suppress(httpx.StreamError):
            async for chunk in stream:
                parts.append(chunk)  # noqa: PERF401 -- an async for: no comprehension
    return b"".join(parts)


async def _wind_down(raw: AsyncGenerator[bytes, None]) -> None:
    """Run every async generator under a half-read reply to its end.

    Closing ``raw`` closes only the outermost: httpx and httpcore stack several
    more beneath it, and trio warns about each the garbage collector finds
    unfinished. A cancellation raised at the innermost one's next checkpoint
    unwinds them all (each closes its part of the connection on the way out).
    """
    with anyio.CancelScope() as scope, contextlib.suppress(Exception):
        scope.cancel()
        async for _ in raw:  # only what httpcore holds already: the first checkpoint ends it
            pass
