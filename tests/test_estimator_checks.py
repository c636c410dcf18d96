"""The estimators of sm.models as scikit-learn estimators: its own check suite, Pipeline,
GridSearchCV, 1-D targets, and predict leaving the model as it was."""

import functools
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import ndtri
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import scmodal as sm
from scmodal.models import SVR, GaussRankScaler, KernelRidge, ModalityPredictor, TruncatedSVD

# small settings keep the suite fast; the data of the checks has 2 to 10 features
ESTIMATORS = [
    KernelRidge(),
    SVR(),
    ModalityPredictor(5, 2, n_repeats=1),
    TruncatedSVD(1),
    GaussRankScaler(),
]


# the checks' data is smaller than the SVDs asked for: ModalityPredictor warns and caps them
@pytest.mark.filterwarnings("ignore:`n_components_(source|target)`:UserWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_array_api_check_where_scipy_enables_it():
    """scikit-learn runs its array API check only with SCIPY_ARRAY_API=1 set before scipy is
    imported (skipped above): run it in a fresh interpreter with the variable set."""
    code = (
        "import scmodal as sm\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "for est in [sm.models.KernelRidge(), sm.models.SVR(),"
        " sm.models.ModalityPredictor(5, 2, n_repeats=1),"
        " sm.models.TruncatedSVD(1), sm.models.GaussRankScaler()]:\n"
        "    check_array_api_input(type(est).__name__, est, array_namespace='numpy',"
        " expect_only_array_outputs=False)\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "PYTHONWARNINGS": "ignore"}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]


@pytest.fixture(scope="module")
def gex_adt():
    mdata = sm.datasets.bmmc_cite()
    train = mdata.obs["is_train"].to_numpy()
    return mdata["rna"].X.tocsr(), mdata["prot"].X.toarray(), train


class OracleGaussRank(TransformerMixin, BaseEstimator):
    """GaussRank from scipy: average ranks → Φ⁻¹((r − 0.5)/n); new data by np.interp."""

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=np.float64)
        self.reference_ = []
        for col in X.T:
            values, first = np.unique(col, return_index=True)
            scores = ndtri((rankdata(col) - 0.5) / len(col))
            self.reference_.append((values, scores[first]))
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=np.float64)
        return np.column_stack(
            [np.interp(col, v, z) for col, (v, z) in zip(X.T, self.reference_, strict=True)]
        )


def test_pipeline_and_grid_search_match_scikit_learn(gex_adt):
    """TruncatedSVD → GaussRankScaler → KernelRidge searched by GridSearchCV (which needs
    `score`) gives scikit-learn's scores for the same pipeline made of its own SVD and
    kernel ridge and a scipy GaussRank."""
    X, Y, _ = gex_adt
    grid = {"krr__alpha": [0.1, 1.0]}

    def search(svd, rank, krr):
        pipe = Pipeline([("svd", svd), ("rank", rank), ("krr", krr)])
        return GridSearchCV(pipe, grid, cv=KFold(3)).fit(X, Y)

    ours = search(TruncatedSVD(20, n_iter=30, n_oversamples=30), GaussRankScaler(), KernelRidge())
    theirs = search(
        SkTruncatedSVD(20, algorithm="arpack", tol=1e-12, random_state=0),
        OracleGaussRank(),
        SkKernelRidge(kernel="rbf"),
    )
    for i in range(3):
        np.testing.assert_allclose(
            ours.cv_results_[f"split{i}_test_score"],
            theirs.cv_results_[f"split{i}_test_score"],
            atol=1e-6,
        )
    assert ours.best_params_ == theirs.best_params_
    np.testing.assert_allclose(
        ours.predict(X[:50]), theirs.predict(X[:50]), atol=1e-4 * np.abs(Y).max()
    )


def test_modality_predictor_in_grid_search(gex_adt):
    """GridSearchCV scores each fold with R² (sklearn.metrics.r2_score) of `predict`."""
    X, Y, _ = gex_adt
    folds = list(KFold(3).split(X))
    model = ModalityPredictor(20, 8, n_repeats=1)
    search = GridSearchCV(model, {"alpha": [0.2, 5.0]}, cv=folds).fit(X, Y)
    for i, alpha in enumerate([0.2, 5.0]):
        for f, (tr, te) in enumerate(folds):
            fitted = ModalityPredictor(20, 8, n_repeats=1, alpha=alpha).fit(X[tr], Y[tr])
            expected = r2_score(Y[te], fitted.predict(X[te]))
            assert search.cv_results_[f"split{f}_test_score"][i] == pytest.approx(expected)
    assert search.best_estimator_.predict(X[:5]).shape == (5, Y.shape[1])


def zscore(A):
    return (A - A.mean(1, keepdims=True)) / A.std(1, keepdims=True)


def test_modality_predictor_one_dimensional_target(gex_adt, monkeypatch):
    """A 1-D `Y`, as scikit-learn passes it: no target SVD, 1-D predictions, equal to the
    pipeline recomputed with scikit-learn (ARPACK SVD, its KernelRidge) on the same halves."""
    import scmodal.models._modality_predictor as mp

    monkeypatch.setattr(mp, "TruncatedSVD", functools.partial(mp.TruncatedSVD, n_iter=40))
    X, Y, train = gex_adt
    y = Y[:, np.argmax(Y.var(axis=0))]
    model = ModalityPredictor(20, 8, n_repeats=2, gamma=0.01, bagging="cells")
    with pytest.warns(UserWarning, match="n_components_target"):
        model.fit(X[train], y[train])
    mean, std = model.predict(X[~train], return_std=True)
    assert mean.shape == std.shape == ((~train).sum(),)
    assert model.target_svd_ is None and model.n_targets_ == 1

    svd = SkTruncatedSVD(20, algorithm="arpack", tol=1e-12, random_state=0)
    Z_train = zscore(svd.fit_transform(X[train]))
    Z_test = zscore(X[~train] @ svd.components_.T)
    preds = [
        np.maximum(
            SkKernelRidge(alpha=0.2, kernel="rbf", gamma=0.01)
            .fit(Z_train[cells], y[train][cells])
            .predict(Z_test),
            0.0,
        )
        for cells in model.fit_cells_
    ]
    scale = np.abs(y).max()
    np.testing.assert_allclose(mean, np.mean(preds, axis=0), atol=1e-5 * scale)
    np.testing.assert_allclose(std, np.std(preds, axis=0), atol=1e-5 * scale)
    assert model.score(X[~train], y[~train]) == pytest.approx(r2_score(y[~train], mean))


@pytest.mark.parametrize(
    "params",
    [{}, {"method": ["krr", "svr"], "bagging": "cells", "ensemble": "mean"}],
)
def test_predict_leaves_the_model_as_it_was(gex_adt, params):
    X, Y, train = gex_adt
    model = ModalityPredictor(20, 8, n_repeats=1, **params).fit(X[train], Y[train])
    state = pickle.dumps(model.__dict__)
    arrays = {k: v for k, v in vars(model).items() if isinstance(v, np.ndarray)}
    model.predict(X[~train], return_std=True)
    assert pickle.dumps(model.__dict__) == state
    assert all(getattr(model, k) is v for k, v in arrays.items())


def with_inf(Y):
    Y = Y.copy()
    Y[3, 1] = np.inf
    return Y


@pytest.mark.parametrize(
    ("model", "data", "match"),
    [
        # one gene: the source SVD has no component; the user's parameter is named
        pytest.param(
            ModalityPredictor(5, 2),
            lambda X, Y: (X[:, :1], Y),
            "n_components_source",
            id="source-svd",
        ),
        pytest.param(
            ModalityPredictor(5, 2), lambda X, Y: (X, with_inf(Y)), "`Y` contains inf", id="Y-inf"
        ),
        pytest.param(KernelRidge(), lambda X, Y: (X, with_inf(Y)), "`y` contains inf", id="y-inf"),
        pytest.param(KernelRidge(), lambda X, Y: (sp.csr_matrix(X), Y), "sparse", id="sparse"),
        pytest.param(KernelRidge(alpha="0.1"), lambda X, Y: (X, Y), "`alpha`", id="alpha"),
        pytest.param(
            ModalityPredictor(5, 2, clip_min="0"), lambda X, Y: (X, Y), "`clip_min`", id="clip"
        ),
        pytest.param(
            ModalityPredictor(5, 2, random_state="a"),
            lambda X, Y: (X, Y),
            "`random_state`",
            id="seed",
        ),
    ],
)
def test_errors_name_the_users_argument(model, data, match):
    rng = np.random.default_rng(0)
    X, Y = data(rng.random((40, 6)), rng.random((40, 3)))
    with pytest.raises((ValueError, TypeError), match=match):
        model.fit(X, Y)
