"""sm.tl.predict_modality on the bundled BMMC CITE-seq data: keys, round trips, bad input."""

import mudata as md
import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge

import scmodal as sm
from scmodal.models._bagging import bagging_halves
from tests.snapshot import unchanged

FAST = {"n_components_source": 30, "n_components_target": 10, "n_repeats": 1}


@pytest.fixture
def mdata():
    return sm.datasets.bmmc_cite()


def _sklearn_pipeline(X, Y, train, halves, k, t, gamma=0.005, alpha=0.2):
    """The documented pipeline recomputed with scikit-learn (ARPACK SVDs, its KernelRidge)."""

    def components(M, n):
        V = SkTruncatedSVD(n, algorithm="arpack", random_state=0).fit(M).components_
        return V * np.sign(V[np.arange(n), np.abs(V).argmax(axis=1)])[:, None]

    V = components(X, k)  # source SVD over every source cell
    Z = X @ V.T
    Z = (Z - Z.mean(axis=1, keepdims=True)) / Z.std(axis=1, keepdims=True)
    W = components(Y[train], t)  # target SVD over the training cells
    fits = []
    for half in halves:
        krr = SkKernelRidge(alpha=alpha, kernel="rbf", gamma=gamma)
        krr.fit(Z[train][half], Y[train][half] @ W.T)
        fits.append(np.maximum(krr.predict(Z) @ W, 0))
    return np.mean(fits, axis=0), np.std(fits, axis=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predictions_equal_a_scikit_learn_recomputation(mdata, dtype, device):
    # 40 genes and 15 proteins: both randomized SVDs are exact (sketch width ≥ rank), so
    # the whole pipeline must agree with ARPACK + scikit-learn's KernelRidge
    genes = np.argsort(-mdata["rna"].X.toarray().var(axis=0))[:40]
    small = md.MuData({"rna": mdata["rna"][:, genes].copy(), "prot": mdata["prot"][:, :15].copy()})
    for mod in small.mod.values():
        mod.X = mod.X.astype(dtype)
    small.obs["is_train"] = mdata.obs["is_train"]
    X = small["rna"].X.toarray().astype(np.float64)
    Y = small["prot"].X.toarray().astype(np.float64)
    if device == "gpu":
        sm.get.to_gpu(small)
    sm.tl.predict_modality(
        small,
        train="is_train",
        n_components_source=30,
        n_components_target=10,
        n_repeats=1,
        bagging="cells",
    )
    if device == "gpu":  # the results stay on the device of the data
        assert type(small["rna"].obsm["prot_predicted"]).__module__.startswith("cupy")
        sm.get.to_cpu(small)
    train = small.obs["is_train"].to_numpy()
    halves = bagging_halves(int(train.sum()), None, 1, 0, bagging="cells")
    mean, std = _sklearn_pipeline(X, Y, train, halves, 30, 10)
    rtol = 1e-3 if dtype == np.float32 else 1e-8
    np.testing.assert_allclose(
        np.asarray(small["rna"].obsm["prot_predicted"]), mean, rtol=rtol, atol=rtol
    )
    np.testing.assert_allclose(
        np.asarray(small["rna"].obsm["prot_predicted_std"]), std, rtol=rtol, atol=rtol
    )


def test_keys_dataframes_and_round_trip(mdata, tmp_path):
    sm.tl.predict_modality(mdata, train="is_train", **FAST)
    rna, prot = mdata["rna"], mdata["prot"]
    pred = rna.obsm["prot_predicted"]
    assert isinstance(pred, pd.DataFrame) and pred.shape == (600, 134)
    assert list(pred.columns) == list(prot.var_names) and (pred.index == rna.obs_names).all()
    assert rna.obsm["prot_predicted_std"].shape == (600, 134)
    np.testing.assert_array_equal(prot.layers["prot_predicted"], pred.loc[prot.obs_names])
    uns = mdata.uns["prot_predicted"]
    train = mdata.obs["is_train"].to_numpy()
    assert uns["n_train"] == train.sum() and set(uns["train"]) == set(mdata.obs_names[train])
    assert uns["params"]["source"] == "rna" and uns["params"]["train"] == "is_train"
    assert len(uns["timings"]["fits"]) == 1  # one fit on all training cells
    # held-out cells beat the predict-the-training-mean baseline
    Y = prot.X.toarray()
    baseline = np.sqrt(np.mean((Y[~train] - Y[train].mean(axis=0)) ** 2))
    assert np.sqrt(np.mean((Y[~train] - pred.to_numpy()[~train]) ** 2)) < 0.8 * baseline
    mdata.write_h5mu(tmp_path / "p.h5mu")
    back = md.read_h5mu(tmp_path / "p.h5mu")
    pd.testing.assert_frame_equal(back["rna"].obsm["prot_predicted"], pred)
    assert back.uns["prot_predicted"]["n_train"] == train.sum()


def test_heads_grid_and_blend_are_stored_and_survive_h5mu(mdata, tmp_path):
    sm.tl.predict_modality(
        mdata, train="is_train", batch_key="batch", method=["krr", "svr"], alpha=[0.1, 0.5],
        ensemble="mean", **FAST,
    )  # fmt: skip
    rna = mdata["rna"]
    uns = mdata.uns["prot_predicted"]
    assert set(uns["heads"]) == {"krr", "svr"}
    assert uns["heads"]["krr"]["weight"] == uns["heads"]["svr"]["weight"] == 0.5
    assert uns["params"]["method"].tolist() == ["krr", "svr"]
    # the blend is the weighted sum of the heads' stored predictions
    blend = sum(h["weight"] * rna.obsm[f"prot_predicted_{n}"] for n, h in uns["heads"].items())
    np.testing.assert_allclose(rna.obsm["prot_predicted"], blend, rtol=1e-5, atol=1e-6)
    cv = uns["cv"]["krr"]
    assert cv["params"] == ["gamma", "alpha"] and cv["rmse"].shape == (1, 2)
    # one training batch: folds of cells over all 311 training cells
    assert cv["n_cells"] == 311 and cv["n_folds"] == 3
    assert uns["heads"]["krr"]["params"]["alpha"] == [0.1, 0.5][int(np.argmin(cv["rmse"]))]
    mdata.write_h5mu(tmp_path / "p.h5mu")
    back = md.read_h5mu(tmp_path / "p.h5mu")
    for name in ("prot_predicted", "prot_predicted_krr", "prot_predicted_svr"):
        pd.testing.assert_frame_equal(back["rna"].obsm[name], rna.obsm[name])
    np.testing.assert_array_equal(back.uns["prot_predicted"]["cv"]["krr"]["rmse"], cv["rmse"])
    assert back.uns["prot_predicted"]["heads"]["svr"]["params"]["C"] == 3.0


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


def _trained_on(mdata, **kwargs):
    out = sm.tl.predict_modality(mdata, copy=True, **{**FAST, **kwargs})
    return set(out.uns["prot_predicted"]["train"])


def test_train_with_an_index_is_aligned_by_name(mdata):
    """A Series/Index carries cell names: a shuffled one selects the same cells."""
    mask = mdata.obs["is_train"]
    intended = set(mdata.obs_names[mask.to_numpy()])
    shuffled = mask.sample(frac=1.0, random_state=1)
    assert not (shuffled.index == mdata.obs_names).all()
    assert _trained_on(mdata, train=shuffled) == intended
    # 0/1 integers are a mask, not names; a source obs column (a subset index) works too
    assert _trained_on(mdata, train=shuffled.astype(int)) == intended
    assert _trained_on(mdata, train=mdata["rna"].obs["is_train"]) == intended
    assert _trained_on(mdata, train=pd.Index(sorted(intended))) == intended
    names = pd.Series(sorted(intended), index=np.arange(len(intended)))
    assert _trained_on(mdata, train=names) == intended
    # a positional numpy mask and a list of names select the same cells as the column
    assert _trained_on(mdata, train=mask.to_numpy()) == intended
    assert _trained_on(mdata, train=list(intended)) == intended


def test_bad_train_is_refused_and_mudata_unchanged(mdata):
    mask = mdata.obs["is_train"]
    nan_mask = mask.astype(object)
    nan_mask.iloc[3] = np.nan
    mdata.obs["with_nan"] = nan_mask
    names = list(mdata.obs_names[mask.to_numpy()])
    cases = [
        (mask.reset_index(drop=True), ValueError, "index of the `train` Series"),
        (mask.set_axis(mask.index.str.upper()), ValueError, "does not match"),
        (pd.concat([mask, mask.iloc[:2]]), ValueError, "more than once"),
        (names + names[:1], ValueError, "more than once"),
        (set(names), TypeError, "set"),
        (mdata.obs[["is_train"]], TypeError, "DataFrame"),
        (np.flatnonzero(mask.to_numpy()), TypeError, "positions"),
        (nan_mask, ValueError, "missing"),
        ("with_nan", ValueError, "missing"),
        (np.zeros(600, bool), ValueError, "empty"),
        (np.ones(10, bool), ValueError, "one entry per cell"),
        (["nope"], ValueError, "not in the MuData"),
        ("nope", ValueError, "nope"),
        ("cell_type", ValueError, "booleans"),
    ]
    for train, error, match in cases:
        with pytest.raises(error, match=match), unchanged(mdata):
            sm.tl.predict_modality(mdata, train=train, **FAST)


def test_bad_input_leaves_mudata_unchanged(mdata):
    nan_target = mdata.copy()
    Y = nan_target["prot"].X.toarray()
    Y[0, 0] = np.nan
    nan_target["prot"].X = Y
    inf_target = mdata.copy()
    Y = inf_target["prot"].X.toarray()
    Y[5, 1] = np.inf
    inf_target["prot"].X = Y
    nan_batch = mdata.copy()
    nan_batch.obs["batch"] = nan_batch.obs["batch"].astype(object)
    nan_batch.obs.iloc[0, nan_batch.obs.columns.get_loc("batch")] = np.nan
    disjoint = md.MuData({"rna": mdata["rna"][:100].copy(), "prot": mdata["prot"][100:200].copy()})
    cases = [
        (mdata, {"source": "atac"}, ValueError, "atac"),
        (mdata, {"target": "adt"}, ValueError, "adt"),
        (mdata, {"source": 3}, TypeError, "source"),
        (disjoint, {}, ValueError, "share no cells"),
        (nan_target, {}, ValueError, r"mdata\['prot'\].X .*NaN"),
        (inf_target, {}, ValueError, r"mdata\['prot'\].X .*inf"),
        (nan_batch, {"batch_key": "batch"}, ValueError, "batch_key"),
        (mdata, {"batch_key": "nope"}, ValueError, "batch_key"),
        (mdata, {"key_added": ""}, ValueError, "key_added"),
        (mdata, {"key_added": 3}, TypeError, "key_added"),
        (mdata, {"random_state": "0"}, TypeError, "random_state"),
        (mdata, {"method": "mlp"}, ValueError, "method"),
        (mdata, {"method": []}, ValueError, "method"),
        (mdata, {"method": ["krr", "krr"]}, ValueError, "method"),
        (mdata, {"alpha": []}, ValueError, "alpha"),
        (mdata, {"gamma": [0.1, -1.0]}, ValueError, "gamma"),
        (mdata, {"C": 0}, ValueError, "C"),
        (mdata, {"alpha": "big"}, ValueError, "alpha"),
        (mdata, {"ensemble": "vote"}, ValueError, "ensemble"),
        (mdata, {"cv": 1}, ValueError, "cv"),
        (mdata, {"n_components": 3}, TypeError, "n_components"),
    ]
    for obj, kwargs, error, match in cases:
        with pytest.raises(error, match=match), unchanged(obj):
            sm.tl.predict_modality(obj, **{**FAST, **kwargs})
    with pytest.raises(TypeError, match="MuData"), unchanged(mdata["rna"]):
        sm.tl.predict_modality(mdata["rna"], **FAST)
