"""Cross-validation of the regression heads: the folds, the grid search, every alpha at once.

The folds follow scikit-learn: :class:`~sklearn.model_selection.GroupKFold` over batches
when there are enough of them (cells of a batch never on both sides), else shuffled
:class:`~sklearn.model_selection.KFold` over cells. The ridge path gives the validation
predictions of kernel ridge regression for a whole list of ``alpha`` values from one
eigendecomposition of the training kernel: ``K = Q Λ Qᵀ`` makes
``(K + αI)⁻¹ Y = Q (Λ + αI)⁻¹ Qᵀ Y`` a diagonal scaling per ``alpha``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, KFold

from .._backend import Namespace, to_device, to_numpy
from .._progress import progress_bar
from ._heads import Head
from ._kernel_ridge import kernel_matrix


def cv_folds(
    n: int, groups: Any, n_splits: int, seed: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, validation)`` index pairs for ``n`` cells.

    Grouped K-fold over ``groups`` (scikit-learn's ``GroupKFold``) when they hold at
    least ``n_splits`` distinct groups; with 2 to ``n_splits − 1`` groups, one fold per
    group; with no or one group, a shuffled ``KFold`` over the cells.

    Examples
    --------
    >>> import numpy as np
    >>> folds = cv_folds(6, np.array(list("aabbcc")), 3, seed=0)
    >>> sorted("".join(sorted(set("aabbcc"[i] for i in val))) for _, val in folds)
    ['a', 'b', 'c']
    """
    if n_splits < 2:
        raise ValueError(f"cross-validation needs at least 2 folds; got {n_splits}.")
    index = np.zeros((n, 1))
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"`groups` must have one entry per cell ({n}).")
        n_groups = len(np.unique(groups))
        if n_groups >= 2:
            splitter = GroupKFold(min(n_splits, n_groups))
            return list(splitter.split(index, groups=groups))
    if n < n_splits:
        raise ValueError(f"{n_splits}-fold cross-validation needs at least {n_splits} cells.")
    return list(KFold(n_splits, shuffle=True, random_state=seed).split(index))


def kernel_ridge_path(K: Any, Y: Any, K_new: Any, alphas: list[float], ns: Namespace) -> list[Any]:
    """``K_new (K + αI)⁻¹ Y`` for every ``α`` in ``alphas``, from one eigendecomposition.

    Parameters
    ----------
    K
        ``(n, n)`` symmetric kernel of the training rows.
    Y
        ``(n, t)`` targets.
    K_new
        ``(m, n)`` kernel rows of the rows to predict.
    alphas
        Ridge penalties (≥ 0; ``K + αI`` must be invertible).
    ns
        The array namespace of the arrays.

    Returns
    -------
    One ``(m, t)`` float64 prediction per ``alpha``, in order.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> Y = np.array([[1.0], [0.0]])
    >>> [p.round(3).tolist() for p in kernel_ridge_path(K, Y, K, [1.0], CPU)]
    [[[0.625], [0.125]]]
    """
    xp = ns.xp
    eigenvalues, Q = xp.linalg.eigh(xp.asarray(K, dtype=xp.float64))
    QtY = Q.T @ xp.asarray(Y, dtype=xp.float64)
    KQ = xp.asarray(K_new, dtype=xp.float64) @ Q
    del Q
    return [KQ @ (QtY / (eigenvalues + float(alpha))[:, None]) for alpha in alphas]


# cells cross-validated by default: all up to this many, beyond it this many or 30 % of
# the training cells, whichever is more (the grid search then costs at most ~2 fits)
CV_MIN_CELLS = 2000
CV_SHARE = 0.3


def cv_cell_count(n: int, cv_cells: int | None) -> int:
    """Training cells the cross-validation uses: ``cv_cells``, or by default all up to
    2,000 and beyond that ``max(2000, 0.3 n)``.

    Examples
    --------
    >>> cv_cell_count(500, None), cv_cell_count(5000, None), cv_cell_count(20000, None)
    (500, 2000, 6000)
    """
    if cv_cells is not None:
        return min(n, cv_cells)
    return min(n, max(CV_MIN_CELLS, int(CV_SHARE * n)))


