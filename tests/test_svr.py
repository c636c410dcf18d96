"""SVR against scikit-learn's SVR (libsvm) fitted column by column, and its input checks."""

import sys

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVR as SkSVR  # noqa: N811

import scmodal as sm
import scmodal.models._svr as svr_module
from scmodal._backend import CPU
from scmodal.models._svr import SVR, svr_dual

from .conftest import host


def data(n=150, d=5, t=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    Y = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2], np.cos(X[:, :3].sum(1))][:, :t]
    Y = Y + 0.2 * rng.standard_normal(Y.shape)
    return X.astype(dtype), Y.astype(dtype)


def sklearn_columns(K, Y, K_new, C, epsilon):
    """libsvm per column, tight tolerance: the oracle."""
    Y = Y.reshape(len(K), -1)
    fits = [SkSVR(kernel="precomputed", C=C, epsilon=epsilon, tol=1e-8).fit(K, y) for y in Y.T]
    return np.column_stack([f.predict(K_new) for f in fits]), fits


@pytest.mark.parametrize(("C", "epsilon"), [(0.05, 0.1), (1.0, 0.1), (10.0, 0.01), (1.0, 0.5)])
def test_precomputed_matches_scikit_learn(C, epsilon):
    X, Y = data()
    X_new = data(n=40, seed=1)[0]
    K, K_new = rbf_kernel(X, X, gamma=0.2), rbf_kernel(X_new, X, gamma=0.2)
    expected, fits = sklearn_columns(K, Y, K_new, C, epsilon)
    model = SVR(C=C, epsilon=epsilon, kernel="precomputed", tol=1e-6).fit(K, Y)
    np.testing.assert_allclose(model.predict(K_new), expected, atol=1e-3)
    coef = model.dual_coef_
    assert coef.shape == Y.shape and model.intercept_.shape == (3,)
    np.testing.assert_allclose(coef.sum(axis=0), 0.0, atol=1e-9 * len(K) * C)
    assert np.abs(coef).max() <= C
    for j, fit in enumerate(fits):  # the support vectors and their coefficients
        dense = np.zeros(len(K))
        dense[fit.support_] = fit.dual_coef_.ravel()
        np.testing.assert_allclose(coef[:, j], dense, atol=2e-3 * max(C, 1.0))
        assert model.intercept_[j] == pytest.approx(fit.intercept_[0], abs=1e-3)
    if C == 0.05:  # a small C: most coefficients at the bound
        assert (np.abs(coef) == C).mean() > 0.5


def test_one_dimensional_target():
    X, Y = data()
    model = SVR(C=2.0, epsilon=0.05, gamma=0.3, tol=1e-6).fit(X, Y[:, 0])
    sk = SkSVR(C=2.0, epsilon=0.05, gamma=0.3, tol=1e-8).fit(X, Y[:, 0])
    pred = model.predict(X[:7])
    assert pred.shape == (7,) and model.dual_coef_.shape == (len(X),)
    assert np.ndim(model.intercept_) == 0
    np.testing.assert_allclose(pred, sk.predict(X[:7]), atol=1e-3)


# the linear kernel (rank 20 < 120 cells: a degenerate dual) stops at max_iter short of
# tol=1e-6 (KKT violation ~5e-5), its predictions within 1e-3 of libsvm's all the same
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(("kernel", "gamma"), [("rbf", 0.1), ("rbf", None), ("linear", None)])
def test_kernels_match_scikit_learn(kernel, gamma):
    X, Y = data(n=120, d=20)
    X_new = data(n=30, d=20, seed=2)[0]
    ours = SVR(C=1.0, epsilon=0.1, kernel=kernel, gamma=gamma, tol=1e-6).fit(X, Y)
    for j in range(Y.shape[1]):
        sk = SkSVR(kernel=kernel, C=1.0, epsilon=0.1, gamma="auto" if gamma is None else gamma)
        sk.set_params(tol=1e-8).fit(X, Y[:, j])
        np.testing.assert_allclose(ours.predict(X_new)[:, j], sk.predict(X_new), atol=1e-3)
    assert ours.n_features_in_ == 20 and ours.X_fit_.shape == X.shape
    assert ours.gamma_ == (0.05 if gamma is None else gamma)


@pytest.fixture(scope="module")
def bmmc_features():
    """z-scored SVD components of the bundled BMMC GEX; targets: 3 proteins, z-scored."""
    mdata = sm.datasets.bmmc_cite()
    Z = np.asarray(sm.models.TruncatedSVD(50).fit_transform(mdata["rna"].X), dtype=np.float64)
    Z = (Z - Z.mean(1, keepdims=True)) / Z.std(1, keepdims=True)
    P = mdata["prot"].X
    P = np.asarray(P.toarray() if hasattr(P, "toarray") else P, dtype=np.float64)
    P = P[:, np.argsort(P.var(axis=0))[-3:]]
    P = (P - P.mean(0)) / P.std(0)
    train = mdata.obs["is_train"].to_numpy()
    return Z[train], P[train], Z[~train]


