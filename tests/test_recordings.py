"""``cn.recordings.download`` through ``MockTransport``: audio to a path (atomically) or a file
object, its own size limit, and every reply that is not audio."""

from __future__ import annotations

import errno
import gzip
import io
import math
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio.lowlevel
import httpx
import pytest

from contactnow_async import (
    APIError,
    BadArgumentError,
    Recording,
    ResponseFormatError,
    TokenError,
    _downloads,
)
from contactnow_async._downloads import FileSink
from contactnow_async._encoding import PIECE, _Sniff
from contactnow_async._wire import Format
from tests._helpers import FakeAPI, LateThreads, client_for, json_reply
from tests.test_ecnow import FORMATS

pytestmark = pytest.mark.anyio

RECORDING = ("recording", None, "")
AUDIO = b"RIFF\x24\x00\x01\x00WAVEfmt " + bytes(range(256)) * 300  # ~77 kB, not text
REFUSED = {"success": False, "error": "Bad argument: callid [42] has no recording"}
XML_REFUSED = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<result><success>0</success>'
    b"<error>Bad argument: callid [42] has no recording</error></result>"
)


def audio(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=AUDIO, headers={"content-type": "audio/wav"})


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
async def test_download_to_a_path_and_to_a_file_object(tmp_path: Path, fmt: Format) -> None:
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api, format=fmt, campaign="10278")
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    buffer = io.BytesIO(b"head:")
    buffer.seek(0, io.SEEK_END)
    async with http, cn:
        saved = await cn.recordings.download(90000001, target)
        written = await cn.recordings.download("90000001", buffer)
    assert saved == Recording("90000001", len(AUDIO), "audio/wav", str(target))
    assert written == Recording("90000001", len(AUDIO), "audio/wav", None)
    assert target.read_bytes() == AUDIO
    assert buffer.getvalue() == b"head:" + AUDIO and not buffer.closed
    assert leftovers(tmp_path) == ["call.wav"]  # no temporary file left behind
    request = api.requests[-1]
    assert request.url.path == "/recording.php"
    query = dict(request.url.params)
    assert "method" not in query and "action" not in query
    assert (query["callid"], query["format"], query["campaign"]) == ("90000001", fmt, "10278")


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(lambda request: json_reply(REFUSED), id="json"),
        pytest.param(lambda request: httpx.Response(200, content=XML_REFUSED), id="xml"),
        pytest.param(lambda request: json_reply(REFUSED, status=404), id="json-404"),
    ],
)
async def test_an_error_envelope_in_place_of_audio_raises_and_leaves_the_path(
    tmp_path: Path, reply: Any
) -> None:
    api = FakeAPI({RECORDING: reply})
    cn, http = client_for(api)
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    async with http, cn:
        with pytest.raises(BadArgumentError) as info:
            await cn.recordings.download(42, target)
    assert info.value.argument == "callid"
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["call.wav"]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        pytest.param(
            httpx.Response(200, content=b"<!DOCTYPE html><html>Oops</html>"),
            ResponseFormatError,
            id="html",
        ),
        pytest.param(httpx.Response(200, content=b""), ResponseFormatError, id="empty"),
        pytest.param(httpx.Response(200, content=b'{"success":tru'), ResponseFormatError, id="cut"),
        pytest.param(json_reply({"success": True}), ResponseFormatError, id="success-no-file"),
        pytest.param(json_reply({"success": False, "error": "Nope"}), APIError, id="api-error"),
        pytest.param(httpx.Response(404, content=b"Not Found"), ResponseFormatError, id="404"),
        # A byte-order mark before the envelope (some PHP stacks send one), or a reply
        # whose content type says it is a page or an envelope: never saved as audio.
        pytest.param(
            httpx.Response(200, content=b"\xef\xbb\xbf" + XML_REFUSED),
            BadArgumentError,
            id="bom-xml",
        ),
        pytest.param(
            httpx.Response(
                200,
                content=b'\xef\xbb\xbf{"success":false,"error":"Bad argument: callid"}',
                headers={"content-type": "application/json"},
            ),
            BadArgumentError,
            id="bom-json",
        ),
        pytest.param(
            httpx.Response(
                200, content=b"Service unavailable", headers={"content-type": "text/html"}
            ),
            ResponseFormatError,
            id="text-html",
        ),
        pytest.param(
            httpx.Response(200, content=b"null", headers={"content-type": "application/json"}),
            ResponseFormatError,
            id="json-null",
        ),
    ],
)
async def test_replies_that_are_not_audio(
    tmp_path: Path, reply: httpx.Response, error: type[Exception]
) -> None:
    api = FakeAPI({RECORDING: lambda request: reply})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(error):
            await cn.recordings.download(1, tmp_path / "x.wav")
    assert leftovers(tmp_path) == []


