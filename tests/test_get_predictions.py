"""sm.get.predictions: the stored predictions as an AnnData scanpy can plot."""

from __future__ import annotations

import matplotlib.pyplot as plt
import mudata as mu
import numpy as np
import pytest
import scanpy as sc

import scmodal as sm
from tests.snapshot import unchanged

from .conftest import host

KEY = "prot_predicted"


@pytest.fixture(scope="module")
def partial():
    """BMMC with 50 test cells missing from the protein modality."""
    full = sm.datasets.bmmc_cite()
    test_names = full.obs_names[~full.obs["is_train"].to_numpy()]
    dropped = test_names[:50]
    prot = full["prot"][~full["prot"].obs_names.isin(dropped)].copy()
    mdata = mu.MuData({"rna": full["rna"].copy(), "prot": prot})
    mdata.obs["is_train"] = full.obs["is_train"].reindex(mdata.obs_names).to_numpy()
    sm.pp.tsvd(mdata, n_comps=20, mod="rna")
    mdata["rna"].obsm["X_umap"] = mdata["rna"].obsm["X_tsvd"][:, :2]  # stands in for a UMAP
    sm.tl.predict_modality(
        mdata, train="is_train", n_repeats=1, n_components_source=30, n_components_target=10
    )
    return mdata, dropped


def test_contents(partial):
    mdata, dropped = partial
    rna, prot = mdata["rna"], mdata["prot"]
    pred = sm.get.predictions(mdata)
    assert pred.shape == (rna.n_obs, prot.n_vars)
    assert list(pred.obs_names) == list(rna.obs_names)
    assert list(pred.var_names) == list(prot.var_names)
    np.testing.assert_array_equal(pred.X, rna.obsm[KEY].to_numpy(dtype=np.float32))
    np.testing.assert_allclose(pred.layers["std"], rna.obsm[KEY + "_std"].to_numpy(), rtol=1e-6)
    measured = pred.layers["measured"]
    in_prot = rna.obs_names.isin(prot.obs_names)
    assert np.isnan(measured[~in_prot]).all() and (~in_prot).sum() == 50
    rows = prot.obs_names.get_indexer(rna.obs_names[in_prot])
    np.testing.assert_array_equal(measured[in_prot], host(prot.X)[rows].astype(np.float32))
    roles = pred.obs[KEY + "_role"].value_counts()
    assert (roles["train"], roles["held out"], roles["not measured"]) == (311, 239, 50)
    assert set(pred.obs_names[pred.obs[KEY + "_role"] == "not measured"]) == set(dropped)
    assert set(rna.obs.columns) <= set(pred.obs.columns)
    assert "X_tsvd" in pred.obsm and KEY not in pred.obsm and KEY + "_std" not in pred.obsm
    np.testing.assert_array_equal(pred.obsm["X_tsvd"], rna.obsm["X_tsvd"])
    assert pred.uns["predictions"] == {"key": KEY, "source": "rna", "target": "prot"}


def test_scanpy_plots_color_by_predictions(partial):
    mdata, _ = partial
    rna, prot = mdata["rna"], mdata["prot"]
    pred = sm.get.predictions(mdata)
    j = prot.var_names.get_loc("CD4")
    ax = sc.pl.umap(pred, color="CD4", sort_order=False, show=False)
    points = ax.collections[0]
    np.testing.assert_array_equal(points.get_offsets(), rna.obsm["X_umap"])
    np.testing.assert_allclose(points.get_array(), rna.obsm[KEY]["CD4"].to_numpy(), rtol=1e-6)
    ax = sc.pl.umap(pred, color="CD4", layer="measured", sort_order=False, show=False)
    colors = np.ma.masked_invalid(ax.collections[0].get_array())
    in_prot = rna.obs_names.isin(prot.obs_names)
    assert np.ma.getmaskarray(colors).tolist() == (~in_prot).tolist()  # NaN: not measured
    rows = prot.obs_names.get_indexer(rna.obs_names[in_prot])
    np.testing.assert_allclose(colors[in_prot].data, host(prot.X)[rows, j], rtol=1e-6)
    axes = sc.pl.umap(pred, color=["CD4", KEY + "_role"], show=False)
    assert [ax.get_title() for ax in axes] == ["CD4", KEY + "_role"]
    plt.close("all")


def test_bad_inputs(partial):
    mdata, _ = partial
    cases = [
        ({"key": "nope"}, ValueError, "holds no predictions"),
        ({"key": 3}, TypeError, "key"),
        ({"source": "atac"}, ValueError, "not a modality"),
        ({"source": "prot"}, ValueError, "has no"),
    ]
    for kwargs, error, match in cases:
        with pytest.raises(error, match=match), unchanged(mdata):
            sm.get.predictions(mdata, **kwargs)
    with pytest.raises(TypeError, match="MuData"), unchanged(mdata["rna"]):
        sm.get.predictions(mdata["rna"])
