"""Cross-validation pieces for kernel ridge heads: the folds, and every alpha at once.

The folds follow scikit-learn: :class:`~sklearn.model_selection.GroupKFold` over batches
when there are enough of them (cells of a batch never on both sides), else shuffled
:class:`~sklearn.model_selection.KFold` over cells. The ridge path gives the validation
predictions of kernel ridge regression for a whole list of ``alpha`` values from one
eigendecomposition of the training kernel: ``K = Q Λ Qᵀ`` makes
``(K + αI)⁻¹ Y = Q (Λ + αI)⁻¹ Qᵀ Y`` a diagonal scaling per ``alpha``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, KFold

from .._backend import Namespace


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
