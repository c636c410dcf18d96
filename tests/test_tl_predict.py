"""sm.tl.predict_modality on the bundled BMMC CITE-seq data: keys, round trips, bad input."""

import mudata as md
import numpy as np
import pandas as pd
import pytest

import scmodal as sm
from scmodal.models import ModalityPredictor

FAST = {"n_components_source": 30, "n_components_target": 10, "n_repeats": 1}


@pytest.fixture
def mdata():
    return sm.datasets.bmmc_cite()


def test_keys_dataframes_and_values(mdata, tmp_path):
    sm.tl.predict_modality(mdata, train="is_train", **FAST)
    rna, prot = mdata["rna"], mdata["prot"]
    pred = rna.obsm["prot_predicted"]
    assert isinstance(pred, pd.DataFrame) and pred.shape == (600, 134)
    assert list(pred.columns) == list(prot.var_names) and (pred.index == rna.obs_names).all()
    assert rna.obsm["prot_predicted_std"].shape == (600, 134)
    np.testing.assert_array_equal(prot.layers["prot_predicted"], pred.loc[prot.obs_names])
    uns = mdata.uns["prot_predicted"]
    assert uns["n_train"] == 311 and len(uns["train"]) == 311
    assert uns["params"]["source"] == "rna" and uns["params"]["train"] == "is_train"
    assert len(uns["timings"]["fits"]) == 2
    # the same numbers as the estimator on arrays (TSVD over all source cells)
    train = mdata.obs["is_train"].to_numpy()
    model = ModalityPredictor(random_state=0, **FAST)
    mean, _ = model._fit(rna.X, np.flatnonzero(train), prot.X[train], None, predict_all=True)
    np.testing.assert_allclose(pred.to_numpy(), mean, rtol=1e-6)
    # held-out cells beat the predict-the-training-mean baseline
    Y = prot.X.toarray()
    baseline = sm.metrics.rmse(Y[~train], np.broadcast_to(Y[train].mean(0), Y[~train].shape))
    assert sm.metrics.rmse(Y[~train], pred.to_numpy()[~train]) < 0.8 * baseline
    mdata.write_h5mu(tmp_path / "p.h5mu")
    back = md.read_h5mu(tmp_path / "p.h5mu")
    pd.testing.assert_frame_equal(back["rna"].obsm["prot_predicted"], pred)
    assert back.uns["prot_predicted"]["n_train"] == 311


def test_copy_key_added_train_forms_and_batches(mdata):
    before = set(mdata["rna"].obsm)
    out = sm.tl.predict_modality(mdata, train="is_train", key_added="adt", copy=True, **FAST)
    assert set(mdata["rna"].obsm) == before and "adt" not in mdata.uns
    names = mdata.obs_names[mdata.obs["is_train"].to_numpy()]
    by_names = sm.tl.predict_modality(mdata, train=list(names), key_added="adt", copy=True, **FAST)
    by_mask = sm.tl.predict_modality(
        mdata, train=mdata.obs["is_train"].to_numpy(), key_added="adt", copy=True, **FAST
    )
    for other in (by_names, by_mask):
        pd.testing.assert_frame_equal(other["rna"].obsm["adt"], out["rna"].obsm["adt"])
    # default: every cell in both modalities; batches as bagging groups
    sm.tl.predict_modality(mdata, batch_key="batch", **FAST)
    assert mdata.uns["prot_predicted"]["n_train"] == 600


def test_target_cells_without_source_get_nan(mdata):
    rna = mdata["rna"][:500].copy()
    small = md.MuData({"rna": rna, "prot": mdata["prot"].copy()})
    train = small["prot"].obs_names[:300]
    sm.tl.predict_modality(small, train=list(train), **FAST)
    layer = small["prot"].layers["prot_predicted"]
    in_source = small["prot"].obs_names.isin(rna.obs_names)
    assert np.isnan(layer[~in_source]).all() and np.isfinite(layer[in_source]).all()


def test_bad_input_leaves_mudata_unchanged(mdata):
    nan_target = mdata.copy()
    Y = nan_target["prot"].X.toarray()
    Y[0, 0] = np.nan
    nan_target["prot"].X = Y
    disjoint = md.MuData({"rna": mdata["rna"][:100].copy(), "prot": mdata["prot"][100:200].copy()})
    cases = [
        (mdata, {"source": "atac"}, ValueError, "atac"),
        (mdata, {"target": "adt"}, ValueError, "adt"),
        (disjoint, {}, ValueError, "share no cells"),
        (mdata, {"train": np.zeros(600, bool)}, ValueError, "empty"),
        (mdata, {"train": np.ones(10, bool)}, ValueError, "one entry per cell"),
        (mdata, {"train": ["nope"]}, ValueError, "not in the MuData"),
        (mdata, {"train": "nope"}, ValueError, "nope"),
        (mdata, {"train": "cell_type"}, ValueError, "booleans"),
        (nan_target, {}, ValueError, "NaN"),
        (mdata, {"method": "svr"}, ValueError, "method"),
        (mdata, {"n_components": 3}, TypeError, "n_components"),
        (mdata["rna"], {}, TypeError, "MuData"),
    ]
    for obj, kwargs, error, match in cases:
        state = None
        if isinstance(obj, md.MuData):
            state = (set(obj["rna"].obsm), set(obj["prot"].layers), set(obj.uns))
        with pytest.raises(error, match=match):
            sm.tl.predict_modality(obj, **{**FAST, **kwargs})
        if state is not None:
            assert state == (set(obj["rna"].obsm), set(obj["prot"].layers), set(obj.uns))


def test_on_device(mdata, device):
    if device == "gpu":
        sm.get.to_gpu(mdata)
    sm.tl.predict_modality(mdata, train="is_train", **FAST)
    pred = mdata["rna"].obsm["prot_predicted"]
    assert (type(pred).__module__.startswith("cupy")) == (device == "gpu")
