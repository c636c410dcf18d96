"""Checks shared by the estimators and the AnnData adapters.

Every public function validates before it writes anything: a bad input raises a
``ValueError``/``TypeError`` naming the argument and the fix, and leaves the object as it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._backend import get_namespace, is_sparse


def _values(X: Any) -> Any:
    """The stored values of a dense array or sparse matrix."""
    return X.data if is_sparse(X) else X


def check_matrix(X: Any, name: str = "X", *, allow_nan: bool = True) -> Any:
    """Validate a 2-D numeric matrix (dense or sparse, CPU or GPU) and return it.

    Raises
    ------
    TypeError
        For a non-array or non-numeric dtype.
    ValueError
        For a non-2-D or empty matrix, for inf, and for NaN when ``allow_nan`` is False.
    """
    if is_sparse(X) and X.format not in ("csr", "csc"):
        X = X.tocsr()  # COO, LIL, DOK, ...: the formats the algorithms read
    if not is_sparse(X):
        if isinstance(X, list | tuple):
            X = np.asarray(X)
        if not hasattr(X, "dtype") or not hasattr(X, "shape"):
            raise TypeError(
                f"`{name}` must be a numpy/cupy array or a scipy/cupyx sparse matrix, "
                f"got {type(X).__name__}."
            )
    dtype = np.dtype(X.dtype)
    if not (np.issubdtype(dtype, np.number) or dtype == np.bool_) or np.issubdtype(
        dtype, np.complexfloating
    ):
        raise TypeError(
            f"`{name}` has dtype {dtype}; a real numeric dtype (float or int) is needed. "
            "Convert it, e.g. with `X.astype(np.float32)`."
        )
    if len(X.shape) != 2:
        raise ValueError(f"`{name}` must be 2-D (cells × features), got shape {X.shape}.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"`{name}` is empty (shape {X.shape}); it needs cells and features.")
    if np.issubdtype(dtype, np.floating) and _values(X).size:
        xp = get_namespace(X).xp
        values = _values(X)
        # min and max propagate NaN and reach ±inf, without a boolean copy of the matrix
        lo, hi = float(values.min()), float(values.max())
        has_nan = bool(np.isnan(lo) or np.isnan(hi))
        has_inf = bool(xp.isinf(values).any()) if has_nan else bool(np.isinf([lo, hi]).any())
        if has_inf:
            raise ValueError(
                f"`{name}` contains inf; replace infinite values (e.g. with NaN) first."
            )
        if not allow_nan and has_nan:
            raise ValueError(f"`{name}` contains NaN; impute or drop those values first.")
    return X


def check_int(value: Any, name: str, *, minimum: int) -> int:
    """An integer ≥ ``minimum``, or a ``ValueError``/``TypeError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"`{name}` must be an integer, got {value!r}.")
    if value < minimum:
        raise ValueError(f"`{name}` must be ≥ {minimum}, got {value}.")
    return int(value)


def check_key(value: Any, name: str = "key_added") -> str:
    """A non-empty string usable as a storage key, or an error naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a string; got {type(value).__name__} {value!r}.")
    if not value or "/" in value:
        raise ValueError(
            f"`{name}` must be a non-empty string without '/' (h5ad keys cannot hold one); "
            f"got {value!r}."
        )
    return value


def check_seed(value: Any, name: str = "random_state") -> int | None:
    """An integer seed ≥ 0 or None, or an error naming ``name``."""
    if value is None:
        return None
    return check_int(value, name, minimum=0)