# more alphas than this: one eigendecomposition per fold serves them all; fewer: one
# Cholesky each (on 2 CPU cores a float64 eigh of 3,000 cells costs ~17 float32 Cholesky
# factorizations, and the path's K_new Q product more)
EIGH_MIN_ALPHAS = 16


def grid_points(head: Head, grids: dict[str, tuple[float, ...]]) -> list[dict[str, float]]:
    """Every combination of ``head``'s parameter values, the first parameter slowest."""
    points: list[dict[str, float]] = [{}]
    for name in head.params:
        points = [{**p, name: v} for p in points for v in grids[name]]
    return points


def cross_validate(
    Z: Any,
    T: Any,
    Y: Any,
    folds: list[tuple[np.ndarray, np.ndarray]],
    heads: list[Head],
    grids: dict[str, tuple[float, ...]],
    kernel: str,
    finish: Callable[[Any], Any],
    ns: Namespace,
    *,
    show: bool = False,
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Out-of-fold scores of every head at every point of its grid.

    Parameters
    ----------
    Z, T
        ``(m, k)`` z-scored source components and ``(m, s)`` regression targets of the
        cells cross-validated.
    Y
        ``(m, p)`` targets of the same cells on the scale predictions are scored on.
    folds
        ``(train, validation)`` index pairs (:func:`cv_folds`).
    heads, grids
        The heads, and the values of each of their parameters.
    kernel
        Kernel of the kernel heads (``"rbf"`` or ``"linear"``).
    finish
        Maps regression outputs (``(cells, s)``) to predictions on ``Y``'s scale
        (target SVD, inverse GaussRank, clipping).
    ns
        The array namespace of ``Z``.
    show
        Show a progress bar over the folds.

    Returns
    -------
    ``(results, predictions)``: for each head name, ``results[name]`` holds ``params``
    (its parameter names), ``grid`` (their values), ``rmse`` and ``pearson`` (arrays of
    one axis per parameter: the RMSE and the mean per-feature Pearson r of its
    out-of-fold predictions), ``best`` (the values chosen) with ``best_rmse``,
    ``best_pearson`` and ``chosen_by``; ``predictions[name]`` is its ``(m, p)``
    out-of-fold prediction at ``best``. The choice is the lowest RMSE, unless the grid
    holds the head's ``defaults`` (the winner's values) and the lowest beats them by no
    more than one standard error of the per-fold difference: then the defaults stay
    (out-of-fold noise does not move a setting known to hold across data sets).
    """
    points = {h.name: grid_points(h, grids) for h in heads}
    oof = {h.name: [ns.xp.zeros_like(T) for _ in points[h.name]] for h in heads}
    gammas = sorted({g for h in heads if h.kernel for g in grids["gamma"]})
    splits = [(to_device(train, ns), to_device(valid, ns)) for train, valid in folds]
    for tr, va in progress_bar(splits, desc="cross-validation folds", disable=not show):
        Z_tr, T_tr, Z_va = Z[tr], T[tr], Z[va]
        for gamma in gammas if gammas else [None]:
            K_tr = K_va = None
            if gamma is not None:
                K_tr = kernel_matrix(Z_tr, Z_tr, kernel, gamma, ns)
                K_va = kernel_matrix(Z_va, Z_tr, kernel, gamma, ns)
            for head in heads:
                mine = [i for i, p in enumerate(points[head.name]) if p.get("gamma") == gamma]
                fold = (Z_tr, T_tr, Z_va, K_tr, K_va)
                preds = _fold_predictions(head, [points[head.name][i] for i in mine], fold, ns)
                for i, pred in zip(mine, preds, strict=True):
                    oof[head.name][i][va] = pred
            del K_tr, K_va
    results, predictions = {}, {}
    for head in heads:
        anchor = next((i for i, p in enumerate(points[head.name]) if p == head.defaults), None)
        errors, correlations, fold_mse, kept = _scores(
            oof.pop(head.name), Y, finish, [va for _, va in splits], anchor
        )
        best = int(np.argmin(errors))
        chosen_by = "lowest RMSE"
        if anchor is not None and anchor != best and not _significant(fold_mse, anchor, best):
            best, chosen_by = anchor, "default: not significantly worse than the lowest"
        shape = tuple(len(grids[name]) for name in head.params)
        results[head.name] = {
            "params": list(head.params),
            "grid": {name: list(grids[name]) for name in head.params},
            "rmse": np.reshape(errors, shape),
            "pearson": np.reshape(correlations, shape),
            "best": dict(points[head.name][best]),
            "best_rmse": errors[best],
            "best_pearson": correlations[best],
            "chosen_by": chosen_by,
            "n_cells": Z.shape[0],
            "n_folds": len(folds),
        }
        predictions[head.name] = kept[best]
    return results, predictions


def _significant(fold_mse: np.ndarray, anchor: int, best: int) -> bool:
    """Whether grid point ``best`` beats ``anchor`` by more than one standard error of
    their per-fold difference in mean squared error."""
    d = fold_mse[anchor] - fold_mse[best]
    return bool(d.mean() > d.std(ddof=1) / np.sqrt(len(d)))


def _fold_predictions(
    head: Head, points: list[dict[str, float]], fold: tuple, ns: Namespace
) -> list[Any]:
    """Validation predictions of ``head`` at each of ``points`` in one fold.

    ``fold`` is ``(Z_train, T_train, Z_valid, K_train, K_valid)`` (the kernels ``None``
    for a head that takes no kernel). Kernel ridge with many ``alpha`` values takes them
    all from one eigendecomposition (:func:`kernel_ridge_path`).
    """
    Z_tr, T_tr, Z_va, K_tr, K_va = fold
    if head.name == "krr" and len(points) >= EIGH_MIN_ALPHAS:
        path = kernel_ridge_path(K_tr, T_tr, K_va, [p["alpha"] for p in points], ns)
        return [pred.astype(T_tr.dtype) for pred in path]
    out = []
    for point in points:
        model = head.build(point)
        if head.kernel:
            pred = model.fit(K_tr, T_tr).predict(K_va)
        else:
            pred = model.fit(Z_tr, T_tr).predict(Z_va)
        out.append(ns.xp.asarray(pred, dtype=T_tr.dtype).reshape(Z_va.shape[0], -1))
    return out


def _scores(
    predictions: list[Any],
    Y: Any,
    finish: Callable[[Any], Any],
    valid: list[Any],
    anchor: int | None,
) -> tuple[list[float], list[float], np.ndarray, dict[int, Any]]:
    """RMSE, mean per-feature Pearson r and per-fold mean squared error (``valid``: each
    fold's validation rows, on the device) of each out-of-fold prediction (mapped by
    ``finish``), and the mapped predictions of the lowest RMSE (the first, on a tie) and
    of ``anchor``, by index."""
    from ..metrics import pearson, rmse

    errors: list[float] = []
    correlations: list[float] = []
    fold_mse = np.zeros((len(predictions), len(valid)))
    kept: dict[int, Any] = {}
    for i, pred in enumerate(predictions):
        P = finish(pred)
        errors.append(float(rmse(Y, P)))
        correlations.append(float(np.nanmean(to_numpy(pearson(Y, P, axis=0)))))
        for f, va in enumerate(valid):
            fold_mse[i, f] = float(((Y[va] - P[va]) ** 2).mean())
        if errors[-1] < min(errors[:-1], default=np.inf):
            kept = {k: v for k, v in kept.items() if k == anchor}
            kept[i] = P
        elif i == anchor:
            kept[i] = P
        del P
    return errors, correlations, fold_mse, kept
