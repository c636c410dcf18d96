"""Agreement between measured and predicted values: RMSE, Pearson and Spearman correlation."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import Namespace, get_namespace, is_sparse
from .._typing import Array, ArrayLike, Matrix
from ..ops._column_rank import rank_columns

AXES = (None, 0, 1)


def _numeric(y: Any, name: str) -> Any:
    """``y`` as a dense numeric array (sparse densified), or a TypeError naming ``name``."""
    y = y.toarray() if is_sparse(y) else y
    y = y if hasattr(y, "dtype") else np.asarray(y)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == np.bool_):
        raise TypeError(f"`{name}` must hold numbers; got dtype {y.dtype}.")
    return y


def _pair(y_true: Any, y_pred: Any, axis: int | None) -> tuple[Any, Any, Namespace]:
    if isinstance(axis, bool) or axis not in AXES:
        raise ValueError(
            f"`axis` must be None (overall), 0 (per feature) or 1 (per cell); got {axis!r}."
        )
    y_true, y_pred = _numeric(y_true, "y_true"), _numeric(y_pred, "y_pred")
    ns = get_namespace(y_true, y_pred)
    xp = ns.xp
    a, b = xp.asarray(y_true, dtype=xp.float64), xp.asarray(y_pred, dtype=xp.float64)
    if a.shape != b.shape:
        raise ValueError(f"`y_true` has shape {a.shape} but `y_pred` has shape {b.shape}.")
    if a.size == 0:
        raise ValueError("`y_true` and `y_pred` are empty.")
    if axis is not None and a.ndim != 2:
        raise ValueError(f"`axis={axis}` needs 2-D inputs (cells × features); got {a.ndim}-D.")
    return a, b, ns


def _result(value: Any, axis: int | None) -> Any:
    return float(value) if axis is None else value


def rmse(
    y_true: Matrix | ArrayLike, y_pred: Matrix | ArrayLike, *, axis: int | None = None
) -> float | Array:
    """Root mean squared error.

    Parameters
    ----------
    y_true, y_pred
        Arrays of the same shape (numpy or cupy; sparse is densified).
    axis
        ``None``: one number over all values; ``0``: per feature (column); ``1``: per cell.

    Returns
    -------
    A float for ``axis=None``, else an array on the inputs' device.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.metrics import rmse
    >>> rmse(np.array([[0.0, 1.0]]), np.array([[0.0, 3.0]]))
    1.4142135623730951
    """
    a, b, ns = _pair(y_true, y_pred, axis)
    return _result(ns.xp.sqrt(((a - b) ** 2).mean(axis=axis)), axis)


def _pearson(a: Any, b: Any, axis: int | None, ns: Namespace) -> Any:
    xp = ns.xp
    if axis is None:
        a, b, axis = a.reshape(-1), b.reshape(-1), 0
    a = a - a.mean(axis=axis, keepdims=True)
    b = b - b.mean(axis=axis, keepdims=True)
    num = (a * b).sum(axis=axis)
    den = xp.sqrt((a * a).sum(axis=axis) * (b * b).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        return xp.where(den > 0, num / xp.where(den > 0, den, 1), xp.nan)


def pearson(
    y_true: Matrix | ArrayLike, y_pred: Matrix | ArrayLike, *, axis: int | None = None
) -> float | Array:
    """Pearson correlation; NaN where either side is constant.

    Parameters
    ----------
    y_true, y_pred
        Arrays of the same shape (numpy or cupy; sparse is densified).
    axis
        ``None``: over all values; ``0``: per feature (column); ``1``: per cell (row).

    Returns
    -------
    A float for ``axis=None``, else an array on the inputs' device.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.metrics import pearson
    >>> y = np.array([[1.0, 2.0], [2.0, 1.0], [3.0, 5.0]])
    >>> pearson(y, 2 * y + 1, axis=0)
    array([1., 1.])
    """
    a, b, ns = _pair(y_true, y_pred, axis)
    return _result(_pearson(a, b, axis, ns), axis)


def _average_ranks(A: Any, ns: Namespace) -> Any:
    """Average ranks (1-based, ties share their mean rank) of every column of ``A``."""
    ranked = rank_columns(A, ns)
    groups = ranked.groups
    return ranked.unsort((groups.numerator[groups.element_group] + 1) / 2, ns.xp.float64, ns)


def spearman(
    y_true: Matrix | ArrayLike, y_pred: Matrix | ArrayLike, *, axis: int | None = None
) -> float | Array:
    """Spearman rank correlation: Pearson's on average ranks (ties share their mean rank).

    Parameters
    ----------
    y_true, y_pred
        Arrays of the same shape (numpy or cupy; sparse is densified).
    axis
        ``None``: over all values; ``0``: per feature (column); ``1``: per cell (row).

    Returns
    -------
    A float for ``axis=None``, else an array on the inputs' device.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.metrics import spearman
    >>> y = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> spearman(y, y ** 3)
    1.0
    """
    a, b, ns = _pair(y_true, y_pred, axis)
    if axis is None:
        a, b = a.reshape(-1, 1), b.reshape(-1, 1)
    elif axis == 1:
        a, b = a.T, b.T
    r = _pearson(_average_ranks(a, ns), _average_ranks(b, ns), 0, ns)
    return float(r[0]) if axis is None else r
