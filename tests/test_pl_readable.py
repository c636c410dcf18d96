"""Figures readable at a page's width: proposed for tests/test_pl.py (fail on the old code)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from scipy import stats

import scmodal as sm

from .conftest import host


@pytest.fixture(scope="module")
def mdata():
    mdata = sm.datasets.bmmc_cite()
    sm.tl.predict_modality(mdata, train="is_train", n_repeats=1)
    return mdata


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_prediction_accuracy_shows_the_best_and_the_worst_by_default(mdata):
    prot = mdata["prot"]
    test = ~mdata.obs["is_train"].reindex(prot.obs_names).to_numpy(dtype=bool)
    y = host(prot.X)[test]
    y_hat = mdata["rna"].obsm["prot_predicted"].reindex(prot.obs_names).to_numpy()[test]
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
