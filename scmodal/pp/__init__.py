"""Preprocessing on AnnData, in the scanpy style (in place; ``copy=True`` returns a copy)."""

from ._gaussrank import gaussrank, inverse_gaussrank
from ._tsvd import tsvd

__all__ = ["gaussrank", "inverse_gaussrank", "tsvd"]
