"""Heads, grid search and ensembles of ModalityPredictor, against scikit-learn loops."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge
from sklearn.linear_model import Ridge
from sklearn.svm import SVR as SkSVR  # noqa: N811

import scmodal as sm
from scmodal._backend import CPU
from scmodal.models import ModalityPredictor
from scmodal.models._cross_validation import cross_validate, cv_folds
from scmodal.models._ensemble import blend_weights
from scmodal.models._heads import HEADS, Head, check_grid, heads_of

from .conftest import host


@pytest.fixture(scope="module")
def cite():
    """z-scored SVD components (scikit-learn's SVD) and proteins of the bundled BMMC cells."""
    mdata = sm.datasets.bmmc_cite()
    X = mdata["rna"].X.astype(np.float64)
    Z = SkTruncatedSVD(30, algorithm="arpack", random_state=0).fit_transform(X)
    Z = (Z - Z.mean(1, keepdims=True)) / Z.std(1, keepdims=True)
    Y = mdata["prot"].X.toarray().astype(np.float64)[:, :6]
    train = mdata.obs["is_train"].to_numpy()
    return Z, Y, train, mdata


def sklearn_oof(Z, Y, folds, make, standardize=False):
    """Out-of-fold predictions of a scikit-learn regressor, one model per column; with
    ``standardize``, each column fitted in units of its training standard deviation."""
    P = np.zeros_like(Y)
    for tr, va in folds:
        for j in range(Y.shape[1]):
            s = Y[tr, j].std() if standardize else 1.0
            P[va, j] = make().fit(Z[tr], Y[tr, j] / s).predict(Z[va]) * s
    return P


def scores(Y, P):
    P = np.maximum(P, 0)
    r = [np.corrcoef(Y[:, j], P[:, j])[0, 1] for j in range(Y.shape[1])]
    return np.sqrt(np.mean((Y - P) ** 2)), np.nanmean(r)


def test_grid_search_scores_equal_a_scikit_learn_loop(cite):
    """Every grid point's out-of-fold RMSE and mean Pearson r, for kernel ridge and SVR,
    equal scikit-learn's estimators refitted fold by fold (predictions clipped at 0; the
    SVR head fits each target in units of its standard deviation)."""
    Z, Y = cite[0][:300], cite[1][:300]  # the oracle refits column by column: keep it small
    folds = cv_folds(len(Z), None, 3, seed=0)
    grids = {"gamma": (0.01, 0.05), "alpha": (0.1, 1.0), "C": (0.5, 2.0), "epsilon": (0.1,)}
    results, best = cross_validate(
        Z, Y, Y, folds, [HEADS["krr"], HEADS["svr"]], grids, "rbf",
        lambda T: np.maximum(np.asarray(T, dtype=np.float64), 0), CPU,
    )  # fmt: skip
    assert results["krr"]["params"] == ["gamma", "alpha"]
    for i, gamma in enumerate(grids["gamma"]):
        for j, alpha in enumerate(grids["alpha"]):
            P = sklearn_oof(
                Z, Y, folds, lambda a=alpha, g=gamma: SkKernelRidge(a, kernel="rbf", gamma=g)
            )
            rmse, r = scores(Y, P)
            np.testing.assert_allclose(results["krr"]["rmse"][i, j], rmse, rtol=1e-6)
            np.testing.assert_allclose(results["krr"]["pearson"][i, j], r, rtol=1e-6)
        for j, C in enumerate(grids["C"]):
            make = lambda c=C, g=gamma: SkSVR(C=c, epsilon=0.1, gamma=g, tol=1e-8)  # noqa: E731
            P = sklearn_oof(Z, Y, folds, make, standardize=True)
            rmse, r = scores(Y, P)
            np.testing.assert_allclose(results["svr"]["rmse"][i, j, 0], rmse, rtol=1e-3)
    for name in ("krr", "svr"):
        flat = np.argmin(results[name]["rmse"])
        assert results[name]["best_rmse"] == results[name]["rmse"].ravel()[flat]
        rmse, _ = scores(Y, best[name])  # the returned predictions are the best point's
        np.testing.assert_allclose(rmse, results[name]["best_rmse"], rtol=1e-12)


def test_pipeline_fits_its_heads_with_the_chosen_values(cite):
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    model = ModalityPredictor(30, 10, alpha=[0.05, 0.2, 1.0], gamma=[0.005, 0.02])
    model.fit(X[train], Y[train])
    cv = model.cv_results_["krr"]
    assert cv["rmse"].shape == (2, 3) and cv["n_cells"] == train.sum() and cv["n_folds"] == 3
    i, j = np.unravel_index(np.argmin(cv["rmse"]), cv["rmse"].shape)
    chosen = {"gamma": [0.005, 0.02][i], "alpha": [0.05, 0.2, 1.0][j]}
    if cv["chosen_by"] != "lowest RMSE":  # the defaults, within noise of the lowest
        chosen = {"gamma": 0.005, "alpha": 0.2}
    assert model.best_params_["krr"] == chosen == cv["best"]
    assert model.heads_["krr"][0].alpha == chosen["alpha"]
    # the same as a model given the chosen values (no grid): same fit, same predictions
    fixed = ModalityPredictor(30, 10, **chosen).fit(X[train], Y[train])
    assert fixed.cv_results_ is None
    np.testing.assert_allclose(model.predict(X[~train]), fixed.predict(X[~train]), rtol=1e-6)


def test_mean_ensemble_is_the_mean_of_its_heads(cite):
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    kw = {"n_components_source": 30, "n_components_target": 10, "C": 3.0}
    both = ModalityPredictor(method=["krr", "svr"], ensemble="mean", **kw).fit(X[train], Y[train])
    assert both.cv_results_ is None and both.weights_ == {"krr": 0.5, "svr": 0.5}
    parts = [ModalityPredictor(method=m, **kw).fit(X[train], Y[train]) for m in ("krr", "svr")]
    mean, std = both.predict(X[~train], return_std=True)
    expected = [p.predict(X[~train], return_std=True) for p in parts]
    np.testing.assert_allclose(mean, (expected[0][0] + expected[1][0]) / 2, rtol=1e-5, atol=1e-6)
    # svr alone (one fit, no posterior) has std 0: the blend's std is half krr's posterior
    np.testing.assert_allclose(std, expected[0][1] / 2 + expected[1][1] / 2, rtol=1e-5)


def test_stack_weights_are_simplex_least_squares_and_fall_back_to_the_best_head():
    rng = np.random.default_rng(0)
    Y = rng.random((300, 4))
    a = Y + 0.3 * rng.standard_normal(Y.shape)
    b = Y + 0.3 * rng.standard_normal(Y.shape)
    weights, note = blend_weights({"a": a, "b": b}, Y, "stack")
    # closed form on the simplex: w minimises ‖Y − b − w (a − b)‖²
    d = (a - b).ravel()
    w = float(np.clip(d @ (Y - b).ravel() / (d @ d), 0, 1))
    assert note is None
    np.testing.assert_allclose([weights["a"], weights["b"]], [w, 1 - w], atol=1e-4)
    # two identical heads: no blend beats one of them; the best one alone, and a note
    weights, note = blend_weights({"a": a, "b": a.copy()}, Y, "stack")
    assert weights == {"a": 1.0, "b": 0.0} and "using that head alone" in note
    assert blend_weights({"a": a, "b": b}, Y, "mean") == ({"a": 0.5, "b": 0.5}, None)


def test_stack_that_cannot_help_warns_and_uses_the_best_head(cite):
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    # svr with a tiny C is no help next to kernel ridge
    model = ModalityPredictor(30, 10, method=["krr", "svr"], C=1e-4, ensemble="stack")
    with pytest.warns(UserWarning, match="using that head alone"):
        model.fit(X[train], Y[train])
    assert model.weights_ == {"krr": 1.0, "svr": 0.0}


def test_a_head_on_components_plugs_into_the_seam(cite, monkeypatch):
    """A head that takes the components, not a kernel (the MLP head's way): here
    scikit-learn's Ridge, registered like any head."""
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()

    def build(values, *, posterior=False, copy_X=True):
        return Ridge(alpha=values["alpha"])

    ridge = Head(
        "ridge", "ridge", ("alpha",), build,
        lambda m: {"dual_coef": m.coef_.T, "intercept": m.intercept_},
        lambda a, v: None, kernel=False,
    )  # fmt: skip
    monkeypatch.setitem(HEADS, "ridge", ridge)
    model = ModalityPredictor(30, 10, method="ridge", alpha=[0.1, 10.0]).fit(X[train], Y[train])
    assert model.cv_results_["ridge"]["params"] == ["alpha"]
    alpha = model.best_params_["ridge"]["alpha"]
    Z = host(model.Z_train_)
    T = host(model.target_svd_.transform(Y[train].astype(np.float32)))
    Z_new = host(model.source_svd_.transform(X[~train].astype(np.float32)))
    Z_new = (Z_new - Z_new.mean(1, keepdims=True)) / Z_new.std(1, keepdims=True)
    expected = Ridge(alpha=alpha).fit(Z, T).predict(Z_new) @ host(model.target_svd_.components_)
    np.testing.assert_allclose(
        model.predict(X[~train]), np.maximum(expected, 0), rtol=1e-4, atol=1e-5
    )


def test_grids_and_heads_are_checked():
    assert check_grid("auto", "alpha", (1.0, 2.0)) == (1.0, 2.0)
    assert heads_of(("krr", "svr")) == ["krr", "svr"]
    for value, error, match in [
        ([], ValueError, "empty grid"),
        ([0.1, -1], ValueError, "≥ 0"),
        ([1, 1], ValueError, "twice"),
        (["a"], TypeError, "numbers"),
        ("big", ValueError, "'auto'"),
        (np.nan, ValueError, "finite"),
    ]:
        with pytest.raises(error, match=match):
            check_grid(value, "alpha", ())
    with pytest.raises(ValueError, match="> 0"):
        check_grid([1.0, 0.0], "C", ())
    for method in ("mlp", [], ["krr", "krr"], 3):
        with pytest.raises(ValueError, match="method"):
            heads_of(method)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"method": "mlp"}, "mlp"),
        ({"alpha": []}, "alpha"),
        ({"gamma": [0.1, 0]}, "gamma"),
        ({"C": "auto", "epsilon": "auto"}, "epsilon"),
        ({"ensemble": "vote"}, "ensemble"),
        ({"cv": 1}, "cv"),
        ({"cv_cells": 1}, "cv_cells"),
    ],
)
def test_bad_parameters_leave_the_estimator_unfitted(cite, params, match):
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    model = ModalityPredictor(10, 3, **params)
    before = model.get_params()
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(X[train], Y[train])
    assert model.get_params() == before and not hasattr(model, "heads_")


