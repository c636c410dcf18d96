"""Randomized truncated SVD that only ever multiplies the (sparse) input matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import Tags

from .._backend import (
    Namespace,
    as_dtype,
    blas_threads_for,
    get_namespace,
    is_sparse,
    to_device,
)
from .._typing import Array, ArrayLike, Matrix
from .._validation import check_int, check_seed
from ..ops._column_rank import stored_value_columns
from ..ops._matmul import matmul, rmatmul
from ..ops._orthonormalize import gram, orthonormalize
from ._input import check_input, check_n_features


def _column_moments(X: Any, ns: Namespace) -> tuple[Any, Any]:
    """Per-column sum of squares and sum in float64, in blocks that stay small.

    Never densifies nor copies a sparse ``X`` whole: its stored values are read in chunks
    (one on the GPU), each value binned by its column — for CSR the column index, for
    CSC the column whose ``indptr`` range holds it. A dense ``X`` is read in column
    blocks.
    """
    xp = ns.xp
    d = X.shape[1]
    if is_sparse(X):
        sq, total = xp.zeros(d, dtype=xp.float64), xp.zeros(d, dtype=xp.float64)
        for chunk in ns.blocks(X.nnz, 1):
            if X.format == "csr":
                cols = X.indices[chunk]
            else:
                cols = stored_value_columns(X.indptr, chunk, ns)
            values = X.data[chunk].astype(xp.float64)
            total += ns.bincount(cols, weights=values, minlength=d)
            values *= values
            sq += ns.bincount(cols, weights=values, minlength=d)
        return sq, total

    def block(cols: slice) -> tuple[Any, Any]:
        part = X[:, cols].astype(xp.float64)
        return (part * part).sum(axis=0), part.sum(axis=0)

    parts = ns.map_columns(block, d, X.shape[0])
    return xp.concatenate([p[0] for p in parts]), xp.concatenate([p[1] for p in parts])


def _compute_dtype(X: Any, ns: Namespace) -> Any:
    """float64 for float64 input, float32 for everything else."""
    return ns.xp.float64 if X.dtype == np.float64 else ns.xp.float32


def _as_compute_matrix(X: Any, ns: Namespace) -> Any:
    """``X`` in its compute dtype; sparse input as CSR or CSC (the formats products use)."""
    if is_sparse(X) and X.format not in ("csr", "csc"):
        X = X.tocsr()
    X = as_dtype(X, _compute_dtype(X, ns))
    if ns.is_gpu and is_sparse(X) and not X.has_canonical_format:
        # cupyx's products call ``sum_duplicates()``, which rewrites the matrix in place:
        # never the user's (a copy when the dtype changed above is already ours)
        X = X.copy()
        X.sum_duplicates()
    return X


def _project(X: Any, components: Any, ns: Namespace) -> Any:
    """``X @ components.T`` in ``X``'s dtype; the one embedding of fit_transform and transform."""
    return matmul(X, as_dtype(components.T, X.dtype), ns)