@pytest.mark.parametrize(("C", "epsilon"), [(1.0, 0.1), (0.1, 0.2)])
def test_bmmc_matches_scikit_learn(bmmc_features, C, epsilon):
    Z, P, Z_new = bmmc_features
    model = SVR(C=C, epsilon=epsilon, gamma=0.005, tol=1e-6).fit(Z, P)
    for j in range(P.shape[1]):
        sk = SkSVR(C=C, epsilon=epsilon, gamma=0.005, tol=1e-8).fit(Z, P[:, j])
        np.testing.assert_allclose(model.predict(Z_new)[:, j], sk.predict(Z_new), atol=1e-3)
    np.testing.assert_allclose(model.dual_coef_.sum(0), 0.0, atol=1e-9 * len(Z))


def test_float32_and_warm_start_along_a_path_of_c():
    X, Y = data()
    X_new = data(n=40, seed=1)[0]
    K, K_new = rbf_kernel(X, X, gamma=0.2), rbf_kernel(X_new, X, gamma=0.2)
    model = SVR(kernel="precomputed", epsilon=0.1, tol=1e-4, warm_start=True)
    for C in [0.1, 0.3, 1.0, 3.0]:
        model.set_params(C=C).fit(K.astype(np.float32), Y.astype(np.float32))
        assert model.dual_coef_.dtype == np.float32
        expected, _ = sklearn_columns(K, Y, K_new, C, 0.1)
        np.testing.assert_allclose(model.predict(K_new.astype(np.float32)), expected, atol=1e-3)


def test_svr_dual_function():
    X, Y = data(n=80)
    K = rbf_kernel(X, X, gamma=0.3)
    coef, intercept, n_iter = svr_dual(K, Y, 1.0, 0.1, CPU, tol=1e-6)
    expected, _ = sklearn_columns(K, Y, K, 1.0, 0.1)
    np.testing.assert_allclose(K @ coef + intercept, expected, atol=1e-3)
    assert n_iter >= 1 and intercept.shape == (3,)
    with pytest.warns(Warning, match="did not converge"):
        svr_dual(K, Y, 1.0, 0.1, CPU, tol=1e-9, max_iter=2)


@pytest.mark.parametrize(("C", "epsilon"), [(3.0, 0.1), (0.5, 0.3)])
def test_standardize_matches_scikit_learn_in_units_of_std(C, epsilon):
    """Column j is scikit-learn's SVR of y_j / s_j (same C, epsilon), predictions × s_j."""
    X, Y = data()
    X_new = data(n=40, seed=1)[0]
    Y = Y * np.array([0.3, 1.0, 5.0]) + np.array([2.0, -1.0, 0.0])
    K, K_new = rbf_kernel(X, X, gamma=0.2), rbf_kernel(X_new, X, gamma=0.2)
    scale = Y.std(axis=0)
    model = SVR(C=C, epsilon=epsilon, kernel="precomputed", tol=1e-6, standardize=True)
    model.fit(K, Y)
    for j in range(3):
        sk = SkSVR(kernel="precomputed", C=C, epsilon=epsilon, tol=1e-8).fit(K, Y[:, j] / scale[j])
        pred = model.predict(K_new)[:, j]
        np.testing.assert_allclose(pred, sk.predict(K_new) * scale[j], atol=1e-3 * scale[j])
        dense = np.zeros(len(K))
        dense[sk.support_] = sk.dual_coef_.ravel() * scale[j]
        np.testing.assert_allclose(model.dual_coef_[:, j], dense, atol=2e-3 * max(C, 1) * scale[j])
    assert np.abs(model.dual_coef_).max() > C  # the bound is C·s_j, not C


def test_standardize_constant_column_and_one_dimensional_target():
    X, Y = data(t=1)
    y = 4.0 * Y[:, 0]
    one = SVR(C=3.0, gamma=0.2, tol=1e-6, standardize=True).fit(X, y)
    sk = SkSVR(C=3.0, gamma=0.2, tol=1e-8).fit(X, y / y.std())
    assert one.dual_coef_.shape == (len(X),)
    np.testing.assert_allclose(one.predict(X[:9]), sk.predict(X[:9]) * y.std(), atol=1e-3 * y.std())
    # a constant column has std 0: fitted on its own scale, predicted exactly
    two = SVR(C=3.0, gamma=0.2, tol=1e-6, standardize=True).fit(X, np.c_[y, np.full(len(X), 7.0)])
    np.testing.assert_allclose(two.predict(X[:9])[:, 1], 7.0, atol=1e-6)
    np.testing.assert_allclose(two.dual_coef_[:, 1], 0.0)


