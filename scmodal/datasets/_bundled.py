"""Datasets shipped inside the package, read as MuData."""

from __future__ import annotations

import warnings
from importlib.resources import files

import anndata as ad
import mudata as md
from mudata import MuData


def _read(folder: str) -> MuData:
    root = files("scmodal.datasets") / "data" / folder
    mods = {name: ad.read_h5ad(str(root / f"{name}.h5ad")) for name in ("rna", "prot")}
    # mudata 0.4's behaviour, chosen explicitly (mudata 0.3 warns on every MuData built
    # without a choice): the modalities' obs columns are not copied into the MuData's
    # obs; the columns it needs are set below.
    with md.set_options(pull_on_update=False), warnings.catch_warnings():
        # Some genes and proteins share a name (CD4): mudata would advise renaming them
        # to make the MuData's var_names unique. Each modality's names are unique, and
        # that is where scmodal and scanpy read them, so the names are kept.
        warnings.filterwarnings("ignore", "var_names are not unique", UserWarning)
        mdata = MuData(mods)
    rna_obs = mods["rna"].obs
    for column in ("is_train", "batch", "cell_type"):
        if column in rna_obs:
            mdata.obs[column] = rna_obs[column].reindex(mdata.obs_names).to_numpy()
    return mdata


def bmmc_cite() -> MuData:
    """The NeurIPS 2021 multimodal challenge's BMMC CITE-seq starter, as a MuData.

    600 bone-marrow mononuclear cells from two donors (batches ``s1d1`` and ``s1d2``)
    measured by CITE-seq: ``rna`` holds 1,000 genes (``X`` log-normalized, sparse;
    ``layers["counts"]`` raw counts), ``prot`` 134 surface proteins (``X`` CLR-like;
    ``layers["counts"]``). In both, ``obs["is_train"]`` marks the 311 ``s1d1`` training
    cells (the 289 ``s1d2`` cells are the test set), and ``obs["cell_type"]`` gives 41
    annotated cell types.

    Source: the openproblems-bio/neurips2021_multimodal_viash test resources (MIT licence),
    a subset of the public NeurIPS 2021 data (GEO GSE194122).

    Returns
    -------
    A MuData with modalities ``rna`` and ``prot`` over the same 600 cells.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> mdata["rna"].shape, mdata["prot"].shape
    ((600, 1000), (600, 134))
    >>> int(mdata.obs["is_train"].sum())
    311
    """
    return _read("bmmc_cite")


def pbmc1k_protein() -> MuData:
    """10x Genomics' pbmc_1k_protein_v3 subset: RNA and 17 surface proteins, as a MuData.

    747 peripheral blood mononuclear cells: ``rna`` holds 630 genes and ``prot`` 17
    TotalSeq-B antibodies (``var["gene_ids"]`` gives the protein names, e.g. ``CD4``),
    raw counts in ``X`` for both.

    Source: the openproblems-bio/neurips2021_multimodal_viash test resources (MIT licence),
    from the 10x Genomics public dataset pbmc_1k_protein_v3.

    Returns
    -------
    A MuData with modalities ``rna`` and ``prot`` over the same 747 cells.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.pbmc1k_protein()
    >>> mdata["prot"].shape
    (747, 17)
    """
    return _read("pbmc1k_protein")
