"""KernelRidge against scikit-learn's KernelRidge, and the memory guard."""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge

import scmodal.models._kernel_ridge as krr
from scmodal.models import KernelRidge

from .conftest import host


def data(dtype, n=300, d=20, t=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    Y = (np.sin(X[:, :t]) + 0.1 * rng.standard_normal((n, t))).astype(dtype)
    return X, Y


@pytest.mark.parametrize(("dtype", "rtol"), [(np.float64, 1e-6), (np.float32, 1e-3)])
@pytest.mark.parametrize(("kernel", "gamma"), [("rbf", 0.05), ("rbf", None), ("linear", None)])
def test_matches_scikit_learn(dtype, rtol, kernel, gamma, device, to_dev):
    X, Y = data(dtype)
    ours = KernelRidge(alpha=0.2, kernel=kernel, gamma=gamma).fit(to_dev(X), to_dev(Y))
    theirs = SkKernelRidge(alpha=0.2, kernel=kernel, gamma=gamma).fit(
        X.astype(np.float64), Y.astype(np.float64)
    )
    X_new = data(dtype, n=50, seed=1)[0]
    expected = theirs.predict(X_new.astype(np.float64))
    got = host(ours.predict(to_dev(X_new)))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    np.testing.assert_allclose(
        host(ours.dual_coef_),
        theirs.dual_coef_,
        rtol=rtol,
        atol=rtol * np.abs(theirs.dual_coef_).max() * 10,
    )


@pytest.mark.parametrize("y_columns", [None, 4])
def test_predict_in_blocks_matches_scikit_learn(monkeypatch, y_columns):
    """Blocks of 7 rows (the last one shorter) give scikit-learn's predictions."""
    X, Y = data(np.float64)
    y = Y[:, 0] if y_columns is None else Y
    monkeypatch.setattr(krr, "BLOCK_BYTES", 7 * 8 * len(X))  # 7 float64 kernel rows
    X_new = data(np.float64, n=50, seed=1)[0]
    got = KernelRidge(alpha=0.2, gamma=0.05).fit(X, y).predict(X_new)
    expected = SkKernelRidge(alpha=0.2, kernel="rbf", gamma=0.05).fit(X, y).predict(X_new)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)


def test_one_dimensional_target_and_not_fitted():
    X, Y = data(np.float64)
    model = KernelRidge(alpha=1.0, gamma=0.1)
    with pytest.raises(Exception, match="not fitted"):
        model.predict(X)
    pred = model.fit(X, Y[:, 0]).predict(X[:5])
    assert pred.shape == (5,)
    sk = SkKernelRidge(alpha=1.0, kernel="rbf", gamma=0.1).fit(X, Y[:, 0]).predict(X[:5])
    np.testing.assert_allclose(pred, sk, rtol=1e-8)


def test_memory_guard_says_what_is_needed_and_what_fits(monkeypatch):
    X, Y = data(np.float32, n=2000)
    monkeypatch.setattr(krr, "available_memory", lambda ns: 4_000_000)  # 4 MB
    with pytest.raises(MemoryError) as err:
        KernelRidge().fit(X, Y)
    message = str(err.value)
    assert "2,000 training cells" in message and "needs 16.0 MB on the CPU" in message
    assert "subsample" in message
    n_max = int(message.split("at most ")[1].split(" ")[0].replace(",", ""))

    # an exact formula: an n_max × n_max float32 kernel, factorized in place, and the
    # n_max × 4 coefficients fit in 90 % of 4 MB (tracemalloc checks the count:
    # test_memory_guard.py)
    def need(n):
        return 4 * (n**2 + 4 * n)

    assert need(n_max) <= 0.9 * 4_000_000 < need(n_max + 1)
    KernelRidge().fit(X[:n_max], Y[:n_max])  # and that many do fit
    with pytest.raises(MemoryError):
        KernelRidge().fit(X[: n_max + 1], Y[: n_max + 1])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"alpha": -1.0}, "alpha"),
        ({"kernel": "poly"}, "kernel"),
        ({"gamma": 0.0}, "gamma"),
    ],
)
def test_bad_parameters(params, match):
    X, Y = data(np.float64, n=20)
    with pytest.raises(ValueError, match=match):
        KernelRidge(**params).fit(X, Y)


def test_bad_input():
    X, Y = data(np.float64, n=20)
    with pytest.raises(ValueError, match="rows"):
        KernelRidge().fit(X, Y[:10])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KernelRidge().fit(X_nan, Y)
    with pytest.raises(ValueError, match="features"):
        KernelRidge().fit(X, Y).predict(X[:, :3])
    with pytest.raises(ValueError, match="positive definite"):
        KernelRidge(alpha=0.0, kernel="linear").fit(np.ones((20, 2)), Y)  # rank-1 kernel


