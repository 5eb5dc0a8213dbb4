"""``contactnow token``: get or check the API token."""

from __future__ import annotations

import click

from ._common import Settings, connect, emit_json, run


@click.group()
def token() -> None:
    """Get or check the API token."""


@token.command("get")
@click.option(
    "--show", is_flag=True, help="Print the whole token (it grants API access: keep it safe)."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="The token (null without --show: its first 4 characters and length instead) and "
    "its expiry as JSON.",
)
@click.pass_obj
def token_get(settings: Settings, show: bool, as_json: bool) -> None:
    """Fetch (or reuse) a token and print when it expires."""

    async def main() -> None:
        async with connect(settings) as client:
            got = await client.tokens.get()
        expires_at = got.expires_at.isoformat()
        if as_json:
            # Hidden: "token" is null, not the masked text a script would take for it.
            hidden = {"token": None, "token_start": got.value[:4], "token_length": len(got.value)}
            emit_json({**({"token": got.value} if show else hidden), "expires_at": expires_at})
            return
        value = got.value if show else f"{got.value[:4]}…({len(got.value)} chars, --show to print)"
        click.echo(f"token {value}\nexpires {expires_at}")

    run(settings, main)


@token.command("validate")
@click.pass_obj
def token_validate(settings: Settings) -> None:
    """Ask the API whether the token is valid."""

    async def main() -> None:
        async with connect(settings) as client:
            checked = await client.tokens.validate()
        click.echo(f"valid until {checked.expires_at.isoformat()}")

    run(settings, main)
