"""What the stand-in counts: device→host transfers, host→device transfers and calls.

Examples
--------
>>> import cupy
>>> from cupy._standin import counting
>>> with counting() as stats:
...     _ = float(cupy.arange(3).sum())
>>> stats.to_host, stats.calls
(1, 2)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Stats:
    """Counters since the last :meth:`reset`.

    Attributes
    ----------
    to_host
        Device→host transfers and synchronizing reads: ``get``, ``asnumpy``, ``item``,
        ``tolist``, ``float``/``int``/``bool``/``complex``/``format`` of an array, and
        the checks cupy makes on the host (``bincount``'s maximum, a sparse matrix's
        ``has_canonical_format``, ``errstate(linalg="raise")``). Not ``repr``/``str``.
    to_device
        Host→device transfers: ``asarray``/``array`` of host data, ``set``, a cupyx
        sparse matrix built from a scipy one.
    calls
        Invocations of stand-in functions, ufuncs, operators and array methods.
    """

    to_host: int = 0
    to_device: int = 0
    calls: int = 0

    def reset(self) -> None:
        """Set every counter to 0."""
        self.to_host = self.to_device = self.calls = 0


stats = Stats()


@contextmanager
def counting() -> Iterator[Stats]:
    """Reset :data:`stats` and yield it; read it inside or after the block."""
    stats.reset()
    yield stats
