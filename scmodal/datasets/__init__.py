"""Real single-cell datasets bundled with scmodal (see ``scmodal/datasets/data/LICENSE``)."""

from ._bundled import bmmc_cite, pbmc1k_protein

__all__ = ["bmmc_cite", "pbmc1k_protein"]