async def test_a_file_over_its_limit_is_refused_whatever_max_response_bytes(
    tmp_path: Path,
) -> None:
    api = FakeAPI({RECORDING: audio})
    # max_response_bytes is far below the audio: it caps envelopes, not files.
    cn, http = client_for(api, max_response_bytes=1024, max_download_bytes=len(AUDIO))
    async with http, cn:
        assert (await cn.recordings.download(1, tmp_path / "ok.wav")).size == len(AUDIO)
        # The limit passed is named, not only the client's (that it did not set here).
        with pytest.raises(ResponseFormatError, match=r"max_bytes=.*max_download_bytes"):
            await cn.recordings.download(1, tmp_path / "big.wav", max_bytes=len(AUDIO) - 1)
        with pytest.raises(ValueError, match="max_bytes"):
            await cn.recordings.download(1, tmp_path / "no.wav", max_bytes=0)
        with pytest.raises(ValueError, match="max_bytes"):  # it was no cap at all
            await cn.recordings.download(1, tmp_path / "nan.wav", max_bytes=math.nan)  # type: ignore[arg-type]  # the point
    assert leftovers(tmp_path) == ["ok.wav"]
    assert api.calls("recording") == 2  # a file too big is not fetched again


async def test_gzip_encoded_audio_is_decoded(tmp_path: Path) -> None:
    def packed(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "audio/wav", "content-encoding": "gzip"}
        return httpx.Response(200, content=gzip.compress(AUDIO), headers=headers)

    api = FakeAPI({RECORDING: packed})
    cn, http = client_for(api)
    async with http, cn:
        await cn.recordings.download(1, tmp_path / "a.wav")
    assert (tmp_path / "a.wav").read_bytes() == AUDIO


async def test_a_cut_gzip_stream_in_an_in_memory_reply_is_not_saved_as_whole(
    tmp_path: Path,
) -> None:
    """httpx decodes an in-memory reply (``MockTransport``) itself and takes a gzip stream
    cut before its end for a whole one: the first part of the recording was saved as all
    of it. Over a connection the library's own decoder refused it already."""

    def cut(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "audio/wav", "content-encoding": "gzip"}
        return httpx.Response(200, content=gzip.compress(AUDIO)[:-50], headers=headers)

    api = FakeAPI({RECORDING: cut})
    cn, http = client_for(api, max_retries=0)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="stops before its end"):
            await cn.recordings.download(1, tmp_path / "a.wav")
    assert leftovers(tmp_path) == []


async def test_a_refused_token_is_replaced_once(tmp_path: Path) -> None:
    state = {"refuse": False}

    def route(request: httpx.Request) -> httpx.Response:
        if state["refuse"]:  # bound to another address: refused however fresh
            return json_reply({"success": False, "error": "Invalid token"})
        return audio(request)

    api = FakeAPI({RECORDING: route})
    cn, http = client_for(api)
    async with http, cn:
        await cn.recordings.download(1, tmp_path / "a.wav")
        api.expire_all()
        await cn.recordings.download(1, tmp_path / "b.wav")
        state["refuse"] = True
        with pytest.raises(TokenError):
            await cn.recordings.download(1, tmp_path / "c.wav")
    assert api.token_gets == 3
    assert leftovers(tmp_path) == ["a.wav", "b.wav"]


