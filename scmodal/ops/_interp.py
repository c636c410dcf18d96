"""Piecewise-linear, monotone interpolation of every column on its own knots."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import Namespace


def interp_columns(
    Q: Any, x_knots: Any, y_knots: Any, n_knots: np.ndarray, ns: Namespace, dtype: Any
) -> Any:
    """Interpolate column ``j`` of ``Q`` on the knots ``(x_knots[j], y_knots[j])``.

    Parameters
    ----------
    Q
        Dense ``(n, p)`` query values.
    x_knots, y_knots
        ``(p, K)`` knots, increasing in ``x`` along each row; only the first
        ``n_knots[j]`` entries of row ``j`` are used (the rest is padding).
    n_knots
        Host (numpy) integer array ``(p,)``.
    ns
        The array namespace of ``Q`` and the knots.
    dtype
        dtype of the result.

    Returns
    -------
    ``(n, p)`` array: exactly ``y_knots[j, i]`` where a query equals ``x_knots[j, i]``,
    linear in between, the end values outside the knots, NaN for NaN and for columns
    without knots.
    """
    xp = ns.xp
    n, p = Q.shape
    out = xp.empty((n, p), dtype=dtype, order="F")

    def work(cols: slice) -> None:  # noqa: C901 - one column at a time
        for j in range(cols.start, cols.stop):
            k = int(n_knots[j])
            q = Q[:, j]
            if k == 0:
                out[:, j] = np.nan
                continue
            x = x_knots[j, :k]
            y = y_knots[j, :k].astype(xp.float64)
            if k == 1:
                out[:, j] = xp.where(xp.isnan(q), np.nan, y[0])
                continue
            i = xp.clip(xp.searchsorted(x, q, side="right") - 1, 0, k - 2)
            x0, x1 = x[i].astype(xp.float64), x[i + 1].astype(xp.float64)
            y0, y1 = y[i], y[i + 1]
            step = x1 - x0
            t = (q - x0) / xp.where(step > 0, step, 1.0)
            r = y0 + t * (y1 - y0)
            r = xp.where(q <= x[0], y[0], r)
            r = xp.where(q >= x[k - 1], y[k - 1], r)
            out[:, j] = r

    ns.map_columns(work, p, n)
    return out
