"""TruncatedSVD and sm.pp.tsvd against numpy.linalg.svd, scipy svds and scikit-learn."""

import tracemalloc

import anndata as ad
import mudata as md
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles
from scipy.sparse.linalg import svds
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD

import scmodal as sm
from scmodal.models import TruncatedSVD
from tests.snapshot import unchanged

from .conftest import host


@pytest.fixture(scope="module")
def gex():
    return sm.datasets.bmmc_cite()["rna"].X.tocsr()  # real log-normalized GEX, 33% non-zero


def gex_like(n=3000, d=800, density=0.07, seed=0):
    """GEX-like sparse matrix: log1p Poisson counts over cell types (sm.datasets)."""
    return sm.datasets.synthetic_cite(n, d, 5, density=density, random_state=seed)["rna"].X


def noise_bulk(n=3000, d=800, density=0.07, seed=0):
    """A rank-one signal under a random mask: singular values 2... form a gapless bulk."""
    rng = np.random.default_rng(seed)
    S = sp.random(n, d, density=density, format="csr", random_state=seed, dtype=np.float64)
    S.data = np.log1p(10 * rng.random(S.nnz))
    return S


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_singular_values_match_numpy_on_real_gex(gex, dtype, device, to_dev):
    X = gex.astype(dtype)
    exact = np.linalg.svd(gex.toarray(), compute_uv=False)
    svd = TruncatedSVD(50)
    svd.fit(to_dev(X))
    s = host(svd.singular_values_)
    assert s.dtype == dtype
    assert np.abs(s[:10] / exact[:10] - 1).max() <= 1e-3
    assert (np.diff(s) <= 0).all()


def test_subspace_matches_svds_on_generated_sparse():
    X = gex_like().astype(np.float64)
    _u, s, vt = svds(X, k=20, tol=1e-10, random_state=0)
    order = np.argsort(-s)
    s, vt = s[order], vt[order]
    svd = TruncatedSVD(20, random_state=0).fit(X)  # the default settings
    assert np.abs(svd.singular_values_[:10] / s[:10] - 1).max() <= 1e-3
    angles = subspace_angles(svd.components_[:10].T, vt[:10].T)
    assert angles.max() < 1e-2
    # each leading component equals the oracle's up to sign, and the sign is sklearn's rule
    for i in range(5):
        v = vt[i] * np.sign(vt[i][np.argmax(np.abs(vt[i]))])
        np.testing.assert_allclose(svd.components_[i], v, atol=1e-4)


@pytest.mark.parametrize("n_iter", [5, 10])
def test_no_less_accurate_than_scikit_learn_without_a_spectral_gap(n_iter):
    """Where no randomized method reaches 1e-3 (a noise bulk), ours is as close as sklearn's."""
    X = noise_bulk()
    exact = np.linalg.svd(X.toarray(), compute_uv=False)[:10]
    ours = TruncatedSVD(20, n_iter=n_iter, random_state=0).fit(X).singular_values_[:10]
    theirs = SkTruncatedSVD(20, n_iter=n_iter, random_state=0).fit(X).singular_values_[:10]
    err_ours, err_sk = np.abs(ours / exact - 1).max(), np.abs(theirs / exact - 1).max()
    assert err_ours <= 1.1 * err_sk, (err_ours, err_sk)
    assert (ours <= exact * (1 + 1e-12)).all()  # Ritz values never exceed the true ones


def test_agrees_with_scikit_learn(gex):
    ours = TruncatedSVD(30, random_state=0)
    Xt = ours.fit_transform(gex)
    theirs = SkTruncatedSVD(30, random_state=0)
    Xt_sk = theirs.fit_transform(gex)
    np.testing.assert_allclose(ours.singular_values_[:10], theirs.singular_values_[:10], rtol=1e-3)
    np.testing.assert_allclose(ours.components_[:5], theirs.components_[:5], atol=1e-3)
    np.testing.assert_allclose(Xt[:, :5], Xt_sk[:, :5], atol=1e-3 * np.abs(Xt_sk).max())
    np.testing.assert_allclose(
        ours.explained_variance_ratio_[:10], theirs.explained_variance_ratio_[:10], rtol=1e-3
    )
    np.testing.assert_allclose(
        ours.explained_variance_[:10], theirs.explained_variance_[:10], rtol=1e-3
    )


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_equals_dense(fmt, device, to_dev):
    X = gex_like(n=500, d=200).asformat(fmt)
    a = TruncatedSVD(10, random_state=1)
    b = TruncatedSVD(10, random_state=1)
    Xa, Xb = a.fit_transform(to_dev(X)), b.fit_transform(to_dev(X.toarray()))
    np.testing.assert_allclose(host(a.singular_values_), host(b.singular_values_), rtol=1e-5)
    np.testing.assert_allclose(host(Xa), host(Xb), atol=1e-3)


