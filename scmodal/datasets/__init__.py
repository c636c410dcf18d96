"""Real single-cell datasets bundled with scmodal (see ``scmodal/datasets/data/LICENSE``),
and a generator of synthetic CITE-seq data at any scale."""

from ._bundled import bmmc_cite, pbmc1k_protein
from ._neurips2021 import neurips2021_cite
from ._synthetic import synthetic_cite

__all__ = ["bmmc_cite", "neurips2021_cite", "pbmc1k_protein", "synthetic_cite"]
