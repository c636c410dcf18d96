"""sm.metrics against scipy.stats and scikit-learn."""

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import mean_squared_error

import scmodal as sm

from .conftest import host


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, (80, 7)).astype(np.float64)  # ties
    b = a + rng.standard_normal((80, 7))
    return a, b.astype(np.float32)


def test_rmse(pair, device, to_dev):
    a, b = pair
    assert sm.metrics.rmse(to_dev(a), to_dev(b)) == pytest.approx(
        np.sqrt(mean_squared_error(a, b)), rel=1e-12
    )
    np.testing.assert_allclose(
        host(sm.metrics.rmse(to_dev(a), to_dev(b), axis=0)),
        np.sqrt(mean_squared_error(a, b, multioutput="raw_values")),
    )
    np.testing.assert_allclose(
        host(sm.metrics.rmse(to_dev(a), to_dev(b), axis=1)),
        [np.sqrt(mean_squared_error(x, y)) for x, y in zip(a, b, strict=True)],
    )


@pytest.mark.parametrize(("ours", "oracle"), [("pearson", pearsonr), ("spearman", spearmanr)])
def test_correlations(pair, ours, oracle, device, to_dev):
    a, b = pair
    f = getattr(sm.metrics, ours)
    assert f(to_dev(a), to_dev(b)) == pytest.approx(oracle(a.ravel(), b.ravel())[0], rel=1e-10)
    np.testing.assert_allclose(
        host(f(to_dev(a), to_dev(b), axis=0)), [oracle(a[:, j], b[:, j])[0] for j in range(7)]
    )
    np.testing.assert_allclose(
        host(f(to_dev(a), to_dev(b), axis=1)), [oracle(a[i], b[i])[0] for i in range(80)]
    )


def test_constant_feature_is_nan_and_bad_input(pair):
    a, b = pair
    a[:, 0] = 1.0
    r = sm.metrics.pearson(a, b, axis=0)
    assert np.isnan(r[0]) and np.isfinite(r[1:]).all()
    with pytest.raises(ValueError, match="shape"):
        sm.metrics.rmse(a, b[:5])
    with pytest.raises(ValueError, match="axis"):
        sm.metrics.pearson(a, b, axis=2)
    with pytest.raises(ValueError, match="empty"):
        sm.metrics.spearman(np.zeros((0, 2)), np.zeros((0, 2)))
