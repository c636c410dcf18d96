"""``cupyx.scipy.linalg``: only ``solve_triangular`` (cupy 13.6 has no ``cho_factor``/
``cho_solve``, nor has its newest version).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
from cupy._array import ndarray
from cupy._standin import stats
from cupy.linalg import _assert_cupy_array


def solve_triangular(
    a: ndarray,
    b: ndarray,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = False,
) -> ndarray:
    """cupyx/scipy/linalg/_solve_triangular.py: trsm on F-ordered copies.

    ``a`` is copied to Fortran order when it is not (a real allocation, as in cupyx);
    ``b`` too, unless ``overwrite_b`` and it already is: then it is solved in place and
    returned.
    """
    stats.calls += 1
    _assert_cupy_array(a, b)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError("expected square matrix")
    if len(a) != len(b):
        raise ValueError("incompatible dimensions")
    dtype = a.dtype if a.dtype.char in "fd" else np.promote_types(a.dtype.char, "f")
    a_f = np.asarray(a._a, dtype=dtype, order="F")  # cupy.array(a, ..., copy=False)
    if overwrite_b:
        b_f = np.asarray(b._a, dtype=dtype, order="F")
    else:
        b_f = np.array(b._a, dtype=dtype, order="F", copy=True)
    if check_finite:
        for x in (a_f, b_f):
            stats.to_host += 1
            if not np.isfinite(x).all():
                raise ValueError("array must not contain infs or NaNs")
    trans = {"N": 0, "T": 1, "C": 2}.get(trans, trans)
    b_f[...] = scipy.linalg.solve_triangular(
        a_f, b_f, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False
    )
    return b if b_f is b._a else ndarray._from(b_f)
