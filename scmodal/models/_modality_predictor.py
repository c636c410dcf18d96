"""The modality-prediction pipeline as one estimator on arrays: it composes the source
SVD, the per-cell z-score, the target transform, the regression heads (``_heads.py``)
fitted on all cells or bagged (``_bagging.py``), chosen by cross-validation
(``_cross_validation.py``) and blended (``_ensemble.py``)."""

from __future__ import annotations

import numbers
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import Tags

from .._backend import (
    Namespace,
    blas_threads_for,
    get_namespace,
    is_gpu_array,
    is_sparse,
    to_device,
)
from .._progress import progress_bar
from .._typing import Array, ArrayLike, Matrix
from .._validation import check_int, check_seed
from ._bagging import BAGGING, bagging_halves
from ._cross_validation import cross_validate, cv_cell_count, cv_folds, grid_points
from ._ensemble import ENSEMBLES, blend_weights
from ._gaussrank import GaussRankScaler
from ._heads import HEADS, Head, check_grid, heads_of
from ._input import check_input, check_n_features, check_targets
from ._kernel_ridge import (
    KERNELS,
    block_rows,
    kernel_matrix,
)
from ._model_file import read_model, write_model
from ._predictor_memory import check_fit_memory, check_predict_memory, predict_row_bytes
from ._tsvd import TruncatedSVD

TARGET_TRANSFORMS = (None, "gaussrank")
PROGRESS_MIN_CELLS = 5000


def _synchronize(ns: Namespace) -> None:
    if ns.is_gpu:
        ns.xp.cuda.Device().synchronize()


def zscore_rows(A: Any, ns: Namespace) -> Any:
    """Standardize every row (cell) of ``A`` in place across its columns; constant rows → 0.

    Beyond ``A`` this allocates one array of its size (inside ``std``) and row vectors.
    """
    xp = ns.xp
    std = A.std(axis=1, keepdims=True)
    A -= A.mean(axis=1, keepdims=True)
    A /= xp.where(std > 0, std, 1)
    return A


def _cap(n: int | None, shape: tuple[int, int], name: str, what: str) -> int | None:
    """``n`` components of the ``what`` SVD of a ``shape`` matrix, capped with a warning."""
    limit = min(shape) - 1
    if n is None or n <= limit:
        return n
    using = f"using {limit}" if limit else "regressing the targets directly"
    warnings.warn(
        f"`{name}`={n} is more than the {what} allows (shape {shape}: at most {limit} "
        f"components); {using}.",
        UserWarning,
        stacklevel=5,
    )
    return limit


