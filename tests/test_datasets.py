"""sm.datasets: the synthetic CITE-seq generator."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

import scmodal as sm


@pytest.mark.parametrize("density", [0.05, 0.07, 0.2])
def test_synthetic_cite_shape_sparsity_and_values(density):
    mdata = sm.datasets.synthetic_cite(2500, 600, 12, density=density, random_state=1)
    X = mdata["rna"].X
    assert sp.issparse(X) and X.format == "csr" and X.dtype == np.float32
    assert X.shape == (2500, 600) and mdata["prot"].shape == (2500, 12)
    assert abs(X.nnz / (2500 * 600) - density) < 0.1 * density
    counts = np.expm1(X.data.astype(np.float64))  # log1p of integer counts
    np.testing.assert_allclose(counts, np.round(counts), rtol=1e-5)
    assert counts.min() >= 1 - 1e-4
    assert (mdata.obs_names == mdata["rna"].obs_names).all()
    assert mdata.obs["cell_type"].nunique() == 20


def test_synthetic_cite_is_reproducible_and_proteins_are_predictable():
    a = sm.datasets.synthetic_cite(1500, 300, 6, random_state=3)
    b = sm.datasets.synthetic_cite(1500, 300, 6, random_state=3)
    c = sm.datasets.synthetic_cite(1500, 300, 6, random_state=4)
    assert (a["rna"].X != b["rna"].X).nnz == 0
    np.testing.assert_array_equal(a["prot"].X, b["prot"].X)
    assert (a["rna"].X != c["rna"].X).nnz > 0
    # the proteins carry signal that the genes explain (as in CITE-seq)
    r2 = cross_val_score(Ridge(10.0), a["rna"].X, a["prot"].X[:, 0], cv=3).mean()
    assert r2 > 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_cells": 0}, "n_cells"), ({"density": 1.5}, "density"), ({"n_types": 0}, "n_types")],
)
def test_synthetic_cite_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sm.datasets.synthetic_cite(**kwargs)
