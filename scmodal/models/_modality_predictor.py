"""The NeurIPS 2021 GEX→ADT winning pipeline as one estimator on arrays."""

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
    to_numpy,
)
from .._progress import progress_bar
from .._typing import Array, ArrayLike, Matrix
from .._validation import check_int, check_seed
from ._gaussrank import GaussRankScaler
from ._input import check_input, check_n_features, check_targets
from ._kernel_ridge import (
    PREDICT_ADVICE,
    _check_params,
    block_rows,
    check_kernel_memory,
    cholesky_solve,
    fit_advice,
    kernel_matrix,
    posterior_variance,
)
from ._model_file import read_model, write_model
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


BAGGING = ("batches", "cells", None)


def bagging_halves(
    n: int, groups: Any, n_repeats: int, seed: int | None, bagging: str | None = None
) -> list[np.ndarray]:
    """Training-cell indices of every fit.

    ``bagging=None``: one fit on all ``n`` cells. ``"cells"``: each repeat splits a random
    permutation of the cells into two halves. ``"batches"`` (the winner's scheme): each
    repeat shuffles the list of ``groups`` and splits it in half; without ``groups``,
    random halves of the cells; with a single group, one fit on all cells (there is
    nothing to split: the winner's code then fits every cell each time).
    """
    if bagging not in BAGGING:
        raise ValueError(f"`bagging` must be one of {BAGGING}; got {bagging!r}.")
    rng = np.random.default_rng(seed)
    if bagging is None:
        return [np.arange(n)]
    if bagging == "cells":
        groups = None
    if groups is not None:
        groups = np.asarray(to_numpy(groups))
        if groups.shape != (n,):
            raise ValueError(f"`groups` must have one entry per training cell ({n}).")
        if len(np.unique(groups)) < 2:
            warnings.warn(
                "the training cells come from one group (batch): halves of the batches "
                "leave nothing to split, so one fit on all training cells (as the "
                "winner's code does); `bagging='cells'` bags over random halves instead.",
                UserWarning,
                stacklevel=4,
            )
            return [np.arange(n)]
    fits = []
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


def predict_row_bytes(
    n_train: int, n_scores: int, n_targets: int, itemsize: int, *, posterior: bool = False
) -> int:
    """Working bytes of one predicted cell inside a prediction block.

    Its kernel row (``n_train``), one fit's ``n_scores`` regression outputs and their
    ``n_targets`` predictions in the compute dtype, then those predictions, their sum and
    their sum of squares over the fits in float64. With ``posterior`` (one fit on all
    cells), also its triangular solve against the Cholesky factor (``n_train``, and two
    float64 copies to square and sum it) and the standard deviations (``n_targets``,
    and four float64 arrays of them for the inverse GaussRank).
    """
    row = itemsize * (n_train + n_scores + n_targets) + 8 * 3 * n_targets
    if posterior:
        row += itemsize * n_train + 16 * n_train + 8 * 4 * n_targets
    return row


def modality_predictor_predict_bytes(
    n_predict: int,
    n_train: int,
    n_components: int,
    n_scores: int,
    n_targets: int,
    itemsize: int,
    *,
    posterior: bool = False,
) -> int:
    """Bytes :meth:`ModalityPredictor.predict` allocates for ``n_predict`` cells.

    Two phases, the larger counts: the z-scored source components (``n_predict ×
    n_components``, and one array of their size while they are standardized); then
    those components, the mean and standard deviation (``n_predict × n_targets`` each)
    and one block of :func:`~scmodal.models._kernel_ridge.block_rows` cells, each of
    :func:`predict_row_bytes` (with ``posterior``: a model of one fit on all cells, whose
    standard deviation is the posterior one). Vectors of length ``n_predict`` are left
    out, and so is what the source SVD's ``transform`` needs beyond its result.

    Examples
    --------
    >>> from scmodal.models._modality_predictor import modality_predictor_predict_bytes
    >>> modality_predictor_predict_bytes(1000, 5000, 300, 70, 134, 4) / 1e6
    26.304
    """
    components = itemsize * n_predict * n_components
    row_bytes = predict_row_bytes(n_train, n_scores, n_targets, itemsize, posterior=posterior)
    block = block_rows(n_predict, row_bytes) * row_bytes
    return max(2 * components, components + 2 * itemsize * n_predict * n_targets + block)


