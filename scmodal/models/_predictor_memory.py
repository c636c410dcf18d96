"""Bytes that :class:`ModalityPredictor` allocates: what its memory guards count."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._backend import Namespace, is_gpu_array
from ._cross_validation import cv_cell_count, grid_points
from ._heads import HEADS, Head
from ._kernel_ridge import PREDICT_ADVICE, block_rows, check_kernel_memory, fit_advice

if TYPE_CHECKING:
    from ._modality_predictor import ModalityPredictor


def predict_row_bytes(
    n_train: int,
    n_scores: int,
    n_targets: int,
    itemsize: int,
    *,
    posterior: bool = False,
    bagged: bool = False,
    n_heads: int = 1,
) -> int:
    """Working bytes of one predicted cell inside a prediction block.

    Its kernel row (``n_train``; one per head at most, when the heads' ``gamma``
    differ; with ``bagged``, a copy of a half's columns for each fit), one fit's
    ``n_scores`` regression outputs and their ``n_targets`` predictions in the compute
    dtype, then those predictions, their sum and their sum of squares over the fits,
    the head's mean and standard deviation and the blend's in float64. With
    ``posterior`` (one fit on all cells), also its triangular solve against the
    Cholesky factor (``n_train``, and two float64 copies to square and sum it) and the
    standard deviations (``n_targets``, and four float64 arrays of them for the inverse
    GaussRank).
    """
    row = itemsize * (n_heads * n_train + n_scores + n_targets) + 8 * 5 * n_targets
    if bagged:
        row += itemsize * (n_train // 2 + 1)
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
    bagged: bool = False,
    n_heads: int = 1,
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
    >>> from scmodal.models._predictor_memory import modality_predictor_predict_bytes
    >>> modality_predictor_predict_bytes(1000, 5000, 300, 70, 134, 4) / 1e6
    28.448
    """
    components = itemsize * n_predict * n_components
    row_bytes = predict_row_bytes(
        n_train,
        n_scores,
        n_targets,
        itemsize,
        posterior=posterior,
        bagged=bagged,
        n_heads=n_heads,
    )
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
    n_heads: int = 1,
    n_work: int = 2,
) -> int:
    """Bytes the heads' part of :meth:`ModalityPredictor.fit` allocates.

    Kept through the fits: the z-scored components of the training cells
    (``n_train × n_components``), their ``n_scores`` regression targets, the
    coefficients of the ``n_heads`` heads in each of the ``n_fits`` fits
    (``largest_fit × n_scores`` each), the cell masks, and the components of the
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
    >>> from scmodal.models._predictor_memory import modality_predictor_fit_bytes
    >>> modality_predictor_fit_bytes(6000, 3000, 2, 50, 20, 4) / 1e6  # 36 MB kernel
    38.772
    """
    h = largest_fit
    kept = itemsize * (n_train * (n_components + n_scores) + n_heads * n_fits * h * n_scores)
    kept += 0 if gpu else n_fits * n_train  # the cell masks are host arrays
    squares = 2 if gpu else 1
    # the kernel is built from the fit's components, then solved for its targets
    one_fit = itemsize * (squares * h * h + h * max(n_components, n_work * n_scores))
    fitting = kept + itemsize * n_predict * n_components + one_fit
    if not n_predict:
        return fitting
    single = n_fits == 1 and h == n_train  # its Cholesky factor stays, for the std
    predicting = modality_predictor_predict_bytes(
        n_predict,
        n_train,
        n_components,
        n_scores,
        n_targets,
        itemsize,
        posterior=single,
        bagged=n_fits > 1,
        n_heads=n_heads,
    )
    return max(fitting, kept + single * itemsize * n_train * n_train + predicting)


