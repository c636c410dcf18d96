"""Estimators with a scikit-learn API on plain arrays (numpy/scipy or cupy/cupyx)."""

from ._gaussrank import GaussRankScaler
from ._tsvd import TruncatedSVD

__all__ = ["GaussRankScaler", "TruncatedSVD"]
