"""One module per endpoint group: each turns typed arguments into a ``request()`` call."""
