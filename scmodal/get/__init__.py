"""Getters and movers: bring data between devices, and results into AnnData."""

from ._device import to_cpu, to_gpu
from ._predictions import predictions

__all__ = ["predictions", "to_cpu", "to_gpu"]
