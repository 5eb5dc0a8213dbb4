"""Files from the API (``recording.php``): where their bytes go, and what an envelope in
their place means.

A download is a read: it is resent after a transient fault, if what it writes to
can start again (:meth:`FileSink.rewind`). To a path it writes a temporary file in
the same directory and renames it over the path once the whole file is there, so
the path never holds half a recording (with the mode a new file gets from ``open``,
or the one of the file it replaces); to a binary file object it writes as the
bytes come. An envelope sent instead of the file raises what :meth:`ContactNow.request`
would raise for it (a refused token is replaced once, as there).
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import anyio.to_thread
import attrs

from ._errors import ResponseFormatError, TokenError
from ._exchange import ApiRequest, Fetched, Sink
from ._models import Token
from ._refusals import api_error, is_token_error
from ._threads import run_owned
from ._tokens import TokenManager, TokenTimeout
from ._transport import Transport

__all__ = ["FileSink", "PathSink", "Progress", "download"]


async def download(
    request: ApiRequest,
    to: Sink,
    *,
    cap: int,
    transport: Transport,
    tokens: TokenManager,
    secrets: Callable[[Token], tuple[str, ...]],
    deadline: float | None = None,
) -> Fetched:
    """Send ``request`` (its token added) for a file streamed into ``to`` under ``cap`` bytes.

    ``deadline`` (the client's own, not one derived from ``timeout``) bounds the whole
    download from here, its resend after a refused token included; ``timeout`` bounds
    each wait of an attempt (:meth:`Transport.download`).
    """
    give_up_at = math.inf if deadline is None else anyio.current_time() + deadline
    try:  # the token waited for is within the deadline too, as a call's is
        token = await tokens.token(give_up_at)
    except TokenTimeout as cut:
        raise cut.timeout(request.describe(), transport.call_bound) from None
    for attempt in range(2):
        sent = attrs.evolve(
            request, params=(*request.params, ("token", token.value)), secrets=secrets(token)
        )
        got = await transport.download(sent, to, cap=cap, give_up_at=give_up_at)
        if isinstance(got, Fetched):
            return got
        envelope = got.envelope
        if is_token_error(envelope):
            if attempt == 0:
                try:
                    token = await tokens.refresh(stale=token, give_up_at=give_up_at)
                except TokenTimeout as cut:
                    again = " again (its token was refused)"
                    raise cut.timeout(request.describe(), transport.call_bound, again) from None
                continue
            raise TokenError(
                f"{request.script}.php refused a freshly fetched token ({envelope.error})",
                error=envelope.error,
                envelope=envelope,
            )
        if envelope.success and not envelope.error:  # an error beside success 1 refuses
            raise ResponseFormatError(
                f"{request.script}.php answered an envelope without an error, not a file",
                content_type=None,
            )
        raise api_error(request.describe(), envelope)
    raise AssertionError("unreachable")  # pragma: no cover -- the loop returns or raises


#: Told how a download goes: (bytes written, bytes the reply declares or None).
Progress = Callable[[int, "int | None"], object]


class FileSink:
    """Writes to a binary file object the caller owns (and closes); ``progress`` is called
    after each piece with the bytes written so far and the size the reply declares."""

    def __init__(self, file: IO[bytes], progress: Progress | None = None) -> None:
        self._file = file
        self._progress = progress
        self.written = 0
        self.expected: int | None = None
        try:
            self._start: int | None = file.tell() if file.seekable() else None
        except (OSError, ValueError, AttributeError):  # AttributeError: a writer with no seek
            self._start = None

    def expect(self, size: int | None) -> None:
        """The size the reply declares (None: it does not say), for ``progress``."""
        self.expected = size

    def write(self, data: bytes) -> None:
        """Write all of ``data``: a raw stream may take part of it and say so."""
        # bytes, as a file-like of the caller's may expect; a view of the rest once cut.
        rest: bytes | memoryview = data
        while rest:
            # Not a count (None, True, ...): a file-like of the caller's that does not
            # count what it takes (it took it all).
            taken = self._file.write(rest)
            if taken.__class__ is not int or taken >= len(rest):
                break
            if taken <= 0:  # a non-blocking stream that cannot take more now
                raise OSError(errno.EAGAIN, "the file object took none of a piece of the file")
            rest = memoryview(rest)[taken:]
        self.written += len(data)
        if self._progress is not None:
            self._progress(self.written, self.expected)

    def rewind(self) -> bool:
        """Go back to where the download began; False if the file cannot seek."""
        if not self.written:
            return True
        if self._start is None:
            return False
        self._file.seek(self._start)
        self._file.truncate()
        self.written = 0
        return True


class PathSink(FileSink):
    """Writes to a temporary file beside ``path``, renamed over it by :meth:`commit`.

    The temporary file is made as ``open(path, "wb")`` would make the path (mode 0666
    less the umask), not 0600 as :mod:`tempfile` makes one, and no more open than the
    file it replaces, if there is one; :meth:`commit` gives it that file's mode.
    """

    def __init__(
        self, path: Path, temp: IO[bytes], temp_path: str, progress: Progress | None = None
    ) -> None:
        super().__init__(temp, progress)
        self.path = path
        self.temp = temp
        self.temp_path = temp_path

    @classmethod
    async def open(cls, path: str | os.PathLike[str], progress: Progress | None = None) -> PathSink:
        """A sink for ``path``; its directory must exist (an error names it, not the
        temporary file)."""
        if os.fspath(path).endswith((os.sep, os.altsep or os.sep)):  # Path() drops the slash
            raise IsADirectoryError(errno.EISDIR, "names a directory: give a file path", path)
        target = Path(path)
        return cls(target, *await run_owned(lambda: _temporary(target), _drop), progress)

    async def commit(self) -> None:
        """Put the finished file in place (atomically: a rename in one directory)."""

        def finish() -> None:
            self.temp.flush()
            os.fsync(self.temp.fileno())
            self.temp.close()
            try:
                mode = stat.S_IMODE(os.stat(self.path).st_mode)
            except FileNotFoundError:
                pass  # a new file: the mode it was made with
            else:
                os.chmod(self.temp_path, mode)
            try:
                os.replace(self.temp_path, self.path)
            except OSError as exc:  # another user's file in a sticky directory (/tmp)...
                # Named as the path, not as the temporary file (discard() removes it).
                raise type(exc)(
                    exc.errno, f"cannot save {self.path.name} there: {exc.strerror}", str(self.path)
                ) from None

        await anyio.to_thread.run_sync(finish)

    async def discard(self) -> None:
        """Remove the temporary file (the download failed); the path is untouched."""

        await anyio.to_thread.run_sync(_drop, (self.temp, self.temp_path))


def _drop(temporary: tuple[IO[bytes], str]) -> None:
    """Close and remove a temporary file (:func:`_temporary`'s)."""
    file, name = temporary
    # The buffer's flush fails again (a full disk): the descriptor closes all the same,
    # and what was not written is thrown away anyway.
    with contextlib.suppress(OSError):
        file.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name)


def _temporary(target: Path) -> tuple[IO[bytes], str]:
    """A new ``.NAME.XXXX.part`` beside ``target``, open for writing, and its path (NAME
    the start of the target's name: the whole one may be as long as the file system takes)."""
    if target.is_dir():
        raise IsADirectoryError(f"{target} is a directory: give a file path")
    if target.exists() and not target.is_file():
        # A rename would replace the device or the pipe itself (/dev/null, as root).
        raise OSError(
            errno.EINVAL,
            "not a regular file (a device, a pipe): pass a binary file object open on it",
            str(target),
        )
    directory = target.parent
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    # 0o666: the umask applies, as it does to open(path, "wb"). A file to replace bounds
    # it with its own mode from the start (commit() gives that mode exactly): a recording
    # kept 0600 is not readable by others while the new one comes.
    try:
        mode = stat.S_IMODE(target.stat().st_mode) & 0o666
    except OSError:  # none there (yet)
        mode = 0o666
    for _ in range(100):
        name = str(directory / f".{target.name[:32]}.{secrets.token_hex(4)}.part")
        try:
            descriptor = os.open(name, flags | getattr(os, "O_CLOEXEC", 0), mode)
        except FileExistsError:
            continue
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"cannot save {target.name}: no such directory", str(directory)
            ) from None
        except NotADirectoryError:
            raise NotADirectoryError(
                errno.ENOTDIR, f"cannot save {target.name}: not a directory", str(directory)
            ) from None
        except OSError as exc:  # no write permission, a read-only mount...
            raise type(exc)(
                exc.errno, f"cannot save {target.name} there: {exc.strerror}", str(directory)
            ) from None
        # Closed by commit() or discard(), not by a with block: it outlives this call.
        return os.fdopen(descriptor, "w+b"), name
    raise FileExistsError(errno.EEXIST, "no free temporary name beside the file", str(target))


def is_binary_file(value: Any) -> bool:
    """Whether ``value`` looks like a binary file object (it has ``write``, not a path)."""
    return hasattr(value, "write") and not isinstance(value, (str, bytes, os.PathLike))
