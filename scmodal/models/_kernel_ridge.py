"""Kernel ridge regression: RBF kernel from matrix products, one Cholesky solve for all
targets, on numpy or cupy arrays, with a memory check before the kernel is allocated."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import Tags

from .._backend import Namespace, available_memory, get_namespace, is_gpu_array, to_device
from .._typing import Array, ArrayLike
from ..ops._kernels import linear_kernel, rbf_kernel
from ._input import check_input, check_n_features, check_targets

KERNELS = ("rbf", "linear")
# share of the free memory a fit may plan to use (the rest: the caller's own arrays)
MEMORY_FRACTION = 0.9
# working memory of one block of prediction rows (kernel rows and what they become)
BLOCK_BYTES = 1 << 26


def format_bytes(n: float) -> str:
    """``1.5 GB``, ``16.0 MB``, ``512.0 kB``: sizes in the unit a person reads."""
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def kernel_matrix(X: Any, Y: Any, kernel: str, gamma: float, ns: Namespace) -> Any:
    """The C-ordered ``(len(X), len(Y))`` kernel matrix for ``kernel`` in :data:`KERNELS`."""
    return rbf_kernel(X, Y, gamma, ns) if kernel == "rbf" else linear_kernel(X, Y, ns)


def kernel_row_blocks(
    X: Any, X_fit: Any, kernel: str, gamma: float | None, ns: Namespace, row_bytes: int
) -> Iterator[tuple[slice, Any]]:
    """``(rows, K)``: the kernel rows of ``X`` against ``X_fit``, one block of
    :func:`block_rows` rows at a time (``row_bytes`` each); with ``X_fit=None`` (a
    precomputed kernel), ``X`` holds the kernel rows and ``K`` is a view of them.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> row_bytes = BLOCK_BYTES // 2  # two rows per block
    >>> blocks = kernel_row_blocks(np.ones((5, 2)), np.ones((3, 2)), "linear", None, CPU, row_bytes)
    >>> [(rows.start, K.shape) for rows, K in blocks]
    [(0, (2, 3)), (2, (2, 3)), (4, (1, 3))]
    """
    step = block_rows(X.shape[0], row_bytes)
    for start in range(0, X.shape[0], step):
        rows = slice(start, start + step)
        if X_fit is None:
            yield rows, X[rows]
        else:
            yield rows, kernel_matrix(X[rows], X_fit, kernel, gamma, ns)


def block_rows(n_rows: int, row_bytes: int) -> int:
    """Rows per prediction block: as many as fit in :data:`BLOCK_BYTES` (1 to ``n_rows``)."""
    return max(1, min(n_rows, BLOCK_BYTES // max(row_bytes, 1)))


def kernel_ridge_fit_bytes(
    n_train: int, n_targets: int, itemsize: int, *, gpu: bool = False, n_converted: int = 0
) -> int:
    """Bytes :meth:`KernelRidge.fit` allocates for ``n_train`` cells (what its guard counts).

    The ``n × n`` kernel, factorized in place on the CPU (LAPACK's Cholesky on the
    kernel's own buffer); on the GPU cupy's Cholesky returns the factor as a second
    ``n × n`` array. Then the ``n × n_targets`` coefficients, and ``n_converted`` values
    per cell for the input columns converted to the compute dtype. Vectors of length
    ``n`` are left out.

    Examples
    --------
    >>> from scmodal.models._kernel_ridge import kernel_ridge_fit_bytes
    >>> kernel_ridge_fit_bytes(4000, 70, 4) / 1e6  # 64 MB kernel + 1.1 MB coefficients
    65.12
    """
    squares = 2 if gpu else 1
    return itemsize * (squares * n_train**2 + n_train * (n_targets + n_converted))


def kernel_ridge_predict_bytes(
    n_predict: int, n_train: int, n_targets: int, itemsize: int, *, n_converted: int = 0
) -> int:
    """Bytes :meth:`KernelRidge.predict` allocates for ``n_predict`` cells.

    The ``n_predict × n_targets`` predictions, one block of kernel rows
    (:func:`block_rows` rows × ``n_train``, at most :data:`BLOCK_BYTES`) at a time, and
    ``n_converted`` values per cell for input columns converted to the compute dtype.

    Examples
    --------
    >>> from scmodal.models._kernel_ridge import kernel_ridge_predict_bytes
    >>> kernel_ridge_predict_bytes(100, 1000, 2, 4)  # 100 kernel rows + predictions
    400800
    """
    rows = block_rows(n_predict, itemsize * n_train)
    return itemsize * (rows * n_train + n_predict * (n_targets + n_converted))


def check_kernel_memory(
    n: int,
    need: Callable[[int], float],
    ns: Namespace,
    *,
    task: Callable[[int], str],
    cells: str = "training cells",
    advice: str,
) -> None:
    """Raise ``MemoryError`` with advice if ``need(n)`` bytes will not fit on the device.

    ``need(m)`` is the number of bytes the work allocates with ``m`` cells (non-decreasing
    in ``m``). The message says what the work is (``task(n)``), how much it needs, how
    much is available, how many ``cells`` would fit, then ``advice``.
    """
    free = available_memory(ns) * MEMORY_FRACTION
    if need(n) <= free:
        return
    lo, hi = 0, n
    while lo < hi:  # largest m with need(m) ≤ free
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if need(mid) <= free else (lo, mid - 1)
    where = "GPU" if ns.is_gpu else "CPU"
    raise MemoryError(
        f"{task(n)} needs {format_bytes(need(n))} on the {where}, but only "
        f"{format_bytes(free)} is available: at most {lo:,} {cells} fit. {advice}"
    )


def fit_advice(ns: Namespace) -> str:
    """What to do instead when a kernel fit does not fit in memory."""
    device = (
        "fit on the CPU (numpy input), which usually has more memory"
        if ns.is_gpu
        else "use a machine with more memory"
    )
    return f"Fit on a subsample of the training cells (e.g. per cell type or batch), or {device}."


PREDICT_ADVICE = "Call `predict` on chunks of at most that many cells and stack the results."


def cholesky_solve(
    K: Any, Y: Any, alpha: float, ns: Namespace, *, keep_factor: bool = False
) -> Any:
    """Solve ``(K + alpha·I) C = Y`` for all columns of ``Y``; ``K`` is overwritten.

    ``K`` is a C-ordered symmetric matrix, so ``K.T`` is the same matrix as a
    Fortran-ordered view of the same buffer: on the CPU, LAPACK's Cholesky factorizes
    that view in place (no second kernel-sized array). On the GPU, cuSOLVER's Cholesky
    returns its factor ``L`` as a new C-ordered array; the two triangular solves take
    ``Lᵀ``, a Fortran-ordered view of it, so that cupy does not copy ``L`` again, and the
    second solve overwrites the first one's result.

    With ``keep_factor``, returns ``(C, L)``: ``L`` is C-ordered and its lower triangle
    is the Cholesky factor of ``K + alpha·I`` (on the CPU, ``K``'s own buffer, whose
    upper triangle still holds kernel values: read it with :func:`posterior_variance`).
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
        try:
            L = ns.cholesky(K)
        except np.linalg.LinAlgError as err:
            raise ValueError(advice) from err
        Z = ns.linalg.solve_triangular(L.T, Y, lower=False, trans="T")  # L Z = Y
        C = ns.linalg.solve_triangular(L.T, Z, lower=False, overwrite_b=True)  # Lᵀ C = Z
        if not bool(xp.isfinite(C).all()):
            raise ValueError(advice)
        return (C, L) if keep_factor else C
    try:
        factor = ns.linalg.cho_factor(K.T, lower=False, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as err:
        raise ValueError(advice) from err
    C = ns.linalg.cho_solve(factor, Y, check_finite=False)
    return (C, K) if keep_factor else C


def posterior_variance(K_rows: Any, L: Any, prior: Any, ns: Namespace) -> Any:
    """Gaussian-process posterior variance ``k(x, x) − k_xᵀ (K + αI)⁻¹ k_x`` of each row.

    Kernel ridge regression is the posterior mean of a Gaussian process with covariance
    ``k`` and noise ``alpha``; this is its posterior variance at new points, in units of
    the prior variance, from the Cholesky factor ``L`` (lower triangle) that the fit
    holds: ``prior − ‖L⁻¹ k_x‖²``, clipped at 0. ``K_rows`` is ``(m, n)``, ``prior`` the
    ``(m,)`` values ``k(x, x)`` (1 for the RBF kernel).

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> K = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> L = np.linalg.cholesky(K + 0.1 * np.eye(2))
    >>> k = np.array([[0.5, 0.2]])
    >>> direct = 1.0 - k @ np.linalg.solve(K + 0.1 * np.eye(2), k.T)
    >>> bool(np.allclose(posterior_variance(k, L, np.ones(1), CPU), direct.ravel()))
    True
    """
    xp = ns.xp
    W = ns.linalg.solve_triangular(L.T, K_rows.T, lower=False, trans="T")  # L W = k_xᵀ
    explained = (W.astype(xp.float64) ** 2).sum(axis=0)
    return xp.maximum(prior - explained, 0.0)


def converts(A: Any, dtype: Any, ns: Namespace) -> bool:
    """Whether ``asarray(A, dtype)`` on ``ns``'s device copies ``A`` (another dtype or device)."""
    return A.dtype != dtype or is_gpu_array(A) != ns.is_gpu


def _factorizable(K: Any, dtype: Any, ns: Namespace) -> bool:
    """Whether the kernel matrix ``K`` can be factorized in place: C-ordered, ``dtype``, on
    ``ns``'s device, and owning its data (not a view of another array)."""
    return (
        K.dtype == dtype
        and is_gpu_array(K) == ns.is_gpu
        and bool(K.flags.c_contiguous)
        and K.base is None
    )


def check_number(value: Any, name: str, *, positive: bool = False) -> float:
    """A finite real number ≥ 0 (> 0 with ``positive``), or an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number; got {type(value).__name__} {value!r}.")
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else "≥ 0"
        raise ValueError(f"`{name}` must be a finite number {bound}; got {value!r}.")
    return float(value)


def _check_params(
    alpha: Any, kernel: Any, gamma: Any, kernels: tuple[str, ...] = KERNELS
) -> tuple[float, str]:
    if not isinstance(kernel, str) or kernel not in kernels:
        raise ValueError(f"`kernel` must be one of {kernels}; got {kernel!r}.")
    alpha = check_number(alpha, "alpha")
    if gamma is not None:
        check_number(gamma, "gamma", positive=True)
    return alpha, kernel


class KernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on numpy or cupy arrays.

    Solves ``(K + alpha·I) C = Y`` with ``K`` the kernel of the training rows, for every
    target column at once, by one Cholesky factorization; predictions are
    ``K(X_new, X_train) C``. Same model as scikit-learn's
    :class:`~sklearn.kernel_ridge.KernelRidge`, computed in float32 (float64 for float64
    input), with the RBF kernel built from one matrix product, on the device of the data.
    The fit holds one ``n × n`` kernel, factorized in place; ``predict`` computes the
    kernel rows of a bounded block of cells at a time. Before the kernel is allocated,
    the memory that ``fit`` or ``predict`` needs is compared with the memory available;
    if it will not fit, a ``MemoryError`` says how much it needs and how many cells would
    fit. A scikit-learn regressor (``score`` is the R² of :meth:`predict`), so it works in
    ``Pipeline`` and ``GridSearchCV``; it takes dense input only (reduce a sparse matrix
    first, e.g. with :class:`TruncatedSVD`).

    Parameters
    ----------
    alpha
        Ridge penalty (≥ 0).
    kernel
        ``"rbf"`` (``exp(-gamma ‖x − y‖²)``), ``"linear"``, or ``"precomputed"``: ``fit``
        takes the ``(n_train, n_train)`` kernel matrix of the training rows (copied, not
        modified) and ``predict`` the ``(n, n_train)`` kernel rows of new ones, so that
        one kernel can serve several fits (as scikit-learn's ``kernel="precomputed"``).
    gamma
        RBF width; ``None`` means ``1 / n_features`` (scikit-learn's default). An RBF
        length scale ``ℓ`` is ``gamma = 1 / (2 ℓ²)``.
    copy_X
        With ``kernel="precomputed"``: ``True`` (default) factorizes a copy of the kernel
        matrix given to ``fit``; ``False`` factorizes it in place when it is a C-ordered
        array of the compute dtype that owns its data (no second ``n × n`` array; the
        matrix given is overwritten; a view is still copied), as
        :class:`ModalityPredictor` does with the kernel it builds.
    posterior
        Keep the Cholesky factor (``n × n``) after ``fit``, so that
        ``predict(X, return_std=True)`` gives the Gaussian-process posterior standard
        deviation of each prediction.

    Attributes
    ----------
    dual_coef_
        ``(n_train, n_targets)`` (or ``(n_train,)`` for 1-D ``y``) coefficients ``C``.
    factor_
        With ``posterior=True``: an ``n × n`` array whose lower triangle is the Cholesky
        factor of ``K + alpha·I``; else ``None``.
    target_variance_
        With ``posterior=True``: the Gaussian-process prior variance of each target
        column, by maximum likelihood given ``alpha``: ``yᵀ (K + αI)⁻¹ y / n``; else
        ``None``.
    X_fit_
        The training rows, kept for the kernel at prediction time (``None`` with
        ``kernel="precomputed"``).
    gamma_
        The RBF width used.
    n_features_in_
        Number of features seen in :meth:`fit`.

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

    def __init__(
        self,
        alpha: float = 1.0,
        kernel: str = "rbf",
        gamma: float | None = None,
        *,
        copy_X: bool = True,
        posterior: bool = False,
    ) -> None:
        self.alpha = alpha
        self.kernel = kernel
        self.gamma = gamma
        self.copy_X = copy_X
        self.posterior = posterior

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one solve for all target columns
        tags.input_tags.pairwise = self.kernel == "precomputed"  # X is a kernel matrix
        return tags

    def fit(self, X: Array | ArrayLike, y: Array | ArrayLike) -> KernelRidge:
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
        alpha, kernel = _check_params(
            self.alpha, self.kernel, self.gamma, (*KERNELS, "precomputed")
        )
        for name in ("copy_X", "posterior"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be True or False; got {getattr(self, name)!r}.")
        X = check_input(X, "X", accept_sparse=False)
        y = check_targets(y, "y", self)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"`y` has {y.shape[0]} rows; `X` has {X.shape[0]}.")
        if kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(
                "with kernel='precomputed', `X` must be the square kernel matrix of the "
                f"training rows (n_train × n_train); got shape {X.shape}."
            )
        ns = get_namespace(X, y)
        dtype = np.float64 if X.dtype == np.float64 else np.float32
        gamma = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        itemsize = np.dtype(dtype).itemsize
        n_targets = 1 if y.ndim == 1 else y.shape[1]
        converted = converts(y, dtype, ns) * n_targets
        in_place = kernel == "precomputed" and not self.copy_X and _factorizable(X, dtype, ns)
        if kernel != "precomputed":  # a precomputed kernel is copied: the kernel counted
            converted += converts(X, dtype, ns) * X.shape[1]
        check_kernel_memory(
            X.shape[0],
            lambda n: (
                kernel_ridge_fit_bytes(n, n_targets, itemsize, gpu=ns.is_gpu, n_converted=converted)
                - in_place * itemsize * n * n
            ),
            ns,
            task=lambda n: (
                f"kernel ridge regression on {n:,} training cells "
                f"({n:,} × {n:,} kernel of {itemsize}-byte floats)"
            ),
            advice=fit_advice(ns),
        )
        n_train = X.shape[0]
        if kernel == "precomputed":  # the factorization overwrites its input
            K = X if in_place else ns.xp.array(X, dtype=dtype, order="C", copy=True)
            X = None
        else:
            X = ns.xp.asarray(X, dtype=dtype)
            K = kernel_matrix(X, X, kernel, gamma, ns)
        y = ns.xp.asarray(y, dtype=dtype)
        if self.posterior:
            self.dual_coef_, self.factor_ = cholesky_solve(K, y, alpha, ns, keep_factor=True)
            # the prior variance of each target by maximum likelihood: yᵀ (K + αI)⁻¹ y / n
            product = y.astype(ns.xp.float64) * self.dual_coef_
            self.target_variance_ = product.sum(axis=0) / n_train
        else:
            self.dual_coef_ = cholesky_solve(K, y, alpha, ns)
            self.factor_ = self.target_variance_ = None
        del K
        self.n_features_in_ = n_train if X is None else X.shape[1]
        self.X_fit_ = X
        self.gamma_ = None if kernel == "precomputed" else gamma
        return self

    def predict(
        self,
        X: Array | ArrayLike,
        *,
        return_std: bool = False,
        diagonal: float | Array | ArrayLike | None = None,
    ) -> Array | tuple[Array, Array]:
        """Predict the targets of new rows: ``K(X, X_fit_) @ dual_coef_``.

        Parameters
        ----------
        X
            Dense array with the training data's number of features; with
            ``kernel="precomputed"``, the kernel rows ``(n, n_train)`` of the new rows.
        return_std
            Also return the Gaussian-process posterior standard deviation of every
            prediction, ``sqrt(σ_j² (k(x, x) − k_xᵀ (K + αI)⁻¹ k_x))`` with ``σ_j²`` the
            target's ``target_variance_`` (needs ``posterior=True``).
        diagonal
            With ``return_std`` and ``kernel="precomputed"``: ``k(x, x)`` of every new
            row, a number or one value per row (1 for an RBF kernel).

        Returns
        -------
        Predictions on the device of the training data, in its compute dtype; with
        ``return_std``, also their standard deviations (float64, same shape).

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import KernelRidge
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> KernelRidge(kernel="linear").fit(X, X[:, 0]).predict(X[:2]).shape
        (2,)
        >>> model = KernelRidge(gamma=0.1, posterior=True).fit(X, X[:, 0])
        >>> mean, std = model.predict(X[:2] + 0.5, return_std=True)
        >>> bool((std > 0).all())
        True
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This KernelRidge is not fitted yet; call `fit` first.")
        if return_std and getattr(self, "factor_", None) is None:
            raise ValueError(
                "`return_std=True` needs the Cholesky factor: fit with `posterior=True`."
            )
        X = check_input(X, "X", accept_sparse=False)
        check_n_features(X, self.n_features_in_, self)
        ns = get_namespace(self.dual_coef_)
        xp = ns.xp
        dtype = self.dual_coef_.dtype
        n_train, n_predict = self.dual_coef_.shape[0], X.shape[0]
        n_targets = 1 if self.dual_coef_.ndim == 1 else self.dual_coef_.shape[1]
        if return_std:
            diagonal = self._diagonal(X, diagonal, ns)
        converted = converts(X, dtype, ns) * X.shape[1]
        # with the std: a triangular solve of each block (n_train per row, and its square)
        per_row = n_train * (1 + 3 * return_std)
        check_kernel_memory(
            n_predict,
            lambda n: kernel_ridge_predict_bytes(
                n, per_row, n_targets * (1 + 2 * return_std), dtype.itemsize, n_converted=converted
            ),
            ns,
            task=lambda n: (
                f"predicting {n:,} cells by kernel ridge regression on {n_train:,} training cells"
            ),
            cells="cells",
            advice=PREDICT_ADVICE,
        )
        X = xp.asarray(X, dtype=dtype)
        out = xp.empty((n_predict, *self.dual_coef_.shape[1:]), dtype=dtype)
        std = xp.empty(out.shape, dtype=xp.float64) if return_std else None
        blocks = kernel_row_blocks(
            X, self.X_fit_, self.kernel, self.gamma_, ns, dtype.itemsize * per_row
        )
        for rows, K in blocks:  # one block of kernel rows at a time
            xp.matmul(K, self.dual_coef_, out=out[rows])
            if return_std:
                v = posterior_variance(K, self.factor_, diagonal[rows], ns)
                variance = self.target_variance_
                std[rows] = xp.sqrt(v * variance if variance.ndim == 0 else v[:, None] * variance)
            del K
        return (out, std) if return_std else out

    def _diagonal(self, X: Any, diagonal: Any, ns: Namespace) -> Any:
        """``k(x, x)`` of every row of ``X`` (float64, on the model's device)."""
        xp = ns.xp
        if self.kernel == "rbf":
            return xp.ones(X.shape[0])
        if self.kernel == "linear":
            X = xp.asarray(X, dtype=xp.float64)
            return (X * X).sum(axis=1)
        if diagonal is None:
            raise ValueError(
                "with kernel='precomputed', `return_std=True` needs `diagonal`: k(x, x) of "
                "every new row (1 for an RBF kernel)."
            )
        if isinstance(diagonal, numbers.Real) and not isinstance(diagonal, bool):
            diagonal = np.full(X.shape[0], float(diagonal))
        diagonal = xp.asarray(to_device(diagonal, ns), dtype=xp.float64)
        if diagonal.shape != (X.shape[0],):
            raise ValueError(
                f"`diagonal` must be a number or one value per row of `X` ({X.shape[0]}); "
                f"got shape {diagonal.shape}."
            )
        return diagonal