class TruncatedSVD(TransformerMixin, BaseEstimator):
    """Truncated SVD by a randomized range finder, for dense and sparse matrices.

    Computes the top ``n_components`` singular triplets of ``X`` (no centering, like
    scikit-learn's :class:`~sklearn.decomposition.TruncatedSVD`) with Halko et al.'s
    randomized range finder: a Gaussian sketch ``X Ω``, ``n_iter`` power iterations with
    a Cholesky QR re-orthonormalization after every multiplication (Householder QR where
    the basis is rank deficient; see ``scmodal/ops/_orthonormalize.py``), then the exact
    SVD of the small projected matrix ``QᵀX``. A sparse ``X`` is only ever multiplied,
    never densified nor copied: beyond the input, the fit holds two working factors
    (cells × width and features × width, ``width = n_components + n_oversamples``),
    reused by every product, and the results ``Vᵀ`` and the projection ``X V``.
    Works on numpy, scipy.sparse, cupy and cupyx input; computes in float32 unless given
    float64.

    Training and new cells are embedded alike: :meth:`fit_transform` returns
    ``X @ components_.T``, exactly what :meth:`transform` returns for the same ``X`` (as
    scikit-learn does since 1.2), not the ``U Σ`` of the approximate factorization, which
    differs from it by the approximation error.

    Parameters
    ----------
    n_components
        Number of components ``k``; ``1 ≤ k < min(X.shape)``.
    n_oversamples
        Extra sketch columns beyond ``k`` (accuracy of the trailing components).
    n_iter
        Power iterations (accuracy when the spectrum decays slowly, as in GEX data).
    random_state
        Seed of the Gaussian sketch.

    Attributes
    ----------
    components_
        ``(n_components, n_features)`` right singular vectors (rows), signs fixed as
        scikit-learn does (largest-magnitude loading of each component positive).
    singular_values_
        ``(n_components,)`` in decreasing order.
    explained_variance_
        Variance of each column of the transformed training data ``X @ components_.T``.
    explained_variance_ratio_
        ``explained_variance_`` over the total variance of ``X``'s features.
    n_features_in_
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from scmodal.models import TruncatedSVD
    >>> X = sp.random(200, 80, density=0.1, random_state=0, format="csr")
    >>> svd = TruncatedSVD(n_components=5, random_state=0)
    >>> Xt = svd.fit_transform(X)
    >>> Xt.shape, svd.components_.shape
    ((200, 5), (5, 80))
    >>> exact = np.linalg.svd(X.toarray(), compute_uv=False)[:5]
    >>> bool(np.allclose(svd.singular_values_, exact, rtol=1e-2))
    True
    """

    def __init__(
        self,
        n_components: int = 50,
        *,
        n_oversamples: int = 10,
        n_iter: int = 5,
        random_state: int | None = 0,
    ) -> None:
        self.n_components = n_components
        self.n_oversamples = n_oversamples
        self.n_iter = n_iter
        self.random_state = random_state

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_params(self, X: Any) -> tuple[int, int, int]:
        k = check_int(self.n_components, "n_components", minimum=1)
        oversamples = check_int(self.n_oversamples, "n_oversamples", minimum=0)
        n_iter = check_int(self.n_iter, "n_iter", minimum=0)
        check_seed(self.random_state)
        n, d = X.shape
        if min(n, d) < 2:
            raise ValueError(
                f"a truncated SVD needs at least 2 cells and 2 features; `X` has "
                f"n_samples={n}, n_features={d}."
            )
        if k >= min(n, d):
            raise ValueError(
                f"`n_components`={k} must be < min(X.shape) = {min(n, d)} (`X` has "
                f"n_samples={n}, n_features={d}); choose at most {min(n, d) - 1}."
            )
        return k, oversamples, n_iter

    def fit(self, X: Matrix | ArrayLike, y: object = None) -> TruncatedSVD:
        """Fit the components on ``X`` (cells × features).

        Parameters
        ----------
        X
            Dense or sparse matrix (numpy/scipy or cupy/cupyx), finite values.
        y
            Ignored.

        Returns
        -------
        The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import TruncatedSVD
        >>> X = np.random.default_rng(0).random((50, 20))
        >>> TruncatedSVD(n_components=3).fit(X).components_.shape
        (3, 20)
        """
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Matrix | ArrayLike, y: object = None) -> Array:
        """Fit on ``X`` and return its projection ``X @ components_.T`` (cells × components).

        The same embedding as ``fit(X).transform(X)``: training cells and new cells are
        projected alike (scikit-learn's semantics since 1.2).

        Parameters
        ----------
        X
            Dense or sparse matrix (numpy/scipy or cupy/cupyx), finite values.
        y
            Ignored.

        Returns
        -------
        Dense ``(n_cells, n_components)`` array on the device of ``X``, in the compute
        dtype (float32, or float64 for float64 input).

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import TruncatedSVD
        >>> X = np.random.default_rng(0).random((50, 20))
        >>> svd = TruncatedSVD(n_components=3)
        >>> Xt = svd.fit_transform(X)
        >>> Xt.shape, bool((Xt == svd.transform(X)).all())
        ((50, 3), True)
        """
        X = check_input(X, "X")
        k, oversamples, n_iter = self._check_params(X)
        ns = get_namespace(X)
        X = _as_compute_matrix(X, ns)
        xp, dtype = ns.xp, X.dtype
        n, d = X.shape
        width = min(k + oversamples, n, d)
        with blas_threads_for((n + d) * width, ns):
            components, s = self._factorize(X, k, width, n_iter, dtype, ns)
        # X V, not U Σ, and outside the thread limit: the very product transform computes
        Xt = _project(X, components, ns)
        sq, total = _column_moments(X, ns)
        full_var = float((sq / n - (total / n) ** 2).sum())
        sq_t, total_t = _column_moments(Xt, ns)
        variance = xp.clip(sq_t / n - (total_t / n) ** 2, 0, None)
        self.components_ = components
        self.singular_values_ = s.astype(dtype)
        self.explained_variance_ = variance.astype(dtype)
        self.explained_variance_ratio_ = (variance / full_var).astype(dtype)
        self.n_features_in_ = d
        return Xt

    def _factorize(
        self, X: Any, k: int, width: int, n_iter: int, dtype: Any, ns: Namespace
    ) -> tuple[Any, Any]:
        """``(Vᵀ, singular values)`` of the top ``k`` triplets, signs fixed as scikit-learn."""
        xp = ns.xp
        n, d = X.shape
        # two working factors, reused by every product: Q (cells × width), W (genes × width)
        # (on the GPU each product is a new array, in Fortran order as cuSPARSE wants)
        rng = np.random.default_rng(self.random_state)
        W = to_device(rng.standard_normal((d, width), dtype=np.float32).astype(dtype), ns)
        W = xp.asfortranarray(W) if ns.is_gpu else W
        Q = None if ns.is_gpu else xp.empty((n, width), dtype=dtype)
        # between products a well-conditioned basis is enough (one Cholesky pass);
        # the last Q, which the data is projected on, is orthonormal (two passes)
        Q = orthonormalize(matmul(X, W, ns, out=Q), ns, passes=2 if n_iter == 0 else 1)
        for i in range(n_iter):
            W = orthonormalize(rmatmul(X, Q, ns, out=W), ns, passes=1)
            passes = 2 if i == n_iter - 1 else 1
            Q = orthonormalize(matmul(X, W, ns, out=Q), ns, passes=passes)
        B_t = rmatmul(X, Q, ns, out=W)  # (Qᵀ X)ᵀ, genes × width
        # SVD of the small Qᵀ X from the eigenpairs of its width × width Gram matrix
        eigenvalues, eigenvectors = xp.linalg.eigh(gram(B_t, ns))
        order = xp.argsort(eigenvalues)[::-1][:k]
        s = xp.sqrt(xp.clip(eigenvalues[order], 0, None))
        U_b = eigenvectors[:, order]
        inv_s = xp.where(s > 0, 1 / xp.where(s > 0, s, 1), 0)
        components = (U_b * inv_s[None, :]).T.astype(dtype) @ B_t.T  # Vᵀ = Σ⁻¹ U_bᵀ (QᵀX)
        del Q, W, B_t
        # signs as scikit-learn: the largest |loading| of each component is positive
        signs = xp.sign(components[xp.arange(k), xp.argmax(xp.abs(components), axis=1)])
        signs[signs == 0] = 1
        components *= signs[:, None].astype(dtype)
        return components, s

    def _check_fitted(self, X: Any) -> Any:
        if not hasattr(self, "components_"):
            raise NotFittedError("This TruncatedSVD is not fitted yet; call `fit` first.")
        return check_input(X, "X")

    def transform(self, X: Matrix | ArrayLike) -> Array:
        """Project ``X`` onto the fitted components: ``X @ components_.T``.

        Parameters
        ----------
        X
            Dense or sparse matrix with ``n_features_in_`` columns.

        Returns
        -------
        Dense ``(n_cells, n_components)`` array on the device of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import TruncatedSVD
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((50, 3)) @ rng.random((3, 20))  # rank 3
        >>> svd = TruncatedSVD(n_components=3)
        >>> bool(np.allclose(svd.fit_transform(X), svd.transform(X)))
        True
        """
        X = self._check_fitted(X)
        check_n_features(X, self.n_features_in_, self)
        ns = get_namespace(X)
        return _project(_as_compute_matrix(X, ns), to_device(self.components_, ns), ns)

    def inverse_transform(self, X: Array | ArrayLike) -> Array:
        """Map projections back to feature space: ``X @ components_``.

        Parameters
        ----------
        X
            Dense ``(n_cells, n_components)`` array.

        Returns
        -------
        Dense ``(n_cells, n_features)`` array, the rank-``k`` approximation of the data.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import TruncatedSVD
        >>> rng = np.random.default_rng(0)
        >>> X = rng.random((50, 3)) @ rng.random((3, 20))  # rank 3: recovered exactly
        >>> svd = TruncatedSVD(n_components=3)
        >>> bool(np.allclose(svd.inverse_transform(svd.fit_transform(X)), X))
        True
        """
        X = self._check_fitted(X)
        k = self.components_.shape[0]
        if X.shape[1] != k:
            raise ValueError(f"`X` has {X.shape[1]} columns; expected {k} (`n_components`).")
        ns = get_namespace(X)
        dtype = _compute_dtype(X, ns)
        return as_dtype(X, dtype) @ to_device(self.components_, ns).astype(dtype)
