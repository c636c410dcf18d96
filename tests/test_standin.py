"""The cupy stand-in of ``tests/standin`` refuses what cupy 13.6 refuses, with cupy's
exception types, and otherwise gives numpy's results.

Except where a test takes the ``standin`` fixture, these are statements about cupy itself:
on a GPU machine they run on real cupy and check the stand-in's claims.
"""

from __future__ import annotations

import anndata as ad
import cupy
import cupyx
import cupyx.scipy.linalg
import cupyx.scipy.sparse as cs
import cupyx.scipy.special
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.special
from anndata._core.views import CupyArrayView, CupySparseCSCView, CupySparseCSRView


def host(x):
    """numpy values of a stand-in array or sparse matrix (without scmodal)."""
    return x.get().toarray() if cs.issparse(x) else cupy.asnumpy(x)


A = np.arange(12.0).reshape(3, 4) - 5
S = sp.random(6, 5, density=0.4, format="csr", random_state=0, dtype=np.float64)
SPD = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])


def _x():
    return cupy.asarray(A)


REFUSED = {
    "np.asarray": (TypeError, lambda: np.asarray(_x())),
    "np.array": (TypeError, lambda: np.array(_x())),
    "__array__": (TypeError, lambda: _x().__array__()),
    "x + numpy": (TypeError, lambda: _x() + np.ones(4)),
    "numpy + x": (TypeError, lambda: np.ones(4) + _x()),
    "ufunc, 0-d numpy": (TypeError, lambda: cupy.add(_x(), np.array(1.0))),
    "ufunc, list": (TypeError, lambda: cupy.maximum(_x(), [1, 2, 3, 4])),
    "where, numpy": (TypeError, lambda: cupy.where(_x() > 0, np.ones(4), 0)),
    "concatenate, numpy": (TypeError, lambda: cupy.concatenate([_x(), A])),
    "function, list": (TypeError, lambda: cupy.where(_x() > 0, _x(), [0.0, 1.0, 2.0, 3.0])),
    "numpy function cupy lacks": (TypeError, lambda: np.linalg.multi_dot([_x(), _x().T, _x()])),
    "name cupy lacks": (AttributeError, lambda: cupy.asmatrix),
    "basic setitem, numpy": (ValueError, lambda: _x().__setitem__(slice(1), np.ones(4))),
    "fill, numpy": (ValueError, lambda: _x().fill(np.ones(2))),
    "astype casting": (TypeError, lambda: _x().astype(np.float32, casting="same_kind")),
    "len of 0-d": (TypeError, lambda: len(_x().sum())),
    "bincount, empty": (ValueError, lambda: cupy.bincount(cupy.zeros(0, dtype=np.int64))),
    "bincount, float": (TypeError, lambda: cupy.bincount(cupy.ones(3))),
    "bincount, numpy": (TypeError, lambda: cupy.bincount(np.arange(3))),
    "linalg, numpy": (np.linalg.LinAlgError, lambda: cupy.linalg.cholesky(SPD)),
    "errstate, divide": (NotImplementedError, lambda: cupyx.seterr(divide="raise")),
    "csr of numpy": (ValueError, lambda: cs.csr_matrix(A)),
    "csr of ints": (ValueError, lambda: cs.csr_matrix(S.astype(np.int64))),
    "coo of numpy": (TypeError, lambda: cs.coo_matrix(A)),
    "sparse astype copy=": (TypeError, lambda: cs.csr_matrix(S).astype(np.float32, copy=False)),
    "csc.multiply(csc)": (TypeError, lambda: cs.csc_matrix(S).multiply(cs.csc_matrix(S))),
    "csr.multiply(numpy)": (TypeError, lambda: cs.csr_matrix(S).multiply(S.toarray())),
    "len of sparse": (TypeError, lambda: len(cs.csr_matrix(S))),
    "cho_factor": (AttributeError, lambda: cupyx.scipy.linalg.cho_factor),
    "solve_triangular, numpy": (
        np.linalg.LinAlgError,
        lambda: cupyx.scipy.linalg.solve_triangular(SPD, cupy.ones(3)),
    ),
    "special, numpy": (TypeError, lambda: cupyx.scipy.special.ndtri(np.full(3, 0.5))),
}


