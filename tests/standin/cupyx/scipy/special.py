"""``cupyx.scipy.special``: scipy's ufuncs, refusing numpy arrays as cupy's ufuncs do."""

from __future__ import annotations

from typing import Any

import scipy.special
from cupy._functions import resolve

_NAMES = frozenset(
    "ndtr ndtri log_ndtr erf erfc erfinv erfcinv expit logit log_expit gammaln digamma "
    "xlogy xlog1py entr rel_entr betaln".split()
)


def __getattr__(name: str) -> Any:
    value = globals()[name] = resolve(name, scipy.special, _NAMES)
    return value
