"""``recording.php``: download a call's recording to a file."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Awaitable, Callable
from typing import IO, TYPE_CHECKING

import anyio

from .._downloads import FileSink, PathSink, Progress, is_binary_file
from .._exchange import Fetched
from .._models_reports import Recording
from ._base import Resource

if TYPE_CHECKING:
    from .._client import ContactNow

__all__ = ["Recordings"]


class Recordings(Resource):
    """Download call recordings (``recording.php``, whose reply is audio, not an envelope)."""

    __slots__ = ("_download",)

    def __init__(
        self,
        client: ContactNow,
        *,
        download: Callable[..., Awaitable[Fetched]],
    ) -> None:
        super().__init__(client)
        self._download = download

    async def download(
        self,
        callid: str | int,
        to: str | os.PathLike[str] | IO[bytes],
        *,
        max_bytes: int | None = None,
        progress: Progress | None = None,
    ) -> Recording:
        """Save the recording of call ``callid`` to ``to``: a path, or a binary file object.

        To a path it is written atomically: to a temporary file beside it, renamed over
        the path once complete, so the path never holds a partial recording (a failure
        leaves it as it was). A new file gets the mode ``open(path, "wb")`` would give
        it, a replaced one keeps its own; a directory that does not exist raises
        ``FileNotFoundError`` naming it, before anything is fetched, and a path that
        holds a device or a pipe ``OSError`` (a rename would replace it). To a file object
        the bytes are written as they come, from its current position; it stays open, and
        a failure or a cancellation takes back what was written where it can seek (cut
        back to where the download began), so it holds no partial recording either.
        Returns a :class:`~contactnow_async.Recording` with the byte count and the
        content type the server gave.

        A long recording is not cut at the client's ``timeout``: here it bounds each
        wait, for the reply and then for each next piece of the file (a stalled download
        raises :class:`~contactnow_async.RequestTimeout`, and is tried again from the
        start where ``to`` can rewind); only the client's own ``deadline``, if it has
        one, bounds the whole download. ``progress``, if given, is called after each
        piece with the bytes written so far and the size the reply declares (None when
        it does not): a retry starts it again from 0, and what it raises ends the
        download (a path is left as it was).

        ``max_bytes`` caps the file (default: the client's ``max_download_bytes``,
        512 MiB); ``max_response_bytes`` does not apply, but an error envelope in place
        of the audio is read under it and raises as any call would
        (:class:`~contactnow_async.BadArgumentError` for a call without a recording,
        ``APIError``, ``TokenError``). A reply that is neither audio nor an envelope
        (an HTML page) raises :class:`~contactnow_async.ResponseFormatError`. The
        vendor documents neither the arguments nor the format: the call is named by
        ``callid``, as the CDR names it.
        """
        if isinstance(callid, bool) or not isinstance(callid, (str, int)):
            raise TypeError(f"callid must be a call id (text or a number), not {callid!r}")
        call_id = str(callid).strip()
        if not call_id or "," in call_id:
            raise ValueError(f"callid must be one call id, not {callid!r}")
        cap = self._client.options.max_download_bytes if max_bytes is None else max_bytes
        if isinstance(cap, bool) or not cap >= 1:  # NaN too: it compares false
            raise ValueError(f"max_bytes must be >= 1, not {max_bytes!r}")
        if progress is not None and not callable(progress):
            raise TypeError(f"progress must be a function (written, expected), not {progress!r}")
        params = {"callid": call_id}
        if isinstance(to, io.TextIOBase):
            raise TypeError(f"to is a text file ({to!r}): open it in binary mode ('wb')")
        if is_binary_file(to):
            file = to
            assert not isinstance(file, (str, os.PathLike))  # is_binary_file said so
            file_sink = FileSink(file, progress)
            try:
                fetched = await self._download("recording", params, file_sink, cap=cap)
            except BaseException:
                # Not a half recording left in the caller's file (where it can seek back).
                with contextlib.suppress(OSError, ValueError):
                    file_sink.rewind()
                raise
            return Recording(call_id, fetched.size, fetched.content_type)
        if not isinstance(to, (str, os.PathLike)):
            raise TypeError(f"to must be a path or a binary file object, not {to!r}")
        sink = await PathSink.open(to, progress)
        try:
            fetched = await self._download("recording", params, sink, cap=cap)
            with anyio.CancelScope(shield=True):
                await sink.commit()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await sink.discard()
            raise
        return Recording(call_id, fetched.size, fetched.content_type, str(sink.path))