CUPY_VERSION = tuple(int(v) for v in cupy.__version__.split(".")[:2])


@pytest.mark.parametrize("case", REFUSED)
def test_refuses_as_cupy(case):
    error, call = REFUSED[case]
    if case == "sparse astype copy=" and CUPY_VERSION >= (14, 2):
        pytest.skip("cupyx 14.2 added astype(copy=)")
    with pytest.raises(error):
        call()


def test_refuses_numpy_conversion_of_sparse(standin):
    """cupyx lets numpy make an object array of it; the stand-in says where it went wrong."""
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(cs.csr_matrix(S))
    with pytest.raises(TypeError, match="Implicit conversion"):  # cupyx: a ValueError of numpy
        cs.csr_matrix(S) @ np.ones(5)


ALLOWED = {
    "numpy ufunc": lambda xp, sparse, a: np.isnan(a),
    "operators": lambda xp, sparse, a: (2 - a) * a / 3 + (a > 1) - a**2 // 2 % 3,
    "matmul": lambda xp, sparse, a: a @ a.T,
    "reductions": lambda xp, sparse, a: a.sum(axis=0) + a.mean() + a.max(axis=1)[0] + xp.std(a),
    "sort": lambda xp, sparse, a: xp.take_along_axis(a, xp.argsort(-a, axis=1), axis=1),
    "searchsorted": lambda xp, sparse, a: xp.searchsorted(a.ravel(), a[0], side="right"),
    "lexsort": lambda xp, sparse, a: xp.lexsort(xp.stack([a[0] % 2, a[1]])),
    "where, concatenate": lambda xp, sparse, a: xp.concatenate([xp.where(a > 0, a, 0), a]),
    "shapes, lists": lambda xp, sparse, a: (
        xp.zeros((3, 4)) + xp.percentile(a, [25, 75], axis=1)[0, :, None]
    ),
    "einsum": lambda xp, sparse, a: xp.einsum("ij,ij->j", a, a),
    "numpy index": lambda xp, sparse, a: a[np.array([2, 0]), [1, 3]],
    "bool mask": lambda xp, sparse, a: a[a > 0],
    "bincount": lambda xp, sparse, a: xp.bincount(xp.arange(4) % 3, weights=a[0], minlength=5),
    "unique": lambda xp, sparse, a: xp.unique(a % 3, return_counts=True)[1],
    "cholesky": lambda xp, sparse, a: xp.linalg.cholesky(a.T @ a + xp.eye(4)),
    "inv, solve": lambda xp, sparse, a: xp.linalg.solve(
        a @ a.T + xp.eye(3), xp.linalg.inv(a @ a.T + 1)
    ),
    "eigh": lambda xp, sparse, a: xp.linalg.eigh(a.T @ a)[0],
    "sparse sum": lambda xp, sparse, a: (
        sparse.csr_matrix(a).sum(axis=0) + sparse.csc_matrix(a).sum()
    ),
    "sparse product": lambda xp, sparse, a: (
        (sparse.csc_matrix(a).T @ a).sum(axis=1) + sparse.csr_matrix(a.T) @ a[:, 0]
    ),
    "sparse multiply": lambda xp, sparse, a: sparse.csr_matrix(a).multiply(a[0]).toarray(),
    "sparse index": lambda xp, sparse, a: sparse.csr_matrix(a)[[2, 0]][:, [1, 3]].toarray(),
    "vstack": lambda xp, sparse, a: sparse.vstack([sparse.csr_matrix(a)] * 2).toarray(),
}


@pytest.mark.parametrize("f", ALLOWED.values(), ids=ALLOWED)
def test_allowed_calls_give_numpy_results(f):
    expected = f(np, sp, A)
    got = f(cupy, cs, cupy.asarray(A))
    assert isinstance(got, cupy.ndarray), type(got)
    expected = np.asarray(expected)
    np.testing.assert_allclose(got.get(), expected, rtol=1e-10, atol=1e-10 * abs(expected).max())