class ModalityPredictor(RegressorMixin, BaseEstimator):
    """Predict one modality from another: the NeurIPS 2021 GEX→ADT pipeline, with heads.

    Fit: truncated SVD of the source (over the training cells and any unlabeled cells
    given, as the winner fitted it on train + test), per-cell z-score of the components,
    truncated SVD of the training targets, then one or more regression heads from the
    components to the target SVD scores: ``"krr"``, kernel ridge regression with an RBF
    kernel (the winner's head), and ``"svr"``, epsilon-support vector regression on the
    same kernel. By default each head is fitted once on all training cells; with
    ``bagging``, ``2 × n_repeats`` times on halves of the training cells — halves of the
    shuffled list of ``groups`` (batches), as the winner did, or random halves. Each fit
    builds the kernel of its own cells once for every kernel head.
    Parameters given as a list (or ``"auto"``) are chosen by ``cv``-fold cross-validation
    on the training cells (grouped by ``groups`` when there are several), scored by the
    RMSE of the out-of-fold predictions; with several heads and ``ensemble="stack"``, the
    out-of-fold predictions also fit the heads' blending weights.
    Predict: every fit's prediction mapped back through the target SVD (and the GaussRank
    reference with ``target_transform="gaussrank"``), clipped at ``clip_min``, the mean
    over the fits of a head, then the heads' weighted blend, for one bounded block of
    cells at a time. With ``return_std=True``, also a per-cell, per-target standard
    deviation: the spread over the bagged fits, or, for one kernel ridge fit, the
    Gaussian-process posterior standard deviation (from the Cholesky factor the fit
    keeps); for a blend, the blend of the heads' ones. Before the kernels are allocated,
    ``fit`` and ``predict`` compare the memory they need with the memory available; if it
    will not fit, a ``MemoryError`` says how much they need and how many cells would fit.
    Works on numpy/scipy and on cupy/cupyx input (the device follows the data). A
    scikit-learn regressor: ``score`` is the R² of :meth:`predict`, so it works in
    ``Pipeline`` and ``GridSearchCV``; 1-D targets give 1-D predictions.

    Parameters
    ----------
    n_components_source
        Source SVD components (winner: 300); capped below ``min(shape)`` with a warning.
    n_components_target
        Target SVD components (winner: 70); ``None`` regresses the targets directly, as
        does a single target.
    method
        A head, ``"krr"`` or ``"svr"``, or a list of heads to blend, e.g.
        ``["krr", "svr"]``.
    kernel
        Kernel of the heads: ``"rbf"`` (``exp(-gamma ‖x − y‖²)``) or ``"linear"``.
    gamma
        RBF width of every head (winner: ``1/(2·10²) = 0.005``, length scale 10).
    alpha
        Kernel ridge penalty (winner: 0.2).
    C, epsilon
        SVR penalty and half-width of its insensitive tube, relative to each regression
        target's standard deviation (the SVR head fits every target SVD score in units of
        its own); ``C=3, epsilon=0.1`` were best on the BMMC donor split.
    ensemble
        With several heads: ``"mean"`` (default), equal weights; ``"stack"``,
        non-negative weights fitted on out-of-fold predictions, or the best head alone
        (with a warning) if no blend beats it there. Equal weights were as good or better
        than stacked ones on all 6 real splits of ``benchmarks/heads.py`` (out-of-fold
        weights do not foresee a shift between donors), and need no cross-validation.
    cv
        Folds of the cross-validation (≥ 2).
    cv_cells
        Training cells the cross-validation uses (a random subset, the same for every
        head and grid point); ``None``: all up to 2,000, else ``max(2000, 0.3 n)``.
    n_repeats
        Bagging repeats; each gives two fits (two halves). Unused without bagging.
    bagging
        ``None`` (default): one fit on all training cells. ``"batches"``: halves of the
        shuffled batches (``groups``; the winner's scheme; with one batch, one fit on all
        cells, as the winner's code; without ``groups``, random halves). ``"cells"``:
        random halves of the cells. See Notes for how the default was chosen.
    clip_min
        Predictions below this are set to it (winner: 0.0); ``None`` disables clipping.
    target_transform
        ``None`` or ``"gaussrank"``: train on GaussRank-transformed targets and map
        predictions back with the training reference.
    random_state
        Seed of the SVD sketches, the bagging halves and the cross-validation folds.
    progress
        Show progress bars over the folds and fits; ``None``: with ≥ 5,000 training cells.

    ``gamma``, ``alpha``, ``C`` and ``epsilon`` each take a number, a list of numbers (a
    grid: every combination a head reads is cross-validated and the lowest RMSE chosen)
    or ``"auto"``: ``gamma`` 0.00125–0.02, ``alpha`` 0.05–1, ``C`` 0.3–30 (5 values).

    Attributes
    ----------
    source_svd_, target_svd_
        The fitted :class:`TruncatedSVD` of source and targets (``target_svd_`` is
        ``None`` with ``n_components_target=None``).
    target_scaler_
        The fitted :class:`GaussRankScaler`, or ``None``.
    Z_train_
        ``(n_train, k)`` z-scored source components of the training cells.
    heads_
        For each head name, its fitted estimators, one per fit (a :class:`KernelRidge` or
        :class:`SVR` on the precomputed kernel of that fit's cells).
    fit_cells_
        ``(n_fits, n_train)`` boolean: the cells each fit used.
    best_params_
        For each head, the parameter values it was fitted with (chosen by
        cross-validation where a grid was given).
    cv_results_
        ``None`` without cross-validation; else for each head its ``params``, ``grid``,
        ``rmse`` and ``pearson`` (out-of-fold RMSE and mean per-feature Pearson r, one
        axis per parameter), ``best``, ``best_rmse``, ``best_pearson``, ``n_cells`` and
        ``n_folds``.
    weights_
        For each head, its weight in the blend (1.0 for a single head).
    n_features_in_
        Number of source features seen in :meth:`fit`.
    n_targets_
        Number of targets (1 for 1-D ``Y``).
    timings_
        Seconds spent in each step of the last :meth:`fit`.

    Notes
    -----
    The default ``bagging=None`` was chosen by ``python benchmarks/bagging.py`` (held-out
    cells; RMSE / mean per-protein Pearson r; one fit · halves of batches · halves of
    cells):

    - BMMC donor s1d1 → s1d2: 0.525 / 0.636 · same (one batch: one fit) · 0.540 / 0.632;
    - BMMC donor s1d2 → s1d1: 0.479 / 0.670 · same · 0.499 / 0.669;
    - BMMC, half the cells held out (2 seeds): 0.452 / 0.695 · 0.476 / 0.684 ·
      0.467 / 0.691;
    - pbmc1k (another lab, 10x v3), half the cells held out (2 seeds): 1.311 / 0.651 ·
      1.331 / 0.649 · 1.331 / 0.649;
    - BMMC, each of 5 cell types held out in turn: 0.481 / 0.610 · 0.497 / 0.601 ·
      0.498 / 0.604.

    One fit on all cells has the lowest RMSE on every split and the highest mean r on
    all but one (pbmc1k seed 0, −0.001): halving the training cells costs more than
    averaging the halves gains. Its per-cell standard deviation is the posterior one,
    which ranks per-cell errors less well than the bagged spread on the BMMC donor
    split (Spearman 0.09 against 0.70): use ``bagging="cells"`` when that matters. One
    fit holds the kernel of all training cells (``n² × 4`` bytes: 1.6 GB at 20,000
    cells), four times a half's; bagging is the way to quarter it.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> train = mdata.obs["is_train"].to_numpy()
    >>> X, Y = mdata["rna"].X, mdata["prot"].X
    >>> model = sm.models.ModalityPredictor(50, 20)
    >>> model = model.fit(X[train], Y[train], X_unlabeled=X[~train])
    >>> model.predict(X[~train]).shape
    (289, 134)
    >>> model = sm.models.ModalityPredictor(50, 20, method=["krr", "svr"], alpha=[0.1, 0.5])
    >>> model = model.fit(X[train], Y[train])
    >>> sorted(model.weights_), sorted(model.cv_results_["krr"]["grid"])
    (['krr', 'svr'], ['alpha', 'gamma'])
    """

    def __init__(
        self,
        n_components_source: int = 300,
        n_components_target: int | None = 70,
        *,
        method: str | list[str] = "krr",
        kernel: str = "rbf",
        gamma: float | list[float] | str = 0.005,
        alpha: float | list[float] | str = 0.2,
        C: float | list[float] | str = 3.0,
        epsilon: float | list[float] | str = 0.1,
        ensemble: str = "mean",
        cv: int = 3,
        cv_cells: int | None = None,
        n_repeats: int = 5,
        bagging: str | None = None,
        clip_min: float | None = 0.0,
        target_transform: str | None = None,
        random_state: int | None = 0,
        progress: bool | None = None,
    ) -> None:
        self.n_components_source = n_components_source
        self.n_components_target = n_components_target
        self.method = method
        self.kernel = kernel
        self.gamma = gamma
        self.alpha = alpha
        self.C = C
        self.epsilon = epsilon
        self.ensemble = ensemble
        self.cv = cv
        self.cv_cells = cv_cells
        self.n_repeats = n_repeats
        self.bagging = bagging
        self.clip_min = clip_min
        self.target_transform = target_transform
        self.random_state = random_state
        self.progress = progress

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        # tuned for GEX → ADT, not for any regression: each cell's SVD components are
        # z-scored (its scale is dropped), predictions are clipped at 0; on
        # scikit-learn's 10-feature check data the defaults reach R² ≈ 0.2
        tags.regressor_tags.poor_score = True
        return tags

    # --- validation -------------------------------------------------------------------
    def _heads(self) -> list[Head]:
        return [HEADS[name] for name in heads_of(self.method)]

    def _grids(self) -> dict[str, tuple[float, ...]]:
        """The values of every head parameter (one value: no cross-validation of it)."""
        grids = {}
        for name in ("gamma", "alpha", "C", "epsilon"):
            auto = next((h.auto[name] for h in HEADS.values() if name in h.auto), ())
            grids[name] = check_grid(getattr(self, name), name, auto)
            if name == "epsilon" and self.epsilon == "auto":
                raise ValueError("`epsilon` has no 'auto' grid: give a number or a list.")
        if self.kernel == "linear":  # gamma is unused
            grids["gamma"] = grids["gamma"][:1]
        return grids

    def _check_params(self) -> None:
        check_int(self.n_components_source, "n_components_source", minimum=1)
        if self.n_components_target is not None:
            check_int(self.n_components_target, "n_components_target", minimum=1)
        check_int(self.n_repeats, "n_repeats", minimum=1)
        check_int(self.cv, "cv", minimum=2)
        if self.cv_cells is not None:
            check_int(self.cv_cells, "cv_cells", minimum=2)
        if self.bagging not in BAGGING:
            raise ValueError(f"`bagging` must be one of {BAGGING}; got {self.bagging!r}.")
        if not isinstance(self.kernel, str) or self.kernel not in KERNELS:
            raise ValueError(f"`kernel` must be one of {KERNELS}; got {self.kernel!r}.")
        self._heads()
        self._grids()
        if not isinstance(self.ensemble, str) or self.ensemble not in ENSEMBLES:
            raise ValueError(f"`ensemble` must be one of {ENSEMBLES}; got {self.ensemble!r}.")
        if self.target_transform not in TARGET_TRANSFORMS:
            raise ValueError(
                f"`target_transform` must be one of {TARGET_TRANSFORMS}; "
                f"got {self.target_transform!r}."
            )
        if self.clip_min is not None:
            if isinstance(self.clip_min, bool) or not isinstance(self.clip_min, numbers.Real):
                raise TypeError(f"`clip_min` must be a number or None; got {self.clip_min!r}.")
            if not np.isfinite(self.clip_min):
                raise ValueError(f"`clip_min` must be finite or None; got {self.clip_min}.")
        check_seed(self.random_state)
        if self.progress not in (None, True, False):
            raise TypeError(f"`progress` must be True, False or None; got {self.progress!r}.")

    def _cross_validates(self, heads: list[Head], grids: dict[str, tuple[float, ...]]) -> bool:
        """Whether the fit runs a cross-validation: a grid to search, or a stack to fit."""
        searched = any(len(grids[p]) > 1 for h in heads for p in h.params)
        return searched or (len(heads) > 1 and self.ensemble == "stack")

    def _n_scores(self) -> int:
        return self.n_targets_ if self.target_svd_ is None else self.target_svd_.n_components

    def _posterior_head(self) -> str | None:
        """The head whose one fit gives the posterior std (kernel ridge on all cells)."""
        for name, fits in self.heads_.items():
            if len(fits) == 1 and getattr(fits[0], "factor_", None) is not None:
                return name
        return None

    # --- fitting ----------------------------------------------------------------------
    def _fit(
        self, X_all: Any, train: np.ndarray, Y: Any, groups: Any = None, predict_all: bool = False
    ) -> dict[str, Any] | None:
        """Fit on rows ``train`` of ``X_all``; optionally predict every row of ``X_all``."""
        self._check_params()
        heads, grids = self._heads(), self._grids()
        X_all = check_input(X_all, "X")
        Y = check_targets(Y, "Y", self)
        y_ndim = Y.ndim
        if is_sparse(Y):  # targets are few features: dense is small
            Y = Y.toarray()
        Y = Y.reshape(-1, 1) if y_ndim == 1 else Y
        n = len(train)
        if n < 2:
            raise ValueError(
                f"ModalityPredictor needs at least 2 training cells; got n_samples={n}."
            )
        if Y.shape[0] != n:
            raise ValueError(f"`Y` has {Y.shape[0]} rows; there are {n} training cells.")
        if min(X_all.shape) < 2:
            raise ValueError(
                "`n_components_source`: the source SVD needs at least 2 cells and 2 features; "
                f"`X` has n_samples={X_all.shape[0]}, n_features={X_all.shape[1]}."
            )
        ns = get_namespace(X_all, Y)
        halves = bagging_halves(n, groups, self.n_repeats, self.random_state, self.bagging)
        folds = None
        if self._cross_validates(heads, grids):
            cells = self._cv_cells(n)
            sub = None if groups is None else np.asarray(groups)[cells]
            if len(cells) < self.cv:
                raise ValueError(
                    f"`cv={self.cv}`-fold cross-validation needs at least {self.cv} training "
                    f"cells; got {len(cells)}."
                )
            folds = (cells, cv_folds(len(cells), sub, self.cv, self.random_state))
        dtype = np.float64 if X_all.dtype == np.float64 else np.float32
        itemsize = np.dtype(dtype).itemsize
        check_fit_memory(
            self, X_all.shape, Y.shape, halves, predict_all, itemsize, ns, heads, grids
        )
        elements = max((X_all.shape[0] + X_all.shape[1]) * self.n_components_source, n * n)
        with blas_threads_for(elements, ns):
            out = self._fit_steps(
                X_all, train, Y, halves, folds, heads, grids, dtype, predict_all, ns
            )
        self._y_ndim = y_ndim
        return out

    def _cv_cells(self, n: int) -> np.ndarray:
        """The training cells cross-validated: all, or a random subset (sorted)."""
        m = cv_cell_count(n, self.cv_cells)
        if m >= n:
            return np.arange(n)
        rng = np.random.default_rng(self.random_state)
        return np.sort(rng.choice(n, m, replace=False))

    def _fit_steps(
        self,
        X_all: Any,
        train: np.ndarray,
        Y: Any,
        halves: list[np.ndarray],
        folds: tuple[np.ndarray, list] | None,
        heads: list[Head],
        grids: dict[str, tuple[float, ...]],
        dtype: Any,
        predict_all: bool,
        ns: Namespace,
    ) -> dict[str, Any] | None:
        xp = ns.xp
        n = len(train)
        timings: dict[str, Any] = {}
        show = self.progress if self.progress is not None else n >= PROGRESS_MIN_CELLS

        t0 = time.perf_counter()
        k = _cap(self.n_components_source, X_all.shape, "n_components_source", "source SVD of `X`")
        self.source_svd_ = TruncatedSVD(k, random_state=self.random_state)
        Z_all = zscore_rows(self.source_svd_.fit_transform(X_all), ns)
        _synchronize(ns)
        timings["source_svd"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        Y_measured = Y = xp.asarray(Y, dtype=dtype)
        n_targets = Y.shape[1]
        self.target_scaler_ = None
        if self.target_transform == "gaussrank":
            self.target_scaler_ = GaussRankScaler()
            Y = xp.asarray(self.target_scaler_.fit_transform(Y), dtype=dtype)
        t = _cap(self.n_components_target, Y.shape, "n_components_target", "target SVD of `Y`")
        self.target_svd_ = None
        if t is not None and t >= 1:
            self.target_svd_ = TruncatedSVD(t, random_state=self.random_state)
            Y = self.target_svd_.fit_transform(Y)
        _synchronize(ns)
        timings["target_svd"] = time.perf_counter() - t0
        self.n_targets_ = n_targets

        train_dev = to_device(np.asarray(train), ns)
        Z_train = Z_all[train_dev]
        Z_predict = Z_all if predict_all else None
        del Z_all

        # model selection: every grid point of every head, out of fold
        self.best_params_ = {h.name: grid_points(h, grids)[0] for h in heads}
        self.cv_results_ = None
        self.weights_ = {h.name: 1.0 / len(heads) for h in heads}
        if folds is not None:
            t0 = time.perf_counter()
            cells, splits = folds
            cells_dev = to_device(cells, ns)
            results, oof = cross_validate(
                Z_train[cells_dev],
                Y[cells_dev],
                Y_measured[cells_dev],
                splits,
                heads,
                grids,
                self.kernel,
                self._finish,
                ns,
                show=show,
            )
            self.cv_results_ = results
            self.best_params_ = {name: r["best"] for name, r in results.items()}
            self.weights_, note = blend_weights(oof, Y_measured[cells_dev], self.ensemble)
            if note is not None:
                warnings.warn(f"ensemble='stack': {note}.", UserWarning, stacklevel=4)
            del oof
            _synchronize(ns)
            timings["cross_validation"] = time.perf_counter() - t0

        self._fit_heads(Z_train, Y, halves, heads, ns, show, timings)
        self.Z_train_ = Z_train
        self.n_features_in_ = X_all.shape[1]
        self.timings_ = timings
        if not predict_all:
            return None
        t0 = time.perf_counter()
        out = self._predict_rows(Z_predict, ns, return_heads=True)
        timings["predict"] = time.perf_counter() - t0
        return out

    def _fit_heads(
        self,
        Z_train: Any,
        T: Any,
        halves: list[np.ndarray],
        heads: list[Head],
        ns: Namespace,
        show: bool,
        timings: dict[str, Any],
    ) -> None:
        """Fit every head on the cells of every fit, one kernel per fit and ``gamma``."""
        n = Z_train.shape[0]
        # one fit on all cells: kernel ridge keeps its Cholesky factor, for the std
        single = len(halves) == 1 and len(halves[0]) == n
        self.heads_ = {h.name: [] for h in heads}
        self.fit_cells_ = np.zeros((len(halves), n), dtype=bool)
        # heads sharing a kernel: the one that factorizes it in place comes last
        by_gamma: dict[Any, list[Head]] = {}
        for head in sorted(heads, key=lambda h: h.overwrites_kernel):
            gamma = self.best_params_[head.name].get("gamma") if head.kernel else None
            by_gamma.setdefault(gamma, []).append(head)
        kernel_time, fit_times = 0.0, []
        for f, half in enumerate(progress_bar(halves, desc="fits", disable=not show)):
            half_dev = to_device(half, ns)
            Z_half, T_half = Z_train[half_dev], T[half_dev]
            fit_time = 0.0
            for gamma, group in by_gamma.items():
                t0 = time.perf_counter()
                K = None
                if gamma is not None:
                    K = kernel_matrix(Z_half, Z_half, self.kernel, gamma, ns)
                    _synchronize(ns)
                t1 = time.perf_counter()
                kernel_time += t1 - t0
                for i, head in enumerate(group):
                    last = i == len(group) - 1
                    model = head.build(
                        self.best_params_[head.name],
                        posterior=single and head.posterior,
                        copy_X=not last,
                    )
                    model.fit(Z_half if K is None else K, T_half)
                    self.heads_[head.name].append(model)
                del K
                _synchronize(ns)
                fit_time += time.perf_counter() - t1
            self.fit_cells_[f, half] = True
            fit_times.append(fit_time)
        timings["kernel"] = kernel_time
        timings["fits"] = fit_times

    def fit(
        self,
        X: Matrix | ArrayLike,
        Y: Matrix | ArrayLike,
        *,
        groups: ArrayLike | None = None,
        X_unlabeled: Matrix | ArrayLike | None = None,
    ) -> ModalityPredictor:
        """Fit the pipeline on training cells.

        Parameters
        ----------
        X
            Source matrix of the training cells (cells × genes), dense or sparse.
        Y
            Target matrix of the same cells (cells × proteins), dense, no NaN.
        groups
            Batch of every training cell: the bagging halves are halves of the batches,
            and the cross-validation folds hold out whole batches.
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
        >>> model = ModalityPredictor(10, 3).fit(X, Y)  # one kernel ridge fit on all cells
        >>> model.heads_["krr"][0].dual_coef_.shape
        (60, 3)
        """
        X_all, n = self._stack(X, X_unlabeled)
        self._fit(X_all, np.arange(n), Y, groups)
        return self

    @staticmethod
    def _stack(X: Any, X_unlabeled: Any) -> tuple[Any, int]:
        """``X`` and ``X_unlabeled`` as one matrix, and the number of rows of ``X``."""
        X = check_input(X, "X")
        if X_unlabeled is None:
            return X, X.shape[0]
        X_unlabeled = check_input(X_unlabeled, "X_unlabeled")
        if X_unlabeled.shape[1] != X.shape[1]:
            raise ValueError(
                f"`X_unlabeled` has {X_unlabeled.shape[1]} features; `X` has {X.shape[1]}."
            )
        ns = get_namespace(X, X_unlabeled)
        if is_sparse(X) or is_sparse(X_unlabeled):
            return ns.sparse.vstack([X, X_unlabeled], format="csr"), X.shape[0]
        return ns.xp.concatenate([X, X_unlabeled]), X.shape[0]

    def fit_predict(
        self,
        X: Matrix | ArrayLike,
        Y: Matrix | ArrayLike,
        *,
        train: ArrayLike | None = None,
        groups: ArrayLike | None = None,
    ) -> dict[str, Array | dict[str, Array]]:
        """Fit on the rows ``train`` of ``X`` and predict every row of ``X``, in one pass.

        Every row of ``X`` fits the source SVD (the training rows and the ones to
        predict, as the winner did); the heads are fitted on the rows ``train``, whose
        targets are ``Y``. This is what :func:`scmodal.tl.predict_modality` calls; the
        result equals ``fit`` (with the other rows as ``X_unlabeled``) then ``predict``,
        without transforming ``X`` twice.

        Parameters
        ----------
        X
            Source matrix of every cell (cells × genes), dense or sparse.
        Y
            Targets of the training rows, in the order of ``train``.
        train
            Integer positions of the training rows in ``X``; ``None``: every row.
        groups
            Batch of every training row (see :meth:`fit`).

        Returns
        -------
        dict
            For every row of ``X``, on the device of ``X``: ``"mean"``, the prediction;
            ``"std"``, its standard deviation; ``"heads"``, each head's own prediction
            by head name.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((40, 5))
        >>> out = ModalityPredictor(10, 3).fit_predict(X, Y, train=np.arange(40))
        >>> out["mean"].shape, list(out["heads"])
        ((60, 5), ['krr'])
        """
        X = check_input(X, "X")
        if train is None:
            train = np.arange(X.shape[0])
        train = np.asarray(train)
        if train.ndim != 1 or train.dtype.kind not in "iu":
            raise TypeError("`train` must be a 1-D array of integer row positions.")
        if len(train) and (train.min() < 0 or train.max() >= X.shape[0]):
            raise ValueError(f"`train` holds positions outside the {X.shape[0]} rows of `X`.")
        if len(np.unique(train)) < len(train):
            raise ValueError("`train` lists a row twice.")
        out = self._fit(X, train, Y, groups, predict_all=True)
        if self._y_ndim == 1:
            out = {
                "mean": out["mean"][:, 0],
                "std": out["std"][:, 0],
                "heads": {k: v[:, 0] for k, v in out["heads"].items()},
            }
        return out

    # --- prediction -------------------------------------------------------------------
    def _unreduce(self, T: Any) -> Any:
        """Regression outputs back through the target SVD (the GaussRank scale, if any)."""
        return T if self.target_svd_ is None else self.target_svd_.inverse_transform(T)

    def _unscale(self, Y: Any) -> Any:
        """Back from the GaussRank scale, with ``target_transform="gaussrank"``."""
        return Y if self.target_scaler_ is None else self.target_scaler_.inverse_transform(Y)

    def _finish(self, T: Any) -> Any:
        """Regression outputs to float64 predictions: target SVD, GaussRank, clipping."""
        xp = get_namespace(T).xp
        Y = xp.asarray(self._unscale(self._unreduce(T)), dtype=xp.float64)
        if self.clip_min is not None:
            xp.maximum(Y, self.clip_min, out=Y)
        return Y

    def _device_heads(self, ns: Namespace) -> dict[str, list[Any]]:
        """The fitted heads, as copies on ``ns``'s device where they live on the other one
        (the model itself is left as it is)."""
        if is_gpu_array(self.Z_train_) == ns.is_gpu:  # the heads live with Z_train_
            return self.heads_
        out = {}
        for name, fits in self.heads_.items():
            head = HEADS[name]
            out[name] = [
                head.restore(
                    {k: to_device(v, ns) for k, v in head.arrays(model).items()},
                    self.best_params_[name],
                )
                for model in fits
            ]
        return out

    def _predict_rows(self, Z: Any, ns: Namespace, *, return_heads: bool = False) -> dict[str, Any]:
        """Blended mean, standard deviation (and each head's mean) for the components ``Z``.

        One block of cells at a time (:func:`predict_row_bytes` each): the kernel rows of
        each ``gamma``, then every fit of every head, mapped back and clipped; a head's
        standard deviation is the spread over its bagged fits, or its posterior one.
        """
        xp = ns.xp
        Z_train = to_device(self.Z_train_, ns)
        models = self._device_heads(ns)
        n_train = Z_train.shape[0]
        dtype = Z_train.dtype
        n_fits = len(self.fit_cells_)
        cells = [
            None if row.all() else to_device(np.flatnonzero(row), ns) for row in self.fit_cells_
        ]
        posterior = self._posterior_head()
        mean = xp.empty((Z.shape[0], self.n_targets_), dtype=dtype)
        std = xp.empty_like(mean)
        per_head = {name: xp.empty_like(mean) for name in models} if return_heads else {}
        row_bytes = predict_row_bytes(
            n_train,
            self._n_scores(),
            self.n_targets_,
            dtype.itemsize,
            posterior=posterior is not None,
            bagged=n_fits > 1,
            n_heads=len(models),
        )
        step = block_rows(Z.shape[0], row_bytes)
        gammas = {
            name: self.best_params_[name].get("gamma") if HEADS[name].kernel else None
            for name in models
        }
        for start in range(0, Z.shape[0], step):
            rows = slice(start, start + step)
            kernels = {
                g: kernel_matrix(Z[rows], Z_train, self.kernel, g, ns)
                for g in set(gammas.values())
                if g is not None
            }
            block_mean = xp.zeros((Z[rows].shape[0], self.n_targets_), dtype=xp.float64)
            block_std = xp.zeros_like(block_mean)
            for name, fits in models.items():
                inputs = Z[rows] if gammas[name] is None else kernels[gammas[name]]
                head_mean, head_std = self._predict_head(
                    fits, inputs, cells, Z[rows], HEADS[name].kernel, name == posterior, ns
                )
                if return_heads:
                    per_head[name][rows] = head_mean
                head_mean *= self.weights_[name]
                head_std *= self.weights_[name]
                block_mean += head_mean
                block_std += head_std
                del head_mean, head_std
            del kernels, inputs  # before the next block's kernel rows
            mean[rows] = block_mean
            std[rows] = block_std
        return {"mean": mean, "std": std, "heads": per_head}

    def _predict_head(
        self,
        fits: list[Any],
        inputs: Any,
        cells: list[Any],
        Z: Any,
        kernel: bool,
        posterior: bool,
        ns: Namespace,
    ) -> tuple[Any, Any]:
        """Mean and standard deviation of one head's fits for one block of cells
        (``inputs``: kernel rows of all training cells for a ``kernel`` head, else ``Z``)."""
        xp = ns.xp
        total = total_sq = None
        for model, used in zip(fits, cells, strict=True):
            # take gives a C-ordered copy (indexing [:, used] an F-ordered one, which the
            # matrix product would copy again)
            X = xp.take(inputs, used, axis=1) if kernel and used is not None else inputs
            if posterior:
                diagonal = 1.0 if self.kernel == "rbf" else (Z.astype(xp.float64) ** 2).sum(axis=1)
                pre, component_std = model.predict(X, return_std=True, diagonal=diagonal)
                return self._finish(pre), self._posterior_std(pre, component_std, Z.dtype, ns)
            Y = self._finish(model.predict(X))
            del X  # a bagged fit's columns: one copy at a time
            if total is None:
                total, total_sq = Y, Y * Y
            else:
                total += Y
                Y *= Y
                total_sq += Y
            del Y
        n_fits = len(fits)
        total /= n_fits
        total_sq /= n_fits
        total_sq -= total * total
        return total, xp.sqrt(xp.maximum(total_sq, 0, out=total_sq), out=total_sq)

    def _posterior_std(self, pre: Any, component_std: Any, dtype: Any, ns: Namespace) -> Any:
        """Posterior standard deviation of each target for one fit on all training cells.

        Each regression target (target SVD component) ``c`` is a Gaussian process with
        covariance ``σ_c² k`` and noise ``σ_c² alpha``, whose kernel ridge fit is the
        posterior mean (:meth:`KernelRidge.predict` gives its standard deviation
        ``σ_c √v(x)``). It is mapped to the targets through the target SVD
        (``Σ_c σ_c² v W_cj²``, the components taken as independent), and through the
        inverse GaussRank by the width of its image of ``pre ± std`` (``pre``: the
        prediction on the GaussRank scale).
        """
        xp = ns.xp
        component_std = component_std.reshape(component_std.shape[0], -1)
        if self.target_svd_ is None:
            std = component_std
        else:
            W = to_device(self.target_svd_.components_, ns).astype(xp.float64)
            std = xp.sqrt((component_std * component_std) @ (W * W))
        if self.target_scaler_ is not None:
            pre = xp.asarray(self._unreduce(pre), dtype=xp.float64)
            upper = self._unscale((pre + std).astype(dtype))
            lower = self._unscale((pre - std).astype(dtype))
            std = xp.abs(xp.asarray(upper, dtype=xp.float64) - lower) / 2
        return std

    def predict(
        self, X: Matrix | ArrayLike, *, return_std: bool = False
    ) -> Array | tuple[Array, Array]:
        """Predict the target modality of new cells.

        Parameters
        ----------
        X
            Source matrix (cells × the training genes, in the training order).
        return_std
            Also return the standard deviation: the spread over the bagged fits, or the
            posterior one of a single kernel ridge fit (blended with the heads' weights).

        Returns
        -------
        ``(cells, targets)`` mean prediction (and its standard deviation), on the device
        of ``X``; ``(cells,)`` when the model was fitted on 1-D targets. The model itself
        is left as it was.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((60, 5))
        >>> model = ModalityPredictor(10, 3).fit(X, Y)
        >>> mean, std = model.predict(X[:4], return_std=True)
        >>> mean.shape, std.shape
        ((4, 5), (4, 5))
        """
        if not hasattr(self, "heads_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        X = check_input(X, "X")
        check_n_features(X, self.n_features_in_, self)
        ns = get_namespace(X)
        check_predict_memory(self, X.shape[0], ns)
        n = self.Z_train_.shape[0]
        with blas_threads_for(X.shape[0] * max(n, X.shape[1]), ns):
            Z = self.source_svd_.transform(X).astype(self.Z_train_.dtype, copy=False)
            out = self._predict_rows(zscore_rows(Z, ns), ns)
        mean, std = out["mean"], out["std"]
        if getattr(self, "_y_ndim", 2) == 1:  # files saved before 1-D targets hold 2-D ones
            mean, std = mean[:, 0], std[:, 0]
        return (mean, std) if return_std else mean

    # --- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to ``path``: an ``.npz`` of arrays and JSON, no pickle.

        Every fitted head is saved with its parameters, the cross-validation results
        and the blend weights. A model of one kernel ridge fit on all training cells (the
        default) also holds the Cholesky factor its posterior standard deviation needs:
        ``n²`` floats (1.6 GB at 20,000 training cells in float32); a bagged model holds
        only its coefficients.
        The file is written exactly at ``path`` (no suffix is added: ``save("model")``
        writes ``model``, which :meth:`load` reads back; ``.npz`` is the usual name).
        The write is atomic: the model goes to ``path + ".part"``, is flushed to disk and
        then renamed over ``path``, so an interrupted or killed save leaves the previous
        file intact (Ctrl-C and SIGTERM also remove the ``.part``; one left by SIGKILL is
        replaced by the next save).

        Parameters
        ----------
        path
            Destination file; its folder must exist.

        Examples
        --------
        >>> import numpy as np, tempfile, os
        >>> from scmodal.models import ModalityPredictor
        >>> rng = np.random.default_rng(0)
        >>> X, Y = rng.random((60, 30)), rng.random((60, 5))
        >>> model = ModalityPredictor(10, 3, method=["krr", "svr"], ensemble="mean").fit(X, Y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> back = ModalityPredictor.load(path)
        >>> bool(np.allclose(back.predict(X[:3]), model.predict(X[:3])))
        True
        """
        if not hasattr(self, "heads_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        write_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ModalityPredictor:
        """Read a model written by :meth:`save` (CPU arrays; ``predict`` moves them).

        The whole file is checked here: a missing file raises ``FileNotFoundError``; a
        truncated, damaged or foreign file, one of another format version, or one whose
        arrays or parameters do not fit together raises a ``ValueError`` naming the path
        and what is wrong. Files of format version 1 (kernel ridge only, before heads)
        are read too.

        Parameters
        ----------
        path
            File written by :meth:`save` (the same path).

        Returns
        -------
        The fitted predictor.

        Examples
        --------
        See :meth:`save`.
        """
        return read_model(path, cls)


__all__ = ["ModalityPredictor"]
