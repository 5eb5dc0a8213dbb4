"""A TLS server on 127.0.0.1 whose certificate is self-signed: a ``rediss://`` URL no
client trusts (the handshake fails before any Redis command)."""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import anyio.abc
import anyio.streams.tls
import pytest

#: The password in the URLs of these tests: no message may show it.
SECRET = "tls-s3cret-pw"


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1 signed by itself (openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover -- Debian's base image has it
        reason = "openssl is not on PATH (apt-get install -y openssl)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI must run the TLS tests")
        pytest.skip(reason)
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@asynccontextmanager
async def untrusted_redis(context: ssl.SSLContext) -> AsyncIterator[str]:
    """``rediss://:SECRET@127.0.0.1:PORT/0`` of a TLS server presenting ``context``'s
    certificate, for the block."""
    tcp = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = tcp.extra(anyio.abc.SocketAttribute.local_port)  # noqa: S610 -- anyio's typed attribute, not Django's
    listener = anyio.streams.tls.TLSListener(tcp, context, standard_compatible=False)

    async def serve(client: anyio.abc.ByteStream) -> None:
        with contextlib.suppress(anyio.BrokenResourceError, anyio.EndOfStream, OSError):
            async with client:
                await client.receive()  # never: the client refuses the certificate

    async with listener, anyio.create_task_group() as group:
        group.start_soon(listener.serve, serve)
        try:
            yield f"rediss://:{SECRET}@127.0.0.1:{port}/0"
        finally:
            group.cancel_scope.cancel()
