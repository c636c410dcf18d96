"""sm.pl: every plot drawn (Agg) on the bundled data and checked for what it shows.

The plotted numbers are compared with scipy/numpy computed here from the stored
predictions and the measured proteins, not with the plotting code's own helpers.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

import scmodal as sm
from tests.snapshot import assert_same_as, snapshot

from .conftest import host

KEY = "prot_predicted"


@pytest.fixture(scope="module")
def mdata():
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(
        mdata, train="is_train", n_repeats=1, n_components_source=50, n_components_target=20
    )
    return mdata


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def held_out(mdata):
    """Measured and predicted proteins of the held-out (s1d2) cells, and the training mean."""
    prot = mdata["prot"]
    test = ~mdata.obs["is_train"].reindex(prot.obs_names).to_numpy(dtype=bool)
    assert test.sum() == 289
    measured = host(prot.X)
    predicted = mdata["rna"].obsm[KEY].reindex(prot.obs_names).to_numpy()
    return measured[test], predicted[test], measured[~test].mean(axis=0), prot.var_names


def bars(ax):
    return np.array([p.get_height() for p in ax.patches])


def labels(ax):
    return [t.get_text() for t in ax.get_xticklabels()]


@pytest.mark.parametrize("metric", ["pearson", "spearman", "rmse"])
def test_prediction_accuracy_bars_are_the_scores(mdata, metric):
    y, y_hat, train_mean, names = held_out(mdata)
    if metric == "pearson":
        expected = np.array([stats.pearsonr(y[:, j], y_hat[:, j])[0] for j in range(y.shape[1])])
    elif metric == "spearman":
        expected = np.array([stats.spearmanr(y[:, j], y_hat[:, j])[0] for j in range(y.shape[1])])
    else:
        expected = np.sqrt(((y - y_hat) ** 2).mean(axis=0))
    ax = sm.pl.prediction_accuracy(mdata, metric=metric, n_features=None, show=False)
    order = np.argsort(expected if metric == "rmse" else -expected, kind="stable")
    assert len(ax.patches) == y.shape[1] == 134
    np.testing.assert_allclose(bars(ax), expected[order], rtol=1e-4, atol=1e-5)
    assert labels(ax) == list(names[order])
    assert ax.get_ylabel() == metric
    assert "289 held-out cells" in ax.get_title()
    assert f"{np.nanmean(expected):.3f}" in ax.get_title()
    baseline = ax.lines[0].get_ydata()
    if metric == "rmse":
        expected_base = np.sqrt(((y - train_mean) ** 2).mean(axis=0))
        np.testing.assert_allclose(baseline, expected_base[order], rtol=1e-5)
        assert (bars(ax) < baseline).mean() > 0.5  # the model beats the mean mostly
    else:
        assert np.all(baseline == 0)
        assert ax.get_ylim()[0] < 0  # the baseline ticks at 0 stay in view
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any("undefined" in text for text in legend)


def test_prediction_accuracy_n_features_ax_and_save(mdata, tmp_path):
    _, ax = plt.subplots()
    out = sm.pl.prediction_accuracy(
        mdata, n_features=10, ax=ax, show=False, save=tmp_path / "acc.png"
    )
    assert out is ax and len(ax.patches) == 10
    assert (tmp_path / "acc.png").stat().st_size > 1000
    assert sm.pl.prediction_accuracy(mdata, n_features=5, show=True) is None


def test_predicted_vs_measured_panels(mdata):
    y, y_hat, _, names = held_out(mdata)
    features = ["CD4", "CD8", "CD14", "CD19", "CD3"]
    fig = sm.pl.predicted_vs_measured(mdata, features, ncols=3, show=False)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(features) and len(fig.axes) == 6
    for ax, name in zip(visible, features, strict=True):
        j = names.get_loc(name)
        r = stats.pearsonr(y[:, j], y_hat[:, j])[0]
        assert ax.get_title() == f"{name}  r = {r:.2f}"
        diagonal = ax.lines[0]
        np.testing.assert_allclose(diagonal.get_xdata(), diagonal.get_ydata())
        assert ax.get_xlabel() == "measured" and ax.get_ylabel() == "predicted"
        assert ax.collections[0].get_array().sum() == len(y)  # every cell in a hexagon
    fig = sm.pl.predicted_vs_measured(mdata, "CD4", kind="scatter", cells="all", show=False)
    offsets = fig.axes[0].collections[0].get_offsets()
    assert len(offsets) == mdata["prot"].n_obs


def test_uncertainty_points(mdata):
    y, y_hat, _, _ = held_out(mdata)
    test = ~mdata.obs["is_train"].reindex(mdata["prot"].obs_names).to_numpy(dtype=bool)
    std = mdata["rna"].obsm[KEY + "_std"].reindex(mdata["prot"].obs_names).to_numpy()[test]
    ax = sm.pl.uncertainty(mdata, show=False)
    xy = ax.collections[0].get_offsets()
    np.testing.assert_allclose(xy[:, 0], std.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(xy[:, 1], np.abs(y - y_hat).mean(axis=1), rtol=1e-5)
    rho = stats.spearmanr(xy[:, 0], xy[:, 1])[0]
    assert ax.get_title().endswith(f"Spearman r = {rho:.2f}")


def test_gaussrank_histograms():
    prot = sm.datasets.bmmc_cite()["prot"].copy()
    sm.pp.gaussrank(prot)
    fig = sm.pl.gaussrank(prot, ["CD4", "CD14", "CD19"], bins=20, show=False)
    assert len(fig.axes) == 6
    x = host(prot.X)
    for i, name in enumerate(["CD4", "CD14", "CD19"]):
        left, right = fig.axes[2 * i], fig.axes[2 * i + 1]
        assert left.get_title() == f"{name}: X" and right.get_title() == f"{name}: GaussRank"
        heights = bars(left)
        assert len(heights) == 20 and heights.sum() == prot.n_obs
        expected, _ = np.histogram(x[:, prot.var_names.get_loc(name)], bins=20)
        np.testing.assert_array_equal(heights, expected)
        assert bars(right).sum() == prot.n_obs


def test_gaussrank_layer_and_bad_features():
    prot = sm.datasets.bmmc_cite()["prot"].copy()
    prot.layers["scaled"] = prot.X.toarray() * 10.0
    sm.pp.gaussrank(prot, layer="scaled", key_added="gr")
    fig = sm.pl.gaussrank(prot, "CD4", key="gr", bins=10, show=False)
    left = fig.axes[0]
    assert left.get_title() == "CD4: scaled"
    expected, edges = np.histogram(prot.layers["scaled"][:, prot.var_names.get_loc("CD4")], 10)
    np.testing.assert_array_equal(bars(left), expected)
    assert left.patches[-1].get_x() + left.patches[-1].get_width() == pytest.approx(edges[-1])
    fig = sm.pl.gaussrank(prot, "CD4", key="gr", layer=None, show=False)
    assert fig.axes[0].get_title() == "CD4: scaled"  # the layer the transform used
    with pytest.raises(ValueError, match=r"unknown feature.*not-a-protein.*e\.g\."):
        sm.pl.gaussrank(prot, ["CD4", "not-a-protein"], key="gr")
    with pytest.raises(ValueError, match=r"sm\.pp\.gaussrank"):
        sm.pl.gaussrank(prot, "CD4")


def test_tsvd_variance_bars():
    rna = sm.datasets.bmmc_cite()["rna"].copy()
    sm.pp.tsvd(rna, n_comps=25)
    ax = sm.pl.tsvd_variance(rna, show=False)
    # variance ratio of each component, recomputed from the stored coordinates
    X = rna.X.toarray().astype(np.float64)
    coords = rna.obsm["X_tsvd"].astype(np.float64)
    expected = coords.var(axis=0) / X.var(axis=0).sum()
    np.testing.assert_allclose(bars(ax), expected, rtol=1e-3)
    np.testing.assert_allclose(
        ax.figure.axes[1].lines[0].get_ydata(), np.cumsum(expected), rtol=1e-3
    )
    assert len(sm.pl.tsvd_variance(rna, n_comps=10, log=True, show=False).patches) == 10


def test_bad_inputs(mdata):
    before = snapshot(mdata)  # every value, tests/snapshot.py
    with pytest.raises(ValueError, match="holds no predictions"):
        sm.pl.prediction_accuracy(mdata, key="nope")
    with pytest.raises(ValueError, match="metric"):
        sm.pl.prediction_accuracy(mdata, metric="r2")
    with pytest.raises(ValueError, match="n_features"):
        sm.pl.prediction_accuracy(mdata, n_features=0)
    with pytest.raises(ValueError, match="unknown feature"):
        sm.pl.predicted_vs_measured(mdata, ["CD4", "not-a-protein"])
    with pytest.raises(ValueError, match=r"holds no predictions.*prot_predicted"):
        sm.pl.predicted_vs_measured(mdata, "CD4", key="nope")
    with pytest.raises(ValueError, match="holds no predictions"):
        sm.pl.uncertainty(mdata, key="nope")
    with pytest.raises(ValueError, match="cells"):
        sm.pl.predicted_vs_measured(mdata, "CD4", cells="train")
    with pytest.raises(ValueError, match="kind"):
        sm.pl.predicted_vs_measured(mdata, "CD4", kind="violin")
    with pytest.raises(ValueError, match="no GaussRank"):
        sm.pl.gaussrank(mdata["prot"], "CD4")
    with pytest.raises(ValueError, match="no truncated SVD"):
        sm.pl.tsvd_variance(mdata["rna"])
    assert_same_as(before, mdata)


def test_no_held_out_cells_and_no_std():
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, n_repeats=1, n_components_source=20, n_components_target=10)
    before = snapshot(mdata)  # every value, tests/snapshot.py
    with pytest.raises(ValueError, match="no held-out cells"):
        sm.pl.prediction_accuracy(mdata)
    with pytest.raises(ValueError, match="no held-out cells"):
        sm.pl.uncertainty(mdata)
    with pytest.raises(ValueError, match="no held-out cells"):
        sm.pl.predicted_vs_measured(mdata, "CD4")
    assert_same_as(before, mdata)
    # every measured cell can still be shown
    fig = sm.pl.predicted_vs_measured(mdata, "CD4", cells="all", kind="scatter", show=False)
    assert len(fig.axes[0].collections[0].get_offsets()) == mdata["prot"].n_obs
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(
        mdata, train="is_train", n_repeats=1, n_components_source=20, n_components_target=10
    )
    del mdata["rna"].obsm[KEY + "_std"]
    before = snapshot(mdata)  # every value, tests/snapshot.py
    with pytest.raises(ValueError, match="_std"):
        sm.pl.uncertainty(mdata)
    assert_same_as(before, mdata)


# --- readable at a page's width ---


def test_prediction_accuracy_shows_the_best_and_the_worst_by_default(mdata):
    prot = mdata["prot"]
    test = ~mdata.obs["is_train"].reindex(prot.obs_names).to_numpy(dtype=bool)
    y = host(prot.X)[test]
    y_hat = mdata["rna"].obsm[KEY].reindex(prot.obs_names).to_numpy()[test]
    r = np.array([stats.pearsonr(y[:, j], y_hat[:, j])[0] for j in range(y.shape[1])])
    order = np.argsort(-r, kind="stable")
    ax = sm.pl.prediction_accuracy(mdata, show=False)
    expected = [*order[:15], *order[-15:]]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(prot.var_names[expected])
    np.testing.assert_allclose([p.get_height() for p in ax.patches], r[expected], rtol=1e-4)
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 8
    assert ax.figure.get_figwidth() <= 8
    assert "best 15 and worst 15" in ax.get_title()


def test_figures_fit_the_page_width(mdata):
    fig = sm.pl.predicted_vs_measured(mdata, ["CD4", "CD8", "CD14", "CD19"], show=False)
    assert fig.get_figwidth() <= 8
    rna = mdata["rna"].copy()
    sm.pp.tsvd(rna, n_comps=300)
    assert sm.pl.tsvd_variance(rna, show=False).figure.get_figwidth() <= 8
