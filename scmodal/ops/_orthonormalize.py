"""Orthonormal bases of tall matrices, in place: Cholesky QR in two passes (CholeskyQR2).

A randomized SVD re-orthonormalizes its tall factors (cells × k, genes × k) after every
product with the data. Householder QR does it in ``4 n k²`` flops of mostly level-2 BLAS
and needs a second ``n × k`` array for ``Q``. Cholesky QR gets the same basis from one
Gram matrix ``AᵀA`` (a level-3 product, accumulated in float64 in row blocks) and one
triangular multiply applied to ``A`` in place, block by block; two passes make the basis
orthonormal to working precision whenever ``A``'s condition number is below ~1e7
(Yamamoto et al., 2015), which a power iteration's factors are. Where it is not (a rank-
deficient ``A``), it falls back to Householder QR.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import Namespace

# a pivot ratio of Cholesky's factor below this means cond(A) beyond ~1e7: use Householder
MIN_PIVOT_RATIO = 1e-7


def gram(A: Any, ns: Namespace) -> Any:
    """``AᵀA`` in float64, accumulated over row blocks (no float64 copy of ``A``).

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> A = np.arange(12, dtype=np.float32).reshape(4, 3)
    >>> bool(np.allclose(gram(A, CPU), A.T.astype(float) @ A))
    True
    """
    xp = ns.xp
    G = xp.zeros((A.shape[1], A.shape[1]), dtype=xp.float64)
    for rows in ns.blocks(A.shape[0], A.shape[1]):
        block = A[rows].astype(xp.float64)
        G += block.T @ block
    return G


def multiply_rows_in_place(A: Any, M: Any, ns: Namespace) -> Any:
    """``A[:] = A @ M`` for a square ``M``, one row block at a time.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> A = np.arange(6.0).reshape(3, 2)
    >>> multiply_rows_in_place(A, np.array([[0.0, 1.0], [1.0, 0.0]]), CPU)
    array([[1., 0.],
           [3., 2.],
           [5., 4.]])
    """
    M = M.astype(A.dtype)
    for rows in ns.blocks(A.shape[0], A.shape[1]):
        A[rows] = A[rows] @ M
    return A


def _cholesky_pass(A: Any, ns: Namespace) -> bool:
    """One Cholesky QR pass on ``A`` in place; False (``A`` untouched) if it breaks down."""
    xp = ns.xp
    try:
        L = ns.cholesky(gram(A, ns))
    except np.linalg.LinAlgError:
        return False
    pivots = xp.abs(xp.diagonal(L))
    if not bool(xp.isfinite(L).all()) or float(pivots.min()) <= MIN_PIVOT_RATIO * float(
        pivots.max()
    ):
        return False
    # A R⁻¹ with R = Lᵀ: a w × w inverse of a well-conditioned triangle is accurate
    multiply_rows_in_place(A, xp.linalg.inv(L).T, ns)
    return True


def orthonormalize(A: Any, ns: Namespace, *, passes: int = 2) -> Any:
    """Replace the columns of a tall ``A`` with an orthonormal basis of their span, in place.

    CholeskyQR2 (two Cholesky QR passes); Householder QR when ``A`` is (nearly) rank
    deficient. The basis equals Householder's ``Q`` up to the signs of its columns.
    ``passes=1`` is half the work and leaves ``QᵀQ = I`` up to ``ε·cond(A)²``: enough
    between the power iterations of a randomized SVD, which only need a well-conditioned
    basis (scikit-learn uses an LU factor there).

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> A = np.random.default_rng(0).standard_normal((100, 5))
    >>> Q = orthonormalize(A.copy(), CPU)
    >>> bool(np.allclose(Q.T @ Q, np.eye(5)))
    True
    """
    if all(_cholesky_pass(A, ns) for _ in range(passes)):
        return A
    Q, _ = ns.xp.linalg.qr(A)
    A[...] = Q
    return A
