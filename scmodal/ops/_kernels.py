"""Kernel matrices from matrix products (one GEMM plus elementwise work, in place)."""

from __future__ import annotations

from typing import Any

from .._backend import Namespace


def rbf_kernel(X: Any, Y: Any, gamma: float, ns: Namespace) -> Any:
    """``exp(-gamma · ‖x_i − y_j‖²)`` for all rows of ``X`` and ``Y``.

    The squared distances come from ``‖x‖² + ‖y‖² − 2 X Yᵀ``: one matrix product, then
    elementwise updates of that one C-ordered ``(len(X), len(Y))`` array in place. The
    row norms are summed without a squared copy of ``X`` or ``Y``, so besides the result
    only two vectors are allocated. Rounding can make a distance slightly negative; it
    is clipped at 0, so the kernel never exceeds 1.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0]])
    >>> rbf_kernel(X, X, 0.5, CPU).round(4)
    array([[1.    , 0.6065],
           [0.6065, 1.    ]])
    """
    xp = ns.xp
    K = X @ Y.T
    K *= -2.0
    K += xp.einsum("ij,ij->i", X, X)[:, None]
    K += xp.einsum("ij,ij->i", Y, Y)[None, :]
    xp.maximum(K, 0, out=K)
    K *= -gamma
    xp.exp(K, out=K)
    return K


def linear_kernel(X: Any, Y: Any, ns: Namespace) -> Any:
    """``X Yᵀ``.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> linear_kernel(np.eye(2), np.ones((1, 2)), CPU)
    array([[1.],
           [1.]])
    """
    return X @ Y.T
