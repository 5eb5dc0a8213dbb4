"""The ``contactnow`` console script: a thin door that explains a missing extra."""

from __future__ import annotations

import sys


def main() -> None:
    """Run the ``contactnow`` command (needs the ``cli`` extra: click and rich)."""
    try:
        import click  # noqa: F401 -- only checking the extra is installed
        import rich  # noqa: F401 -- only checking the extra is installed
    except ImportError:
        sys.stderr.write(
            "contactnow: the command line needs the 'cli' extra: "
            "pip install 'contactnow-async[cli]' (add 'sim' for the demo)\n"
        )
        raise SystemExit(2) from None
    # Every command runs on asyncio (anyio.run's default). httpcore imports trio, when it
    # is installed, only to tell whether trio is running: ~55 ms of CPU a run, for an
    # answer this process knows. A trio imported already is left alone.
    sys.modules.setdefault("trio", None)  # type: ignore[arg-type]  # None: "not installed"
    from ._cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover -- python -m contactnow_async._cli_entry
    main()
