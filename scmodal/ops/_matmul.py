"""Products of a sparse data matrix with dense factors, fast on CPU.

scipy's sparse × dense kernels run on one core and, for the wide factors of a truncated
SVD (hundreds of columns), spend their time waiting on memory: every stored value updates
a whole row of the output. Cutting the dense factor into narrow column blocks keeps each
block's output in cache, and the blocks run on a thread pool (scipy releases the GIL);
on 2 cores this is about 4× faster than one call. Dense and GPU input use one call.
The caller must use the returned array (on the GPU it is not ``out``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import _backend
from .._backend import Namespace, is_sparse

COLUMN_BLOCK = 48


def _blocked(A: Any, B: Any, ns: Namespace, out: Any | None) -> Any:
    """``A @ B`` with ``A`` sparse (maybe a transposed view) and ``B`` dense, into ``out``."""
    if ns.is_gpu:
        # cuSPARSE allocates the product itself (and copies a C-ordered B to Fortran
        # order first): ``out`` would be a second output-sized array, so it is not used
        return A @ B
    if not is_sparse(A) or B.shape[1] <= COLUMN_BLOCK:
        result = np.asarray(A @ B)
        if out is None:
            return result
        out[...] = result
        return out
    if out is None:
        out = np.empty((A.shape[0], B.shape[1]), dtype=np.result_type(A.dtype, B.dtype))

    def work(start: int) -> None:
        stop = min(start + COLUMN_BLOCK, B.shape[1])
        out[:, start:stop] = A @ np.ascontiguousarray(B[:, start:stop])

    with ThreadPoolExecutor(_backend._n_threads()) as pool:
        list(pool.map(work, range(0, B.shape[1], COLUMN_BLOCK)))
    return out


def matmul(X: Any, B: Any, ns: Namespace, out: Any | None = None) -> Any:
    """``X @ B`` for a dense or sparse ``X`` and a dense ``B``, never densifying ``X``.

    ``out``, when given, is an ``(X.shape[0], B.shape[1])`` buffer of the result dtype
    that receives the product on the CPU (no other output-sized memory is allocated).
    On the GPU the product is a new array and ``out`` is left alone: use the return
    value. Keep ``B`` in Fortran order there, or cupyx copies it.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scmodal._backend import CPU
    >>> X = sp.random(5, 4, density=0.5, random_state=0, format="csr")
    >>> B = np.ones((4, 2))
    >>> bool(np.allclose(matmul(X, B, CPU), X.toarray() @ B))
    True
    """
    return _blocked(X, B, ns, out)


def rmatmul(X: Any, B: Any, ns: Namespace, out: Any | None = None) -> Any:
    """``X.T @ B`` for a dense or sparse ``X`` and a dense ``B``, never densifying ``X``; see
    :func:`matmul` for ``out``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scmodal._backend import CPU
    >>> X = sp.random(5, 4, density=0.5, random_state=0, format="csr")
    >>> B = np.ones((5, 2))
    >>> bool(np.allclose(rmatmul(X, B, CPU), X.toarray().T @ B))
    True
    """
    return _blocked(X.T, B, ns, out)
