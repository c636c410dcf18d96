"""Input checks of the estimators: scmodal's rules, worded as scikit-learn's checks expect.

The estimators take what scikit-learn estimators take (lists, DataFrames, numbers in an
object array) besides numpy/scipy/cupy/cupyx matrices, and refuse what they refuse with a
``ValueError``/``TypeError`` that names the argument and carries the phrase scikit-learn's
estimator checks look for ("Reshape your data", "0 feature(s)", "Complex data not
supported", "sparse").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._backend import is_gpu_array, is_sparse
from .._validation import check_matrix


def check_input(
    X: Any, name: str = "X", *, allow_nan: bool = False, accept_sparse: bool = True
) -> Any:
    """Validate a ``(cells, features)`` argument and return it as a matrix.

    Array-likes become numpy arrays, an object array of numbers becomes float64; then
    :func:`scmodal._validation.check_matrix` applies (it also reads any sparse format
    other than CSR/CSC as CSR).
    """
    if not (is_sparse(X) or is_gpu_array(X) or isinstance(X, np.ndarray)):
        given, X = type(X).__name__, np.asarray(X)
        if X.ndim == 0:
            raise TypeError(
                f"`{name}` must be a numpy/cupy array, a scipy/cupyx sparse matrix or an "
                f"array-like of rows, got {given}."
            )
    if is_sparse(X):
        if not accept_sparse:
            raise TypeError(
                f"`{name}` is a sparse matrix; sparse input is not supported here: pass a "
                f"dense array (`{name}.toarray()`), or reduce it first (e.g. with "
                "TruncatedSVD)."
            )
    dtype = np.dtype(X.dtype)
    if dtype.kind == "O" and not is_sparse(X):
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"`{name}` holds a value that is not a number: {err}") from err
    elif np.issubdtype(dtype, np.complexfloating):
        raise ValueError(
            f"`{name}` has dtype {dtype}. Complex data not supported: pass real values "
            f"(e.g. `{name}.real` or `abs({name})`)."
        )
    if len(X.shape) == 1:
        raise ValueError(
            f"`{name}` must be 2-D (cells × features), got shape {X.shape}. Reshape your "
            f"data: `{name}.reshape(-1, 1)` for one feature, `{name}.reshape(1, -1)` for one "
            "cell."
        )
    if len(X.shape) == 2 and 0 in X.shape:
        what = "sample(s)" if X.shape[0] == 0 else "feature(s)"
        raise ValueError(
            f"`{name}` is empty: 0 {what} (shape={tuple(X.shape)}) while a minimum of 1 is "
            "required."
        )
    return check_matrix(X, name, allow_nan=allow_nan)


def check_targets(y: Any, name: str, estimator: Any) -> Any:
    """Validate finite 1-D or 2-D targets; they keep their number of dimensions."""
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None: "
            f"pass the targets of the training cells as `{name}`."
        )
    if not (is_sparse(y) or is_gpu_array(y) or isinstance(y, np.ndarray)):
        y = np.asarray(y)
    if len(y.shape) != 1:
        return check_input(y, name)
    return check_input(y.reshape(-1, 1), name).reshape(-1)


def check_n_features(X: Any, n_features: int, estimator: Any, name: str = "X") -> None:
    """Refuse ``X`` unless it has the ``n_features`` columns ``estimator`` was fitted on.

    Worded as scikit-learn's own message (``X has 3 features, but ... is expecting 5``).
    """
    if X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
            f"{n_features} features as input (the features it was fitted on, in that order)."
        )
