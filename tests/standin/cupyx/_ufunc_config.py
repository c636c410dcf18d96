"""cupyx's error configuration, as cupyx/_ufunc_config.py of cupy 13.6.

Only ``linalg`` (``"ignore"``, the default, or ``"raise"``) and ``fallback_mode`` are
settable; the other keys raise ``NotImplementedError`` as in cupy.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_config = threading.local()
_DEFAULTS = {
    "divide": None,
    "over": None,
    "under": None,
    "invalid": None,
    "linalg": "ignore",
    "fallback_mode": "ignore",
}


def geterr() -> dict:
    """The current settings (per thread)."""
    return {key: getattr(_config, key, default) for key, default in _DEFAULTS.items()}


def seterr(*, divide=None, over=None, under=None, invalid=None, linalg=None, fallback_mode=None):
    """Set the given keys; returns the old settings."""
    old = geterr()
    if any(v is not None for v in (divide, over, under, invalid)):
        raise NotImplementedError()
    if linalg is not None:
        if linalg not in ("ignore", "raise"):
            raise NotImplementedError()
        _config.linalg = linalg
    if fallback_mode is not None:
        if fallback_mode in ("log", "call"):
            raise NotImplementedError
        if fallback_mode not in ("print", "warn", "ignore", "raise"):
            raise ValueError(f"{fallback_mode} is not a valid dispatch type")
        _config.fallback_mode = fallback_mode
    return old


@contextlib.contextmanager
def errstate(
    *, divide=None, over=None, under=None, invalid=None, linalg=None, fallback_mode=None
) -> Iterator[None]:
    """Settings for the block, restored after it."""
    old = seterr(
        divide=divide,
        over=over,
        under=under,
        invalid=invalid,
        linalg=linalg,
        fallback_mode=fallback_mode,
    )
    try:
        yield
    finally:
        _config.linalg, _config.fallback_mode = old["linalg"], old["fallback_mode"]
