"""sm.pp.gaussrank / sm.pp.inverse_gaussrank on AnnData: storage, round trips, bad input."""

import anndata as ad
import numpy as np
import pytest
import scipy.sparse as sp

import scmodal as sm
from tests.snapshot import unchanged

from .conftest import host
from .test_gaussrank_scaler import oracle


@pytest.fixture
def prot():
    return sm.datasets.bmmc_cite()["prot"].copy()


def test_storage_keys_and_values(prot):
    X_before = prot.X.copy()
    assert sm.pp.gaussrank(prot) is None
    Z = prot.layers["gaussrank"]
    assert isinstance(Z, np.ndarray) and Z.dtype == np.float32 and Z.shape == prot.shape
    np.testing.assert_allclose(Z, oracle(prot.X.toarray()), atol=2e-6)
    assert (prot.X != X_before).nnz == 0  # input untouched
    ref = prot.varm["gaussrank"]
    assert ref.shape[0] == prot.n_vars and ref.shape[2] == 2
    n_distinct = [len(np.unique(prot.X[:, j].toarray())) for j in range(prot.n_vars)]
    assert list((~np.isnan(ref[..., 0])).sum(1)) == n_distinct
    params = prot.uns["gaussrank"]["params"]
    assert params == {"layer": "X", "n_quantiles": 100_000}
    assert prot.uns["gaussrank"]["n_obs"] == prot.n_obs


def test_layer_and_key_added(prot):
    prot.layers["log_counts"] = sp.csr_matrix(np.log1p(prot.layers["counts"].toarray()))
    sm.pp.gaussrank(prot, layer="log_counts", key_added="gr_counts")
    np.testing.assert_allclose(
        prot.layers["gr_counts"], oracle(prot.layers["log_counts"].toarray()), atol=2e-6
    )
    assert prot.uns["gr_counts"]["params"]["layer"] == "log_counts"
    sm.pp.inverse_gaussrank(prot, layer="gr_counts", key_added="back")
    np.testing.assert_array_equal(prot.layers["back"], prot.layers["log_counts"].toarray())


def test_copy_returns_new_object(prot):
    with unchanged(prot):
        out = sm.pp.gaussrank(prot, copy=True)
    assert isinstance(out, ad.AnnData) and "gaussrank" in out.layers
    back = sm.pp.inverse_gaussrank(out, copy=True)
    assert "gaussrank_inverse" in back.layers and "gaussrank_inverse" not in out.layers


def test_view_becomes_actual(prot):
    view = prot[prot.obs["is_train"].to_numpy()]
    assert view.is_view
    sm.pp.gaussrank(view)
    assert not view.is_view and view.layers["gaussrank"].shape == (311, 134)
    assert "gaussrank" not in prot.layers


def test_h5ad_round_trip_keeps_exact_inverse(prot, tmp_path):
    sm.pp.gaussrank(prot)
    path = tmp_path / "prot.h5ad"
    prot.write_h5ad(path)
    back = ad.read_h5ad(path)
    np.testing.assert_array_equal(back.varm["gaussrank"], prot.varm["gaussrank"])
    sm.pp.inverse_gaussrank(back)
    np.testing.assert_array_equal(back.layers["gaussrank_inverse"], prot.X.toarray())


def test_h5mu_round_trip(tmp_path):
    import mudata as md

    mdata = sm.datasets.bmmc_cite()
    sm.pp.gaussrank(mdata["prot"])
    mdata.write_h5mu(tmp_path / "d.h5mu")
    back = md.read_h5mu(tmp_path / "d.h5mu")
    sm.pp.inverse_gaussrank(back["prot"])
    np.testing.assert_array_equal(
        back["prot"].layers["gaussrank_inverse"], mdata["prot"].X.toarray()
    )


