"""``contactnow recordings``: download a call's recording (``recording.php``)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import click
from rich.progress import DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from .. import Recording
from ._common import EXIT_ERROR, OutputConsole, Settings, connect, fail, refuse_empty, run


@click.group()
def recordings() -> None:
    """Download call recordings."""


@recordings.command("download")
@click.argument("call", callback=refuse_empty)
@click.argument("output", callback=refuse_empty, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
@click.option(
    "--max-mib",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse a recording larger than this many MiB (1,048,576 bytes; default: 512).",
)
@click.pass_obj
def recordings_download(
    settings: Settings, call: str, output: str, force: bool, max_mib: int | None
) -> None:
    """Save the recording of CALL (its call id, as the CDR names it) to OUTPUT ('-' for
    stdout).

    A file is written whole or not at all: OUTPUT never holds part of a recording. A
    progress bar shows on a terminal.
    """
    to_stdout = output == "-"
    if to_stdout and sys.stdout.isatty():
        fail("a recording is audio, not text: give a file, or pipe stdout ('-') elsewhere")
    if not to_stdout and not force and os.path.lexists(output):
        fail(f"{output} exists: give --force to replace it")
    if not to_stdout and _is_special(output):
        # The library refuses it too, as an OSError (exit 1 here): refused here as a usage
        # error, with the command's own way round it.
        fail(f"{output} is not a regular file (a device, a pipe): give '-' and redirect stdout")
    cap = None if max_mib is None else max_mib * 1024 * 1024
    console = OutputConsole(stderr=True)

    async def main() -> Recording:
        with Progress(
            TextColumn(f"call {call}"),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=True,
        ) as progress:
            task = progress.add_task("download", total=None)

            def shown(written: int, expected: int | None) -> None:
                progress.update(task, completed=written, total=expected)

            async with connect(settings) as client:
                to = sys.stdout.buffer if to_stdout else output
                return await client.recordings.download(call, to, max_bytes=cap, progress=shown)

    try:
        recording = run(settings, main)
    except OSError as exc:
        if to_stdout:
            raise  # a closed pipe, a full disk: the command's own guards say them
        fail(_not_saved(output, exc), EXIT_ERROR)
    kind = f", {recording.content_type}" if recording.content_type else ""
    where = "stdout" if to_stdout else str(Path(output))
    click.echo(f"saved call {call} to {where}: {recording.size:,} bytes{kind}", err=to_stdout)


def _is_special(output: str) -> bool:
    """Whether ``output`` is there and is neither a regular file nor a directory."""
    try:
        mode = os.stat(output).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _not_saved(output: str, exc: OSError) -> str:
    """Why ``output`` was not saved, as one line: the library's reason names the file,
    and the directory where that is where it failed; the system's (a full disk) is
    said of ``output``."""
    reason = exc.strerror or str(exc)
    if not reason.startswith("cannot save"):
        reason = f"cannot save {output}: {reason}"
    if exc.filename is not None and os.fspath(exc.filename) != output:
        reason += f" ({os.fspath(exc.filename)})"
    return reason
