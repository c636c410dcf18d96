"""Sorting and average ranks per column (dense) or per segment (flat, e.g. CSC data).

The fast path packs a float32 value and its row index into one uint64 key whose integer
order is the value order (the IEEE-754 "radix" trick), so that one plain ``sort`` along
the columns yields both the sorted values and the permutation; that sort is SIMD-accelerated
in numpy and a radix sort in cupy, several times faster than ``argsort``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._backend import Namespace
from .._typing import Array

_LOW32 = np.uint64(0xFFFFFFFF)
_SIGN32 = np.uint32(0x80000000)


def _orderable_bits(x32: Any, ns: Namespace) -> Any:
    """uint32 keys whose unsigned order is the float32 order; NaN sorts after +inf."""
    xp = ns.xp
    bits = x32.view(xp.int32)
    mask = bits >> 31  # -1 for negative floats, 0 otherwise
    mask |= np.int32(-(2**31))
    keys = (bits ^ mask).view(xp.uint32)
    nan = xp.isnan(x32)
    keys[nan] = np.uint32(0xFFFFFFFF)
    return keys


def _float_from_orderable(keys: Any, ns: Namespace) -> Any:
    """Inverse of :func:`_orderable_bits` (NaN keys decode to a NaN)."""
    xp = ns.xp
    positive = (keys & _SIGN32) != 0
    bits = xp.where(positive, keys ^ _SIGN32, ~keys)
    return bits.view(xp.float32)


def _packable(X: Any, ns: Namespace) -> bool:
    return X.dtype == ns.xp.float32 and X.shape[0] < 2**32


def sort_columns(X: Array, ns: Namespace) -> tuple[Array, Array]:
    """Sort every column of a dense 2-D array.

    Parameters
    ----------
    X
        Dense ``(n, p)`` float array (numpy or cupy); NaN sorts last.
    ns
        The array namespace of ``X``.

    Returns
    -------
    sorted_values, order
        Both ``(n, p)`` and Fortran-ordered: ``sorted_values[:, j] == X[order[:, j], j]``.
    """
    xp = ns.xp
    n = X.shape[0]
    X = xp.asfortranarray(X)
    if not _packable(X, ns):
        order = xp.argsort(X, axis=0)
        return xp.take_along_axis(X, order, axis=0), order
    keys = _orderable_bits(X, ns).astype(xp.uint64)
    keys <<= np.uint64(32)
    keys |= xp.arange(n, dtype=xp.uint64)[:, None]
    keys.T.sort(axis=-1)  # along the contiguous axis: cupy's radix sort, in place, no copy
    order = (keys & _LOW32).astype(xp.int64)
    keys >>= np.uint64(32)
    return _float_from_orderable(keys.astype(xp.uint32), ns), order


def sort_segments(values: Array, segments: Array, ns: Namespace) -> Array:
    """Permutation that sorts flat ``values`` by (segment, value); NaN last in a segment.

    Parameters
    ----------
    values
        1-D float array.
    segments
        1-D non-negative integer array of the same length (e.g. the column of each
        stored entry of a sparse matrix).
    ns
        The array namespace.
    """
    xp = ns.xp
    if values.dtype == xp.float32 and (segments.size == 0 or int(segments.max()) < 2**32):
        keys = segments.astype(xp.uint64) << np.uint64(32)
        keys |= _orderable_bits(values, ns).astype(xp.uint64)
        return xp.argsort(keys)
    values = values.astype(xp.float64)
    return xp.lexsort(xp.stack([values, segments.astype(xp.float64)]))


@dataclass
class TieGroups:
    """Runs of equal values in sorted segments, with their average ranks.

    Attributes
    ----------
    starts
        Flat index of the first element of each group, shape ``(G,)``.
    segment
        Segment of each group, ``(G,)``.
    numerator
        ``2 * average_rank - 1`` of each group (an integer, as float64), ``(G,)``:
        the group's normal score is ``ndtri(numerator / (2 * n_valid[segment]))``.
    valid
        Whether the group holds a number (not NaN), ``(G,)``.
    n_valid
        Total weight of non-NaN elements per segment, ``(n_segments,)``.
    element_group
        Group of every flat element, ``(N,)``.
    first_group
        Index of the first group of each segment, ``(n_segments,)`` (meaningless for
        empty segments).
    """

    starts: Array
    segment: Array
    numerator: Array
    valid: Array
    n_valid: Array
    element_group: Array
    first_group: Array


def tie_groups(
    sorted_values: Array, seg_ptr: Array, ns: Namespace, weights: Array | None = None
) -> TieGroups:
    """Group equal neighbours of segment-wise sorted values and give them average ranks.

    Parameters
    ----------
    sorted_values
        Flat values, sorted within each segment, NaN last in a segment.
    seg_ptr
        ``(n_segments + 1,)`` boundaries of the segments in ``sorted_values``.
    ns
        The array namespace.
    weights
        Optional integer multiplicity of each element (e.g. the number of implicit zeros
        a single stored zero stands for); ``None`` means 1 for all.
    """
    xp = ns.xp
    n_total = sorted_values.shape[0]
    new = xp.empty(n_total, dtype=bool)
    new[:1] = True
    xp.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    seg_starts = seg_ptr[:-1][seg_ptr[:-1] < seg_ptr[1:]]
    new[seg_starts] = True
    starts = xp.flatnonzero(new)
    element_group = xp.cumsum(new, dtype=xp.int64) - 1
    ends = xp.concatenate([starts[1:], xp.asarray([n_total], dtype=starts.dtype)])

    counts = xp.searchsorted(starts, seg_ptr)  # groups before each segment boundary
    segment = _repeat_ids(xp.diff(counts), ns)
    zero = xp.zeros(1, dtype=xp.int64)
    valid_elem = ~xp.isnan(sorted_values)
    all_valid = bool(valid_elem.all())
    if weights is None:
        lo = starts - seg_ptr[segment]
        count = ends - starts
        if all_valid:
            n_valid = xp.diff(seg_ptr)
        else:
            cum_valid = xp.concatenate([zero, xp.cumsum(valid_elem, dtype=xp.int64)])
            n_valid = cum_valid[seg_ptr[1:]] - cum_valid[seg_ptr[:-1]]
    else:
        cum = xp.concatenate([zero, xp.cumsum(weights, dtype=xp.int64)])
        lo = cum[starts] - cum[seg_ptr[segment]]
        count = cum[ends] - cum[starts]
        w_valid = weights * valid_elem
        cum_valid = xp.concatenate([zero, xp.cumsum(w_valid, dtype=xp.int64)])
        n_valid = cum_valid[seg_ptr[1:]] - cum_valid[seg_ptr[:-1]]
    lo *= 2
    lo += count
    numerator = lo.astype(xp.float64)
    valid = valid_elem[starts]
    first_group = element_group[xp.minimum(seg_ptr[:-1], max(n_total - 1, 0))]
    return TieGroups(
        starts=starts,
        segment=segment,
        numerator=numerator,
        valid=valid,
        n_valid=n_valid,
        element_group=element_group,
        first_group=first_group,
    )


def stored_value_columns(indptr: Array, values: slice, ns: Namespace) -> Array:
    """Column (major index) of the stored values ``values`` of a CSC (compressed) matrix.

    Stored value ``i`` belongs to the last column ``j`` with ``indptr[j] <= i``.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> stored_value_columns(np.array([0, 2, 2, 5]), slice(1, 5), CPU)
    array([0, 2, 2, 2])
    """
    xp = ns.xp
    positions = xp.arange(values.start, values.stop, dtype=indptr.dtype)  # no mixed-type search
    return xp.searchsorted(indptr, positions, side="right") - 1


def _repeat_ids(counts: Any, ns: Namespace) -> Any:
    """``[0]*counts[0] + [1]*counts[1] + ...`` as an int64 array."""
    xp = ns.xp
    if not ns.is_gpu:
        return np.repeat(np.arange(counts.size, dtype=np.int64), counts)
    total = int(counts.sum())
    marks = ns.bincount(xp.cumsum(counts)[:-1], minlength=total + 1)[:total]
    return xp.cumsum(marks, dtype=xp.int64)


def normal_scores(groups: TieGroups, ns: Namespace) -> Array:
    """Rank-based inverse normal scores ``ndtri((r - 0.5) / n)`` of every group (float64).

    NaN groups score NaN. When all segments hold the same number ``n`` of values and
    there are many groups, the scores come from one table of ``ndtri(m / 2n)``.
    """
    xp = ns.xp
    num = groups.numerator
    n_seg_of_group = groups.n_valid[groups.segment]
    n_values = groups.n_valid
    uniform = n_values.size > 0 and bool((n_values == n_values[0]).all())
    if uniform and int(n_values[0]) > 0 and num.size > int(n_values[0]) // 2:
        two_n = 2 * int(n_values[0])
        table = ns.special.ndtri(xp.arange(two_n, dtype=xp.float64) / two_n)
        idx = xp.where(groups.valid, num, 1).astype(xp.int64)
        scores = table[xp.clip(idx, 0, two_n - 1)]
    else:
        denom = xp.maximum(2 * n_seg_of_group, 1).astype(xp.float64)
        scores = ns.special.ndtri(num / denom)
    return xp.where(groups.valid, scores, xp.nan)


@dataclass
class RankedColumns:
    """The columns of a dense ``(n, p)`` matrix sorted and grouped into ties.

    Attributes
    ----------
    flat
        The sorted values, column after column, ``(n · p,)``.
    order
        ``(n, p)`` permutation: ``sorted[:, j] == X[order[:, j], j]``.
    offsets
        ``(p + 1,)`` start of each column in ``flat`` (``j · n``).
    groups
        The tie groups of ``flat`` (see :func:`tie_groups`).
    """

    flat: Any
    order: Any
    offsets: Any
    groups: TieGroups

    def unsort(self, element_values: Any, dtype: Any, ns: Namespace) -> Any:
        """Put one value per sorted element back in the matrix's cell order: ``(n, p)``."""
        n, p = self.order.shape
        out = ns.xp.empty((p, n), dtype=dtype)
        out.reshape(-1)[(self.order.T + self.offsets[:-1, None]).reshape(-1)] = element_values
        return out.T


def rank_columns(X: Any, ns: Namespace) -> RankedColumns:
    """Sort every column of a dense matrix and group its ties (average ranks).

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> r = rank_columns(np.array([[3.0], [1.0], [3.0]]), CPU)
    >>> ranks = (r.groups.numerator[r.groups.element_group] + 1) / 2
    >>> r.unsort(ranks, np.float64, CPU).ravel().tolist()
    [2.5, 1.0, 2.5]
    """
    n, p = X.shape
    sorted_values, order = sort_columns(X, ns)
    flat = sorted_values.T.reshape(-1)
    offsets = ns.xp.arange(p + 1, dtype=ns.xp.int64) * n
    return RankedColumns(flat, order, offsets, tie_groups(flat, offsets, ns))
