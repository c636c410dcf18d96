"""Estimators with a scikit-learn API on plain arrays (numpy/scipy or cupy/cupyx)."""

from ._gaussrank import GaussRankScaler
from ._kernel_ridge import KernelRidge
from ._modality_predictor import ModalityPredictor
from ._svr import SVR
from ._tsvd import TruncatedSVD

__all__ = ["SVR", "GaussRankScaler", "KernelRidge", "ModalityPredictor", "TruncatedSVD"]
