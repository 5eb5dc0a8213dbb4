"""``python -m contactnow_async``: the same as the ``contactnow`` command."""

from ._cli_entry import main

main()
