"""``scmodal.ops.interp_columns``: every column interpolated on its own knots, all columns
searched at once (``np.interp`` per column is the oracle)."""

from __future__ import annotations

import numpy as np
import pytest

from scmodal._backend import CPU, get_namespace, gpu_namespace, to_device
from scmodal.ops import _interp
from scmodal.ops._interp import _padded_knots, _searchsorted_padded, interp_columns

from .conftest import host


def _knots(rng: np.random.Generator, counts: list[int], dtype: type) -> tuple:
    """``(p, K)`` knots: x strictly increasing, y non-decreasing with ties; the padding
    after the ``counts[j]`` knots is finite junk, which must not matter."""
    width = max(max(counts), 1)
    x = np.full((len(counts), width), -5e3)
    y = np.full((len(counts), width), 99.0)
    for j, k in enumerate(counts):
        if j % 3 == 0:  # clumped: most knots in a tiny part of the range
            values = np.r_[rng.random(max(k - 1, 0)) * 1e-3, 1e3][:k]
        else:
            values = rng.standard_normal(k) * 3
        xs = np.unique(values.astype(dtype))
        while xs.size < k:  # rare float32 collisions
            xs = np.unique(np.r_[xs, rng.standard_normal(k - xs.size).astype(dtype)])
        x[j, :k] = xs[:k]
        y[j, :k] = np.sort(np.round(rng.standard_normal(k), 1))  # ties in y
    return x.astype(dtype), y.astype(dtype), np.asarray(counts, dtype=np.int64)


def _queries(rng: np.random.Generator, x: np.ndarray, counts: np.ndarray, n: int, dtype):
    """Random values, every knot, values outside the range, ±inf and NaN per column."""
    Q = (rng.standard_normal((n, x.shape[0])) * 4).astype(dtype)
    for j, k in enumerate(counts):
        m = min(k, n // 3)
        Q[:m, j] = x[j, rng.permutation(k)[:m]]
        if k:
            Q[m, j] = x[j, 0] - 1
            Q[m + 1, j] = x[j, k - 1] + 1
            Q[m + 2, j] = (x[j, 0] + x[j, k - 1]) / 2
    Q[-1, :] = np.nan
    Q[-2, :] = np.inf
    Q[-3, :] = -np.inf
    rng.shuffle(Q, axis=0)
    return Q


def _oracle(Q: np.ndarray, x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    out = np.full(Q.shape, np.nan)
    for j, k in enumerate(counts):
        q = Q[:, j].astype(np.float64)
        if k:
            xj, yj = x[j, :k].astype(np.float64), y[j, :k].astype(np.float64)
            out[:, j] = np.interp(q, xj, yj) if k > 1 else yj[0]
            out[np.isnan(q), j] = np.nan
    return out


def _check(got, Q, x, y, counts, dtype):
    want = _oracle(Q, x, y, counts)
    got = host(got)
    assert got.dtype == dtype
    assert got.shape == Q.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want.astype(dtype), rtol=rtol, atol=rtol)
    for j, k in enumerate(counts):  # exact at the knots and outside them
        if k:
            at_knot = np.isin(Q[:, j], x[j, :k])
            idx = np.searchsorted(x[j, :k], Q[at_knot, j])
            np.testing.assert_array_equal(got[at_knot, j], y[j, idx].astype(dtype))
            outside = Q[:, j] <= x[j, 0]
            np.testing.assert_array_equal(got[outside, j], y[j, 0].astype(dtype))
            outside = Q[:, j] >= x[j, k - 1]
            np.testing.assert_array_equal(got[outside, j], y[j, k - 1].astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "counts",
    [[7], [0], [1], [2], [0, 1, 2, 3, 200, 1, 0, 65, 2, 500, 4, 1000]],
    ids=["p1", "p1-empty", "p1-one", "p1-two", "many"],
)
def test_equals_np_interp_per_column(counts, dtype, device, to_dev):
    rng = np.random.default_rng(len(counts) + sum(counts))
    x, y, n_knots = _knots(rng, counts, dtype)
    Q = _queries(rng, x, n_knots, 300, dtype)
    ns = get_namespace(to_dev(Q))
    got = interp_columns(to_dev(Q), to_dev(x), to_dev(y), n_knots, ns, dtype)
    _check(got, Q, x, y, n_knots, dtype)


@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0)])
def test_empty(shape, device, to_dev):
    x = np.tile(np.arange(3.0), (shape[1], 1))
    ns = get_namespace(to_dev(x))
    got = interp_columns(
        to_dev(np.zeros(shape)), to_dev(x), to_dev(x), np.full(shape[1], 3), ns, np.float32
    )
    assert host(got).shape == shape


