"""The NeurIPS 2021 GEX→ADT winning pipeline as one estimator on arrays."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from .._backend import (
    Namespace,
    blas_threads_for,
    get_namespace,
    is_sparse,
    to_device,
    to_numpy,
)
from .._progress import progress_bar
from .._validation import check_int, check_matrix
from ._gaussrank import GaussRankScaler
from ._kernel_ridge import (
    _check_params,
    check_kernel_memory,
    cholesky_solve,
    kernel_matrix,
)
from ._tsvd import TruncatedSVD

TARGET_TRANSFORMS = (None, "gaussrank")
PROGRESS_MIN_CELLS = 5000
FORMAT_VERSION = 1


def _synchronize(ns: Namespace) -> None:
    if ns.is_gpu:
        ns.xp.cuda.Device().synchronize()


def zscore_rows(A: Any, ns: Namespace) -> Any:
    """Standardize every row (cell) across its columns (components); constant rows → 0."""
    xp = ns.xp
    mean = A.mean(axis=1, keepdims=True)
    std = A.std(axis=1, keepdims=True)
    return (A - mean) / xp.where(std > 0, std, 1)


def bagging_halves(n: int, groups: Any, n_repeats: int, seed: int | None) -> list[np.ndarray]:
    """Training-cell indices of every fit: each repeat splits the cells into two halves.

    With ``groups`` (e.g. batches), a repeat shuffles the list of groups and splits it
    in half (the winner's scheme); without, it splits a random permutation of the cells.
    """
    rng = np.random.default_rng(seed)
    fits = []
    if groups is not None:
        groups = np.asarray(to_numpy(groups))
        if groups.shape != (n,):
            raise ValueError(f"`groups` must have one entry per training cell ({n}).")
        if len(np.unique(groups)) < 2:
            warnings.warn(
                "the training cells come from one group (batch): bagging over random "
                "halves of the cells instead of halves of the batches.",
                UserWarning,
                stacklevel=4,
            )
            groups = None
    if groups is None:
        if n < 2:
            raise ValueError(f"bagging needs at least 2 training cells; got {n}.")
        for _ in range(n_repeats):
            order = rng.permutation(n)
            fits += [np.sort(order[: n // 2]), np.sort(order[n // 2 :])]
        return fits
    names = np.unique(groups)
    for _ in range(n_repeats):
        shuffled = rng.permutation(names)
        half = len(names) // 2
        for part in (shuffled[:half], shuffled[half:]):
            fits.append(np.flatnonzero(np.isin(groups, part)))
    return fits


def _cap(n: int | None, limit: int, what: str) -> int | None:
    if n is None:
        return None
    if n > limit:
        warnings.warn(
            f"{what}: {n} components requested but the matrix allows at most {limit}; "
            f"using {limit}.",
            UserWarning,
            stacklevel=4,
        )
        return limit
    return n


class ModalityPredictor(BaseEstimator):
    """Predict one modality from another: the NeurIPS 2021 GEX→ADT winning pipeline.

    Fit: truncated SVD of the source (over the training cells and any unlabeled cells
    given, as the winner fitted it on train + test), per-cell z-score of the components,
    truncated SVD of the training targets, then ``2 × n_repeats`` kernel ridge regressions
    (RBF kernel) on halves of the training cells — halves of the shuffled list of
    ``groups`` (batches) when given, as the winner did, else random halves. The kernel
    over all training cells is computed once and each fit takes its block of it.
    Predict: every fit's prediction mapped back through the target SVD (and the GaussRank
    reference with ``target_transform="gaussrank"``), clipped at ``clip_min``, then the
    mean over fits (and their standard deviation, with ``return_std=True``).
    Works on numpy/scipy and on cupy/cupyx input (the device follows the data).

    Parameters
    ----------
    n_components_source
        Source SVD components (winner: 300); capped below ``min(shape)`` with a warning.
    n_components_target
        Target SVD components (winner: 70); ``None`` regresses the targets directly.
    kernel, gamma, alpha
        Kernel ridge head: ``"rbf"`` with ``gamma = 1/(2·10²) = 0.005`` (length scale 10)
        and ``alpha = 0.2`` by default; see :class:`KernelRidge`.
    n_repeats
        Bagging repeats; each gives two fits (two halves).
    clip_min
        Predictions below this are set to it (winner: 0.0); ``None`` disables clipping.
    target_transform
        ``None`` or ``"gaussrank"``: train on GaussRank-transformed targets and map
        predictions back with the training reference.
    random_state
        Seed of the SVD sketches and of the bagging halves.
    progress
        Show a progress bar over the fits; ``None``: when there are ≥ 5,000 training cells.

    Attributes
    ----------
    source_svd_, target_svd_
        The fitted :class:`TruncatedSVD` of source and targets (``target_svd_`` is
        ``None`` with ``n_components_target=None``).
    target_scaler_
        The fitted :class:`GaussRankScaler`, or ``None``.
    Z_train_
        ``(n_train, k)`` z-scored source components of the training cells.
    dual_coef_
        ``(n_fits, n_train, t)`` kernel ridge coefficients of every fit (zero for the
        cells a fit did not use).
    fit_cells_
        ``(n_fits, n_train)`` boolean: the cells each fit used.
    timings_
        Seconds spent in each step of the last ``fit``/``predict``.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> train = mdata.obs["is_train"].to_numpy()
    >>> X, Y = mdata["rna"].X, mdata["prot"].X
    >>> model = sm.models.ModalityPredictor(50, 20, n_repeats=1)
    >>> model = model.fit(X[train], Y[train], X_unlabeled=X[~train])
    >>> model.predict(X[~train]).shape
    (289, 134)
    """

    def __init__(
        self,
        n_components_source: int = 300,
        n_components_target: int | None = 70,
        *,
        kernel: str = "rbf",
        gamma: float = 0.005,
        alpha: float = 0.2,
        n_repeats: int = 5,
        clip_min: float | None = 0.0,
        target_transform: str | None = None,
        random_state: int | None = 0,
        progress: bool | None = None,
    ) -> None:
        self.n_components_source = n_components_source
        self.n_components_target = n_components_target
        self.kernel = kernel
        self.gamma = gamma
        self.alpha = alpha
        self.n_repeats = n_repeats
        self.clip_min = clip_min
        self.target_transform = target_transform
        self.random_state = random_state
        self.progress = progress

    # --- validation -------------------------------------------------------------------
    def _check_params(self) -> None:
        check_int(self.n_components_source, "n_components_source", minimum=1)
        if self.n_components_target is not None:
            check_int(self.n_components_target, "n_components_target", minimum=1)
        check_int(self.n_repeats, "n_repeats", minimum=1)
        _check_params(self.alpha, self.kernel, self.gamma)
        if self.gamma is None:
            raise ValueError("`gamma` must be a positive number (winner: 0.005).")
        if self.target_transform not in TARGET_TRANSFORMS:
            raise ValueError(
                f"`target_transform` must be one of {TARGET_TRANSFORMS}; "
                f"got {self.target_transform!r}."
            )
        if self.clip_min is not None and not np.isfinite(self.clip_min):
            raise ValueError(f"`clip_min` must be a finite number or None; got {self.clip_min}.")

    def _memory_check(self, n_train: int, n_predict: int, itemsize: int, ns: Namespace) -> None:
        """The kernel (n_predict × n_train) plus one half's solve must fit; else advise."""
        copies = 2 if ns.is_gpu else 1

        def need(n: int) -> float:
            rows = n_predict - n_train + n if n_predict >= n_train else n_predict
            return itemsize * (rows * n + copies * (n // 2 + 1) ** 2)

        check_kernel_memory(n_train, need, ns, f" (predicting {n_predict:,} cells)")

    # --- fitting ----------------------------------------------------------------------
    def _fit(
        self, X_all: Any, train: np.ndarray, Y: Any, groups: Any = None, predict_all: bool = False
    ) -> tuple[Any, Any] | None:
        """Fit on rows ``train`` of ``X_all``; optionally predict every row of ``X_all``."""
        self._check_params()
        X_all = check_matrix(X_all, "X", allow_nan=False)
        Y = check_matrix(Y, "Y", allow_nan=False)
        if is_sparse(Y):  # targets are few features: dense is small
            Y = Y.toarray()
        n = len(train)
        if n == 0:
            raise ValueError("the training set is empty; select at least 2 training cells.")
        if Y.shape[0] != n:
            raise ValueError(f"`Y` has {Y.shape[0]} rows; there are {n} training cells.")
        ns = get_namespace(X_all, Y)
        halves = bagging_halves(n, groups, self.n_repeats, self.random_state)
        dtype = np.float64 if X_all.dtype == np.float64 else np.float32
        self._memory_check(n, X_all.shape[0] if predict_all else n, np.dtype(dtype).itemsize, ns)
        elements = max((X_all.shape[0] + X_all.shape[1]) * self.n_components_source, n * n)
        with blas_threads_for(elements, ns):
            return self._fit_steps(X_all, train, Y, halves, dtype, predict_all, ns)

    def _fit_steps(
        self,
        X_all: Any,
        train: np.ndarray,
        Y: Any,
        halves: list[np.ndarray],
        dtype: Any,
        predict_all: bool,
        ns: Namespace,
    ) -> tuple[Any, Any] | None:
        xp = ns.xp
        n = len(train)
        timings: dict[str, Any] = {}

        t0 = time.perf_counter()
        k = _cap(self.n_components_source, min(X_all.shape) - 1, "source SVD")
        self.source_svd_ = TruncatedSVD(k, random_state=self.random_state)
        Z_all = zscore_rows(self.source_svd_.fit_transform(X_all), ns)
        _synchronize(ns)
        timings["source_svd"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        Y = xp.asarray(Y, dtype=dtype)
        n_targets = Y.shape[1]
        self.target_scaler_ = None
        if self.target_transform == "gaussrank":
            self.target_scaler_ = GaussRankScaler()
            Y = xp.asarray(self.target_scaler_.fit_transform(Y), dtype=dtype)
        t = _cap(self.n_components_target, min(Y.shape) - 1, "target SVD")
        self.target_svd_ = None
        if t is not None and t >= 1:
            self.target_svd_ = TruncatedSVD(t, random_state=self.random_state)
            Y = self.target_svd_.fit_transform(Y)
        _synchronize(ns)
        timings["target_svd"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        train_dev = to_device(np.asarray(train), ns)
        Z_train = Z_all[train_dev]
        rows = Z_all if predict_all else Z_train
        K = kernel_matrix(rows, Z_train, self.kernel, self.gamma, ns)
        _synchronize(ns)
        timings["kernel"] = time.perf_counter() - t0
        kernel_rows = train if predict_all else np.arange(n)

        self.dual_coef_ = xp.zeros((len(halves), n, Y.shape[1]), dtype=dtype)
        self.fit_cells_ = np.zeros((len(halves), n), dtype=bool)
        fit_times = []
        show = self.progress if self.progress is not None else n >= PROGRESS_MIN_CELLS
        for f, half in enumerate(progress_bar(halves, desc="kernel ridge fits", disable=not show)):
            t0 = time.perf_counter()
            half_dev = to_device(half, ns)
            K_half = K[xp.ix_(to_device(kernel_rows[half], ns), half_dev)]
            self.dual_coef_[f, half_dev] = cholesky_solve(K_half, Y[half_dev], self.alpha, ns)
            del K_half
            self.fit_cells_[f, half] = True
            _synchronize(ns)
            fit_times.append(time.perf_counter() - t0)
        timings["fits"] = fit_times
        self.Z_train_ = Z_train
        self.n_features_in_ = X_all.shape[1]
        self.n_targets_ = n_targets
        self.timings_ = timings
        if not predict_all:
            return None
        t0 = time.perf_counter()
        out = self._predict_from_kernel(K, ns)
        timings["predict"] = time.perf_counter() - t0
        return out

    def fit(
        self, X: Any, Y: Any, *, groups: Any = None, X_unlabeled: Any = None
    ) -> ModalityPredictor:
        """Fit the pipeline on training cells.

        Parameters
        ----------
        X
            Source matrix of the training cells (cells × genes), dense or sparse.
        Y
            Target matrix of the same cells (cells × proteins), dense, no NaN.
        groups
            Batch of every training cell: the bagging halves are halves of the batches.
        X_unlabeled
            Source matrix of cells to be predicted later; used, with ``X``, to fit the
            source SVD (as the winner did), not for the regression.

        Returns
        -------
        The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((60, 5))
        >>> ModalityPredictor(10, 3, n_repeats=1).fit(X, Y).dual_coef_.shape
        (2, 60, 3)
        """
        X = check_matrix(X, "X", allow_nan=False)
        if X_unlabeled is not None:
            X_unlabeled = check_matrix(X_unlabeled, "X_unlabeled", allow_nan=False)
            if X_unlabeled.shape[1] != X.shape[1]:
                raise ValueError(
                    f"`X_unlabeled` has {X_unlabeled.shape[1]} features; `X` has {X.shape[1]}."
                )
            ns = get_namespace(X, X_unlabeled)
            if is_sparse(X) or is_sparse(X_unlabeled):
                X_all = ns.sparse.vstack([X, X_unlabeled], format="csr")
            else:
                X_all = ns.xp.concatenate([X, X_unlabeled])
        else:
            X_all = X
        self._fit(X_all, np.arange(X.shape[0]), Y, groups)
        return self

    # --- prediction -------------------------------------------------------------------
    def _inverse_targets(self, T: Any) -> Any:
        Y = T if self.target_svd_ is None else self.target_svd_.inverse_transform(T)
        if self.target_scaler_ is not None:
            Y = self.target_scaler_.inverse_transform(Y)
        return Y

    def _predict_from_kernel(self, K: Any, ns: Namespace) -> tuple[Any, Any]:
        xp = ns.xp
        total = total_sq = None
        n_fits = self.dual_coef_.shape[0]
        for f in range(n_fits):
            Y = xp.asarray(self._inverse_targets(K @ self.dual_coef_[f]), dtype=xp.float64)
            if self.clip_min is not None:
                xp.maximum(Y, self.clip_min, out=Y)
            total = Y if total is None else total + Y
            total_sq = Y * Y if total_sq is None else total_sq + Y * Y
        mean = total / n_fits
        std = xp.sqrt(xp.clip(total_sq / n_fits - mean * mean, 0, None))
        dtype = self.Z_train_.dtype
        return mean.astype(dtype), std.astype(dtype)

    def _on_device(self, ns: Namespace) -> None:
        for name in ("Z_train_", "dual_coef_"):
            setattr(self, name, to_device(getattr(self, name), ns))

    def predict(self, X: Any, *, return_std: bool = False) -> Any:
        """Predict the target modality of new cells.

        Parameters
        ----------
        X
            Source matrix (cells × the training genes, in the training order).
        return_std
            Also return the standard deviation over the bagged fits.

        Returns
        -------
        ``(cells, targets)`` mean prediction (and its standard deviation), on the device
        of ``X``.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((60, 5))
        >>> model = ModalityPredictor(10, 3, n_repeats=1).fit(X, Y)
        >>> mean, std = model.predict(X[:4], return_std=True)
        >>> mean.shape, std.shape
        ((4, 5), (4, 5))
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        X = check_matrix(X, "X", allow_nan=False)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"`X` has {X.shape[1]} features; the model was fitted on {self.n_features_in_}."
            )
        ns = get_namespace(X)
        self._on_device(ns)
        t0 = time.perf_counter()
        n = self.Z_train_.shape[0]
        self._memory_check(n, X.shape[0], self.Z_train_.dtype.itemsize, ns)
        with blas_threads_for(X.shape[0] * max(n, X.shape[1]), ns):
            Z = zscore_rows(self.source_svd_.transform(X), ns)
            K = kernel_matrix(
                Z.astype(self.Z_train_.dtype), self.Z_train_, self.kernel, self.gamma, ns
            )
            mean, std = self._predict_from_kernel(K, ns)
        _synchronize(ns)
        self.timings_ = {**getattr(self, "timings_", {}), "predict": time.perf_counter() - t0}
        return (mean, std) if return_std else mean

    # --- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to an ``.npz`` file (arrays and JSON; no pickle).

        Parameters
        ----------
        path
            Destination file (``.npz`` is appended by numpy if missing).

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((60, 5))
        >>> model = ModalityPredictor(10, 3, n_repeats=1).fit(X, Y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> back = ModalityPredictor.load(path)
        >>> bool(np.allclose(back.predict(X[:3]), model.predict(X[:3])))
        True
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "params": np.array(json.dumps(self.get_params())),
            "n_targets": np.array(self.n_targets_),
            "Z_train": to_numpy(self.Z_train_),
            "dual_coef": to_numpy(self.dual_coef_),
            "fit_cells": self.fit_cells_,
        }
        for prefix, svd in (("source", self.source_svd_), ("target", self.target_svd_)):
            if svd is None:
                continue
            for attr in ("components_", "singular_values_", "explained_variance_"):
                arrays[f"{prefix}_{attr}"] = to_numpy(getattr(svd, attr))
            arrays[f"{prefix}_explained_variance_ratio_"] = to_numpy(svd.explained_variance_ratio_)
        if self.target_scaler_ is not None:
            arrays["target_reference"] = to_numpy(self.target_scaler_.reference_)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> ModalityPredictor:
        """Read a model written by :meth:`save` (CPU arrays; ``predict`` moves them).

        Parameters
        ----------
        path
            File written by :meth:`save`.

        Returns
        -------
        The fitted predictor.

        Examples
        --------
        See :meth:`save`.
        """
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
        if int(arrays.get("format_version", -1)) != FORMAT_VERSION:
            raise ValueError(f"{path} is not a scmodal ModalityPredictor file (version 1).")
        model = cls(**json.loads(str(arrays["params"])))
        svds = {}
        for prefix in ("source", "target"):
            if f"{prefix}_components_" not in arrays:
                svds[prefix] = None
                continue
            svd = TruncatedSVD(arrays[f"{prefix}_components_"].shape[0])
            for attr in (
                "components_",
                "singular_values_",
                "explained_variance_",
                "explained_variance_ratio_",
            ):
                setattr(svd, attr, arrays[f"{prefix}_{attr}"])
            svd.n_features_in_ = svd.components_.shape[1]
            svds[prefix] = svd
        model.source_svd_, model.target_svd_ = svds["source"], svds["target"]
        model.target_scaler_ = (
            GaussRankScaler.from_reference(arrays["target_reference"])
            if "target_reference" in arrays
            else None
        )
        model.Z_train_ = arrays["Z_train"]
        model.dual_coef_ = arrays["dual_coef"]
        model.fit_cells_ = arrays["fit_cells"]
        model.n_features_in_ = model.source_svd_.n_features_in_
        model.n_targets_ = int(arrays["n_targets"])
        return model


__all__ = ["ModalityPredictor"]