def test_reproducible_with_fixed_seed(gex):
    a = TruncatedSVD(20, random_state=3).fit_transform(gex)
    b = TruncatedSVD(20, random_state=3).fit_transform(gex)
    c = TruncatedSVD(20, random_state=4, n_iter=0).fit_transform(gex)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("dense", [False, True])
def test_fit_transform_is_the_projection_on_the_components(gex, dtype, rtol, dense):
    """fit_transform(X) is X @ components_.T (numpy, float64), exactly transform(X): the
    training cells are embedded as new cells are; explained_variance_ is its variance."""
    X = gex.astype(dtype)
    svd = TruncatedSVD(50)
    Xt = svd.fit_transform(X.toarray() if dense else X)
    expected = gex.toarray() @ svd.components_.T.astype(np.float64)
    assert Xt.dtype == dtype
    np.testing.assert_allclose(Xt, expected, atol=rtol * np.abs(expected).max())
    np.testing.assert_array_equal(svd.transform(X.toarray() if dense else X), Xt)
    np.testing.assert_allclose(svd.explained_variance_, expected.var(axis=0), rtol=100 * rtol)


def test_fit_transform_equals_scikit_learn_when_converged(gex):
    """All 50 columns, not only the leading ones: scikit-learn's fit_transform (ARPACK)."""
    ours = TruncatedSVD(50, n_iter=40, n_oversamples=50).fit_transform(gex)
    theirs = SkTruncatedSVD(50, algorithm="arpack", tol=1e-14, random_state=0).fit_transform(gex)
    np.testing.assert_allclose(ours, theirs, atol=1e-7 * np.abs(theirs).max())


def test_transform_and_inverse_transform_exact_on_low_rank():
    rng = np.random.default_rng(0)
    X = (rng.random((300, 5)) @ rng.random((5, 120))).astype(np.float64)
    svd = TruncatedSVD(5)
    Xt = svd.fit_transform(sp.csr_matrix(X))
    np.testing.assert_allclose(svd.inverse_transform(Xt), X, atol=1e-10)
    np.testing.assert_allclose(svd.transform(X), Xt, atol=1e-10)


def test_sparse_input_is_never_densified():
    """Dense, this matrix would take 2 TB; the fit stays within a few hundred MB."""
    n, d, nnz = 1_000_000, 500_000, 1_000_000
    rng = np.random.default_rng(0)
    X = sp.csr_matrix(
        (rng.random(nnz, dtype=np.float32), (rng.integers(0, n, nnz), rng.integers(0, d, nnz))),
        shape=(n, d),
    )
    tracemalloc.start()
    try:
        Xt = TruncatedSVD(3, n_oversamples=2, n_iter=1).fit_transform(X)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert Xt.shape == (n, 3)
    factors = (n + d) * 5 * 4  # float32 factors of width k + oversamples
    assert peak < 12 * factors + 4 * X.data.nbytes, f"peak {peak / 1e6:.0f} MB"


@pytest.mark.parametrize(
    ("X", "k", "error", "match"),
    [
        (np.ones((5, 4)), 4, ValueError, "min"),
        (np.ones((5, 4)), 0, ValueError, "n_components"),
        (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), 1, ValueError, "NaN"),
        (sp.csr_matrix(np.array([[1.0, np.inf], [0.0, 1.0], [1.0, 1.0]])), 1, ValueError, "inf"),
        (np.zeros((0, 4)), 1, ValueError, "empty"),
    ],
)
def test_bad_input(X, k, error, match):
    with pytest.raises(error, match=match):
        TruncatedSVD(k).fit(X)