def test_precomputed_kernel_equals_scikit_learn_and_the_rbf_fit(to_dev):
    """kernel="precomputed": scikit-learn's KernelRidge on the same kernel is the oracle;
    the user's kernel matrix is left as it was."""
    from sklearn.kernel_ridge import KernelRidge as SkKernelRidge
    from sklearn.metrics.pairwise import rbf_kernel

    from .conftest import host

    rng = np.random.default_rng(5)
    X, X_new = rng.standard_normal((120, 6)), rng.standard_normal((30, 6))
    Y = np.c_[np.sin(X[:, 0]), X[:, 1] ** 2]
    K, K_new = rbf_kernel(X, X, gamma=0.2), rbf_kernel(X_new, X, gamma=0.2)
    K_dev = to_dev(K)
    model = KernelRidge(alpha=0.3, kernel="precomputed").fit(K_dev, to_dev(Y))
    np.testing.assert_array_equal(host(K_dev), K)  # not factorized in place
    expected = SkKernelRidge(alpha=0.3, kernel="precomputed").fit(K, Y).predict(K_new)
    got = host(model.predict(to_dev(K_new)))
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    direct = KernelRidge(alpha=0.3, kernel="rbf", gamma=0.2).fit(to_dev(X), to_dev(Y))
    np.testing.assert_allclose(got, host(direct.predict(to_dev(X_new))), rtol=1e-8, atol=1e-10)
    assert model.X_fit_ is None and model.n_features_in_ == 120
    with pytest.raises(ValueError, match="square kernel matrix"):
        KernelRidge(kernel="precomputed").fit(to_dev(X), to_dev(Y))
    with pytest.raises(ValueError, match="120 features"):
        model.predict(to_dev(X_new))


@pytest.mark.parametrize("one_column", [False, True])
def test_posterior_std_equals_scikit_learns_gaussian_process(one_column):
    """``return_std`` is the posterior std of the Gaussian process with covariance
    ``σ² k`` and noise ``σ² alpha``, σ² = yᵀ(K + αI)⁻¹y / n: scikit-learn's
    GaussianProcessRegressor with that kernel fixed gives the same mean and std."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel

    X, Y = data(np.float64, n=120, d=3, t=2)
    X_new = data(np.float64, n=20, d=3, t=2, seed=1)[0]
    y = Y[:, 0] if one_column else Y
    model = KernelRidge(alpha=0.1, gamma=0.5, posterior=True).fit(X, y)
    mean, std = model.predict(X_new, return_std=True)
    assert mean.shape == std.shape == y[:20].shape
    for j in range(1 if one_column else 2):
        target = y if one_column else y[:, j]
        s2 = float(np.ravel(model.target_variance_)[j])
        kernel = ConstantKernel(s2, "fixed") * RBF(1.0, "fixed")  # gamma 0.5: length 1
        gp = GaussianProcessRegressor(kernel, alpha=0.1 * s2, optimizer=None).fit(X, target)
        gp_mean, gp_std = gp.predict(X_new, return_std=True)
        got_mean = mean if one_column else mean[:, j]
        got_std = std if one_column else std[:, j]
        np.testing.assert_allclose(got_mean, gp_mean, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(got_std, gp_std, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="posterior=True"):
        KernelRidge(alpha=0.1, gamma=0.5).fit(X, y).predict(X_new, return_std=True)
    K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    pre = KernelRidge(alpha=0.1, kernel="precomputed", posterior=True).fit(K, y)
    with pytest.raises(ValueError, match="diagonal"):
        pre.predict(K[:5], return_std=True)
    # the same GP from the precomputed kernel, given k(x, x) = 1
    np.testing.assert_allclose(
        pre.predict(K[:5], return_std=True, diagonal=1.0)[1],
        model.predict(X[:5], return_std=True)[1],
        rtol=1e-6,
        atol=1e-9,
    )


def test_copy_x_false_factorizes_the_kernel_given_in_place():
    X, Y = data(np.float64, n=80, d=3, t=2)
    K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    original = K.copy()
    expected = SkKernelRidge(alpha=0.1, kernel="precomputed").fit(K, Y).predict(K[:7])
    KernelRidge(alpha=0.1, kernel="precomputed").fit(K, Y)
    np.testing.assert_array_equal(K, original)  # copy_X=True (default): left as it was
    in_place = KernelRidge(alpha=0.1, kernel="precomputed", copy_X=False).fit(K, Y)
    assert not np.array_equal(K, original)  # its buffer now holds the Cholesky factor
    np.testing.assert_allclose(in_place.predict(original[:7]), expected, rtol=1e-8)
    view = original[:, :]  # a view of another array is copied, never overwritten
    KernelRidge(alpha=0.1, kernel="precomputed", copy_X=False).fit(view, Y)
    np.testing.assert_array_equal(view, np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1)))