def test_scalars_are_0d_arrays_and_views_share_memory():
    x = cupy.asarray(A)
    assert isinstance(x.sum(), cupy.ndarray) and x.sum().shape == ()
    view = x[1:, ::2]
    view[...] = 0
    x[0] = cupy.ones(4)
    x[[2], :1] = np.array([[7.0]])  # advanced indexing takes numpy values
    assert view.base is x and host(x)[1:, 2].tolist() == [0.0, 0.0]
    assert host(x)[2, 0] == 7.0 and host(x)[0].tolist() == [1.0] * 4
    assert x.astype(x.dtype, copy=False) is x and cupy.asarray(x) is x


def test_cholesky_is_silently_wrong_unless_errstate_raise():
    a = cupy.asarray(SPD - 3 * np.eye(3))
    L = cupy.linalg.cholesky(a)
    assert bool(cupy.isfinite(L).all()) and not np.allclose(host(L @ L.T), host(a))
    with cupyx.errstate(linalg="raise"), pytest.raises(np.linalg.LinAlgError):
        cupy.linalg.cholesky(a)
    with cupyx.errstate(linalg="raise"), pytest.raises(np.linalg.LinAlgError):
        cupy.linalg.inv(cupy.ones((2, 2)))
    assert cupyx.geterr()["linalg"] == "ignore"


def test_solve_triangular_as_scipy_and_in_place_with_overwrite_b():
    a, b = np.triu(SPD), np.arange(6.0).reshape(3, 2)
    expected = scipy.linalg.solve_triangular(a, b, trans="T")
    got = cupyx.scipy.linalg.solve_triangular(cupy.asarray(a), cupy.asarray(b), trans="T")
    np.testing.assert_allclose(host(got), expected)
    b_f = cupy.asfortranarray(cupy.asarray(b))
    assert cupyx.scipy.linalg.solve_triangular(cupy.asarray(a), b_f, overwrite_b=True) is b_f
    np.testing.assert_allclose(
        host(cupyx.scipy.special.ndtri(cupy.full(2, 0.3))), scipy.special.ndtri([0.3] * 2)
    )


def test_sparse_arrays_write_through_and_sum_duplicates_in_place():
    dup = sp.csr_matrix((np.ones(3), np.array([1, 0, 1]), np.array([0, 3, 3])), shape=(2, 2))
    m = cs.csr_matrix(dup)
    data = m.data
    m.data[0] = 5.0
    assert host(m)[0, 1] == 6.0
    doubled = m * 2  # cupyx sums duplicates of m first, in place: new arrays
    assert m.nnz == 2 and m.data is not data and m.has_canonical_format
    np.testing.assert_array_equal(host(doubled), 2 * host(m))
    assert isinstance(m.sum(), cupy.ndarray) and m.sum(axis=1).shape == (2, 1)


@pytest.mark.parametrize("fmt, view", [("csr", CupySparseCSRView), ("csc", CupySparseCSCView)])
def test_anndata_views_are_its_cupy_view_classes(fmt, view):
    dense = ad.AnnData(X=cupy.asarray(A))
    assert isinstance(dense[:2].X, CupyArrayView)
    assert type(dense[:2].copy().X) is cupy.ndarray
    np.testing.assert_array_equal(host(dense[[0, 2]].X), A[[0, 2]])
    sparse = ad.AnnData(X=getattr(cs, f"{fmt}_matrix")(S))
    sub = sparse[[1, 4]]
    assert isinstance(sub.X, view)
    np.testing.assert_array_equal(host(sub.copy().X), S[[1, 4]].toarray())


def test_counters_count_transfers_and_calls(standin):
    x = cupy.asarray(A)
    assert standin.stats.to_device == 1
    with standin.counting() as stats:
        repr(x), str(x)
        float(x[0, 0]), x.get(), x.sum().item(), cupy.asnumpy(x), bool(x[0, 0] > 0)
    assert stats.to_host == 5
    assert stats.calls == 4  # two x[0, 0], sum, >
    with standin.counting() as stats:
        cupy.bincount(cupy.arange(3))
    assert stats.to_host == 2  # cupy checks x < 0 and reads max(x) on the host