def cross_validation_bytes(
    n_train: int,
    n_cells: int,
    n_folds: int,
    n_points: int,
    n_components: int,
    n_scores: int,
    n_targets: int,
    itemsize: int,
    *,
    n_heads: int = 1,
) -> int:
    """Bytes the cross-validation of :meth:`ModalityPredictor.fit` allocates.

    Kept: the training cells' components and regression targets (``n_train ×
    (n_components + n_scores)``); the ``n_cells`` cross-validated cells' components,
    regression targets and targets (float64), and one out-of-fold prediction of
    ``n_scores`` per cell for each of the ``n_points`` grid points of all heads. In a
    fold (``m`` training cells of ``n_cells``): its kernel, a copy that kernel ridge
    factorizes, the validation cells' kernel rows; then, scoring, two float64
    predictions per cell on the target scale and the best one of each head.

    Examples
    --------
    >>> from scmodal.models._predictor_memory import cross_validation_bytes
    >>> cross_validation_bytes(5000, 2000, 3, 25, 300, 70, 134, 4) / 1e6
    44.294224
    """
    m = n_cells - n_cells // n_folds
    kept = itemsize * n_train * (n_components + n_scores)
    kept += itemsize * n_cells * (n_components + n_scores + n_points * n_scores)
    kept += 8 * n_cells * n_targets
    fold = itemsize * (2 * m * m + (n_cells - m) * m)
    scoring = 8 * n_cells * n_targets * (2 + n_heads)
    return kept + max(fold, scoring)


def check_fit_memory(
    model: ModalityPredictor,
    source_shape: tuple[int, int],
    target_shape: tuple[int, int],
    halves: list[np.ndarray],
    predict_all: bool,
    itemsize: int,
    ns: Namespace,
    heads: list[Head],
    grids: dict[str, tuple[float, ...]],
) -> None:
    """``MemoryError`` (how much, how many training cells fit) if the fit will not fit."""
    n_train, n_targets = target_shape
    n_components = min(model.n_components_source, min(source_shape) - 1)
    n_scores = n_targets
    if model.n_components_target is not None and min(target_shape) > 1:
        n_scores = min(model.n_components_target, min(target_shape) - 1)
    largest = max(len(half) for half in halves)
    n_other = source_shape[0] - n_train if predict_all else 0
    cv = model._cross_validates(heads, grids)
    n_points = sum(len(grid_points(h, grids)) for h in heads)

    def largest_fit(n: int) -> int:  # in proportion (for random halves: ⌈n/2⌉)
        return (2 * n * largest + n_train) // (2 * n_train)

    def need(n: int) -> int:
        fitting = modality_predictor_fit_bytes(
            n,
            largest_fit(n),
            len(halves),
            n_components,
            n_scores,
            itemsize,
            gpu=ns.is_gpu,
            n_predict=n_other + n if predict_all else 0,
            n_targets=n_targets,
            n_heads=len(heads),
            n_work=max(h.work for h in heads),
        )
        if not cv:
            return fitting
        m = cv_cell_count(n, model.cv_cells)
        searching = cross_validation_bytes(
            n,
            m,
            model.cv,
            n_points,
            n_components,
            n_scores,
            n_targets,
            itemsize,
            n_heads=len(heads),
        )
        return max(fitting, searching)

    def task(n: int) -> str:
        h = largest_fit(n)
        what = f", then predicting {n_other + n:,} cells" if predict_all else ""
        fits = (
            f"one fit: a {h:,} × {h:,} kernel"
            if len(halves) == 1
            else f"{len(halves)} fits on up to {h:,} cells: {h:,} × {h:,} kernels"
        )
        search = f", cross-validating {n_points} settings" if cv else ""
        return (
            f"{' + '.join(h.label for h in heads)} on {n:,} training cells ({fits} of "
            f"{itemsize}-byte floats{search}{what})"
        )

    check_kernel_memory(n_train, need, ns, task=task, advice=fit_advice(ns))


def check_predict_memory(model: ModalityPredictor, n_predict: int, ns: Namespace) -> None:
    """``MemoryError`` (how much, how many cells fit per call) if ``predict`` will not fit."""
    n_train, n_components = model.Z_train_.shape
    itemsize = model.Z_train_.dtype.itemsize
    moved = 0  # the model's own arrays, copied when they live on the other device
    if is_gpu_array(model.Z_train_) != ns.is_gpu:
        moved = itemsize * model.Z_train_.size + sum(
            itemsize * a.size
            for name, fits in model.heads_.items()
            for model in fits
            for a in HEADS[name].arrays(model).values()
        )
    n_scores = model._n_scores()
    check_kernel_memory(
        n_predict,
        lambda n: (
            moved
            + modality_predictor_predict_bytes(
                n,
                n_train,
                n_components,
                n_scores,
                model.n_targets_,
                itemsize,
                posterior=model._posterior_head() is not None,
                bagged=len(model.fit_cells_) > 1,
                n_heads=len(model.heads_),
            )
        ),
        ns,
        task=lambda n: f"predicting {n:,} cells from {n_train:,} training cells",
        cells="cells",
        advice=PREDICT_ADVICE,
    )
