"""``cupy.linalg``: numpy.linalg, with cuSOLVER's silence on failures.

cupy does not check cuSOLVER's ``devInfo`` unless ``cupyx.errstate(linalg="raise")``
(cupy/linalg/_util.py ``_check_cusolver_dev_info_if_synchronization_allowed``): by
default the Cholesky factor of a matrix that is not positive definite is the partial
factor ``potrf`` leaves (finite, wrong), and ``inv``/``solve`` of a singular matrix give
inf/nan (``getrf`` + ``getrs``, cupyx/lapack.py ``gesv``). Under ``"raise"`` they raise
``numpy.linalg.LinAlgError``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.linalg
from numpy.linalg import LinAlgError  # cupy.linalg.LinAlgError is numpy's

from ._array import ndarray
from ._functions import _function
from ._standin import stats

_NAMES = frozenset(
    "cholesky qr svd eigh eigvalsh norm det matrix_rank slogdet solve tensorsolve lstsq "
    "inv pinv tensorinv matrix_power".split()
)
# the functions that call cupy/linalg/_util.py _assert_cupy_array
_ASSERTED = frozenset("cholesky qr svd solve lstsq inv pinv tensorinv".split())


def _assert_cupy_array(*arrays: Any) -> None:
    for a in arrays:
        if not isinstance(a, ndarray):
            raise LinAlgError("cupy.linalg only supports cupy.ndarray")


def _assert_stacked_square(a: ndarray) -> None:
    if a.ndim < 2:
        raise LinAlgError(
            f"{a.ndim}-dimensional array given. Array must be at least two-dimensional"
        )
    if a.shape[-1] != a.shape[-2]:
        raise LinAlgError("Last 2 dimensions of the array must be square")


def _compute_dtype(*arrays: ndarray) -> np.dtype:
    """cupy/linalg/_util.py linalg_common_type: integers and bool compute in float64."""
    dtypes = [a.dtype for a in arrays]
    if np.dtype(np.float16) in dtypes:
        raise TypeError("float16 is unsupported in linalg")
    return np.result_type(np.float32, *[d if d.kind in "fc" else np.float64 for d in dtypes])


def check_dev_info(routine: str, info: int) -> None:
    """Raise as cupy does under ``errstate(linalg="raise")``; a host sync there."""
    import cupyx

    if cupyx.geterr()["linalg"] == "ignore":
        return
    stats.to_host += 1
    if info != 0:
        raise LinAlgError(
            f"Error reported by {routine} in cuSOLVER. devInfo = [{info}]. "
            "Please refer to the cuSOLVER documentation."
        )


def _potrf(a: np.ndarray) -> tuple[np.ndarray, int]:
    """Lower Cholesky factor and LAPACK's info (1-based column where it stopped)."""
    try:
        return np.linalg.cholesky(a), 0
    except LinAlgError:
        pass
    L = np.tril(a)
    for j in range(len(a)):
        d = a[j, j] - L[j, :j] @ L[j, :j]
        if not d > 0:  # as LAPACK's potf2: d stays on the diagonal, later columns as input
            L[j, j] = d
            return L, j + 1
        L[j, j] = np.sqrt(d)
        L[j + 1 :, j] = (a[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    return L, 0  # pragma: no cover - numpy found it positive definite


def cholesky(a: ndarray) -> ndarray:
    """cupy/linalg/_decomposition.py cholesky."""
    stats.calls += 1
    _assert_cupy_array(a)
    _assert_stacked_square(a)
    dtype = _compute_dtype(a)
    x = a._a.astype(dtype).reshape(-1, *a.shape[-2:])
    out, infos = np.empty_like(x), []
    for i, m in enumerate(x):
        out[i], info = _potrf(m)
        infos.append(info)
    check_dev_info(f"{dtype.char}potrf", max(infos, default=0))
    return ndarray._from(out.reshape(a.shape))


def _gesv(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, int]:
    try:
        return np.linalg.solve(a, b), 0
    except LinAlgError:
        pass
    if a.ndim > 2:
        return np.full(np.broadcast_shapes(a.shape[:-1], b.shape[:-1]) + b.shape[-1:], np.nan), 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, piv = scipy.linalg.lu_factor(a, check_finite=False)
        with np.errstate(all="ignore"):
            x = scipy.linalg.lu_solve((lu, piv), b, check_finite=False)
    return x, int(np.flatnonzero(np.diag(lu) == 0)[0]) + 1


def solve(a: ndarray, b: ndarray) -> ndarray:
    """cupy/linalg/_solve.py solve (inf/nan for a singular ``a`` unless errstate raise)."""
    stats.calls += 1
    _assert_cupy_array(a, b)
    _assert_stacked_square(a)
    dtype = _compute_dtype(a, b)
    x, info = _gesv(a._a.astype(dtype), b._a.astype(dtype))
    check_dev_info(f"{dtype.char}getrf", info)
    return ndarray._from(x.astype(dtype, copy=False))


def inv(a: ndarray) -> ndarray:
    """cupy/linalg/_solve.py inv (inf/nan for a singular ``a`` unless errstate raise)."""
    stats.calls += 1
    _assert_cupy_array(a)
    _assert_stacked_square(a)
    dtype = _compute_dtype(a)
    eye = np.broadcast_to(np.eye(a.shape[-1], dtype=dtype), a.shape)
    x, info = _gesv(a._a.astype(dtype), eye)
    check_dev_info(f"{dtype.char}getrf", info)
    return ndarray._from(x.astype(dtype, copy=False))


def _checked(name: str) -> Any:
    f = _function(getattr(np.linalg, name), name)
    n_arrays = 2 if name in ("lstsq", "tensorsolve") else 1

    def function(*args: Any, **kwargs: Any) -> Any:
        if name in _ASSERTED:
            _assert_cupy_array(*args[:n_arrays])
        result = f(*args, **kwargs)
        if name in ("eigh", "eigvalsh", "qr", "svd"):
            check_dev_info(name, 0)
        return result

    function.__name__ = name
    return function


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'cupy.linalg' has no attribute {name!r}")
    value = globals()[name] = _checked(name)
    return value
