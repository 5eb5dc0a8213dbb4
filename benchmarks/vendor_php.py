"""12. The vendor's own PHP wrapper against this library: 300 agent reads on loopback.

The bar the project set itself (issue 16: "the vendor's sequential PHP wrapper does 300
reads on loopback in well under half our time"), measured with the vendor's code rather
than a model of it (benchmark 2 models it in Python). ``api-wrappers.php`` from the
vendor's API repository (``$CONTACTNOW_PHP_WRAPPER``, else ``../shared/vendor/`` beside
this repository) runs under ``php`` (php-cli with php-curl): one process calls
``api_db('agents', 'read')`` 300 times, timing its own loop after a first call that
fetches the token, so PHP's start is not counted. Beside it, in the same run and on the
same server (the simulator on uvicorn, in a process of its own): this library's
``agents.read()`` 300 times at C=1 and at C=20, on its default wire (aiohttp with the
``[speed]`` extra, else httpx) and on plain httpx. The four sides take turns, each repeat
in a rotated order, so that no side always runs first.

Without php, php-curl or the wrapper, one row says what is missing. The wrapper runs from
a copy whose ``TOKEN_FILE`` and ``LOG_FILE`` (``/tmp/contactNowToken.log`` and
``/tmp/contactNowAPI.log``, the same for every user of the machine) are in a directory of
this run's: a token left there by an earlier server sends the wrapper down its refresh
path, where it keeps the whole token reply as its token and makes every later read three
requests (a refused read, a token, the read again). A run whose wrapper logged a failed
call is an error, not a figure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from contactnow_async import ContactNow
from contactnow_async._http import chosen

from ._common import PASSWORD, USERNAME, Mode, Row, row, served_simulator
from .request_overhead import workers

NAME = "12 vendor PHP wrapper"
CONCURRENCY = 20
#: (reads a side, repeats) by mode
SIZES: dict[Mode, tuple[int, int]] = {"full": (300, 9), "quick": (300, 3), "smoke": (40, 1)}
WRAPPER = Path(__file__).resolve().parents[2] / "shared" / "vendor" / "api-wrappers.php"

#: The loop, in PHP: the wrapper's own configuration constants, then its agent read.
SCRIPT = r"""<?php
[$self, $base, $username, $password, $wrapper, $reads] = $argv;
define('API_H', $base);
define('API_U', $username);
define('API_P', $password);
define('CCID', 0);
require $wrapper;
api_db('agents', 'read');  // the token (fetched, or read from the wrapper's TOKEN_FILE)
$started = microtime(true);
for ($i = 0; $i < (int) $reads; $i++) {
    $reply = api_db('agents', 'read');
    if (empty($reply['success'])) {
        fwrite(STDERR, "read $i failed: " . json_encode($reply) . "\n");
        exit(1);
    }
}
echo microtime(true) - $started, "\n";
"""


def wrapper_path() -> Path:
    """Where the vendor's ``api-wrappers.php`` is read from."""
    return Path(os.environ.get("CONTACTNOW_PHP_WRAPPER", WRAPPER))


def missing() -> str | None:
    """What stops the PHP side from running here, or None."""
    wrapper = wrapper_path()
    if not wrapper.is_file():
        return f"the vendor's api-wrappers.php is not at {wrapper} ($CONTACTNOW_PHP_WRAPPER)"
    php = shutil.which("php")
    if php is None:
        return "php is not installed (Debian: php-cli php-curl)"
    check = [php, "-r", "exit(function_exists('curl_init') ? 0 : 1);"]
    if subprocess.run(check, capture_output=True, check=False).returncode != 0:
        return "php has no curl (Debian: php-curl)"
    return None


#: The wrapper's files, as it defines them, and the name of each in this run's directory.
_FILES = {
    "TOKEN_FILE": ("/tmp/contactNowToken.log", "token.log"),  # noqa: S108 -- the wrapper's, replaced
    "LOG_FILE": ("/tmp/contactNowAPI.log", "api.log"),  # noqa: S108 -- the wrapper's, replaced
}