def test_reference_from_another_adata(prot):
    train = prot[prot.obs["is_train"].to_numpy()].copy()
    test = prot[~prot.obs["is_train"].to_numpy()].copy()
    sm.pp.gaussrank(train)
    # 'predictions' for the test cells in GaussRank space, features in another order
    test = test[:, test.var_names[::-1]].copy()
    rng = np.random.default_rng(0)
    test.layers["pred"] = rng.standard_normal(test.shape).astype(np.float32)
    sm.pp.inverse_gaussrank(test, layer="pred", reference=train, reference_key="gaussrank")
    out = test.layers["gaussrank_inverse"]
    for j, name in enumerate(test.var_names[:10]):
        col = train[:, name].X.toarray().ravel()
        assert col.min() <= out[:, j].min() and out[:, j].max() <= col.max()
        order = np.argsort(test.layers["pred"][:, j])
        assert (np.diff(out[order, j]) >= 0).all()
    # the training cells' own scores come back exactly, through the other object
    test2 = train.copy()
    del test2.varm["gaussrank"]
    test2 = test2[:, test2.var_names[::-1]].copy()
    sm.pp.inverse_gaussrank(test2, reference=train)
    np.testing.assert_array_equal(test2.layers["gaussrank_inverse"], test2.X.toarray())


def test_integer_and_dense_float64_input(prot):
    counts = ad.AnnData(prot.layers["counts"].toarray().astype(np.int64))
    sm.pp.gaussrank(counts)
    np.testing.assert_allclose(counts.layers["gaussrank"], oracle(counts.X), atol=2e-6)
    sm.pp.inverse_gaussrank(counts)
    assert np.array_equal(counts.layers["gaussrank_inverse"], counts.X)


def _bad_calls(prot):
    other = prot[:, prot.var_names[:10]].copy()
    other.var_names = [f"x{i}" for i in range(10)]
    sm.pp.gaussrank(other)
    inf = prot.copy()
    inf.X = inf.X.toarray()
    inf.X[0, 0] = np.inf
    strings = ad.AnnData(np.array([["a", "b"], ["c", "d"]], dtype=object))
    return [
        (prot, lambda a: sm.pp.gaussrank(a, layer="nope"), ValueError, "nope"),
        (inf, lambda a: sm.pp.gaussrank(a), ValueError, "inf"),
        (strings, lambda a: sm.pp.gaussrank(a), TypeError, "dtype"),
        (prot, lambda a: sm.pp.gaussrank(a, n_quantiles=0), ValueError, "n_quantiles"),
        (prot, lambda a: sm.pp.inverse_gaussrank(a), ValueError, "gaussrank"),
        (prot, lambda a: sm.pp.inverse_gaussrank(a, layer="counts"), ValueError, "reference"),
        (prot, lambda a: sm.pp.inverse_gaussrank(a, layer="nope"), ValueError, "nope"),
        (
            prot,
            lambda a: sm.pp.inverse_gaussrank(
                a, layer="counts", reference=other, reference_key="gaussrank"
            ),
            ValueError,
            "reference.var_names",
        ),
        (prot, lambda a: sm.pp.gaussrank(a.to_df()), TypeError, "AnnData"),
    ]


def test_bad_input_leaves_object_unchanged(prot):
    for adata, call, error, match in _bad_calls(prot):
        with pytest.raises(error, match=match), unchanged(adata):
            call(adata)


def test_empty_anndata():
    with pytest.raises(ValueError, match="empty"):
        sm.pp.gaussrank(ad.AnnData(np.zeros((0, 4), dtype=np.float32)))


def test_to_cpu_is_a_no_op_on_cpu_data(prot):
    X = prot.X
    sm.get.to_cpu(prot)
    assert prot.X is X
    with pytest.raises(TypeError, match="AnnData or MuData"):
        sm.get.to_cpu(np.zeros(3))


@pytest.mark.gpu
def test_gpu_anndata_round_trip(prot):
    import cupy

    sm.get.to_gpu(prot)
    assert isinstance(prot.layers["counts"], cupy.ndarray) or sp.issparse(
        prot.layers["counts"].get()
    )
    sm.pp.gaussrank(prot)
    assert isinstance(prot.layers["gaussrank"], cupy.ndarray)
    sm.pp.inverse_gaussrank(prot)
    assert isinstance(prot.layers["gaussrank_inverse"], cupy.ndarray)
    np.testing.assert_array_equal(host(prot.layers["gaussrank_inverse"]), host(prot.X))
    sm.get.to_cpu(prot)
    assert isinstance(prot.layers["gaussrank"], np.ndarray)
