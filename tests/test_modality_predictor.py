"""ModalityPredictor against an independent scikit-learn re-computation of the pipeline."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge

import scmodal as sm
from scmodal.models import ModalityPredictor
from scmodal.models._bagging import bagging_halves

from .conftest import host


@pytest.fixture(scope="module")
def split():
    mdata = sm.datasets.bmmc_cite()
    train = mdata.obs["is_train"].to_numpy()
    X = mdata["rna"].X.tocsr().astype(np.float64)
    Y = mdata["prot"].X.toarray().astype(np.float64)
    return X, Y, train


def zscore(A):
    return (A - A.mean(1, keepdims=True)) / A.std(1, keepdims=True)


def posterior_std(Z_train, Z_new, T, W, gamma, alpha):
    """Closed form: latent GP variance σ_c² (1 − k_xᵀ (K + αI)⁻¹ k_x) with
    σ_c² = T_cᵀ (K + αI)⁻¹ T_c / n, mapped through the target components W."""
    from sklearn.metrics.pairwise import rbf_kernel

    A = rbf_kernel(Z_train, Z_train, gamma=gamma) + alpha * np.eye(len(Z_train))
    k = rbf_kernel(Z_new, Z_train, gamma=gamma)
    v = 1.0 - np.einsum("ij,ji->i", k, np.linalg.solve(A, k.T))
    sigma2 = np.einsum("ic,ic->c", T, np.linalg.solve(A, T)) / len(Z_train)
    return np.sqrt(np.maximum(v, 0)[:, None] * (sigma2 @ (W * W))[None, :])


def sklearn_pipeline(X_all, train, Y_train, fit_cells, k, t, gamma, alpha, clip):
    """The published pipeline with scikit-learn (ARPACK SVDs), on the same halves."""
    svd_x = SkTruncatedSVD(k, algorithm="arpack", tol=1e-12, random_state=0)
    Z = zscore(svd_x.fit_transform(X_all))
    svd_y = SkTruncatedSVD(t, algorithm="arpack", tol=1e-12, random_state=0)
    T = svd_y.fit_transform(Y_train)
    preds = []
    for cells in fit_cells:
        head = SkKernelRidge(alpha=alpha, kernel="rbf", gamma=gamma)
        head.fit(Z[train][cells], T[cells])
        preds.append(np.maximum(head.predict(Z[~train]) @ svd_y.components_, clip))
    if len(fit_cells) == 1:  # one fit on all cells: the posterior standard deviation
        std = posterior_std(Z[train], Z[~train], T, svd_y.components_, gamma, alpha)
        return preds[0], std
    return np.mean(preds, axis=0), np.std(preds, axis=0)


@pytest.mark.parametrize("bagging", ["cells", None])
@pytest.mark.parametrize("block_bytes", [None, 50_000])
def test_pipeline_matches_scikit_learn_recomputation(split, monkeypatch, block_bytes, bagging):
    """Same math as the published pipeline; SVDs converged on both sides (their own
    accuracy at the defaults is tested in test_tsvd.py). With 50 kB prediction blocks,
    the 289 cells are predicted 7 at a time. One fit (the default): its standard
    deviation against the closed-form Gaussian-process posterior."""
    import functools

    import scmodal.models._kernel_ridge as krr
    import scmodal.models._modality_predictor as mp

    converged = functools.partial(mp.TruncatedSVD, n_iter=40, n_oversamples=40)
    monkeypatch.setattr(mp, "TruncatedSVD", converged)
    if block_bytes is not None:
        monkeypatch.setattr(krr, "BLOCK_BYTES", block_bytes)
    X, Y, train = split
    model = ModalityPredictor(
        20, 8, gamma=0.01, alpha=0.2, n_repeats=2, bagging=bagging, random_state=0
    )
    X_all = sp.vstack([X[train], X[~train]]).tocsr()
    model.fit(X[train], Y[train], X_unlabeled=X[~train])
    mean, std = model.predict(X[~train], return_std=True)
    expected, expected_std = sklearn_pipeline(
        X_all,
        np.r_[np.ones(train.sum(), bool), np.zeros((~train).sum(), bool)],
        Y[train],
        model.fit_cells_,
        20,
        8,
        0.01,
        0.2,
        0.0,
    )
    scale = np.abs(expected).max()
    np.testing.assert_allclose(mean, expected, atol=1e-4 * scale)
    np.testing.assert_allclose(std, expected_std, atol=1e-4 * scale)
    fits = model.heads_["krr"]
    assert len(fits) == (4 if bagging else 1)
    for fit, cells in zip(fits, model.fit_cells_, strict=True):
        assert fit.dual_coef_.shape == (cells.sum(), 8)


def test_float32_default_close_to_float64(split):
    X, Y, train = split
    a = ModalityPredictor(30, 10, n_repeats=1).fit(X[train], Y[train]).predict(X[~train])
    X32 = X.astype(np.float32)
    b = ModalityPredictor(30, 10, n_repeats=1).fit(X32[train], Y[train]).predict(X32[~train])
    assert b.dtype == np.float32 and a.dtype == np.float64
    np.testing.assert_allclose(b, a, atol=2e-3 * np.abs(a).max())


def test_bagging_halves_with_and_without_groups():
    groups = np.repeat(["a", "b", "c", "d", "e"], [3, 4, 5, 6, 7])
    fits = bagging_halves(25, groups, n_repeats=3, seed=0, bagging="batches")
    assert len(fits) == 6
    for first, second in zip(fits[::2], fits[1::2], strict=True):
        assert np.intersect1d(first, second).size == 0
        assert np.union1d(first, second).size == 25
        for half in (first, second):  # whole groups only
            for g in np.unique(groups[half]):
                assert np.isin(np.flatnonzero(groups == g), half).all()
        assert {len(np.unique(groups[first])), len(np.unique(groups[second]))} == {2, 3}
    assert not all(np.array_equal(fits[0], f) for f in fits[2::2])  # reshuffled per repeat
    plain = bagging_halves(11, None, n_repeats=2, seed=1, bagging="batches")
    assert [len(f) for f in plain] == [5, 6, 5, 6]
    assert np.union1d(plain[0], plain[1]).size == 11
    with pytest.warns(UserWarning, match="one group"):
        one = bagging_halves(10, np.zeros(10), n_repeats=1, seed=0, bagging="batches")
    assert [len(f) for f in one] == [10]  # nothing to split: one fit, as the winner's code
    cells = bagging_halves(10, groups[:10], n_repeats=1, seed=0, bagging="cells")
    assert [len(f) for f in cells] == [5, 5]  # groups ignored
    assert [len(f) for f in bagging_halves(10, groups[:10], 3, 0, None)] == [10]
    with pytest.raises(ValueError, match="bagging"):
        bagging_halves(10, None, 1, 0, "halves")


def test_groups_are_used_by_fit(split):
    X, Y, train = split
    n = train.sum()
    groups = np.arange(n) % 4
    model = ModalityPredictor(20, 5, n_repeats=2, bagging="batches").fit(
        X[train], Y[train], groups=groups
    )
    for cells in model.fit_cells_:
        used = np.unique(groups[cells])
        assert len(used) == 2 and np.isin(groups, used).sum() == cells.sum()


def test_save_load_round_trip_and_gaussrank_targets(split, tmp_path):
    X, Y, train = split
    model = ModalityPredictor(20, 8, n_repeats=1, target_transform="gaussrank")
    model.fit(X[train], Y[train])
    mean, std = model.predict(X[~train], return_std=True)
    # predictions map back into each protein's training range
    assert (mean >= Y[train].min(0) - 1e-6).all() and (mean <= Y[train].max(0) + 1e-6).all()
    model.save(tmp_path / "model.npz")
    back = ModalityPredictor.load(tmp_path / "model.npz")
    assert back.get_params() == model.get_params()
    mean_b, std_b = back.predict(X[~train], return_std=True)
    np.testing.assert_allclose(mean_b, mean, rtol=1e-6)
    np.testing.assert_allclose(std_b, std, rtol=1e-6, atol=1e-9)
    plain = ModalityPredictor(20, None, n_repeats=1, clip_min=None).fit(X[train], Y[train])
    plain.save(tmp_path / "plain.npz")
    np.testing.assert_allclose(
        ModalityPredictor.load(tmp_path / "plain.npz").predict(X[:5]), plain.predict(X[:5])
    )
    with pytest.raises(ValueError, match="not a scmodal"):
        np.savez(tmp_path / "other.npz", a=np.zeros(2))
        ModalityPredictor.load(tmp_path / "other.npz")


def test_component_caps_warn(split):
    X, Y, train = split
    with pytest.warns(UserWarning, match="target SVD"):
        model = ModalityPredictor(20, 500, n_repeats=1).fit(X[train], Y[train])
    assert model.target_svd_.n_components == 133


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_repeats": 0}, "n_repeats"),
        ({"target_transform": "log"}, "target_transform"),
        ({"alpha": -1}, "alpha"),
        ({"kernel": "poly"}, "kernel"),
    ],
)
def test_bad_parameters(split, params, match):
    X, Y, train = split
    with pytest.raises(ValueError, match=match):
        ModalityPredictor(10, 5, **params).fit(X[train], Y[train])


def test_memory_guard(split, monkeypatch):
    import scmodal.models._kernel_ridge as krr

    X, Y, train = split
    monkeypatch.setattr(krr, "available_memory", lambda ns: 200_000)
    with pytest.raises(MemoryError, match="at most"):
        ModalityPredictor(10, 5, n_repeats=1).fit(X[train], Y[train])


@pytest.mark.gpu
def test_gpu_predictions_equal_the_cpu_ones(split):
    """The GPU against the CPU, which the tests above check against scikit-learn (on the
    CPU alone this would compare a path with itself, so it runs only where a GPU is)."""
    from scmodal._backend import gpu_namespace, to_device

    ns = gpu_namespace()
    X, Y, train = split
    X32 = X.astype(np.float32)
    model = ModalityPredictor(20, 8, n_repeats=1).fit(
        to_device(X32[train], ns), to_device(Y[train], ns)
    )
    got = host(model.predict(to_device(X32[~train], ns)))
    ref = ModalityPredictor(20, 8, n_repeats=1).fit(X32[train], Y[train]).predict(X32[~train])
    np.testing.assert_allclose(got, ref, atol=1e-3 * np.abs(ref).max())


def test_posterior_std_ranks_the_errors_of_held_out_cells(split):
    """One fit's posterior std is larger where the prediction is worse (held-out donor)."""
    X, Y, train = split
    model = ModalityPredictor(50, 20).fit(X[train], Y[train], X_unlabeled=X[~train])
    mean, std = model.predict(X[~train], return_std=True)
    error = np.abs(mean - Y[~train])
    assert (std > 0).all()
    assert stats.spearmanr(std.ravel(), error.ravel()).statistic > 0.2
    assert stats.spearmanr(std.mean(axis=1), error.mean(axis=1)).statistic > 0


@pytest.mark.parametrize("target_transform", [None, "gaussrank"])
def test_one_fit_model_saves_its_posterior(split, tmp_path, target_transform):
    X, Y, train = split
    model = ModalityPredictor(20, 8, target_transform=target_transform).fit(X[train], Y[train])
    model.save(tmp_path / "m.npz")
    back = ModalityPredictor.load(tmp_path / "m.npz")
    before = model.predict(X[~train], return_std=True)
    for a, b in zip(before, back.predict(X[~train], return_std=True), strict=True):
        np.testing.assert_array_equal(a, b)
    assert back.heads_["krr"][0].factor_.shape == (train.sum(), train.sum())
