"""Tools on MuData, in the scanpy style: cross-modality prediction."""

from ._predict import predict_modality

__all__ = ["predict_modality"]
