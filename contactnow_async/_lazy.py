"""A method whose function lives in a module loaded the first time it is used.

The watcher sits above the client (it polls through one), yet users start it
as ``cn.watch_agents()``. ``_client.py`` names the method with a
:class:`LazyMethod` and never imports the watcher: importing the client stays
light (issue 16), and the client's module has no import cycle with the watcher's.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Callable
from typing import Any

__all__ = ["LazyMethod"]


class LazyMethod:
    """``module.name``, bound as a method of the class that holds this, loaded on first use."""

    __slots__ = ("_function", "_module", "_name")

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._function: Callable[..., Any] | None = None

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        function = self._function
        if function is None:
            function = self._function = getattr(importlib.import_module(self._module), self._name)
        return function if instance is None else types.MethodType(function, instance)
