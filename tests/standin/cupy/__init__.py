"""A strict numpy-backed stand-in for cupy 13.6 (tests only; see tests/standin/README.md).

Arrays live in host memory but behave as device arrays: implicit conversion to numpy,
numpy operands and the calls cupy lacks raise as they do on a GPU, and host transfers
are counted in :data:`cupy._standin.stats`.
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import e, euler_gamma, inf, nan, newaxis, pi  # noqa: F401

from . import cuda, linalg, random  # noqa: F401
from ._array import ndarray  # noqa: F401
from ._functions import (  # noqa: F401
    array,
    asanyarray,
    asarray,
    asnumpy,
    bincount,
    get_array_module,
    resolve,
    ufunc,
)
from .cuda import MemoryPool as _MemoryPool
from .cuda import PinnedMemoryPool as _PinnedMemoryPool

__version__ = "13.6.0"

_memory_pool = _MemoryPool()
_pinned_memory_pool = _PinnedMemoryPool()


def is_available() -> bool:
    return True


def get_default_memory_pool() -> _MemoryPool:
    return _memory_pool


def get_default_pinned_memory_pool() -> _PinnedMemoryPool:
    return _pinned_memory_pool


def __getattr__(name: str) -> Any:
    value = resolve(name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


del _np