def private_wrapper(directory: Path) -> Path:
    """A copy of the wrapper in ``directory`` that keeps its files there (see above)."""
    text = wrapper_path().read_text(encoding="utf-8")
    for constant, (path, name) in _FILES.items():
        define = f"define('{constant}', '{path}');"
        if define not in text:
            raise RuntimeError(f"the wrapper has no {define}: another version of it?")
        text = text.replace(define, f"define('{constant}', '{directory / name}');")
    copy = directory / "api-wrappers.php"
    copy.write_text(text, encoding="utf-8")
    return copy


def php_reads(script: Path, wrapper: Path, base_url: str, reads: int) -> float:
    """Seconds the wrapper took for ``reads`` agent reads (its own loop, timed in PHP)."""
    done = subprocess.run(
        ["php", str(script), base_url.rstrip("/"), USERNAME, PASSWORD, str(wrapper), str(reads)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the PHP wrapper failed: {done.stderr.strip()[-500:]}")
    log = wrapper.parent / _FILES["LOG_FILE"][1]
    if log.exists():  # a call it made failed (and was made again): not a figure of reads
        raise RuntimeError(f"the PHP wrapper logged failed calls: {log.read_text()[-500:]}")
    return float(done.stdout.strip().splitlines()[-1])


async def run(mode: Mode) -> list[Row]:
    reason = missing()
    if reason is not None:
        return [row(NAME, f"not run: {reason}", [0.0], "")]
    reads, repeats = SIZES[mode]
    times: dict[str, list[float]] = {"php": [], "C=1": [], "C=20": [], "httpx C=20": []}
    with tempfile.TemporaryDirectory() as tmp, served_simulator(shared=mode == "smoke") as base_url:
        script = Path(tmp) / "reads.php"
        script.write_text(SCRIPT, encoding="utf-8")
        wrapper = private_wrapper(Path(tmp))
        async with (
            ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url,
                       max_concurrency=CONCURRENCY) as default,
            ContactNow(username=USERNAME, password=PASSWORD, base_url=base_url,
                       max_concurrency=CONCURRENCY, transport="httpx") as plain,
        ):  # fmt: skip
            #: name: (client, concurrency)
            sides = {"C=1": (default, 1), "C=20": (default, CONCURRENCY),
                     "httpx C=20": (plain, CONCURRENCY)}  # fmt: skip
            for client, concurrency in sides.values():  # warm: the token, the pools
                await workers(reads, concurrency, client.agents.read)
            order = list(times)  # the sides take turns: each repeat in a rotated order
            for index in range(repeats):
                shift = index % len(order)
                for name in order[shift:] + order[:shift]:
                    if name == "php":
                        times[name].append(php_reads(script, wrapper, base_url, reads))
                    else:
                        client, concurrency = sides[name]
                        times[name].append(await workers(reads, concurrency, client.agents.read))
    php = times["php"]
    wire = chosen("auto")  # aiohttp with the [speed] extra, else httpx
    return [
        row(NAME, f"{reads} reads: the vendor's PHP wrapper (sequential curl)", php, "s"),
        row(NAME, f"{reads} reads: library ({wire}), C=1 / PHP wrapper",
            [t / p for t, p in zip(times["C=1"], php, strict=True)], "x"),
        row(NAME, f"{reads} reads: library ({wire}), C={CONCURRENCY} / PHP wrapper",
            [t / p for t, p in zip(times["C=20"], php, strict=True)], "x", target="<= 1",
            check=lambda r: r <= 1),
        row(NAME, f"{reads} reads: library on plain httpx, C={CONCURRENCY} / PHP wrapper",
            [t / p for t, p in zip(times["httpx C=20"], php, strict=True)], "x"),
    ]  # fmt: skip
