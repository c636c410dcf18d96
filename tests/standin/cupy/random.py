"""``cupy.random``: numpy's generators, drawing stand-in arrays (other streams than cupy's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._functions import _function

_NAMES = frozenset(
    "beta binomial choice exponential gamma normal permutation poisson rand randint randn "
    "random random_sample seed shuffle standard_normal uniform".split()
)


class _Generator:
    """A numpy ``Generator``/``RandomState`` whose methods take and return stand-in arrays."""

    def __init__(self, rng: Any) -> None:
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._rng, name)
        return _function(attr, name, lists="any") if callable(attr) else attr


def default_rng(seed: Any = None) -> _Generator:
    return _Generator(np.random.default_rng(seed))


def RandomState(seed: Any = None) -> _Generator:  # noqa: N802 - cupy's class name
    return _Generator(np.random.RandomState(seed))


_state = RandomState()


def get_random_state() -> _Generator:
    return _state


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'cupy.random' has no attribute {name!r}")
    return getattr(_state, name)
