"""sm.pl.heads_accuracy and sm.pl.cv_grid, drawn (Agg) on the bundled data.

What they plot is compared with numpy computed here from the stored predictions, the
measured proteins and the stored cross-validation grids, never with the plots' helpers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mudata as md
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle

import scmodal as sm

from .conftest import host
from .snapshot import unchanged

KEY = "prot_predicted"
SMALL = {"n_components_source": 50, "n_components_target": 20}


@pytest.fixture(scope="module")
def heads():
    """krr + svr, C=10: a stack that blends both heads (no fall-back to one head)."""
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(
        mdata, train="is_train", method=["krr", "svr"], C=10.0, ensemble="stack", **SMALL
    )
    weights = [h["weight"] for h in mdata.uns[KEY]["heads"].values()]
    assert all(0 < w < 1 for w in weights)
    return mdata


@pytest.fixture(scope="module")
def krr_grid():
    """Kernel ridge alone, gamma × alpha searched."""
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(
        mdata, train="is_train", gamma=[0.0025, 0.005, 0.01], alpha="auto", **SMALL
    )
    return mdata


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def held_out(mdata, key=KEY):
    """Measured proteins, the blend and each head's predictions on the held-out cells."""
    prot = mdata["prot"]
    test = ~mdata.obs["is_train"].reindex(prot.obs_names).to_numpy(dtype=bool)
    assert test.sum() == 289
    obsm = mdata["rna"].obsm

    def frame(name):
        return obsm[name].reindex(index=prot.obs_names, columns=prot.var_names).to_numpy()[test]

    heads = {h: frame(f"{key}_{h}") for h in mdata.uns[key]["heads"]}
    return host(prot.X)[test], frame(key), heads


def pearson(y, y_hat):
    return np.array([np.corrcoef(y[:, j], y_hat[:, j])[0, 1] for j in range(y.shape[1])])


def rmse(y, y_hat):
    return np.sqrt(((y - y_hat) ** 2).mean(axis=0))


def scatters(ax):
    return [c for c in ax.collections if isinstance(c, PathCollection)]


def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# --- heads_accuracy ---------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["pearson", "rmse"])
def test_heads_accuracy_points_are_the_scores(heads, metric):
    y, blend, per_head = held_out(heads)
    score = pearson if metric == "pearson" else rmse
    sign = 1.0 if metric == "pearson" else -1.0  # up: the head does better
    expected_blend = score(y, blend)
    assert np.isfinite(expected_blend).all()  # no constant protein among the held-out cells
    ax = sm.pl.heads_accuracy(heads, metric=metric, show=False)
    points = scatters(ax)
    assert len(points) == 2
    gains = []
    for y_hat, collection in zip(per_head.values(), points, strict=True):
        xy = np.asarray(collection.get_offsets())
        assert xy.shape == (134, 2)
        np.testing.assert_allclose(xy[:, 0], expected_blend, rtol=1e-6, atol=1e-9)
        gain = sign * (score(y, y_hat) - expected_blend)
        np.testing.assert_allclose(xy[:, 1], gain, rtol=1e-6, atol=1e-9)
        gains.append(gain)
    gains = np.stack(gains, axis=1)
    wins = np.bincount(np.argmax(gains, axis=1), minlength=2)
    texts = legend(ax)
    weights = {h: v["weight"] for h, v in heads.uns[KEY]["heads"].items()}
    assert texts[0] == f"blend: mean {expected_blend.mean():.3f}"
    for (head, y_hat), text, n in zip(per_head.items(), texts[1:], wins, strict=True):
        assert text == (
            f"{head} (weight {weights[head]:.2f}): mean {score(y, y_hat).mean():.3f}, "
            f"best head on {n}"
        )
    assert wins.sum() == 134
    assert "289 held-out cells" in ax.get_title()
    # the five proteins the heads disagree on most are named
    spread = np.abs(gains[:, 0] - gains[:, 1])
    names = set(heads["prot"].var_names[np.argsort(-spread, kind="stable")[:5]])
    assert {t.get_text() for t in ax.texts} == names
    assert ax.lines[0].get_ydata()[0] == 0  # the blend's line


def test_heads_accuracy_ax_save_show(heads, tmp_path):
    _, ax = plt.subplots()
    out = sm.pl.heads_accuracy(heads, metric="spearman", ax=ax, show=False, save=tmp_path / "h.png")
    assert out is ax
    assert (tmp_path / "h.png").stat().st_size > 1000
    assert sm.pl.heads_accuracy(heads, show=True) is None


def test_heads_accuracy_bad_input(heads, krr_grid):
    with pytest.raises(ValueError, match="holds no predictions"), unchanged(heads):
        sm.pl.heads_accuracy(heads, key="nope")
    with pytest.raises(ValueError, match="`metric`"), unchanged(heads):
        sm.pl.heads_accuracy(heads, metric="r2")
    with pytest.raises(ValueError, match=r"one head \(\['krr'\]\).*nothing to compare"):
        with unchanged(krr_grid):
            sm.pl.heads_accuracy(krr_grid)


def test_heads_accuracy_needs_each_heads_predictions(heads):
    mdata = heads.copy()
    del mdata["rna"].obsm[f"{KEY}_svr"]
    with pytest.raises(ValueError, match=r"prot_predicted_svr"), unchanged(mdata):
        sm.pl.heads_accuracy(mdata)