# --- sm.pp.tsvd -------------------------------------------------------------------------
def test_pp_tsvd_storage_and_h5ad_round_trip(tmp_path):
    rna = sm.datasets.bmmc_cite()["rna"].copy()
    sm.pp.tsvd(rna, n_comps=15)
    svd = TruncatedSVD(15, random_state=0)
    Xt = svd.fit_transform(rna.X)
    np.testing.assert_array_equal(rna.obsm["X_tsvd"], Xt)
    np.testing.assert_array_equal(rna.varm["X_tsvd"], svd.components_.T)
    # cell coordinates are the projection on the stored loadings (numpy, float64)
    expected = rna.X.toarray().astype(np.float64) @ rna.varm["X_tsvd"]
    np.testing.assert_allclose(rna.obsm["X_tsvd"], expected, atol=1e-12 * np.abs(expected).max())
    uns = rna.uns["X_tsvd"]
    np.testing.assert_array_equal(uns["singular_values"], svd.singular_values_)
    assert set(uns) == {"params", "singular_values", "variance", "variance_ratio"}
    assert uns["params"]["n_comps"] == 15 and uns["params"]["layer"] == "X"
    rna.write_h5ad(tmp_path / "rna.h5ad")
    back = ad.read_h5ad(tmp_path / "rna.h5ad")
    np.testing.assert_array_equal(back.obsm["X_tsvd"], rna.obsm["X_tsvd"])
    np.testing.assert_array_equal(back.uns["X_tsvd"]["variance_ratio"], uns["variance_ratio"])


def test_pp_tsvd_mudata_layer_key_and_copy(tmp_path):
    mdata = sm.datasets.bmmc_cite()
    out = sm.pp.tsvd(mdata, 10, mod="rna", layer="counts", key_added="X_counts_svd", copy=True)
    assert isinstance(out, md.MuData) and "X_counts_svd" in out["rna"].obsm
    assert "X_counts_svd" not in mdata["rna"].obsm
    sm.pp.tsvd(mdata, 10, mod="prot")
    assert mdata["prot"].obsm["X_tsvd"].shape == (600, 10)
    mdata.write_h5mu(tmp_path / "d.h5mu")
    assert md.read_h5mu(tmp_path / "d.h5mu")["prot"].obsm["X_tsvd"].shape == (600, 10)


def test_pp_tsvd_bad_input_leaves_object_unchanged():
    mdata = sm.datasets.bmmc_cite()
    rna = mdata["rna"]
    nan = rna.copy()
    nan.X = nan.X.toarray()
    nan.X[0, 0] = np.nan
    calls = [
        (rna, lambda a: sm.pp.tsvd(a, 600), "min"),
        (rna, lambda a: sm.pp.tsvd(a, 0), "n_comps"),
        (rna, lambda a: sm.pp.tsvd(a, 5, layer="nope"), "nope"),
        (nan, lambda a: sm.pp.tsvd(a, 5), "NaN"),
        (mdata, lambda a: sm.pp.tsvd(a, 5), "mod"),
        (mdata, lambda a: sm.pp.tsvd(a, 5, mod="atac"), "atac"),
    ]
    for obj, call, match in calls:
        with pytest.raises(ValueError, match=match), unchanged(obj):
            call(obj)
    with pytest.raises(ValueError, match="empty"):
        sm.pp.tsvd(ad.AnnData(np.zeros((0, 5), dtype=np.float32)), 2)


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_explained_variance_ratio_in_small_blocks_matches_numpy(fmt, monkeypatch):
    """The total variance is summed blockwise (never a copy of X); many blocks, same result."""
    import scmodal._backend as backend

    monkeypatch.setattr(backend, "BLOCK_ELEMENTS", 1000)
    X = gex_like(n=700, d=300).astype(np.float64)
    dense = X.toarray()
    svd = TruncatedSVD(8)
    Xt = svd.fit_transform(dense if fmt == "dense" else X.asformat(fmt))
    np.testing.assert_allclose(
        svd.explained_variance_ratio_, Xt.var(axis=0) / dense.var(axis=0).sum(), rtol=1e-10
    )