async def test_a_transient_fault_is_retried_from_the_start(tmp_path: Path) -> None:
    state = {"calls": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        state["calls"] += 1
        if state["calls"] == 1:
            return httpx.Response(503, content=b"busy")
        return audio(request)

    api = FakeAPI({RECORDING: flaky})
    cn, http = client_for(api)
    async with http, cn:
        await cn.recordings.download(1, tmp_path / "a.wav")
    assert (tmp_path / "a.wav").read_bytes() == AUDIO
    assert state["calls"] == 2


def test_a_file_sink_rewinds_only_where_it_can() -> None:
    seekable = io.BytesIO(b"keep")
    seekable.seek(4)
    sink = FileSink(seekable)
    sink.write(b"partial")
    assert sink.rewind() and seekable.getvalue() == b"keep"

    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return len(data)

    pipe = FileSink(Pipe())  # type: ignore[arg-type]  # a raw stream: no seek
    assert pipe.rewind()  # nothing written yet: starting again is free
    pipe.write(b"x")
    assert not pipe.rewind()


def test_a_byte_order_mark_split_across_pieces_still_shows_an_envelope() -> None:
    written: list[bytes] = []
    sniff = _Sniff(written.append, cap=1 << 20, envelope_cap=1 << 20)
    for piece in (b"\xef", b"\xbb", b"\xbf \n", b'{"success":false}'):
        sniff(piece)
    assert sniff.is_file is False and not written
    audio = _Sniff(written.append, cap=1 << 20, envelope_cap=1 << 20)
    for piece in (b"\xef", b"\xbbRIFF"):  # not a mark after all: audio, every byte kept
        audio(piece)
    assert audio.is_file is True and written == [b"\xef\xbbRIFF"]


async def test_arguments_are_checked(tmp_path: Path) -> None:
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(ValueError, match="callid"):
            await cn.recordings.download("", tmp_path / "a.wav")
        for wrong in (None, 1.5, ["1"], b"1"):  # not sent as "None", "1.5", "['1']"...
            with pytest.raises(TypeError, match="callid"):
                await cn.recordings.download(wrong, tmp_path / "a.wav")  # type: ignore[arg-type]  # the point
        with pytest.raises(TypeError, match="path or a binary file"):
            await cn.recordings.download(1, 42)  # type: ignore[arg-type]  # the point
        with pytest.raises(IsADirectoryError):
            await cn.recordings.download(1, tmp_path)
        with pytest.raises(IsADirectoryError, match="a directory"):  # it made a file 'new'
            await cn.recordings.download(1, f"{tmp_path / 'new'}{os.sep}")
        with pytest.raises(TypeError, match="binary mode"):  # it failed once the audio came
            await cn.recordings.download(1, io.StringIO())  # type: ignore[arg-type]  # the point
    assert api.calls("recording") == 0
    assert leftovers(tmp_path) == []


def opened(path: Path) -> None:
    """Make ``path`` as an ordinary ``open`` does."""
    with open(path, "wb"):
        pass


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002], ids=oct)
async def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path, mask: int) -> None:
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    old = os.umask(mask)
    try:
        async with http, cn:
            await cn.recordings.download(1, tmp_path / "a.wav")
        opened(tmp_path / "b.wav")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.wav").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "b.wav").stat().st_mode) == 0o666 & ~mask


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o755], ids=oct)
async def test_a_replaced_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    target.chmod(mode)
    async with http, cn:
        await cn.recordings.download(1, target)
    assert target.read_bytes() == AUDIO
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert leftovers(tmp_path) == ["call.wav"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("mode", [0o600, 0o640], ids=oct)
async def test_a_replaced_file_s_mode_bounds_the_temporary_file_from_the_start(
    tmp_path: Path, mode: int
) -> None:
    # The temporary file was made 0666 less the umask, and given the replaced file's mode
    # only at the rename: a recording kept 0600 could be read by others all the download.
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    target.chmod(mode)
    seen: list[int] = []

    def look(done: int, size: int | None) -> None:
        (part,) = tmp_path.glob(".call.wav.*.part")
        seen.append(stat.S_IMODE(part.stat().st_mode))

    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    old = os.umask(0o022)
    try:
        async with http, cn:
            await cn.recordings.download(1, target, progress=look)
    finally:
        os.umask(old)
    assert seen and set(seen) == {mode}
    assert stat.S_IMODE(target.stat().st_mode) == mode


async def test_a_missing_directory_is_named_before_anything_is_fetched(tmp_path: Path) -> None:
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    missing = tmp_path / "no" / "such"
    (tmp_path / "file").write_bytes(b"")
    async with http, cn:
        with pytest.raises(FileNotFoundError) as info:
            await cn.recordings.download(1, missing / "x.wav")
        with pytest.raises(NotADirectoryError) as not_dir:
            await cn.recordings.download(1, tmp_path / "file" / "x.wav")
    assert info.value.filename == str(missing)
    assert str(missing) in str(info.value) and ".part" not in str(info.value)
    assert not_dir.value.filename == str(tmp_path / "file")
    assert ".part" not in str(not_dir.value)
    assert api.calls("recording") == 0 and api.token_gets == 0
    assert leftovers(tmp_path) == ["file"]


async def test_a_full_disk_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The audio sat in the file's buffer until commit() flushed it: ENOSPC there, and
    again when discard() closed the file, left the ``.part`` file behind."""

    class FullDisk(io.FileIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    opened: list[io.BufferedRandom] = []
    make_temporary = _downloads._temporary

    def temporary(target: Path) -> tuple[io.BufferedRandom, str]:
        file, name = make_temporary(target)
        file.close()
        opened.append(io.BufferedRandom(FullDisk(name, "r+b")))
        return opened[-1], name

    monkeypatch.setattr(_downloads, "_temporary", temporary)
    api = FakeAPI({RECORDING: lambda request: httpx.Response(200, content=AUDIO[:1000])})
    cn, http = client_for(api)
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    async with http, cn:
        with pytest.raises(OSError, match="No space left") as info:
            await cn.recordings.download(1, target)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["call.wav"]
    assert opened[0].closed  # its descriptor too


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS], ids=errno.errorcode.get)
async def test_a_directory_it_cannot_write_in_is_named_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A directory without write permission (or on a read-only mount; these tests may
    run as root, whom permissions do not stop): the error named ``.call.wav.XXXX.part``,
    a file the caller never heard of."""
    real_open = os.open

    def refusing(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if str(path).endswith(".part"):
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(OSError, match=r"cannot save call\.wav there") as info:
            await cn.recordings.download(1, tmp_path / "call.wav")
    assert info.value.errno == code
    assert info.value.filename == str(tmp_path)
    assert "call.wav" in str(info.value) and ".part" not in str(info.value)
    assert api.calls("recording") == 0


@pytest.mark.skipif(not hasattr(os, "pathconf"), reason="POSIX name limits")
async def test_a_name_as_long_as_the_file_system_allows_is_saved(tmp_path: Path) -> None:
    """The temporary file's name is the path's name and 15 characters more: past the
    file system's limit, a name open() takes raised "File name too long"."""
    longest = os.pathconf(tmp_path, "PC_NAME_MAX")
    target = tmp_path / ("a" * (longest - 4) + ".wav")
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    async with http, cn:
        await cn.recordings.download(1, target)
    assert target.read_bytes() == AUDIO
    assert leftovers(tmp_path) == [target.name]


async def test_a_file_it_cannot_replace_is_named_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's file in a sticky directory (/tmp): the rename at the end is refused,
    and the error named ``.call.wav.XXXX.part``, a file already removed."""
    real_replace = os.replace

    def refusing(source: Any, target: Any, **kwargs: Any) -> None:
        if str(source).endswith(".part"):
            raise PermissionError(errno.EPERM, os.strerror(errno.EPERM), source, None, target)
        real_replace(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", refusing)
    target = tmp_path / "call.wav"
    target.write_bytes(b"old")
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    async with http, cn:
        with pytest.raises(PermissionError, match=r"cannot save call\.wav there") as info:
            await cn.recordings.download(1, target)
    assert info.value.errno == errno.EPERM and info.value.filename == str(target)
    assert ".part" not in str(info.value)
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == ["call.wav"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX named pipes")
async def test_a_device_or_a_pipe_at_the_path_is_refused_not_replaced(tmp_path: Path) -> None:
    """The temporary file was renamed over whatever the path held: ``"/dev/null"`` (as
    root, in a container) became a regular file holding the recording, and a named
    pipe's reader never got a byte."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    (tmp_path / "link").symlink_to(pipe)
    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    async with http, cn:
        for target in (pipe, tmp_path / "link"):
            with pytest.raises(OSError, match="not a regular file") as info:
                await cn.recordings.download(1, target)
            assert info.value.filename == str(target)
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert (tmp_path / "link").is_symlink()
    assert api.calls("recording") == 0
    assert leftovers(tmp_path) == ["link", "pipe"]


# -- progress, and a file cut short -------------------------------------------------------


async def test_progress_starts_again_with_a_retry_and_what_it_raises_ends_the_download(
    tmp_path: Path,
) -> None:
    packed = gzip.compress(AUDIO)
    replies = iter(
        [
            httpx.Response(200, content=AUDIO[:1000], headers={"content-length": "5000"}),
            httpx.Response(200, content=packed, headers={"content-encoding": "gzip"}),
        ]
    )
    api = FakeAPI({RECORDING: lambda request: next(replies)})
    seen: list[tuple[int, int | None]] = []
    cn, http = client_for(api)
    async with http, cn:
        # The first reply ends short of its Content-Length: retried, from the start.
        buffer = io.BytesIO(b"head:")
        buffer.seek(0, io.SEEK_END)
        await cn.recordings.download(1, buffer, progress=lambda *args: seen.append(args))
    assert buffer.getvalue() == b"head:" + AUDIO
    assert seen[0] == (1000, 5000)
    # then from 0 again (it ends at the file's size, not 1,000 more), of no declared
    # size: an encoded body's length is not the file's
    assert {size for _, size in seen[1:]} == {None}
    assert seen[-1] == (len(AUDIO), None)

    class Enough(Exception):
        pass

    def stop(done: int, size: int | None) -> None:
        raise Enough

    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    target = tmp_path / "x.wav"
    target.write_bytes(b"old")
    async with http, cn:
        with pytest.raises(Enough):
            await cn.recordings.download(1, target, progress=stop)
        with pytest.raises(TypeError, match="progress"):
            await cn.recordings.download(1, target, progress=42)  # type: ignore[arg-type]  # the point
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == ["x.wav"]
    assert api.calls("recording") == 1


async def test_a_file_cut_short_of_its_content_length_is_not_saved_as_whole(
    tmp_path: Path,
) -> None:
    """A connection's HTTP layer refuses a body short of its Content-Length; an in-process
    transport (``ContactNow(transport=httpx.MockTransport(...))``) did not, and the cut
    file was saved as the recording."""
    cut = httpx.Response(
        200, content=AUDIO[:1000], headers={"content-type": "audio/wav", "content-length": "5000"}
    )
    api = FakeAPI({RECORDING: lambda request: cut})
    cn, http = client_for(api, max_retries=1)
    target = tmp_path / "x.wav"
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="ended after 1,000 of the 5,000 bytes"):
            await cn.recordings.download(1, target)
    assert leftovers(tmp_path) == []
    assert api.calls("recording") == 2  # transient: a resend may bring the whole file


async def test_a_failed_download_takes_back_what_it_wrote_to_a_file_object() -> None:
    """To a path a failure left nothing; to a file object it left the recording's first
    pieces after what the file held, to be read as a recording (or as the next one's
    start, in a file the caller goes on writing)."""

    class Enough(Exception):
        pass

    def stop_at_second_piece(done: int, size: int | None) -> None:
        if done > PIECE:  # the pieces the file is written in
            raise Enough

    api = FakeAPI({RECORDING: lambda request: httpx.Response(200, content=AUDIO)})
    cn, http = client_for(api, max_retries=0)
    buffer = io.BytesIO(b"head:")
    buffer.seek(0, io.SEEK_END)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="max_download_bytes"):
            await cn.recordings.download(1, buffer, max_bytes=len(AUDIO) // 2)
        assert buffer.getvalue() == b"head:" and buffer.tell() == 5
        with pytest.raises(Enough):
            await cn.recordings.download(1, buffer, progress=stop_at_second_piece)
        assert buffer.getvalue() == b"head:" and buffer.tell() == 5
        await cn.recordings.download(1, buffer)  # and the file goes on from there
    assert buffer.getvalue() == b"head:" + AUDIO


async def test_endless_white_space_in_place_of_audio_is_cut_at_max_response_bytes(
    tmp_path: Path,
) -> None:
    """White space alone shows neither a file nor an envelope yet: it was kept, every
    piece joined to all before it again, with no cap but the file's (512 MiB)."""
    served = 0

    async def blank() -> AsyncIterator[bytes]:
        nonlocal served
        while True:
            await anyio.lowlevel.checkpoint()  # as a socket's read does: a cancellation ends it
            served += PIECE
            yield b" " * PIECE

    def endless(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=blank(), headers={"content-type": "audio/wav"})

    api = FakeAPI({RECORDING: endless})
    cn, http = client_for(api, max_retries=0, max_response_bytes=PIECE)
    async with http, cn:
        with pytest.raises(ResponseFormatError, match="larger than max_response_bytes"):
            await cn.recordings.download(1, tmp_path / "x.wav", max_bytes=64 * PIECE)
    assert served <= 2 * PIECE
    assert leftovers(tmp_path) == []
    # Only the new piece is looked at past the first bytes, and a file after white
    # space is still written whole.
    written: list[bytes] = []
    sniff = _Sniff(written.append, cap=1 << 20, envelope_cap=8)
    for piece in (b" ", b"\n\n\n", b"RIFF"):
        sniff(piece)
    assert sniff.is_file is True and written == [b" \n\n\nRIFF"]


async def test_a_raw_file_that_takes_part_of_a_piece_gets_the_rest_too() -> None:
    """A raw stream (``open(path, "wb", buffering=0)``, a pipe) may write fewer bytes than
    it is given and say so: the rest was dropped, and the cut file reported as whole."""

    class Raw(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            taken = bytes(data[:1000])
            self.data += taken
            return len(taken)

    raw = Raw()
    recording = await _download_into(raw)
    assert bytes(raw.data) == AUDIO and recording.size == len(AUDIO)


async def _download_into(target: Any) -> Any:
    """The recording the fake API serves, downloaded into ``target`` (no path, no seek)."""
    cn, http = client_for(FakeAPI({RECORDING: audio}))
    async with http, cn:
        return await cn.recordings.download(1, target)


def test_a_file_that_takes_nothing_raises_rather_than_spins() -> None:
    class Stuck(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            return 0

    with pytest.raises(OSError, match="took none"):
        FileSink(Stuck()).write(b"x")  # type: ignore[arg-type]  # a raw stream


async def test_a_file_like_of_the_callers_is_given_bytes() -> None:
    """A writer of the caller's may use what ``bytes`` has (``startswith``, ``decode``):
    each piece comes as ``bytes``, not as a view of one."""

    class Collector:
        def __init__(self) -> None:
            self.pieces: list[bytes] = []

        def seekable(self) -> bool:
            return False

        def write(self, data: bytes) -> None:
            assert data.startswith(b"") and isinstance(data, bytes)
            self.pieces.append(data)

    collector = Collector()
    await _download_into(collector)
    assert b"".join(collector.pieces) == AUDIO


@pytest.mark.parametrize("says", [None, True, "done"])
async def test_a_writer_that_does_not_count_what_it_takes_gets_each_piece_once(
    says: object,
) -> None:
    # True (a bool, an int) read as "took one byte": the rest of the piece came again.
    class Writer:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, data: bytes) -> object:
            self.data += data
            return says

    writer = Writer()
    await _download_into(writer)
    assert bytes(writer.data) == AUDIO


async def test_an_object_with_only_write_is_written_to() -> None:
    """Any object with ``write`` is taken for a file object; one without ``seekable`` (a
    writer of the caller's) raised AttributeError before anything was fetched."""

    class Writer:
        def __init__(self) -> None:
            self.data = bytearray()

        def write(self, data: bytes) -> int:
            self.data += data
            return len(data)

    writer = Writer()
    await _download_into(writer)
    assert bytes(writer.data) == AUDIO


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # asyncio's own cancellation
async def test_a_task_cancelled_while_its_temporary_file_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncio's ``task.cancel()`` (``asyncio.timeout``, a web framework ending the handler
    of a client gone) ends the wait for the worker thread making the temporary file, and
    the thread goes on: the file it then made was left open and on disk."""
    import asyncio

    api = FakeAPI({RECORDING: audio})
    cn, http = client_for(api)
    threads = LateThreads(monkeypatch)
    async with http, cn:
        task = asyncio.ensure_future(cn.recordings.download(1, tmp_path / "call.wav"))
        await threads.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        (temp, _), *_ = threads.finish()  # the thread ends after its caller is gone
    assert temp.closed
    assert leftovers(tmp_path) == []
    assert api.calls("recording") == 0
