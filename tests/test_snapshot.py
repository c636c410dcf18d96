"""The shared "unchanged" helper sees a change in any value, not only in key sets."""

import numpy as np
import pytest

import scmodal as sm
from tests.snapshot import unchanged


@pytest.fixture
def mdata():
    m = sm.datasets.bmmc_cite()
    m["prot"].uns["nested"] = {"a": np.arange(3), "b": {"c": 1.5}}
    m["prot"].obsm["emb"] = np.zeros((m["prot"].n_obs, 2))
    return m


EDITS = {
    "X value": lambda m: setattr(m["rna"], "X", m["rna"].X * 1.5),
    "layer value": lambda m: m["prot"].layers.__setitem__("counts", m["prot"].X * 2),
    "obsm value": lambda m: m["prot"].obsm["emb"].__setitem__((1, 1), 7.0),
    "nested uns value": lambda m: m["prot"].uns["nested"]["b"].__setitem__("c", 2.5),
    "uns array value": lambda m: m["prot"].uns["nested"]["a"].__setitem__(0, 9),
    "obs value": lambda m: m["rna"].obs.__setitem__(
        "size_factors", m["rna"].obs["size_factors"] + 1
    ),
    "var value": lambda m: m["prot"].var.__setitem__("new", 1),
    "obs name": lambda m: setattr(m["prot"], "obs_names", m["prot"].obs_names.str.upper()),
    "MuData obs": lambda m: m.obs.loc.__setitem__(
        (m.obs_names[0], "is_train"), not m.obs["is_train"].iloc[0]
    ),
    "MuData uns": lambda m: m.uns.__setitem__("k", 1),
    "X dtype": lambda m: setattr(m["prot"], "X", m["prot"].X.astype(np.float32)),
}


@pytest.mark.parametrize("edit", EDITS)
def test_any_edit_is_seen(mdata, edit):
    with pytest.raises(AssertionError), unchanged(mdata):
        EDITS[edit](mdata)


def test_no_edit_passes_and_a_view_must_stay_a_view(mdata):
    with unchanged(mdata):
        _ = mdata["rna"].X.sum()
    view = mdata["prot"][:10]
    with pytest.raises(AssertionError, match="is_view"), unchanged(view):
        view._init_as_actual(view.copy())
