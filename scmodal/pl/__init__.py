"""Plots in scanpy's conventions: data first, keyword-only options, ``ax=``, ``show=``,
``save=``; they return the Axes (or the Figure, for several panels) when not shown."""

from ._accuracy import prediction_accuracy
from ._gaussrank import gaussrank
from ._heads import cv_grid, heads_accuracy
from ._scatter import predicted_vs_measured, uncertainty
from ._tsvd import tsvd_variance

__all__ = [
    "cv_grid",
    "gaussrank",
    "heads_accuracy",
    "predicted_vs_measured",
    "prediction_accuracy",
    "tsvd_variance",
    "uncertainty",
]
