"""GaussRankScaler against an independent oracle (scipy.stats.rankdata + scipy.special.ndtri)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import ndtri
from scipy.stats import rankdata

import scmodal as sm
import scmodal._backend as backend
from scmodal.models import GaussRankScaler

from .conftest import host


def oracle(X):
    """Per column: average ranks of the non-NaN values, then Φ⁻¹((r − 0.5) / n)."""
    X = np.asarray(X, dtype=np.float64)
    out = np.full(X.shape, np.nan)
    for j in range(X.shape[1]):
        ok = ~np.isnan(X[:, j])
        if ok.any():
            out[ok, j] = ndtri((rankdata(X[ok, j]) - 0.5) / ok.sum())
    return out


def with_ties_and_nan(rng, n=300, p=12, dtype=np.float32):
    X = rng.standard_normal((n, p)).astype(dtype)
    X[:, 1] = rng.integers(0, 4, n)  # heavy ties
    X[:, 2] = 7.0  # constant
    X[rng.random((n, p)) < 0.05] = np.nan
    X[:, 3] = np.nan  # all NaN
    X[:, 4] = np.round(X[:, 4], 1)  # some ties
    return X


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.float16])
def test_transform_matches_oracle(device, to_dev, dtype):
    rng = np.random.default_rng(0)
    X = with_ties_and_nan(rng)
    if np.issubdtype(dtype, np.integer):
        X = np.nan_to_num(X * 10).astype(dtype)
    else:
        X = X.astype(dtype)
    Z = GaussRankScaler().fit_transform(to_dev(X))
    assert Z.dtype == np.float32
    expected = oracle(X)
    np.testing.assert_array_equal(np.isnan(host(Z)), np.isnan(expected))
    np.testing.assert_allclose(host(Z), expected, atol=2e-6, equal_nan=True)


def test_constant_feature_maps_to_zero_and_nan_stays_nan():
    X = np.array([[3.0, np.nan], [3.0, 1.0], [3.0, 2.0]])
    Z = GaussRankScaler().fit_transform(X)
    assert (Z[:, 0] == 0).all()
    assert np.isnan(Z[0, 1]) and Z[1, 1] < 0 < Z[2, 1]


def test_real_adt_matrix_matches_oracle(device, to_dev):
    X = sm.datasets.bmmc_cite()["prot"].X  # sparse CSC float64, real CLR-like ADT values
    Z = GaussRankScaler().fit_transform(to_dev(X))
    np.testing.assert_allclose(host(Z), oracle(X.toarray()), atol=2e-6)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_equals_dense(device, to_dev, fmt, dtype):
    rng = np.random.default_rng(1)
    S = sp.random(400, 30, density=0.2, format=fmt, random_state=2, dtype=dtype)
    S.data -= 0.3  # negative values sort before the implicit zeros
    S.data[::7] = 0.0  # explicit zeros tie with the implicit ones
    S.data[::11] = np.round(S.data[::11], 1)
    dense = S.toarray()
    dense[:, 5] = 0.0  # an all-zero column
    S = sp.csr_matrix(dense) if fmt == "csr" else sp.csc_matrix(dense)
    if fmt == "coo":
        S = S.tocoo()
    dense[rng.integers(0, 400, 5), 3] = 0.0
    scaler_s, scaler_d = GaussRankScaler(), GaussRankScaler()
    Zs = scaler_s.fit_transform(to_dev(S))
    Zd = scaler_d.fit_transform(to_dev(S.toarray()))
    np.testing.assert_array_equal(host(Zs), host(Zd))
    np.testing.assert_array_equal(host(scaler_s.quantiles_), host(scaler_d.quantiles_))
    np.testing.assert_allclose(host(Zd), oracle(S.toarray()), atol=2e-6)


def test_sparse_nan_and_duplicates():
    S = sp.coo_matrix(
        (np.array([1.0, 2.0, np.nan, 5.0]), (np.array([0, 0, 1, 2]), np.array([0, 0, 0, 1]))),
        shape=(4, 2),
    )  # (0, 0) is stored twice: it means 1 + 2 = 3
    S = sp.csc_matrix(S)
    S.has_canonical_format = False
    Z = GaussRankScaler().fit_transform(S)
    np.testing.assert_allclose(Z, oracle(S.toarray()), atol=2e-6, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_exact_round_trip(device, to_dev, dtype):
    rng = np.random.default_rng(3)
    X = with_ties_and_nan(rng)
    X = np.nan_to_num(X * 100).astype(dtype) if dtype == np.int64 else X.astype(dtype)
    scaler = GaussRankScaler()
    back = scaler.inverse_transform(scaler.fit_transform(to_dev(X)))
    assert np.array_equal(host(back), X.astype(back.dtype), equal_nan=True)
    assert back.dtype == (np.float32 if dtype == np.float32 else np.float64)


def test_exact_round_trip_real_sparse(device, to_dev):
    X = sm.datasets.bmmc_cite()["prot"].X
    scaler = GaussRankScaler()
    back = scaler.inverse_transform(scaler.fit_transform(to_dev(X)))
    assert np.array_equal(host(back), X.toarray())


def test_column_blocks_with_different_widths(monkeypatch, device, to_dev):
    """Many small column blocks (threads on CPU) with different numbers of distinct values."""
    monkeypatch.setattr(backend, "BLOCK_ELEMENTS", 500)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((200, 23)).astype(np.float32)
    X[:, :7] = np.round(X[:, :7])  # few distinct values in the first blocks
    scaler = GaussRankScaler()
    Z = scaler.fit_transform(to_dev(X))
    np.testing.assert_allclose(host(Z), oracle(X), atol=2e-6)
    assert np.array_equal(host(scaler.inverse_transform(Z)), X)
    assert list(scaler.n_ref_) == [len(np.unique(X[:, j])) for j in range(23)]


def test_transform_new_data_is_monotone_and_clipped(device, to_dev):
    rng = np.random.default_rng(5)
    X = rng.gamma(2.0, size=(500, 6)).astype(np.float32)
    scaler = GaussRankScaler()
    Z_fit = scaler.fit_transform(to_dev(X))
    # fitted values get exactly their fitted scores
    assert np.array_equal(host(scaler.transform(to_dev(X))), host(Z_fit))
    grid = np.repeat(np.linspace(-1.0, X.max() + 1.0, 2000, dtype=np.float32)[:, None], 6, 1)
    Zg = host(scaler.transform(to_dev(grid)))
    assert (np.diff(Zg, axis=0) >= 0).all()
    lo, hi = host(Z_fit).min(axis=0), host(Z_fit).max(axis=0)
    np.testing.assert_array_equal(Zg[0], lo)  # below the fitted range: the lowest score
    np.testing.assert_array_equal(Zg[-1], hi)  # above: the highest
    # between two fitted values the score lies between theirs
    col = np.sort(X[:, 0])
    mid = (col[10] + col[11]) / 2
    z = host(scaler.transform(to_dev(np.full((1, 6), mid, dtype=np.float32))))[0, 0]
    z10, z11 = oracle(X)[np.argsort(X[:, 0])[[10, 11]], 0]
    assert z10 <= z <= z11


def test_inverse_of_unseen_scores_is_monotone_and_bounded():
    rng = np.random.default_rng(6)
    X = rng.lognormal(size=(300, 4))
    scaler = GaussRankScaler().fit(X)
    z = np.repeat(np.linspace(-8, 8, 1001)[:, None], 4, 1)
    back = scaler.inverse_transform(z)
    assert (np.diff(back, axis=0) >= 0).all()
    np.testing.assert_array_equal(back[0], X.min(axis=0))
    np.testing.assert_array_equal(back[-1], X.max(axis=0))


def test_n_quantiles_subsamples_the_reference():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((1000, 3))
    X[:, 2] = np.round(X[:, 2])  # < 20 distinct values: kept whole
    scaler = GaussRankScaler(n_quantiles=50)
    Z = scaler.fit_transform(X)
    assert list(scaler.n_ref_) == [50, 50, len(np.unique(X[:, 2]))]
    q = scaler.quantiles_[0, :50]
    assert q[0] == X[:, 0].min() and q[-1] == X[:, 0].max() and (np.diff(q) > 0).all()
    np.testing.assert_allclose(Z, oracle(X), atol=1e-6)  # scores stay exact
    back = scaler.inverse_transform(Z)
    assert np.array_equal(back[:, 2], X[:, 2])  # exact where all values were kept
    # elsewhere interpolated: each value comes back between the knots that enclose it
    i = np.clip(np.searchsorted(q, X[:, 0], side="right") - 1, 0, 48)
    assert ((q[i] <= back[:, 0]) & (back[:, 0] <= q[i + 1])).all()
    assert (np.diff(back[np.argsort(X[:, 0]), 0]) >= 0).all()


def test_from_reference_round_trip():
    X = np.random.default_rng(8).standard_normal((50, 3)).astype(np.float32)
    scaler = GaussRankScaler()
    Z = scaler.fit_transform(X)
    rebuilt = GaussRankScaler.from_reference(scaler.reference_, n_samples=50)
    assert np.array_equal(rebuilt.inverse_transform(Z), X)
    assert np.array_equal(rebuilt.transform(X), Z)


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.array([[1.0, np.inf]]), ValueError, "inf"),
        (np.array([["a", "b"]], dtype=object), TypeError, "not a number"),
        (np.array([["a", "b"]]), TypeError, "dtype"),
        (np.array([[1 + 2j]]), ValueError, "Complex data not supported"),
        (np.zeros((0, 3)), ValueError, "empty"),
        (np.zeros(3), ValueError, "2-D"),
        ("text", TypeError, "array"),
    ],
)
def test_bad_input(X, error, match):
    with pytest.raises(error, match=match):
        GaussRankScaler().fit_transform(X)


def test_bad_parameters_and_unfitted():
    with pytest.raises(ValueError, match="n_quantiles"):
        GaussRankScaler(n_quantiles=1).fit(np.ones((3, 2)))
    with pytest.raises(TypeError, match="n_quantiles"):
        GaussRankScaler(n_quantiles=2.5).fit(np.ones((3, 2)))
    with pytest.raises(Exception, match="not fitted"):
        GaussRankScaler().transform(np.ones((3, 2)))
    scaler = GaussRankScaler().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="features"):
        scaler.inverse_transform(np.ones((3, 5)))
