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
    from ._cli import main as cli_main

    cli_main()


if __name__ == "__main__":  # pragma: no cover -- python -m contactnow_async._cli_entry
    main()