# --- cv_grid ----------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["rmse", "pearson"])
def test_cv_grid_heatmap_is_the_stored_grid(krr_grid, metric):
    record = krr_grid.uns[KEY]["cv"]["krr"]
    assert list(record["params"]) == ["gamma", "alpha"]
    stored = np.asarray(record[metric])
    assert stored.shape == (3, 5)
    ax = sm.pl.cv_grid(krr_grid, metric=metric, show=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), stored.T)  # gamma across
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.0025", "0.005", "0.01"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0.05", "0.1", "0.2", "0.5", "1"]
    assert ax.get_xlabel() == "gamma" and ax.get_ylabel() == "alpha"
    annotated = sorted(float(t.get_text()) for t in ax.texts)
    np.testing.assert_allclose(annotated, np.sort(stored.ravel()), atol=5e-4)
    # the chosen cell: the lowest out-of-fold RMSE, whatever the metric shown
    i, j = np.unravel_index(np.argmin(record["rmse"]), (3, 5))
    (frame,) = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_label() == "chosen"]
    assert frame.get_xy() == (i - 0.5, j - 0.5)
    best = record["best"]
    assert f"chosen: gamma = {best['gamma']:g}, alpha = {best['alpha']:g}" in ax.get_title()
    assert f"{record['n_folds']}-fold" in ax.get_title()


def test_cv_grid_one_parameter_is_a_line():
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, train="is_train", alpha=[0.05, 0.2, 1.0], **SMALL)
    record = mdata.uns[KEY]["cv"]["krr"]
    _, ax = plt.subplots()
    out = sm.pl.cv_grid(mdata, ax=ax, show=False)
    assert out is ax and not ax.images
    line, chosen = ax.lines[:2]
    np.testing.assert_array_equal(line.get_xdata(), [0.05, 0.2, 1.0])
    np.testing.assert_array_equal(line.get_ydata(), np.asarray(record["rmse"])[0])
    k = int(np.argmin(record["rmse"][0]))
    assert chosen.get_xdata()[0] == [0.05, 0.2, 1.0][k]
    assert ax.get_xscale() == "log"
    assert "gamma = 0.005" in ax.get_title()  # the parameter held fixed


def test_cv_grid_third_parameter_is_reduced_to_its_best(krr_grid, tmp_path):
    """An SVR record with gamma × C × epsilon (values made up here, stored as a run
    stores them): the heatmap shows the best over epsilon of every gamma × C cell."""
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, train="is_train", alpha=[0.1, 0.2], **SMALL)
    rng = np.random.default_rng(0)
    rmse_values, pearson_values = rng.uniform(0.4, 0.5, (2, 3, 4)), rng.uniform(0.6, 0.7, (2, 3, 4))
    a, b, c = np.unravel_index(np.argmin(rmse_values), rmse_values.shape)
    grid = {"gamma": [0.005, 0.01], "C": [1.0, 3.0, 10.0], "epsilon": [0.0, 0.05, 0.1, 0.2]}
    mdata.uns[KEY]["cv"]["svr"] = {
        "params": ["gamma", "C", "epsilon"],
        "grid": {k: np.asarray(v) for k, v in grid.items()},
        "rmse": rmse_values,
        "pearson": pearson_values,
        "best": {k: grid[k][i] for k, i in zip(grid, (a, b, c), strict=True)},
        "n_cells": 311,
        "n_folds": 3,
    }
    path = tmp_path / "m.h5mu"
    mdata.write(path)  # the record as it reads back from a file
    mdata = md.read_h5mu(path)
    ax = sm.pl.cv_grid(mdata, head="svr", show=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), rmse_values.min(axis=2).T)
    assert "best over epsilon" in ax.get_title()
    (frame,) = [p for p in ax.patches if p.get_label() == "chosen"]
    assert frame.get_xy() == (a - 0.5, b - 0.5)
    ax = sm.pl.cv_grid(mdata, head="svr", metric="pearson", show=False)
    np.testing.assert_array_equal(ax.images[0].get_array(), pearson_values.max(axis=2).T)


def test_cv_grid_after_a_file_round_trip(krr_grid, tmp_path):
    path = tmp_path / "m.h5mu"
    krr_grid.write(path)
    back = md.read_h5mu(path)
    ax = sm.pl.cv_grid(back, show=False, save=tmp_path / "g.png")
    np.testing.assert_array_equal(
        ax.images[0].get_array(), np.asarray(krr_grid.uns[KEY]["cv"]["krr"]["rmse"]).T
    )
    assert (tmp_path / "g.png").stat().st_size > 1000
    assert sm.pl.cv_grid(back, show=True) is None


def test_cv_grid_bad_input(heads, krr_grid):
    with pytest.raises(ValueError, match="holds no predictions"), unchanged(krr_grid):
        sm.pl.cv_grid(krr_grid, key="nope")
    with pytest.raises(ValueError, match="`metric`"), unchanged(krr_grid):
        sm.pl.cv_grid(krr_grid, metric="spearman")
    with pytest.raises(ValueError, match=r"`head='svr'` is not in.*\['krr'\]"):
        with unchanged(krr_grid):
            sm.pl.cv_grid(krr_grid, head="svr")
    with pytest.raises(TypeError, match="`head`"), unchanged(krr_grid):
        sm.pl.cv_grid(krr_grid, head=None)
    # a stack is cross-validated, but krr's grid is one point: nothing to show
    with pytest.raises(ValueError, match="one value of each parameter"), unchanged(heads):
        sm.pl.cv_grid(heads, head="krr")


def test_cv_grid_without_a_search():
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, train="is_train", **SMALL)
    assert "cv" not in mdata.uns[KEY]
    with pytest.raises(ValueError, match="no cross-validation record"), unchanged(mdata):
        sm.pl.cv_grid(mdata)