def test_mixed_dtypes_c_order_and_cpu_sub_blocks(monkeypatch):
    """float32 queries on float64 knots (and back), split into many CPU sub-blocks."""
    monkeypatch.setattr(_interp, "_CACHE_ELEMENTS", 3 * 40)  # 3 columns per sub-block
    rng = np.random.default_rng(5)
    counts = list(rng.integers(0, 30, 50))
    x, y, n_knots = _knots(rng, counts, np.float64)
    Q = np.ascontiguousarray(_queries(rng, x, n_knots, 40, np.float64).astype(np.float32))
    got = interp_columns(Q, x, y, n_knots, CPU, np.float64)
    _check(got, Q, x, y, n_knots, np.float64)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    Q64 = _queries(rng, x32, n_knots, 40, np.float64)
    got = interp_columns(Q64, x32, y32, n_knots, CPU, np.float32)
    _check(got, Q64, x32, y32, n_knots, np.float32)


def test_float64_knots_stay_exact_and_huge_ranges():
    """Knots one ulp apart and a range whose width overflows float64 (a zero bucket scale)."""
    x = np.array(
        [
            [1.0, np.nextafter(1.0, 2.0), np.nextafter(np.nextafter(1.0, 2.0), 2.0)],
            [-1e308, 0.0, 1e308],
        ]
    )
    y = np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0]])
    Q = np.array([[x[0, 1], 5e307], [x[0, 2], -1e308], [0.5, 1e308], [x[0, 0], 0.0]])
    got = interp_columns(Q, x, y, np.array([3, 3]), CPU, np.float64)
    np.testing.assert_array_equal(got, [[1.0, 0.5], [2.0, -1.0], [0.0, 1.0], [0.0, 0.0]])


@pytest.mark.parametrize("kind", ["normal", "duplicates", "clumped", "few", "constant"])
def test_search_equals_searchsorted_right(kind, device, to_dev):
    """The bucketed search of all rows at once is ``searchsorted(side="right")`` per row,
    also with repeated knots and with knots crowded into one bucket."""
    rng = np.random.default_rng(9)
    rows = {
        "normal": [np.sort(rng.standard_normal(5000)), np.sort(rng.standard_normal(70))],
        "duplicates": [np.sort(np.round(rng.standard_normal(5000), 2)), np.zeros(3)],
        "clumped": [np.sort(np.r_[rng.random(5000) * 1e-3, 1e6]), np.array([0.0, 1e-9, 1.0])],
        "few": [np.array([0.0, 1.0, 2.0]), np.array([]), np.array([5.0])],
        "constant": [np.full(100, 2.0), np.array([-np.inf, 0.0, np.inf])],
    }[kind]
    counts = np.array([r.size for r in rows])
    x = np.full((len(rows), max(counts.max(), 1)), np.nan, dtype=np.float32)
    for j, r in enumerate(rows):
        x[j, : r.size] = r
    q = rng.standard_normal((len(rows), 3000)).astype(np.float32) * 2
    for j, k in enumerate(counts):
        if k:
            q[j, : min(k, 1000)] = x[j, :k][:1000]
            q[j, -2:] = x[j, 0] - 1, x[j, k - 1] + 1
    q[:, -3] = np.nan
    ns = get_namespace(to_dev(x))
    padded = _padded_knots(to_dev(x), ns)
    with np.errstate(invalid="ignore"):  # inf - inf in the "constant" rows' buckets
        pos = _searchsorted_padded(padded, x.shape[1], counts, to_dev(q.astype(np.float64)), ns)
    pos = host(pos)
    for j, k in enumerate(counts):
        want = np.searchsorted(x[j, :k], q[j], side="right")
        number = ~np.isnan(q[j])  # a NaN query may get any position in its row
        np.testing.assert_array_equal(pos[j, number] - j * x.shape[1], want[number])
        assert (pos[j] - j * x.shape[1] >= 0).all() and (pos[j] - j * x.shape[1] <= k).all()


def test_gpu_work_does_not_grow_with_columns(standin):
    """On cupy data: as many host transfers and calls for 200 columns as for 10."""
    ns = gpu_namespace()
    rng = np.random.default_rng(3)
    x10, y10, n10 = _knots(rng, list(rng.integers(0, 60, 10)), np.float32)
    stats = []
    for p in (10, 200):
        # the same ten columns repeated, so the fullest bucket (the search's steps) is too
        x, y, n_knots = (
            np.tile(x10, (p // 10, 1)),
            np.tile(y10, (p // 10, 1)),
            np.tile(n10, p // 10),
        )
        Q = _queries(rng, x, n_knots, 100, np.float32)
        Qd, xd, yd = (to_device(a, ns) for a in (Q, x, y))
        with standin.counting() as s:
            got = interp_columns(Qd, xd, yd, n_knots, ns, np.float32)
            stats.append((s.to_host, s.to_device, s.calls))
        _check(got, Q, x, y, n_knots, np.float32)
    assert stats[0] == stats[1]
    assert stats[0][:2] == (3, 2)  # bincount's two reads, the search's steps; two tables
