"""Blending the predictions of several regression heads: equal weights, or stacked.

``"stack"`` fits non-negative weights that sum to 1 on the heads' out-of-fold
predictions (least squares over every cell and target, scipy's ``nnls`` with the sum
asked by one heavily weighted extra row); if that blend
does not beat the best single head's out-of-fold RMSE, all the weight goes to that head
and the caller is told so (a blend that cannot help is not used).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import nnls

from .._backend import to_numpy
from ..metrics import rmse

ENSEMBLES = ("mean", "stack")


def blend_weights(
    predictions: dict[str, Any], Y: Any, ensemble: str
) -> tuple[dict[str, float], str | None]:
    """Weights of the heads (summing to 1), and a note when the stack fell back.

    Parameters
    ----------
    predictions
        Out-of-fold ``(m, p)`` predictions of each head (needed for ``"stack"``; for
        ``"mean"`` only the names are used).
    Y
        ``(m, p)`` measured targets of the same cells.
    ensemble
        ``"mean"``: equal weights. ``"stack"``: non-negative least squares on the
        out-of-fold predictions, normalized; the best head alone if the blend's RMSE is
        not lower than its own.

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> P = {"a": Y + [[0.5], [-0.5], [0.5], [-0.5]], "b": Y - [[0.5], [-0.5], [0.5], [-0.5]]}
    >>> weights, note = blend_weights(P, Y, "stack")
    >>> {k: round(v, 3) for k, v in weights.items()}, note
    ({'a': 0.5, 'b': 0.5}, None)
    """
    names = list(predictions)
    if ensemble not in ENSEMBLES:
        raise ValueError(f"`ensemble` must be one of {ENSEMBLES}; got {ensemble!r}.")
    if ensemble == "mean" or len(names) == 1:
        return {name: 1.0 / len(names) for name in names}, None
    Y = np.asarray(to_numpy(Y), dtype=np.float64)
    P = [np.asarray(to_numpy(predictions[name]), dtype=np.float64) for name in names]
    A = np.stack([p.ravel() for p in P], axis=1)
    # non-negative least squares on the simplex: a heavily weighted row asks Σ w = 1
    scale = 1e3 * np.sqrt((A * A).sum(axis=0).max())
    w, _ = nnls(np.vstack([A, np.full((1, len(names)), scale)]), np.r_[Y.ravel(), scale])
    single = [float(rmse(Y, p)) for p in P]
    best = int(np.argmin(single))
    if w.sum() > 0:
        w = w / w.sum()
        blended = float(rmse(Y, (A @ w).reshape(Y.shape)))
        if blended < single[best]:
            return dict(zip(names, w.tolist(), strict=True)), None
    note = (
        f"the stacked blend does not lower the out-of-fold RMSE of the best head "
        f"({names[best]!r}, {single[best]:.4f}); using that head alone"
    )
    return {name: float(i == best) for i, name in enumerate(names)}, note


__all__ = ["ENSEMBLES", "blend_weights"]
