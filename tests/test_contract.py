"""The input contract, property-based: every public function, thrown generated edge and bad
inputs, gives a valid result or a ``ValueError``/``TypeError`` that names the argument, and
leaves the object exactly as it was (``tests.snapshot``).

Edge inputs (views, duplicated names, int/bool/float16, CSR/CSC/COO/LIL, all-zero rows,
columns and matrices, one cell, one gene, NaN/inf) come from ``tests/strategies.py``; bad
parameters (wrong types, out-of-range values, unknown keys) from the lists below, each with
the argument its error must name.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scmodal as sm
from tests.snapshot import assert_same_as, snapshot
from tests.strategies import adatas, cite_mudatas, matrices

FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,  # the same examples on every run and in CI
    database=None,
)
SLOW = settings(FAST, max_examples=10)
REFUSED = object()

# ``(keyword arguments, a regex of the argument its error must name)``; None: valid
VALID = [({}, None)]
KEY_ADDED = [({"key_added": ""}, "key_added"), ({"key_added": 3}, "key_added")]
LAYER = [({"layer": "missing"}, "layer"), ({"layer": 0}, "layer")]
SEED = [({"random_state": "0"}, "random_state"), ({"random_state": -1}, "random_state")]


def check_call(obj, call, *, names: str | None, must_fail: bool):
    """Run ``call()``. An error must be a ValueError/TypeError whose message matches
    ``names`` and must leave ``obj`` (AnnData/MuData, or None) exactly as it was; a
    ``must_fail`` call must raise. Returns the result, or ``REFUSED``."""
    before = None if obj is None else snapshot(obj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = call()
    except (ValueError, TypeError) as err:
        if before is not None:
            assert_same_as(before, obj)
        assert names is not None, f"valid input refused: {err!r}"
        assert re.search(names, str(err)), f"{err!r} does not name {names!r}"
        return REFUSED
    assert not must_fail, f"bad input accepted; an error naming {names!r} was expected"
    return result


def matrix_name(layer: str | None) -> str:
    """How an error names the matrix the user picked (a regex)."""
    return re.escape("adata.X" if layer is None else f"adata.layers['{layer}']")


def assert_finite(values, *, allow_nan: bool = False) -> None:
    values = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(values) | (np.isnan(values) if allow_nan else False)
    assert ok.all(), "a result holds NaN or inf that the input did not"


# --- pp -------------------------------------------------------------------------------------


@FAST
@given(
    data=adatas(),
    bad=st.sampled_from([*VALID * 3, *KEY_ADDED, *LAYER, ({"n_quantiles": "10"}, "n_quantiles")]),
)
def test_pp_gaussrank(data, bad):
    adata, layer, special = data
    kwargs, arg = bad
    kwargs = {"layer": layer, **kwargs}
    names = arg or matrix_name(layer)
    out = check_call(
        adata,
        lambda: sm.pp.gaussrank(adata, copy=True, **kwargs),
        names=names,
        must_fail=arg is not None or special == "inf",
    )
    if out is REFUSED:
        return
    Z = out.layers["gaussrank"]
    assert Z.shape == adata.shape and Z.dtype == np.float32
    assert_finite(Z, allow_nan=special == "nan")
    back = check_call(
        out, lambda: sm.pp.inverse_gaussrank(out, copy=True), names=None, must_fail=False
    )
    M = adata.X if layer is None else adata.layers[layer]
    M = M.toarray() if hasattr(M, "toarray") else np.asarray(M)
    # exact inverse on the fitted values (compared in the reference's dtype)
    expected = M.astype(back.layers["gaussrank_inverse"].dtype)
    np.testing.assert_array_equal(back.layers["gaussrank_inverse"], expected)


@FAST
@given(
    data=adatas(),
    bad=st.sampled_from(
        [
            *VALID * 3,
            *KEY_ADDED,
            *LAYER,
            ({"reference": "adata"}, "reference"),
            ({"reference_key": "nope"}, "reference_key|nope"),
            ({"layer": "counts_missing"}, "layer"),
        ]
    ),
)
def test_pp_inverse_gaussrank(data, bad):
    adata, layer, special = data
    kwargs, arg = bad
    if special == "inf":
        return  # gaussrank itself refuses it (above)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = sm.pp.gaussrank(adata, layer=layer, copy=True)
    out = check_call(
        fitted,
        lambda: sm.pp.inverse_gaussrank(fitted, copy=True, **kwargs),
        names=arg,
        must_fail=arg is not None,
    )
    if out is not REFUSED:
        assert_finite(out.layers["gaussrank_inverse"], allow_nan=special == "nan")


@FAST
@given(
    data=adatas(),
    bad=st.sampled_from(
        [
            *VALID * 3,
            *KEY_ADDED,
            *LAYER,
            *SEED,
            ({"n_comps": "2"}, "n_comps"),
            ({"n_comps": 0}, "n_comps"),
            ({"n_comps": 10_000}, "n_comps"),
            ({"n_comps": 1.5}, "n_comps"),
            ({"n_iter": -1}, "n_iter"),
            ({"mod": "rna"}, "mod"),
        ]
    ),
)
def test_pp_tsvd(data, bad):
    adata, layer, special = data
    kwargs, arg = bad
    kwargs = {"layer": layer, "n_comps": 1, **kwargs}
    names = arg or matrix_name(layer) + "|n_comps"
    out = check_call(
        adata,
        lambda: sm.pp.tsvd(adata, copy=True, **kwargs),
        names=names,
        must_fail=arg is not None or special is not None or min(adata.shape) < 2,
    )
    if out is REFUSED:
        return
    uns = out.uns["X_tsvd"]
    for value in (out.obsm["X_tsvd"], out.varm["X_tsvd"], *uns.values()):
        if isinstance(value, np.ndarray):
            assert_finite(value)  # no silent NaN in variance_ratio, even for zeros
    assert out.obsm["X_tsvd"].shape == (adata.n_obs, 1)


# --- tl and get ------------------------------------------------------------------------------

PREDICT_BAD = [
    *VALID * 4,
    *KEY_ADDED,
    *SEED,
    ({"source": "atac"}, "source"),
    ({"target": 1}, "target"),
    ({"train": "nope"}, "train"),
    ({"train": [0, 1, 2]}, "train"),
    ({"train": {"c0", "c1"}}, "train"),
    ({"batch_key": "nope"}, "batch_key"),
    ({"method": "mlp"}, "method"),
    ({"alpha": "0.2"}, "alpha"),
    ({"alpha": -1.0}, "alpha"),
    ({"gamma": "wide"}, "gamma"),
    ({"gamma": []}, "gamma"),
    ({"C": [1.0, 0.0]}, "C"),
    ({"method": ["krr", "mlp"]}, "method"),
    ({"ensemble": "vote"}, "ensemble"),
    ({"clip_min": "0"}, "clip_min"),
    ({"n_components_source": 0}, "n_components_source"),
    ({"n_components_source": "5"}, "n_components_source"),
    ({"n_components_target": 2.5}, "n_components_target"),
    ({"n_repeats": 0}, "n_repeats"),
    ({"target_transform": "log"}, "target_transform"),
]


@SLOW
@given(mdata=cite_mudatas(), bad=st.sampled_from(PREDICT_BAD), train=st.booleans())
def test_tl_predict_modality(mdata, bad, train):
    kwargs, arg = bad
    kwargs = {"train": "is_train" if train else None, "batch_key": "batch", **kwargs}
    out = check_call(
        mdata,
        lambda: sm.tl.predict_modality(
            mdata, n_components_source=3, n_components_target=None, n_repeats=1, copy=True, **kwargs
        ),
        names=arg,
        must_fail=arg is not None,
    )
    if out is REFUSED:
        return
    pred = out["rna"].obsm["prot_predicted"]
    assert pred.shape == (mdata["rna"].n_obs, mdata["prot"].n_vars)
    assert_finite(pred.to_numpy())
    adata = check_call(
        out, lambda: sm.get.predictions(out, "prot_predicted"), names=None, must_fail=False
    )
    assert adata.shape == pred.shape


@FAST
@given(
    mdata=cite_mudatas(),
    bad=st.sampled_from(
        [({"key": "nope"}, "key"), ({"key": 3}, "key"), ({"source": "atac"}, "source")]
    ),
)
def test_get_predictions_bad_keys(mdata, bad):
    kwargs, arg = bad
    check_call(mdata, lambda: sm.get.predictions(mdata, **kwargs), names=arg, must_fail=True)


@FAST
@given(data=adatas(), to=st.sampled_from(["cpu", "gpu"]))
def test_get_device_moves(data, to):
    adata, _, _ = data
    move = sm.get.to_cpu if to == "cpu" else sm.get.to_gpu
    if to == "gpu" and not sm._backend.gpu_available():
        # no GPU here: the optional dependency is missing, and says how to install it
        with pytest.raises(ImportError, match=r"scmodal\[gpu\]"):
            move(adata)
        return
    out = check_call(adata, lambda: move(adata), names="view", must_fail=adata.is_view)
    if out is not REFUSED:
        assert out is None
    with pytest.raises(TypeError, match="data"):
        move(np.zeros((2, 2)))


# --- models and metrics ---------------------------------------------------------------------

MODELS = {
    "KernelRidge": (
        lambda **kw: sm.models.KernelRidge(**kw),
        [({"alpha": "1"}, "alpha"), ({"gamma": "x"}, "gamma"), ({"kernel": "poly"}, "kernel")],
    ),
    "TruncatedSVD": (
        lambda **kw: sm.models.TruncatedSVD(**{"n_components": 1, **kw}),
        [({"n_components": "1"}, "n_components"), ({"random_state": "s"}, "random_state")],
    ),
    "GaussRankScaler": (
        lambda **kw: sm.models.GaussRankScaler(**kw),
        [({"n_quantiles": "5"}, "n_quantiles")],
    ),
    "ModalityPredictor": (
        lambda **kw: sm.models.ModalityPredictor(
            **{"n_components_source": 1, "n_repeats": 1, "n_components_target": None, **kw}
        ),
        [
            ({"alpha": "0.2"}, "alpha"),
            ({"clip_min": "0"}, "clip_min"),
            ({"gamma": "wide"}, "gamma"),
            ({"alpha": []}, "alpha"),
            ({"method": "mlp"}, "method"),
            ({"random_state": "0"}, "random_state"),
        ],
    ),
}


@FAST
@given(
    data=matrices(),
    name=st.sampled_from(sorted(MODELS)),
    pick=st.integers(0, 9),
    y_seed=st.integers(0, 2**16),
)
def test_models_fit(data, name, pick, y_seed):
    X, special = data
    make, bad = MODELS[name]
    kwargs, arg = ([({}, None)] * 3 + bad)[pick % (len(bad) + 3)]
    y = np.random.default_rng(y_seed).random((X.shape[0], 2))
    model = make(**kwargs)
    params = model.get_params()
    supervised = name in ("KernelRidge", "ModalityPredictor")
    fit = (lambda: model.fit(X, y)) if supervised else (lambda: model.fit(X))
    dense_only = name == "KernelRidge"
    too_small = name in ("TruncatedSVD", "ModalityPredictor") and min(X.shape) < 2
    allow_nan = name == "GaussRankScaler"
    out = check_call(
        None,
        fit,
        names=arg or r"`X`",
        must_fail=arg is not None
        or special == "inf"
        or (special == "nan" and not allow_nan)
        or (too_small and name == "TruncatedSVD"),
    )
    assert model.get_params() == params or out is REFUSED, "fit changed a parameter"
    if out is REFUSED or (dense_only and hasattr(X, "tocsr")):
        return
    assert out is model
    result = model.predict(X) if supervised else model.transform(X)
    assert_finite(result, allow_nan=allow_nan and special == "nan")


METRICS = [sm.metrics.rmse, sm.metrics.pearson, sm.metrics.spearman]


@FAST
@given(
    data=matrices(formats=("dense", "csr")),
    metric=st.sampled_from(METRICS),
    bad=st.sampled_from(
        [
            *VALID * 3,
            ({"axis": 2}, "axis"),
            ({"axis": "0"}, "axis"),
            ({"y_pred": "shape"}, "y_pred"),
            ({"y_pred": "text"}, "y_pred"),
        ]
    ),
)
def test_metrics(data, metric, bad):
    y, _ = data
    kwargs, arg = bad
    y_pred = y
    if kwargs.get("y_pred") == "shape":
        y_pred = np.zeros((y.shape[0] + 1, y.shape[1]))
    elif kwargs.get("y_pred") == "text":
        y_pred = np.full(y.shape, "a")
    kwargs = {k: v for k, v in kwargs.items() if k != "y_pred"}
    check_call(None, lambda: metric(y, y_pred, **kwargs), names=arg, must_fail=arg is not None)


# --- pl ------------------------------------------------------------------------------------


@SLOW
@given(
    data=adatas(),
    bad=st.sampled_from(
        [
            *VALID * 2,
            ({"features": []}, "features"),
            ({"features": ["nope"]}, "feature"),
            ({"key": "nope"}, "key"),
            ({"bins": 0}, "bins"),
        ]
    ),
)
def test_pl_gaussrank(data, bad):
    adata, layer, special = data
    if special == "inf":
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = sm.pp.gaussrank(adata, layer=layer, copy=True)
    kwargs, arg = bad
    kwargs = {"features": [fitted.var_names[0]], **kwargs}
    ambiguous = fitted.var_names.has_duplicates  # the first name is the repeated one
    check_call(
        fitted,
        lambda: sm.pl.gaussrank(fitted, show=False, **kwargs),
        names=arg or ("features" if ambiguous else None),
        must_fail=arg is not None or ambiguous,
    )
    plt.close("all")


def _predicted(mdata):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm.tl.predict_modality(
            mdata,
            train="is_train",
            n_components_source=3,
            n_components_target=None,
            n_repeats=1,
        )
    return mdata


PREDICTION_PLOTS = [
    (
        lambda m, **kw: sm.pl.prediction_accuracy(m, show=False, **kw),
        [
            ({"metric": "r2"}, "metric"),
            ({"n_features": 0}, "n_features"),
            ({"n_features": "3"}, "n_features"),
        ],
    ),
    (
        lambda m, **kw: sm.pl.predicted_vs_measured(m, **{"features": "p0", **kw}, show=False),
        [
            ({"features": []}, "features"),
            ({"features": ["zz"]}, "feature"),
            ({"cells": "train"}, "cells"),
            ({"kind": "violin"}, "kind"),
            ({"ncols": 0}, "ncols"),
        ],
    ),
    (lambda m, **kw: sm.pl.uncertainty(m, show=False, **kw), []),
]


@SLOW
@given(mdata=cite_mudatas(), which=st.integers(0, 2), pick=st.integers(0, 20))
def test_pl_predictions(mdata, which, pick):
    mdata = _predicted(mdata)
    plot, bad = PREDICTION_PLOTS[which]
    options = [({}, None), ({"key": "nope"}, "key"), ({"key": 1}, "key"), *bad]
    kwargs, arg = options[pick % len(options)]
    held_out = mdata["prot"].n_obs > int(mdata.obs["is_train"].sum())
    # a valid call may still be refused when there is nothing to show (no held-out
    # measured cells; a std needs more than one fit): the error says so
    check_call(
        mdata,
        lambda: plot(mdata, **kwargs),
        names=arg or "held-out|_std|std",
        must_fail=arg is not None or not held_out,
    )
    plt.close("all")


@SLOW
@given(
    data=adatas(),
    bad=st.sampled_from(
        [
            *VALID * 2,
            ({"key": "nope"}, "key"),
            ({"n_comps": 0}, "n_comps"),
            ({"n_comps": "2"}, "n_comps"),
        ]
    ),
)
def test_pl_tsvd_variance(data, bad):
    adata, layer, special = data
    if special is not None or min(adata.shape) < 2:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = sm.pp.tsvd(adata, 1, layer=layer, copy=True)
    kwargs, arg = bad
    check_call(
        fitted,
        lambda: sm.pl.tsvd_variance(fitted, show=False, **kwargs),
        names=arg,
        must_fail=arg is not None,
    )
    plt.close("all")


@FAST
@given(
    bad=st.sampled_from(
        [
            ({"n_cells": 0}, "n_cells"),
            ({"n_cells": "10"}, "n_cells"),
            ({"n_genes": 1.5}, "n_genes"),
            ({"n_proteins": -1}, "n_proteins"),
            ({"density": 0.0}, "density"),
            ({"density": "0.1"}, "density"),
            ({"n_types": 0}, "n_types"),
            ({"random_state": "1"}, "random_state"),
        ]
    )
)
def test_datasets_synthetic_cite(bad):
    kwargs, arg = bad
    small = {"n_cells": 20, "n_genes": 10, "n_proteins": 3, "n_types": 2}
    check_call(
        None,
        lambda: sm.datasets.synthetic_cite(**{**small, **kwargs}),
        names=arg,
        must_fail=True,
    )


# --- the command line -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def h5mu(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    mdata = sm.datasets.synthetic_cite(60, 30, 4, n_types=3, random_state=0)
    mdata.obs["is_train"] = np.arange(mdata.n_obs) < 40
    mdata.obs["label"] = "x"
    path = folder / "in.h5mu"
    mdata.write_h5mu(path)
    return path


CLI_BAD = [
    (["--source", "atac"], "--source"),
    (["--target", "adt"], "--target"),
    (["--train-key", "nope"], "--train-key"),
    (["--train-key", "label"], "--train-key"),
    (["--batch-key", "nope"], "--batch-key"),
    (["--n-components-source", "0"], "--n-components-source"),
    (["--n-components-target", "0"], "--n-components-target"),
    (["--n-repeats", "0"], "--n-repeats"),
    (["--n-repeats", "x"], "--n-repeats"),
    (["--key-added", ""], "--key-added"),
    (["--seed", "-3"], "--seed"),
]


@SLOW
@given(bad=st.sampled_from(CLI_BAD))
def test_cli_predict_user_errors(h5mu, bad):
    from scmodal.cli import main

    flags, name = bad
    out = h5mu.with_name("out.h5mu")
    before = h5mu.read_bytes()
    args = ["predict", str(h5mu), "-o", str(out), "--n-repeats", "1"]
    args += ["--n-components-source", "3", "--n-components-target", "2", *flags]
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(args)
        except SystemExit as exit_info:  # argparse's own errors
            code = exit_info.code
    err = stderr.getvalue().strip()
    assert code == 2
    assert "Traceback" not in err and name in err, err
    assert len(err.splitlines()) == 1 or err.startswith("usage:"), err
    assert not out.exists() and h5mu.read_bytes() == before


def test_backed_anndata_is_refused_with_the_fix(tmp_path):
    """``backed="r"``: every AnnData function says to call ``to_memory()``, writes nothing."""
    import anndata as ad

    prot = sm.datasets.bmmc_cite()["prot"].copy()
    sm.pp.gaussrank(prot)
    sm.pp.tsvd(prot, 5)
    prot.write_h5ad(tmp_path / "prot.h5ad")
    backed = ad.read_h5ad(tmp_path / "prot.h5ad", backed="r")
    calls = [
        lambda a: sm.pp.gaussrank(a),
        lambda a: sm.pp.inverse_gaussrank(a),
        lambda a: sm.pp.tsvd(a, 5),
        lambda a: sm.get.to_cpu(a),
        lambda a: sm.pl.gaussrank(a, [a.var_names[0]], show=False),
        lambda a: sm.pl.tsvd_variance(a, show=False),
    ]
    for call in calls:
        check_call(backed, lambda call=call: call(backed), names="to_memory", must_fail=True)
    assert sm.pp.gaussrank(backed.to_memory(), copy=True).layers["gaussrank"].shape == prot.shape


def test_backed_mudata_is_refused_with_the_fix(tmp_path):
    import mudata as md

    mdata = sm.datasets.bmmc_cite()
    mdata.write_h5mu(tmp_path / "m.h5mu")
    backed = md.read_h5mu(tmp_path / "m.h5mu", backed=True)
    check_call(
        backed,
        lambda: sm.tl.predict_modality(backed, n_repeats=1),
        names="to_memory",
        must_fail=True,
    )