@pytest.mark.gpu
def test_gpu_equals_cpu():
    from scmodal._backend import gpu_namespace, to_device

    ns = gpu_namespace()

    def to_dev(x):
        return to_device(x, ns)

    X, Y = data()
    X_new = data(n=40, seed=1)[0]
    cpu = SVR(C=1.0, epsilon=0.1, gamma=0.2, tol=1e-6).fit(X, Y)
    gpu = SVR(C=1.0, epsilon=0.1, gamma=0.2, tol=1e-6).fit(to_dev(X), to_dev(Y))
    assert type(gpu.dual_coef_) is not np.ndarray
    np.testing.assert_allclose(host(gpu.dual_coef_), cpu.dual_coef_, atol=1e-8)
    np.testing.assert_allclose(host(gpu.predict(to_dev(X_new))), cpu.predict(X_new), atol=1e-8)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"C": 0.0}, ValueError, "`C`"),
        ({"C": -1.0}, ValueError, "`C`"),
        ({"C": "1"}, TypeError, "`C`"),
        ({"epsilon": -0.1}, ValueError, "`epsilon`"),
        ({"kernel": "poly"}, ValueError, "`kernel`"),
        ({"gamma": 0.0}, ValueError, "`gamma`"),
        ({"tol": 0.0}, ValueError, "`tol`"),
        ({"max_iter": 0}, ValueError, "`max_iter`"),
        ({"solver": "smo"}, ValueError, "`solver`"),
        ({"warm_start": "yes"}, TypeError, "`warm_start`"),
        ({"standardize": "yes"}, TypeError, "`standardize`"),
        ({"standardize": 1}, TypeError, "`standardize`"),
        ({"standardize": None}, TypeError, "`standardize`"),
    ],
)
def test_bad_parameters(params, error, match):
    X, Y = data(n=20)
    model = SVR(**params)
    with pytest.raises(error, match=match):
        model.fit(X, Y)
    assert not hasattr(model, "dual_coef_")


def test_bad_input():
    X, Y = data(n=20)
    with pytest.raises(ValueError, match="rows"):
        SVR().fit(X, Y[:10])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SVR().fit(X_nan, Y)
    with pytest.raises(ValueError, match="NaN"):
        SVR().fit(X, np.where(Y > 0, np.nan, Y))
    with pytest.raises(Exception, match="not fitted"):
        SVR().predict(X)
    with pytest.raises(ValueError, match="features"):
        SVR().fit(X, Y).predict(X[:, :3])
    with pytest.raises(ValueError, match="square kernel matrix"):
        SVR(kernel="precomputed").fit(X, Y)


def test_cuml_solver_without_cuml_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cuml", None)  # import cuml raises ImportError
    monkeypatch.setitem(sys.modules, "cuml.svm", None)
    X, Y = data(n=20)
    with pytest.raises(ImportError, match="pip install cuml-cu12"):
        SVR(solver="cuml").fit(X, Y)


def test_memory_guard(monkeypatch):
    X, Y = data(n=1000, dtype=np.float32)
    monkeypatch.setattr(svr_module, "available_memory", lambda ns: 2_000_000, raising=False)
    import scmodal.models._kernel_ridge as krr

    monkeypatch.setattr(krr, "available_memory", lambda ns: 2_000_000)
    with pytest.raises(MemoryError, match="support vector regression on 1,000 training cells"):
        SVR().fit(X, Y)


def test_newton_preconditioner_against_numpy():
    """Top eigenpairs vs numpy's eigh; the free-row Woodbury inverse vs a dense solve."""
    X, _ = data(n=120, d=5)
    K = rbf_kernel(X, X, gamma=0.2)
    U, w = svr_module._top_eigen(K, 20, CPU)
    # randomized (one power step): the leading ones to a few parts in 10⁵
    np.testing.assert_allclose(w[:5], np.linalg.eigvalsh(K)[::-1][:5], rtol=1e-3)
    assert w.shape == (20,) and U.shape == (120, 20)
    rng = np.random.default_rng(3)
    free = rng.random((120, 2)) < 0.6
    R = np.where(free, rng.standard_normal((120, 2)), 0.0)
    got = svr_module._Preconditioner(U, w, free, CPU)(R)
    for j in range(2):
        F = free[:, j]
        P = (U[F] * w) @ U[F].T + w[-1] * np.eye(F.sum())
        np.testing.assert_allclose(got[F, j], np.linalg.solve(P, R[F, j]), rtol=1e-8, atol=1e-10)
        assert np.all(got[~F, j] == 0)