def modality_predictor_fit_bytes(
    n_train: int,
    largest_fit: int,
    n_fits: int,
    n_components: int,
    n_scores: int,
    itemsize: int,
    *,
    gpu: bool = False,
    n_predict: int = 0,
    n_targets: int = 0,
) -> int:
    """Bytes the kernel ridge part of :meth:`ModalityPredictor.fit` allocates.

    Kept through the fits: the z-scored components of the training cells
    (``n_train × n_components``), their ``n_scores`` regression targets, the
    coefficients and cell masks of the ``n_fits`` fits, and the components of the
    ``n_predict`` cells to predict afterwards (``tl.predict_modality``). During the fit on
    the largest half (``largest_fit`` cells, ``h``): its ``h × h`` kernel, built from the
    half's components and factorized in place (on the GPU, plus cupy's ``h × h``
    Cholesky factor), then the half's targets and their solution. With ``n_predict``,
    the prediction that follows counts as in :func:`modality_predictor_predict_bytes`
    if it needs more (with one fit on all cells, next to the ``n × n`` Cholesky factor
    that the fit keeps). Vectors of length ``n_train`` are left out, and so is the source
    SVD before (``n × n_components`` sketches, small next to the kernel of half the
    cells).

    Examples
    --------
    >>> from scmodal.models._modality_predictor import modality_predictor_fit_bytes
    >>> modality_predictor_fit_bytes(6000, 3000, 2, 50, 20, 4) / 1e6  # 36 MB kernel
    39.252
    """
    kept = itemsize * n_train * (n_components + n_scores + n_fits * n_scores)
    kept += 0 if gpu else n_fits * n_train  # the cell masks are host arrays
    h = largest_fit
    squares = 2 if gpu else 1
    # the kernel is built from the fit's components, then solved for its targets
    one_fit = itemsize * (squares * h * h + h * max(n_components, 2 * n_scores))
    fitting = kept + itemsize * n_predict * n_components + one_fit
    if not n_predict:
        return fitting
    single = n_fits == 1 and h == n_train  # its Cholesky factor stays, for the std
    predicting = modality_predictor_predict_bytes(
        n_predict, n_train, n_components, n_scores, n_targets, itemsize, posterior=single
    )
    return max(fitting, kept + single * itemsize * n_train * n_train + predicting)


