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
    assert "2,000 training cells" in message and "needs 16.0 MB" in message
    n_max = int(message.split("at most ")[1].split(" ")[0].replace(",", ""))
    # an exact formula: n_max float32 rows of an n_max × n_max kernel fit in 90 % of 4 MB
    assert 4 * n_max**2 <= 0.9 * 4_000_000 < 4 * (n_max + 1) ** 2
    KernelRidge().fit(X[:n_max], Y[:n_max])  # and that many do fit


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
