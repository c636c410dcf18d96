"""A stand-in for cupyx 13.6 (tests only): errstate, scipy.sparse/linalg/special."""

from cupyx import scipy  # noqa: F401
from cupyx._ufunc_config import errstate, geterr, seterr  # noqa: F401