class ModalityPredictor(RegressorMixin, BaseEstimator):
    """Predict one modality from another: the NeurIPS 2021 GEX→ADT winning pipeline.

    Fit: truncated SVD of the source (over the training cells and any unlabeled cells
    given, as the winner fitted it on train + test), per-cell z-score of the components,
    truncated SVD of the training targets, then kernel ridge regression (RBF kernel):
    by default one fit on all training cells; with ``bagging``, ``2 × n_repeats`` fits on
    halves of the training cells — halves of the shuffled list of ``groups`` (batches),
    as the winner did, or random halves. Each fit builds the kernel of its own cells and
    factorizes it in place.
    Predict: every fit's prediction mapped back through the target SVD (and the GaussRank
    reference with ``target_transform="gaussrank"``), clipped at ``clip_min``, then the
    mean over fits, for one bounded block of cells at a time. With ``return_std=True``,
    also a per-cell, per-target standard deviation: the spread over the bagged fits, or,
    for one fit, the Gaussian-process posterior standard deviation of kernel ridge
    regression (from the Cholesky factor the fit keeps). Before the kernels are
    allocated, ``fit`` and ``predict`` compare the memory they need with the memory
    available; if it will not fit, a ``MemoryError`` says how much they need and how
    many cells would fit.
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
    kernel, gamma, alpha
        Kernel ridge head: ``"rbf"`` with ``gamma = 1/(2·10²) = 0.005`` (length scale 10)
        and ``alpha = 0.2`` by default; see :class:`KernelRidge`.
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
        bagging: str | None = None,
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
        # z-scored (its scale is dropped), predictions are clipped at 0 and every fit sees
        # half the cells; on scikit-learn's 10-feature check data the defaults reach R² ≈ 0.2
        tags.regressor_tags.poor_score = True
        return tags

    # --- validation -------------------------------------------------------------------
    def _check_params(self) -> None:
        check_int(self.n_components_source, "n_components_source", minimum=1)
        if self.n_components_target is not None:
            check_int(self.n_components_target, "n_components_target", minimum=1)
        check_int(self.n_repeats, "n_repeats", minimum=1)
        if self.bagging not in BAGGING:
            raise ValueError(f"`bagging` must be one of {BAGGING}; got {self.bagging!r}.")
        if self.gamma is None:
            raise ValueError("`gamma` must be a positive number (winner: 0.005).")
        _check_params(self.alpha, self.kernel, self.gamma)
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

    def _check_fit_memory(
        self,
        source_shape: tuple[int, int],
        target_shape: tuple[int, int],
        halves: list[np.ndarray],
        predict_all: bool,
        itemsize: int,
        ns: Namespace,
    ) -> None:
        """``MemoryError`` (how much, how many training cells fit) if the fits will not fit."""
        n_train, n_targets = target_shape
        n_components = min(self.n_components_source, min(source_shape) - 1)
        n_scores = n_targets
        if self.n_components_target is not None and min(target_shape) > 1:
            n_scores = min(self.n_components_target, min(target_shape) - 1)
        largest = max(len(half) for half in halves)
        n_other = source_shape[0] - n_train if predict_all else 0

        def largest_fit(n: int) -> int:  # in proportion (for random halves: ⌈n/2⌉)
            return (2 * n * largest + n_train) // (2 * n_train)

        def need(n: int) -> int:
            return modality_predictor_fit_bytes(
                n,
                largest_fit(n),
                len(halves),
                n_components,
                n_scores,
                itemsize,
                gpu=ns.is_gpu,
                n_predict=n_other + n if predict_all else 0,
                n_targets=n_targets,
            )

        def task(n: int) -> str:
            h = largest_fit(n)
            what = f", then predicting {n_other + n:,} cells" if predict_all else ""
            fits = (
                f"one fit: a {h:,} × {h:,} kernel"
                if len(halves) == 1
                else f"{len(halves)} fits on up to {h:,} cells: {h:,} × {h:,} kernels"
            )
            return (
                f"kernel ridge regression on {n:,} training cells ({fits} of "
                f"{itemsize}-byte floats{what})"
            )

        check_kernel_memory(n_train, need, ns, task=task, advice=fit_advice(ns))

    def _check_predict_memory(self, n_predict: int, ns: Namespace) -> None:
        """``MemoryError`` (how much, how many cells fit per call) if ``predict`` will not fit."""
        n_train, n_components = self.Z_train_.shape
        itemsize = self.Z_train_.dtype.itemsize
        factor = getattr(self, "factor_", None)
        moved = 0  # the model's own arrays, copied when they live on the other device
        if is_gpu_array(self.Z_train_) != ns.is_gpu:
            moved = itemsize * (self.Z_train_.size + self.dual_coef_.size)
            moved += 0 if factor is None else itemsize * factor.size
        n_scores = self.dual_coef_.shape[2]
        check_kernel_memory(
            n_predict,
            lambda n: (
                moved
                + modality_predictor_predict_bytes(
                    n,
                    n_train,
                    n_components,
                    n_scores,
                    self.n_targets_,
                    itemsize,
                    posterior=factor is not None,
                )
            ),
            ns,
            task=lambda n: f"predicting {n:,} cells from {n_train:,} training cells",
            cells="cells",
            advice=PREDICT_ADVICE,
        )

    # --- fitting ----------------------------------------------------------------------
    def _fit(
        self, X_all: Any, train: np.ndarray, Y: Any, groups: Any = None, predict_all: bool = False
    ) -> tuple[Any, Any] | None:
        """Fit on rows ``train`` of ``X_all``; optionally predict every row of ``X_all``."""
        self._check_params()
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
        dtype = np.float64 if X_all.dtype == np.float64 else np.float32
        itemsize = np.dtype(dtype).itemsize
        self._check_fit_memory(X_all.shape, Y.shape, halves, predict_all, itemsize, ns)
        elements = max((X_all.shape[0] + X_all.shape[1]) * self.n_components_source, n * n)
        with blas_threads_for(elements, ns):
            out = self._fit_steps(X_all, train, Y, halves, dtype, predict_all, ns)
        self._y_ndim = y_ndim
        return out

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
        k = _cap(self.n_components_source, X_all.shape, "n_components_source", "source SVD of `X`")
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
        t = _cap(self.n_components_target, Y.shape, "n_components_target", "target SVD of `Y`")
        self.target_svd_ = None
        if t is not None and t >= 1:
            self.target_svd_ = TruncatedSVD(t, random_state=self.random_state)
            Y = self.target_svd_.fit_transform(Y)
        _synchronize(ns)
        timings["target_svd"] = time.perf_counter() - t0

        train_dev = to_device(np.asarray(train), ns)
        Z_train = Z_all[train_dev]
        Z_predict = Z_all if predict_all else None
        del Z_all
        # every fit builds the kernel of its own cells and factorizes it in place: the
        # largest memory is one half's kernel, not the kernel of all training cells
        self.dual_coef_ = xp.zeros((len(halves), n, Y.shape[1]), dtype=dtype)
        self.fit_cells_ = np.zeros((len(halves), n), dtype=bool)
        kernel_time, fit_times = 0.0, []
        show = self.progress if self.progress is not None else n >= PROGRESS_MIN_CELLS
        # one fit on all cells keeps its Cholesky factor: the posterior std of predictions
        single = len(halves) == 1 and len(halves[0]) == n
        self.factor_ = self.target_variance_ = None
        for f, half in enumerate(progress_bar(halves, desc="kernel ridge fits", disable=not show)):
            t0 = time.perf_counter()
            half_dev = to_device(half, ns)
            Z_half = Z_train[half_dev]
            K = kernel_matrix(Z_half, Z_half, self.kernel, self.gamma, ns)
            del Z_half
            _synchronize(ns)
            t1 = time.perf_counter()
            if single:
                coef, self.factor_ = cholesky_solve(K, Y, self.alpha, ns, keep_factor=True)
                self.dual_coef_[f] = coef
                # the GP's prior variance of each target column, by maximum likelihood:
                # yᵀ (K + αI)⁻¹ y / n
                self.target_variance_ = (Y.astype(xp.float64) * coef).sum(axis=0) / n
                del coef
            else:
                self.dual_coef_[f, half_dev] = cholesky_solve(K, Y[half_dev], self.alpha, ns)
            del K
            self.fit_cells_[f, half] = True
            _synchronize(ns)
            kernel_time += t1 - t0
            fit_times.append(time.perf_counter() - t1)
        timings["kernel"] = kernel_time
        timings["fits"] = fit_times
        self.Z_train_ = Z_train
        self.n_features_in_ = X_all.shape[1]
        self.n_targets_ = n_targets
        self.timings_ = timings
        if not predict_all:
            return None
        t0 = time.perf_counter()
        out = self._predict_rows(Z_predict, ns)
        timings["predict"] = time.perf_counter() - t0
        return out

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
        >>> ModalityPredictor(10, 3).fit(X, Y).dual_coef_.shape  # one fit on all 60 cells
        (1, 60, 3)
        """
        X = check_input(X, "X")
        if X_unlabeled is not None:
            X_unlabeled = check_input(X_unlabeled, "X_unlabeled")
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
    def _unreduce(self, T: Any) -> Any:
        """Regression outputs back through the target SVD (the GaussRank scale, if any)."""
        return T if self.target_svd_ is None else self.target_svd_.inverse_transform(T)

    def _unscale(self, Y: Any) -> Any:
        """Back from the GaussRank scale, with ``target_transform="gaussrank"``."""
        return Y if self.target_scaler_ is None else self.target_scaler_.inverse_transform(Y)

    def _predict_rows(self, Z: Any, ns: Namespace) -> tuple[Any, Any]:
        """Mean and standard deviation of the predictions for the z-scored components ``Z``.

        One block of cells at a time (:func:`predict_row_bytes` each, at most
        ``BLOCK_BYTES`` per block): its kernel rows, then every fit's predictions, summed.
        The standard deviation is the spread over the bagged fits, or, for one fit on all
        cells, the Gaussian-process posterior standard deviation (:meth:`_posterior_std`).
        """
        xp = ns.xp
        # copies on Z's device when the model lives on another one: the model stays as it is
        Z_train, dual_coef = to_device(self.Z_train_, ns), to_device(self.dual_coef_, ns)
        factor = getattr(self, "factor_", None)
        factor = None if factor is None else to_device(factor, ns)
        n_fits, n_train, n_scores = dual_coef.shape
        dtype = Z_train.dtype
        mean = xp.empty((Z.shape[0], self.n_targets_), dtype=dtype)
        std = xp.empty_like(mean)
        row_bytes = predict_row_bytes(
            n_train, n_scores, self.n_targets_, dtype.itemsize, posterior=factor is not None
        )
        step = block_rows(Z.shape[0], row_bytes)
        for start in range(0, Z.shape[0], step):
            rows = slice(start, start + step)
            K = kernel_matrix(Z[rows], Z_train, self.kernel, self.gamma, ns)
            total = xp.zeros((K.shape[0], self.n_targets_), dtype=xp.float64)
            total_sq = xp.zeros_like(total) if factor is None else None
            for coef in dual_coef:
                pre = self._unreduce(K @ coef)
                Y = xp.asarray(self._unscale(pre), dtype=xp.float64)
                if self.clip_min is not None:
                    xp.maximum(Y, self.clip_min, out=Y)
                total += Y
                if total_sq is not None:
                    Y *= Y
                    total_sq += Y
                del Y
            if factor is not None:  # one fit: ``pre`` is its prediction before GaussRank
                std[rows] = self._posterior_std(Z[rows], K, factor, pre, ns)
            del K, pre
            total /= n_fits
            mean[rows] = total
            if total_sq is not None:
                total_sq /= n_fits
                total_sq -= total * total
                std[rows] = xp.sqrt(xp.maximum(total_sq, 0, out=total_sq), out=total_sq)
        return mean, std

    def _posterior_std(self, Z: Any, K: Any, factor: Any, pre: Any, ns: Namespace) -> Any:
        """Posterior standard deviation of each target for one fit on all training cells.

        Each regression target (target SVD component) ``c`` is a Gaussian process with
        covariance ``σ_c² k`` and noise ``σ_c² alpha``, whose kernel ridge fit is the
        posterior mean; ``σ_c²`` is its maximum-likelihood value given ``alpha``. The
        latent posterior variance of a cell is ``σ_c² v(x)`` (:func:`posterior_variance`),
        mapped to the targets through the target SVD (``Σ_c σ_c² W_cj²``, the components
        taken as independent), and through the inverse GaussRank by the width of its
        image of ``pre ± std`` (``pre``: the prediction on the GaussRank scale).
        """
        xp = ns.xp
        prior = (Z.astype(xp.float64) ** 2).sum(axis=1) if self.kernel == "linear" else 1.0
        v = posterior_variance(K, factor, prior, ns)
        sigma2 = to_device(self.target_variance_, ns)
        if self.target_svd_ is None:
            per_target = sigma2
        else:
            W = to_device(self.target_svd_.components_, ns).astype(xp.float64)
            per_target = sigma2 @ (W * W)
        std = xp.sqrt(v[:, None] * per_target[None, :])
        if self.target_scaler_ is not None:
            pre = xp.asarray(pre, dtype=xp.float64)
            upper = self._unscale((pre + std).astype(Z.dtype))
            lower = self._unscale((pre - std).astype(Z.dtype))
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
            Also return the standard deviation over the bagged fits.

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
        >>> model = ModalityPredictor(10, 3, n_repeats=1).fit(X, Y)
        >>> mean, std = model.predict(X[:4], return_std=True)
        >>> mean.shape, std.shape
        ((4, 5), (4, 5))
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        X = check_input(X, "X")
        check_n_features(X, self.n_features_in_, self)
        ns = get_namespace(X)
        self._check_predict_memory(X.shape[0], ns)
        n = self.Z_train_.shape[0]
        with blas_threads_for(X.shape[0] * max(n, X.shape[1]), ns):
            Z = self.source_svd_.transform(X).astype(self.Z_train_.dtype, copy=False)
            mean, std = self._predict_rows(zscore_rows(Z, ns), ns)
        if getattr(self, "_y_ndim", 2) == 1:  # files saved before 1-D targets hold 2-D ones
            mean, std = mean[:, 0], std[:, 0]
        return (mean, std) if return_std else mean

    # --- persistence ------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the fitted model to ``path``: an ``.npz`` of arrays and JSON, no pickle.

        A model of one fit on all training cells (the default) also holds the Cholesky
        factor its posterior standard deviation needs: ``n²`` floats (1.6 GB at 20,000
        training cells in float32); a bagged model holds only its coefficients.
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
        >>> model = ModalityPredictor(10, 3, n_repeats=1).fit(X, Y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> model.save(path)
        >>> back = ModalityPredictor.load(path)
        >>> bool(np.allclose(back.predict(X[:3]), model.predict(X[:3])))
        True
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This ModalityPredictor is not fitted yet; call `fit` first.")
        write_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> ModalityPredictor:
        """Read a model written by :meth:`save` (CPU arrays; ``predict`` moves them).

        The whole file is checked here: a missing file raises ``FileNotFoundError``; a
        truncated, damaged or foreign file, one of another format version, or one whose
        arrays or parameters do not fit together raises a ``ValueError`` naming the path
        and what is wrong.

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