def test_grid_too_large_for_memory_says_so(cite, monkeypatch):
    _, _, train, mdata = cite
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    import scmodal.models._kernel_ridge as krr

    one = ModalityPredictor(30, 10)
    monkeypatch.setattr(krr, "available_memory", lambda ns: 8e6)  # 7.2 MB usable
    one.fit(X[train], Y[train])  # one fit: fits
    grid = ModalityPredictor(30, 10, alpha=list(np.geomspace(0.01, 10, 1000)))
    with pytest.raises(MemoryError, match="cross-validating 1000 settings"):
        grid.fit(X[train], Y[train])
    assert not hasattr(grid, "heads_")


def test_cv_subsample_and_groups(cite):
    mdata = cite[3]
    X, Y = mdata["rna"].X, mdata["prot"].X.toarray()
    groups = mdata.obs["cell_type"].astype(str).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ModalityPredictor(20, 5, alpha=[0.1, 1.0], cv_cells=150, cv=4)
        model.fit(X, Y, groups=groups)
    assert model.cv_results_["krr"]["n_cells"] == 150
    assert model.cv_results_["krr"]["n_folds"] == 4


@pytest.mark.gpu
def test_heads_grid_and_stack_on_the_gpu_equal_the_cpu(cite, tmp_path):
    """Cross-validation, both heads and the stack on cupy data (the stand-in without a
    GPU: it refuses what cupy refuses) give the CPU's choices and predictions; a model
    fitted on the GPU saves, loads on the CPU and predicts on the GPU again."""
    from scmodal._backend import gpu_namespace, is_gpu_array, to_device

    ns = gpu_namespace()
    _, _, train, mdata = cite
    X = mdata["rna"].X.astype(np.float32)
    Y = mdata["prot"].X.toarray().astype(np.float32)
    params = {"method": ["krr", "svr"], "alpha": [0.1, 0.5], "ensemble": "stack"}
    cpu = ModalityPredictor(30, 10, **params).fit(X[train], Y[train])
    gpu = ModalityPredictor(30, 10, **params).fit(to_device(X[train], ns), to_device(Y[train], ns))
    assert gpu.best_params_ == cpu.best_params_
    np.testing.assert_allclose(
        [gpu.weights_[k] for k in ("krr", "svr")], [cpu.weights_[k] for k in ("krr", "svr")],
        atol=1e-3,
    )  # fmt: skip
    mean, std = gpu.predict(to_device(X[~train], ns), return_std=True)
    assert is_gpu_array(mean) and is_gpu_array(std)
    expected, expected_std = cpu.predict(X[~train], return_std=True)
    np.testing.assert_allclose(host(mean), expected, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(host(std), expected_std, rtol=1e-3, atol=1e-3)
    gpu.save(tmp_path / "m.npz")
    back = ModalityPredictor.load(tmp_path / "m.npz")
    np.testing.assert_allclose(host(back.predict(to_device(X[~train], ns))), host(mean), rtol=1e-5)


def test_many_alphas_take_the_eigendecomposition_path_with_the_same_scores(cite, monkeypatch):
    """From EIGH_MIN_ALPHAS values on, one eigendecomposition per fold serves every alpha:
    the scores equal scikit-learn's fold-by-fold refits."""
    import scmodal.models._cross_validation as cv_module

    Z, Y = cite[0][:300], cite[1][:300]  # the oracle refits column by column: keep it small
    calls = []
    path = cv_module.kernel_ridge_path
    monkeypatch.setattr(
        cv_module, "kernel_ridge_path", lambda *a: calls.append(len(a[3])) or path(*a)
    )
    alphas = tuple(np.geomspace(0.01, 10, cv_module.EIGH_MIN_ALPHAS))
    folds = cv_folds(len(Z), None, 3, seed=0)
    grids = {"gamma": (0.01,), "alpha": alphas, "C": (1.0,), "epsilon": (0.1,)}
    finish = lambda T: np.maximum(np.asarray(T, dtype=np.float64), 0)  # noqa: E731
    results, _ = cross_validate(Z, Y, Y, folds, [HEADS["krr"]], grids, "rbf", finish, CPU)
    assert calls == [len(alphas)] * 3
    for j in (0, 7, len(alphas) - 1):
        make = lambda a=alphas[j]: SkKernelRidge(a, kernel="rbf", gamma=0.01)  # noqa: E731
        rmse, r = scores(Y, sklearn_oof(Z, Y, folds, make))
        np.testing.assert_allclose(results["krr"]["rmse"][0, j], rmse, rtol=1e-6)
        np.testing.assert_allclose(results["krr"]["pearson"][0, j], r, rtol=1e-6)


def test_the_defaults_stay_unless_a_grid_point_beats_them_beyond_fold_noise(cite):
    """With the winner's values in the grid, the lowest out-of-fold RMSE replaces them
    only if it beats them by more than one standard error of the per-fold difference;
    the per-fold errors here come from scikit-learn's refits."""
    Z, Y = cite[0], cite[1]
    folds = cv_folds(len(Z), None, 3, seed=0)
    finish = lambda T: np.maximum(np.asarray(T, dtype=np.float64), 0)  # noqa: E731
    rules = []
    for alphas in [(0.2, 0.18), (0.2, 0.1), (0.2, 5.0)]:
        grids = {"gamma": (0.005,), "alpha": alphas, "C": (1.0,), "epsilon": (0.1,)}
        results, _ = cross_validate(Z, Y, Y, folds, [HEADS["krr"]], grids, "rbf", finish, CPU)
        fold_mse = []
        for alpha in alphas:
            make = lambda a=alpha: SkKernelRidge(a, kernel="rbf", gamma=0.005)  # noqa: E731
            P = np.maximum(sklearn_oof(Z, Y, folds, make), 0)
            fold_mse.append([np.mean((Y[va] - P[va]) ** 2) for _, va in folds])
        d = np.subtract(*fold_mse)  # default minus the other
        better = d.mean() > d.std(ddof=1) / np.sqrt(3)
        assert results["krr"]["best"]["alpha"] == (alphas[1] if better else 0.2), alphas
        rule = "lowest RMSE" if better or d.mean() < 0 else "default"
        assert results["krr"]["chosen_by"].startswith(rule)
        rules.append(rule)
    assert rules == ["lowest RMSE", "default", "lowest RMSE"]  # each branch is taken
