"""``bmat``, ``vstack``, ``hstack``, ``identity``, ``eye`` (cupyx/scipy/sparse/_construct.py)."""

from __future__ import annotations

from typing import Any

import scipy.sparse
from cupy._standin import stats

from ._base import from_host
from ._compressed import csc_matrix, csr_matrix
from ._coo import coo_matrix


def bmat(blocks: Any, format: str | None = None, dtype: Any = None) -> Any:
    """Blocks are cupyx matrices (scipy ones and cupy arrays are converted, as in cupyx).

    Without ``format``: CSR when stacking CSR vertically, CSC when stacking CSC
    horizontally, else COO.
    """
    flat = [b for row in blocks for b in row if b is not None]
    if format is None:
        if len(blocks[0]) == 1 and all(isinstance(b, csr_matrix) for b in flat):
            format = "csr"
        elif len(blocks) == 1 and all(isinstance(b, csc_matrix) for b in flat):
            format = "csc"
        else:
            format = "coo"
    converted = [[None if b is None else coo_matrix(b)._sp() for b in row] for row in blocks]
    stats.calls += 1
    return from_host(scipy.sparse.bmat(converted, format=format, dtype=dtype))


def vstack(blocks: Any, format: str | None = None, dtype: Any = None) -> Any:
    return bmat([[b] for b in blocks], format=format, dtype=dtype)


def hstack(blocks: Any, format: str | None = None, dtype: Any = None) -> Any:
    return bmat([blocks], format=format, dtype=dtype)


def eye(m: int, n: int | None = None, k: int = 0, dtype: Any = float, format: Any = None):
    return from_host(scipy.sparse.eye(m, n, k=k, dtype=dtype, format=format or "csr"))


def identity(n: int, dtype: Any = "d", format: str | None = None) -> Any:
    return eye(n, n, dtype=dtype, format=format)
