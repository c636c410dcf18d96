"""Cross-validation pieces: folds against scikit-learn's splitters, the alpha path
against direct solves."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.model_selection import GroupKFold, KFold

from scmodal._backend import get_namespace
from scmodal.models._cross_validation import cv_folds, kernel_ridge_path

from .conftest import host


def test_folds_are_scikit_learns_group_k_fold_over_batches():
    rng = np.random.default_rng(0)
    groups = rng.choice(list("abcdefg"), size=200)
    folds = cv_folds(200, groups, 5, seed=0)
    expected = list(GroupKFold(5).split(np.zeros((200, 1)), groups=groups))
    assert len(folds) == 5
    for (train, val), (e_train, e_val) in zip(folds, expected, strict=True):
        np.testing.assert_array_equal(val, e_val)
        np.testing.assert_array_equal(train, e_train)
        assert not set(groups[train]) & set(groups[val])  # no batch on both sides


def test_few_batches_give_one_fold_per_batch_and_one_batch_gives_cell_folds():
    groups = np.repeat(["s1d1", "s1d2", "s2d1"], [10, 20, 30])
    folds = cv_folds(60, groups, 5, seed=0)
    assert sorted(len(val) for _, val in folds) == [10, 20, 30]
    one = cv_folds(60, np.zeros(60), 5, seed=1)
    expected = list(KFold(5, shuffle=True, random_state=1).split(np.zeros((60, 1))))
    for (_, val), (_, e_val) in zip(one, expected, strict=True):
        np.testing.assert_array_equal(val, e_val)
    assert len(cv_folds(60, None, 4, seed=0)) == 4
    with pytest.raises(ValueError, match="at least 2 folds"):
        cv_folds(60, None, 1, seed=0)
    with pytest.raises(ValueError, match="one entry per cell"):
        cv_folds(60, np.zeros(59), 5, seed=0)


def test_alpha_path_equals_direct_solves(to_dev):
    rng = np.random.default_rng(2)
    X, X_new = rng.standard_normal((80, 5)), rng.standard_normal((20, 5))
    Y = rng.standard_normal((80, 3))
    K, K_new = rbf_kernel(X, X, gamma=0.3), rbf_kernel(X_new, X, gamma=0.3)
    alphas = [0.01, 0.1, 1.0, 10.0]
    ns = get_namespace(to_dev(K))
    path = kernel_ridge_path(to_dev(K), to_dev(Y), to_dev(K_new), alphas, ns)
    for alpha, got in zip(alphas, path, strict=True):
        direct = K_new @ np.linalg.solve(K + alpha * np.eye(80), Y)
        np.testing.assert_allclose(host(got), direct, rtol=1e-7, atol=1e-9)
