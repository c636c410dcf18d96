"""Getters and movers: bring data between devices (and, later, results into AnnData)."""

from ._device import to_cpu, to_gpu

__all__ = ["to_cpu", "to_gpu"]
