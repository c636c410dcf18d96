"""Piecewise-linear, monotone interpolation of every column on its own knots.

All the columns of a block are searched at once, with a fixed number of array operations
(no Python loop over columns: on the GPU, one block of all columns, the kernel launches
and host reads do not grow with the number of columns; the CPU takes blocks of a few
columns, whose work arrays stay in cache). Each column's range of knots is cut into
``4 k`` equal buckets; the buckets of all columns are numbered one after the other, so
that one ``bincount`` of the knots' bucket numbers and its cumulative sum give, for every
bucket of every column, the range of knots in it. A query finds its bucket arithmetically
and then the last knot ``<= q`` inside that bucket by a binary search of
``bit_length(largest bucket)`` steps, all queries in lockstep. Knots and queries go through
the same monotone bucket function and the final comparisons are made on the values
themselves (in float64, exact for float32 and float64), so the result equals
``searchsorted(x, q, side="right")`` exactly. Knots that crowd into a few buckets only
lengthen the binary search (at most ``log2(k) + 1`` steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .._backend import Namespace
from .._typing import Array

_BUCKETS_PER_KNOT = 4
_CACHE_ELEMENTS = 1 << 15


def interp_columns(
    Q: Array,
    x_knots: Array,
    y_knots: Array,
    n_knots: np.ndarray,
    ns: Namespace,
    dtype: DTypeLike,
) -> Array:
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

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> x = np.array([[0.0, 1.0, 3.0], [5.0, np.nan, np.nan]])
    >>> y = np.array([[0.0, 10.0, 20.0], [7.0, np.nan, np.nan]])
    >>> Q = np.array([[-1.0, 5.0], [2.0, np.nan], [1.0, 9.0]])
    >>> interp_columns(Q, x, y, np.array([3, 1]), CPU, np.float64)
    array([[ 0.,  7.],
           [15., nan],
           [10.,  7.]])
    """
    xp = ns.xp
    n, p = Q.shape
    out = xp.empty((n, p), dtype=dtype, order="F")
    n_knots = np.asarray(n_knots, dtype=np.int64)
    # the GPU takes all columns at once; the CPU sub-blocks small enough for the work
    # arrays (a few float64 and int64 (n, columns) arrays) to stay in cache
    step = max(1, p if ns.is_gpu else _CACHE_ELEMENTS // max(n, 1))

    def work(cols: slice) -> None:
        for a in range(cols.start, cols.stop, step):
            sub = slice(a, min(a + step, cols.stop))
            # inf - inf and inf * 0 (infinite queries or knots) are expected on the way
            with np.errstate(invalid="ignore", over="ignore"):
                r = _interp_block(Q[:, sub], x_knots[sub], y_knots[sub], n_knots[sub], ns)
            out[:, sub] = r.T

    ns.map_columns(work, p, n)
    return out


def _padded_knots(knots: Any, ns: Namespace) -> Any:
    """The ``(b, K)`` knots row after row as float64, between a -inf and a NaN.

    ``padded[1 + j K + i]`` is ``knots[j, i]``: ``padded[c]`` is the knot just before
    flat position ``c``, and the trailing NaN keeps ``j K + 2`` in range for one knot.
    """
    xp = ns.xp
    padded = xp.empty(knots.size + 2, dtype=xp.float64)
    padded[:1] = -np.inf
    padded[1:-1] = knots.reshape(-1)
    padded[-1:] = np.nan
    return padded


def _searchsorted_padded(
    padded: Any, width: int, n_knots: np.ndarray, qd: Any, ns: Namespace
) -> Any:
    """``searchsorted(x[j, :n_knots[j]], qd[j], side="right")`` for every row ``j``.

    Parameters
    ----------
    padded
        The ``(b, width)`` knots ``x`` as :func:`_padded_knots` lays them out,
        non-decreasing along the first ``n_knots[j]`` entries of each row.
    width
        Row length of ``x``.
    n_knots
        Host integer array ``(b,)``.
    qd
        ``(b, m)`` float64 queries, row ``j`` searched in row ``j`` of ``x``.
    ns
        The array namespace.

    Returns
    -------
    ``(b, m)`` int64 array of flat positions ``j width + searchsorted(...)``; a NaN
    query gets some position in ``[j width, j width + n_knots[j]]``.
    """
    xp = ns.xp
    b = n_knots.shape[0]
    # Row j has query buckets 0 .. top[j] and one bucket after them for its padding;
    # the rows' buckets are numbered one after the other from base[j].
    top = _BUCKETS_PER_KNOT * n_knots
    base = np.zeros(b, dtype=np.int64)
    np.cumsum(top[:-1] + 2, out=base[1:])
    row_start = np.arange(b, dtype=np.int64) * width
    last = row_start + np.maximum(n_knots - 1, 0)
    consts = xp.asarray(
        np.stack(
            [n_knots, top, base, base + top + 1, row_start + n_knots, row_start + 1, last + 1]
        )[:, :, None]
    )
    k, top_d, base_d, pad_bucket, row_end, first_knot, last_knot = (consts[i] for i in range(7))
    n_buckets = int(top.sum()) + 2 * b

    lo, hi = xp.take(padded, first_knot), xp.take(padded, last_knot)
    span = hi - lo
    ok = xp.isfinite(span) & (span > 0)
    scale = xp.where(ok, top_d / xp.where(ok, span, 1.0), 0.0)
    top_f = top_d.astype(xp.float64)

    def bucket(v: Any) -> Any:
        """Global bucket number of float64 ``v`` ``(b, m)``, monotone along each row.

        ``(v - lo) * scale`` is monotone in ``v`` in floating point as well; NaN (an
        infinite difference times a zero scale) goes to the top bucket via ``fmin``.
        """
        f = v - lo
        f *= scale
        xp.floor(f, out=f)
        xp.fmin(f, top_f, out=f)
        xp.fmax(f, 0.0, out=f)
        i = f.astype(xp.int64)
        i += base_d
        return i

    # first[g]: flat position of the first knot in bucket g (the padding counted in its
    # own bucket after its row's, so that first[base[j]] == j width)
    knot_bucket = bucket(padded[1:-1].reshape(b, width))
    is_padding = xp.arange(width, dtype=xp.int64)[None, :] >= k
    knot_bucket = xp.where(is_padding, pad_bucket, knot_bucket)
    counts = ns.bincount(knot_bucket.reshape(-1), minlength=n_buckets)
    del knot_bucket, is_padding
    first = xp.empty(n_buckets + 1, dtype=xp.int64)
    first[:1] = 0
    xp.cumsum(counts, out=first[1:])
    counts[pad_bucket] = 0
    longest = int(counts.max())  # the number of steps below (cupy.bincount reads twice)

    # Binary lifting from the start of the query's bucket: the knots of lower buckets
    # are <= q, those of higher buckets > q, and q's bucket holds < 2 * step knots.
    # A step to `cand` passes over the knot at flat position cand - 1 (padded[cand]);
    # capping at the row's end keeps every probe on the row's own knots.
    pos = xp.take(first, bucket(qd))
    step = 1 << max(longest.bit_length() - 1, 0)
    cand = xp.empty_like(pos)
    while step:
        xp.add(pos, step, out=cand)
        xp.minimum(cand, row_end, out=cand)
        xp.copyto(pos, cand, where=xp.take(padded, cand) <= qd)
        step >>= 1
    return pos


def _interp_block(q: Any, x_knots: Any, y_knots: Any, k_host: np.ndarray, ns: Namespace) -> Any:
    """:func:`interp_columns` of one column block ``q`` ``(n, b)``; float64 ``(b, n)``.

    The work arrays are ``(b, n)``, a column's queries side by side, so that the gathers
    of neighbouring queries fall on the same column's knots.
    """
    xp = ns.xp
    b, width = x_knots.shape
    xe = _padded_knots(x_knots, ns)
    ye = _padded_knots(y_knots, ns)
    qd = q.T.astype(xp.float64, order="C")
    pos = _searchsorted_padded(xe, width, k_host, qd, ns)

    row_start = np.arange(b, dtype=np.int64) * width + 1  # positions in xe, ye
    consts = xp.asarray(
        np.stack(
            [
                k_host,
                row_start,
                row_start + np.maximum(k_host - 1, 0),
                row_start + np.maximum(k_host - 2, 0),
            ]
        )[:, :, None]
    )
    k, first_knot, last_knot, last_start = (consts[i] for i in range(4))
    # the interval [x0, x1] starts at the last knot <= q, within the row's intervals:
    # xe position row_start + clip(count - 1, 0, k - 2), where pos = row_start - 1 + count
    xp.maximum(pos, first_knot, out=pos)
    xp.minimum(pos, last_start, out=pos)
    # t = (q - x0) / step and r = y0 + t (y1 - y0), in this order: exactly y0 at x0
    x0 = xp.take(xe, pos)
    pos += 1
    t = xp.take(xe, pos)
    t -= x0  # the step
    not_positive = t > 0
    xp.logical_not(not_positive, out=not_positive)  # also NaN
    xp.copyto(t, 1.0, where=not_positive)
    del not_positive
    xp.subtract(qd, x0, out=x0)
    xp.divide(x0, t, out=t)
    del x0
    r = xp.take(ye, pos)
    pos -= 1
    y0 = xp.take(ye, pos)
    del pos
    r -= y0
    r *= t
    r += y0
    del t, y0
    xp.copyto(r, xp.take(ye, first_knot), where=qd <= xp.take(xe, first_knot))
    xp.copyto(r, xp.take(ye, last_knot), where=qd >= xp.take(xe, last_knot))
    xp.copyto(r, np.nan, where=k == 0)
    return r
