"""The simulator's random streams: SplitMix64, one integer of state per stream.

A :class:`random.Random` carries 2.5 kB of Mersenne Twister state; an agent or a
queue here carries one int, so 50,000 agents stay a few megabytes. Streams are
seeded from the scenario's seed and their owner's index, so each owner's draws
are a function of the seed alone.
"""

from __future__ import annotations

import math

__all__ = ["GOLDEN", "MASK", "exponential", "family", "mix", "next_uniform", "stream"]

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
_TWO64 = float(1 << 64)


def mix(x: int) -> int:
    """SplitMix64's finaliser: a well-spread 64-bit function of ``x``."""
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def stream(seed: int, salt: int, index: int) -> int:
    """The starting state of stream ``index`` of family ``salt`` under ``seed``."""
    return mix(family(seed, salt) ^ mix(index + 1))


def family(seed: int, salt: int) -> int:
    """What every stream of family ``salt`` under ``seed`` starts from: stream ``index``
    starts at ``mix(family(seed, salt) ^ mix(index + 1))`` (work it out once for many)."""
    return mix((seed * GOLDEN + salt) & MASK)


def next_uniform(state: int) -> tuple[int, float]:
    """The next state and a uniform number in [0, 1)."""
    # mix() inlined, with literal constants: a catch-up draws a million numbers.
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, (x ^ (x >> 31)) / _TWO64


def exponential(mean: float, u: float) -> float:
    """An exponential duration of ``mean`` from the uniform ``u``."""
    return -mean * math.log1p(-u)
