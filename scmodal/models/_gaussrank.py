"""GaussRank: rank-based inverse normal transform per feature, and its exact inverse."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import Tags

from .._backend import Namespace, as_dtype, get_namespace, is_sparse, to_device, to_numpy
from .._typing import Array, ArrayLike, Matrix
from .._validation import check_int
from ..ops import interp_columns, normal_scores, sort_segments, tie_groups
from ..ops._column_rank import rank_columns, stored_value_columns
from ._input import check_input, check_n_features


def _work_dtype(X: Any) -> np.dtype:
    """float32 for float32/float16 input, float64 for everything else (ints stay exact)."""
    return (
        np.dtype(np.float32)
        if np.dtype(X.dtype) in (np.float32, np.float16)
        else np.dtype(np.float64)
    )


def _fit_dense(
    X: Any, dtype: np.dtype, n_quantiles: int, ns: Namespace, transform: bool
) -> tuple[Any, tuple[Any, Any, Any]]:
    """Rank a dense matrix block by block of columns; scores and reference."""
    xp = ns.xp
    n, p = X.shape
    X = as_dtype(X, dtype)
    Z = xp.empty((n, p), dtype=xp.float32, order="F") if transform else None

    def work(cols: slice) -> tuple[Any, Any, Any]:
        ranked = rank_columns(X[:, cols], ns)
        groups = ranked.groups
        scores = normal_scores(groups, ns).astype(xp.float32)
        if Z is not None:
            Z[:, cols] = ranked.unsort(scores[groups.element_group], xp.float32, ns)
        width = ranked.order.shape[1]
        return _reference(ranked.flat, groups, scores, width, n_quantiles, dtype, ns)

    return Z, _stack_references(ns.map_columns(work, p, n), dtype, ns)


def _fit_sparse(
    X: Any, dtype: np.dtype, n_quantiles: int, ns: Namespace, transform: bool
) -> tuple[Any, tuple[Any, Any, Any]]:
    """Rank the stored values of a sparse matrix; its implicit zeros share one rank."""
    xp = ns.xp
    n, p = X.shape
    X = ns.sparse.csc_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    nnz = X.nnz
    seg_nnz = stored_value_columns(X.indptr, slice(0, nnz), ns)
    n_zero = n - xp.diff(X.indptr).astype(xp.int64)
    zero_cols = xp.flatnonzero(n_zero > 0)
    # one stored zero per column stands for all its implicit zeros (weight = their count)
    values = xp.concatenate([X.data.astype(dtype), xp.zeros(zero_cols.size, dtype=dtype)])
    segments = xp.concatenate([seg_nnz, zero_cols]).astype(xp.int64)
    weights = xp.concatenate([xp.ones(nnz, dtype=xp.int64), n_zero[zero_cols]])
    perm = sort_segments(values, segments, ns)
    seg_ptr = xp.concatenate(
        [xp.zeros(1, dtype=xp.int64), xp.cumsum(ns.bincount(segments, minlength=p))]
    )
    sorted_values = values[perm]
    groups = tie_groups(sorted_values, seg_ptr, ns, weights=weights[perm])
    scores = normal_scores(groups, ns).astype(xp.float32)
    Z = None
    if transform:
        z = xp.empty(perm.size, dtype=xp.float32)
        z[perm] = scores[groups.element_group]
        Z = xp.empty((n, p), dtype=xp.float32)
        Z[:, zero_cols] = z[nnz:][None, :]
        Z[X.indices, seg_nnz] = z[:nnz]
    return Z, _reference(sorted_values, groups, scores, p, n_quantiles, dtype, ns)


def _reference(
    sorted_values: Any,
    groups: Any,
    scores: Any,
    n_features: int,
    n_quantiles: int,
    dtype: np.dtype,
    ns: Namespace,
) -> tuple[Any, Any, Any]:
    """The distinct values of each segment and their scores, at most ``n_quantiles``."""
    xp = ns.xp
    p = n_features
    n_distinct = ns.bincount(groups.segment[groups.valid], minlength=p)
    keep = groups.valid
    if int(n_distinct.max()) > n_quantiles:
        # Evenly spaced picks k -> round(k (G-1)/(nq-1)) of the G distinct values; a
        # group is kept when it is the pick of its nearest k (exactly the picks).
        local = xp.arange(groups.starts.size, dtype=xp.int64)
        local -= groups.first_group[groups.segment]
        g = n_distinct[groups.segment].astype(xp.float64)
        scale = (n_quantiles - 1) / xp.maximum(g - 1, 1)
        picked = xp.floor(xp.floor(local * scale + 0.5) / scale + 0.5) == local
        keep = keep & ((g <= n_quantiles) | picked)
    all_kept = bool(keep.all())
    segment = groups.segment if all_kept else groups.segment[keep]
    starts = groups.starts if all_kept else groups.starts[keep]
    kept_scores = scores if all_kept else scores[keep]
    n_ref = ns.bincount(segment, minlength=p)
    width = max(int(n_ref.max()), 1)
    if int(n_ref.min()) == width:  # as many points in every feature: no padding
        quantiles = sorted_values[starts].reshape(p, width).astype(dtype)
        ref_scores = kept_scores.reshape(p, width).astype(dtype)
        return quantiles, ref_scores, n_ref
    before = xp.concatenate([xp.zeros(1, dtype=xp.int64), xp.cumsum(n_ref)])
    target = xp.arange(segment.size, dtype=xp.int64) - before[segment]
    target += segment * width
    quantiles = xp.full((p, width), np.nan, dtype=dtype)
    ref_scores = xp.full((p, width), np.nan, dtype=dtype)
    quantiles.reshape(-1)[target] = sorted_values[starts]
    ref_scores.reshape(-1)[target] = kept_scores
    return quantiles, ref_scores, n_ref


def _stack_references(blocks: list[Any], dtype: np.dtype, ns: Namespace) -> tuple[Any, Any, Any]:
    """Join per-column-block references, padding them to one width with NaN."""
    xp = ns.xp
    if len(blocks) == 1:
        return blocks[0]
    width = max(b[0].shape[1] for b in blocks)
    p = sum(b[0].shape[0] for b in blocks)
    quantiles = xp.empty((p, width), dtype=dtype)
    scores = xp.empty((p, width), dtype=dtype)
    row = 0
    for q, s, _ in blocks:
        rows = slice(row, row + q.shape[0])
        quantiles[rows, : q.shape[1]] = q
        scores[rows, : q.shape[1]] = s
        quantiles[rows, q.shape[1] :] = np.nan
        scores[rows, q.shape[1] :] = np.nan
        row += q.shape[0]
    return quantiles, scores, xp.concatenate([b[2] for b in blocks])


class GaussRankScaler(TransformerMixin, BaseEstimator):
    """Rank each feature and map the ranks to standard-normal quantiles.

    Per feature (column), the ``n`` non-NaN values get their rank ``r`` (ties share their
    average rank) and the score ``z = Φ⁻¹((r − 0.5) / n)``, so every feature becomes
    approximately standard normal. NaN stays NaN and is not ranked; a constant feature maps
    to 0. Sparse input is ranked without densifying it: all the implicit zeros of a feature
    share one average rank. The fitted reference (the sorted distinct values of each
    feature and their scores) maps new data onto the scores (:meth:`transform`, monotone
    interpolation) and scores back onto the original scale (:meth:`inverse_transform`,
    exact for the fitted values).

    Works on numpy arrays, scipy.sparse matrices, cupy arrays and cupyx sparse matrices:
    the computation runs where the data lives.

    Parameters
    ----------
    n_quantiles
        Most reference points kept per feature. A feature with at most this many distinct
        values keeps them all, and :meth:`inverse_transform` then returns its fitted values
        bit for bit; beyond that, evenly spaced distinct values (the smallest and largest
        included) are kept and the inverse interpolates between them. The default keeps
        every value of a 100,000-cell matrix.

    Attributes
    ----------
    quantiles_
        ``(n_features, n_ref)`` sorted distinct reference values per feature, NaN-padded.
    scores_
        ``(n_features, n_ref)`` the normal score of each reference value, NaN-padded.
    n_ref_
        ``(n_features,)`` number of reference points of each feature (numpy).
    n_features_in_
        Number of features seen in :meth:`fit`.
    n_samples_fit_
        Number of cells seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.models import GaussRankScaler
    >>> X = np.array([[1.0, 5.0], [3.0, 5.0], [2.0, 7.0]], dtype=np.float32)
    >>> scaler = GaussRankScaler()
    >>> Z = scaler.fit_transform(X)
    >>> Z.round(3)
    array([[-0.967, -0.431],
           [ 0.967, -0.431],
           [ 0.   ,  0.967]], dtype=float32)
    >>> bool((scaler.inverse_transform(Z) == X).all())
    True
    """

    def __init__(self, n_quantiles: int = 100_000) -> None:
        self.n_quantiles = n_quantiles

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # scores are float32
        return tags

    # -- fitting --------------------------------------------------------------------------
    def fit(self, X: Matrix | ArrayLike, y: object = None) -> GaussRankScaler:
        """Fit the per-feature reference on ``X`` (cells × features).

        Parameters
        ----------
        X
            Dense or sparse matrix, numpy/scipy or cupy/cupyx; NaN allowed, inf not.
        y
            Ignored.

        Returns
        -------
        The fitted scaler.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import GaussRankScaler
        >>> GaussRankScaler().fit(np.arange(6.0).reshape(3, 2)).n_ref_
        array([3, 3])
        """
        self._fit(X, transform=False)
        return self

    def fit_transform(self, X: Matrix | ArrayLike, y: object = None) -> Array:
        """Fit the reference on ``X`` and return its normal scores.

        Parameters
        ----------
        X
            Dense or sparse matrix, numpy/scipy or cupy/cupyx; NaN allowed, inf not.
        y
            Ignored.

        Returns
        -------
        Dense float32 scores of the shape of ``X``, on the device of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import GaussRankScaler
        >>> GaussRankScaler().fit_transform(np.array([[0.0], [10.0], [np.nan]])).ravel()
        array([-0.67448974,  0.67448974,         nan], dtype=float32)
        """
        return self._fit(X, transform=True)

    def _fit(self, X: Any, *, transform: bool) -> Any:
        n_quantiles = check_int(self.n_quantiles, "n_quantiles", minimum=2)
        X = check_input(X, "X", allow_nan=True)
        ns = get_namespace(X)
        n, p = X.shape
        dtype = _work_dtype(X)
        fit = _fit_sparse if is_sparse(X) else _fit_dense
        Z, (quantiles, scores, n_ref) = fit(X, dtype, n_quantiles, ns, transform)
        self.quantiles_ = quantiles
        self.scores_ = scores
        self.n_ref_ = np.asarray(to_numpy(n_ref), dtype=np.int64)
        self.n_features_in_ = p
        self.n_samples_fit_ = n
        return Z

    # -- applying -------------------------------------------------------------------------
    def _check_fitted_input(self, X: Any, name: str) -> tuple[Any, Namespace]:
        if not hasattr(self, "quantiles_"):
            raise NotFittedError(
                "This GaussRankScaler is not fitted yet; call `fit` or `fit_transform` first."
            )
        X = check_input(X, name, allow_nan=True)
        check_n_features(X, self.n_features_in_, self, name)
        ns = get_namespace(X)
        if is_sparse(X):
            X = X.toarray()
        return X, ns

    def transform(self, X: Matrix | ArrayLike) -> Array:
        """Normal scores of (new) data on the fitted reference.

        Values between two reference values are interpolated linearly, so the map is
        monotone; values below (above) the fitted range get the lowest (highest) score;
        fitted values get exactly their fitted score. NaN stays NaN.

        Parameters
        ----------
        X
            Dense or sparse matrix with the fitted number of features.

        Returns
        -------
        Dense float32 scores, on the device of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import GaussRankScaler
        >>> scaler = GaussRankScaler().fit(np.array([[1.0], [2.0], [3.0]]))
        >>> scaler.transform(np.array([[0.0], [1.5], [2.0], [9.0]])).ravel().round(3)
        array([-0.967, -0.484,  0.   ,  0.967], dtype=float32)
        """
        X, ns = self._check_fitted_input(X, "X")
        quantiles = to_device(self.quantiles_, ns)
        scores = to_device(self.scores_, ns)
        return interp_columns(X, quantiles, scores, self.n_ref_, ns, ns.xp.float32)

    def inverse_transform(self, X: Array | ArrayLike) -> Array:
        """Map normal scores back onto the original scale of the fitted data.

        Exact (bit for bit) on the scores of fitted values when a feature kept all its
        distinct values (see ``n_quantiles``); monotone linear interpolation between
        reference points otherwise; scores beyond the fitted range map to the smallest
        (largest) fitted value. NaN stays NaN.

        Parameters
        ----------
        X
            Dense (or sparse) scores with the fitted number of features, e.g. predictions
            made in GaussRank space.

        Returns
        -------
        Dense array on the device of ``X``, in the dtype of the reference (float32 for
        float32 data, float64 otherwise).

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import GaussRankScaler
        >>> scaler = GaussRankScaler().fit(np.array([[10.0], [20.0], [40.0]]))
        >>> scaler.inverse_transform(np.array([[-5.0], [0.0], [0.5]])).ravel().round(2)
        array([10.  , 20.  , 30.34])
        """
        X, ns = self._check_fitted_input(X, "X")
        quantiles = to_device(self.quantiles_, ns)
        scores = to_device(self.scores_, ns)
        return interp_columns(X, scores, quantiles, self.n_ref_, ns, quantiles.dtype)

    # -- storage --------------------------------------------------------------------------
    @property
    def reference_(self) -> np.ndarray:
        """The fitted reference as one numpy array ``(n_features, n_ref, 2)``.

        ``[..., 0]`` holds the reference values, ``[..., 1]`` their scores (NaN-padded);
        this is what :func:`scmodal.pp.gaussrank` stores in ``varm``.
        """
        if not hasattr(self, "quantiles_"):
            raise NotFittedError("This GaussRankScaler is not fitted yet.")
        return np.stack([to_numpy(self.quantiles_), to_numpy(self.scores_)], axis=-1)

    @classmethod
    def from_reference(
        cls, reference: Array | ArrayLike, *, n_samples: int | None = None
    ) -> GaussRankScaler:
        """A fitted scaler from a stored reference (see :attr:`reference_`).

        Parameters
        ----------
        reference
            ``(n_features, n_ref, 2)`` array of reference values and their scores.
        n_samples
            Number of cells the reference was fitted on, if known.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import GaussRankScaler
        >>> ref = GaussRankScaler().fit(np.array([[1.0], [2.0]])).reference_
        >>> GaussRankScaler.from_reference(ref).inverse_transform(np.zeros((1, 1)))
        array([[1.5]])
        """
        ref = np.asarray(to_numpy(reference))
        if ref.ndim != 3 or ref.shape[2] != 2:
            raise ValueError(
                f"`reference` must have shape (n_features, n_ref, 2), got {ref.shape}."
            )
        scaler = cls()
        scaler.quantiles_ = np.ascontiguousarray(ref[..., 0])
        scaler.scores_ = np.ascontiguousarray(ref[..., 1])
        scaler.n_ref_ = (~np.isnan(scaler.quantiles_)).sum(axis=1).astype(np.int64)
        scaler.n_features_in_ = ref.shape[0]
        if n_samples is not None:
            scaler.n_samples_fit_ = int(n_samples)
        return scaler
