"""Kernel ridge regression: RBF kernel from matrix products, one Cholesky solve for all
targets, on numpy or cupy arrays, with a memory check before the kernel is allocated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .._backend import Namespace, available_memory, get_namespace
from .._validation import check_matrix
from ..ops._kernels import linear_kernel, rbf_kernel

KERNELS = ("rbf", "linear")
# share of the free memory a fit may plan to use (the rest: the caller's own arrays)
MEMORY_FRACTION = 0.9


def format_bytes(n: float) -> str:
    """``1.5 GB``, ``16.0 MB``: sizes in the unit a person reads."""
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def kernel_matrix(X: Any, Y: Any, kernel: str, gamma: float, ns: Namespace) -> Any:
    """The ``(len(X), len(Y))`` kernel matrix for ``kernel`` in :data:`KERNELS`."""
    return rbf_kernel(X, Y, gamma, ns) if kernel == "rbf" else linear_kernel(X, Y, ns)


def check_kernel_memory(
    n_train: int, need: Callable[[int], float], ns: Namespace, what: str = ""
) -> None:
    """Raise ``MemoryError`` with advice if a kernel fit on ``n_train`` cells will not fit.

    ``need(n)`` is the number of bytes the fit allocates with ``n`` training cells
    (non-decreasing in ``n``); the message gives ``need(n_train)``, the memory available
    and the largest ``n`` that fits. ``what`` describes the kernel in the message.
    """
    free = available_memory(ns) * MEMORY_FRACTION
    if need(n_train) <= free:
        return
    lo, hi = 0, n_train
    while lo < hi:  # largest n with need(n) ≤ free
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if need(mid) <= free else (lo, mid - 1)
    where = "GPU" if ns.is_gpu else "CPU"
    raise MemoryError(
        f"kernel ridge regression on {n_train:,} training cells needs "
        f"{format_bytes(need(n_train))} on the {where}{what}, but only {format_bytes(free)} "
        f"is available: at most {lo:,} training cells fit. Subsample the training cells "
        "(e.g. per cell type or batch), or use a device with more memory."
    )


def cholesky_solve(K: Any, Y: Any, alpha: float, ns: Namespace) -> Any:
    """Solve ``(K + alpha·I) C = Y`` for all columns of ``Y``; ``K`` is overwritten.

    CPU: LAPACK's Cholesky in place (no second kernel-sized array). GPU: cuSOLVER's
    Cholesky and two triangular solves.
    """
    xp = ns.xp
    n = K.shape[0]
    diagonal = xp.arange(n)
    K[diagonal, diagonal] += K.dtype.type(alpha)
    advice = (
        "the kernel matrix plus alpha·I is not positive definite in floating point: "
        "increase `alpha` (or use float64 input)."
    )
    if ns.is_gpu:
        L = xp.linalg.cholesky(K)
        Z = ns.linalg.solve_triangular(L, Y, lower=True)
        C = ns.linalg.solve_triangular(L, Z, lower=True, trans="T")
        if not bool(xp.isfinite(C).all()):
            raise ValueError(advice)
        return C
    try:
        factor = ns.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as err:
        raise ValueError(advice) from err
    return ns.linalg.cho_solve(factor, Y, check_finite=False)


def _check_params(alpha: Any, kernel: Any, gamma: Any) -> tuple[float, str]:
    if kernel not in KERNELS:
        raise ValueError(f"`kernel` must be one of {KERNELS}; got {kernel!r}.")
    if not np.isscalar(alpha) or not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"`alpha` must be a finite number ≥ 0; got {alpha!r}.")
    if gamma is not None and (not np.isscalar(gamma) or not np.isfinite(gamma) or gamma <= 0):
        raise ValueError(f"`gamma` must be a positive number or None; got {gamma!r}.")
    return float(alpha), kernel


class KernelRidge(BaseEstimator):
    """Kernel ridge regression on numpy or cupy arrays.

    Solves ``(K + alpha·I) C = Y`` with ``K`` the kernel of the training rows, for every
    target column at once, by one Cholesky factorization; predictions are
    ``K(X_new, X_train) C``. Same model as scikit-learn's
    :class:`~sklearn.kernel_ridge.KernelRidge`, computed in float32 (float64 for float64
    input), with the RBF kernel built from one matrix product, on the device of the data.
    Before the kernel is allocated, the memory a fit needs is compared with the memory
    available; if it will not fit, a ``MemoryError`` says how much it needs and how many
    training cells would fit.

    Parameters
    ----------
    alpha
        Ridge penalty (≥ 0).
    kernel
        ``"rbf"`` (``exp(-gamma ‖x − y‖²)``) or ``"linear"``.
    gamma
        RBF width; ``None`` means ``1 / n_features`` (scikit-learn's default). An RBF
        length scale ``ℓ`` is ``gamma = 1 / (2 ℓ²)``.

    Attributes
    ----------
    dual_coef_
        ``(n_train, n_targets)`` (or ``(n_train,)`` for 1-D ``y``) coefficients ``C``.
    X_fit_
        The training rows, kept for the kernel at prediction time.
    gamma_
        The RBF width used.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.models import KernelRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 3))
    >>> y = np.sin(X[:, 0])
    >>> model = KernelRidge(alpha=0.1, gamma=0.5).fit(X, y)
    >>> float(np.abs(model.predict(X) - y).mean()) < 0.05
    True
    """

    def __init__(self, alpha: float = 1.0, kernel: str = "rbf", gamma: float | None = None):
        self.alpha = alpha
        self.kernel = kernel
        self.gamma = gamma

    def fit(self, X: Any, y: Any) -> KernelRidge:
        """Fit on dense ``X`` (samples × features) and targets ``y`` (samples or samples × t).

        Parameters
        ----------
        X
            Dense numpy or cupy array, finite.
        y
            Targets with ``len(X)`` rows, finite, on the same device as ``X``.

        Returns
        -------
        The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import KernelRidge
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> KernelRidge(alpha=1.0, kernel="linear").fit(X, X[:, 0]).dual_coef_.shape
        (5,)
        """
        alpha, kernel = _check_params(self.alpha, self.kernel, self.gamma)
        X = check_matrix(X, "X", allow_nan=False)
        y = y if hasattr(y, "ndim") else np.asarray(y)
        check_matrix(y.reshape(-1, 1) if y.ndim == 1 else y, "y", allow_nan=False)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"`y` has {y.shape[0]} rows; `X` has {X.shape[0]}.")
        ns = get_namespace(X, y)
        dtype = ns.xp.float64 if X.dtype == np.float64 else ns.xp.float32
        X = ns.xp.asarray(X, dtype=dtype)
        gamma = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        itemsize = np.dtype(dtype).itemsize
        copies = 2 if ns.is_gpu else 1  # the GPU's Cholesky factor is a second array
        check_kernel_memory(
            X.shape[0],
            lambda n: copies * itemsize * n * n,
            ns,
            f" ({X.shape[0]:,} × {X.shape[0]:,} kernel of {itemsize}-byte floats)",
        )
        K = kernel_matrix(X, X, kernel, gamma, ns)
        self.dual_coef_ = cholesky_solve(K, ns.xp.asarray(y, dtype=dtype), alpha, ns)
        self.X_fit_ = X
        self.gamma_ = gamma
        return self

    def predict(self, X: Any) -> Any:
        """Predict the targets of new rows: ``K(X, X_fit_) @ dual_coef_``.

        Parameters
        ----------
        X
            Dense array with the training data's number of features.

        Returns
        -------
        Predictions on the device of the training data, in its compute dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import KernelRidge
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> KernelRidge(kernel="linear").fit(X, X[:, 0]).predict(X[:2]).shape
        (2,)
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This KernelRidge is not fitted yet; call `fit` first.")
        X = check_matrix(X, "X", allow_nan=False)
        if X.shape[1] != self.X_fit_.shape[1]:
            raise ValueError(f"`X` has {X.shape[1]} features; expected {self.X_fit_.shape[1]}.")
        ns = get_namespace(self.X_fit_)
        X = ns.xp.asarray(X, dtype=self.X_fit_.dtype)
        K = kernel_matrix(X, self.X_fit_, self.kernel, self.gamma_, ns)
        return K @ self.dual_coef_
