"""Metrics of agreement between measured and predicted modalities (numpy or cupy)."""

from ._scores import pearson, rmse, spearman

__all__ = ["pearson", "rmse", "spearman"]
