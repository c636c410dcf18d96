"""Synthetic CITE-seq data with the shape and sparsity of real GEX, for tests and benchmarks."""

from __future__ import annotations

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp
from mudata import MuData

from .._validation import check_int, check_seed

ROW_BLOCK = 2048


def _gene_log_means(rng, n_genes, n_types, n_latent):
    base = rng.normal(0.0, 1.5, n_genes)
    loadings = rng.normal(0.0, 0.5, (n_latent, n_genes)) * (rng.random(n_genes) < 0.3)
    type_latent = rng.normal(0.0, 1.0, (n_types, n_latent))
    return base, loadings, type_latent


def _calibrate_offset(rng, log_rate, density):
    """Shift of the log rates so that a Poisson draw is non-zero with mean ``density``."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        nonzero = -np.expm1(-np.exp(log_rate + mid)).mean()
        lo, hi = (mid, hi) if nonzero < density else (lo, mid)
    return (lo + hi) / 2


def synthetic_cite(
    n_cells: int = 5000,
    n_genes: int = 2000,
    n_proteins: int = 134,
    *,
    density: float = 0.07,
    n_types: int = 20,
    random_state: int = 0,
) -> MuData:
    """Generate a CITE-seq-like MuData: sparse log1p Poisson GEX and dense proteins.

    Every cell belongs to one of ``n_types`` cell types and has its own library size and
    a few continuous latent programmes. Gene counts are Poisson with a rate set by the
    gene's base level, the cell's type and programmes, and its library size, tuned so that
    a fraction ``density`` of the matrix is non-zero; ``rna.X`` is ``log1p(counts)`` as
    float32 CSR (``layers["counts"]`` is not stored, to keep large matrices small).
    Proteins are a linear read-out of the same latent state plus noise, so they can be
    predicted from the genes, as in real CITE-seq. The matrix is built in blocks of rows,
    so the full NeurIPS 2021 shape (66,175 × 13,953, 7 % non-zero) fits in a few GB.

    Parameters
    ----------
    n_cells, n_genes, n_proteins
        Shape of the two modalities.
    density
        Fraction of non-zero gene counts (real GEX at ~14,000 genes: 5–10 %).
    n_types
        Number of cell types (``obs["cell_type"]``).
    random_state
        Seed; the same seed gives the same data.

    Returns
    -------
    MuData with ``rna`` (sparse ``X``) and ``prot`` (dense ``X``) over the same cells;
    ``obs["cell_type"]`` in both and in ``mdata.obs``.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.synthetic_cite(n_cells=300, n_genes=400, n_proteins=10)
    >>> mdata["rna"].shape, mdata["prot"].shape
    ((300, 400), (300, 10))
    >>> round(mdata["rna"].X.nnz / (300 * 400), 2)
    0.07
    """
    n_cells = check_int(n_cells, "n_cells", minimum=1)
    n_genes = check_int(n_genes, "n_genes", minimum=1)
    n_proteins = check_int(n_proteins, "n_proteins", minimum=1)
    n_types = check_int(n_types, "n_types", minimum=1)
    if isinstance(density, bool) or not isinstance(density, int | float | np.number):
        raise TypeError(f"`density` must be a number in (0, 1); got {density!r}.")
    if not 0.0 < float(density) < 1.0:
        raise ValueError(f"`density` must be in (0, 1); got {density!r}.")
    check_seed(random_state)
    n_latent, n_programmes = 8, 4
    rng = np.random.default_rng(random_state)
    base, loadings, type_latent = _gene_log_means(rng, n_genes, n_types, n_latent)
    programme_genes = rng.normal(0.0, 0.5, (n_programmes, n_genes))
    cell_type = rng.integers(n_types, size=n_cells)
    programmes = rng.normal(0.0, 1.0, (n_cells, n_programmes))
    log_library = rng.normal(0.0, 0.4, n_cells)

    def log_rates(rows):
        return (
            base
            + type_latent[cell_type[rows]] @ loadings
            + programmes[rows] @ programme_genes
            + log_library[rows, None]
        ).astype(np.float32)

    sample = rng.choice(n_cells, size=min(n_cells, 500), replace=False)
    offset = _calibrate_offset(rng, log_rates(sample).astype(np.float64), float(density))

    blocks = []
    for start in range(0, n_cells, ROW_BLOCK):
        rows = np.arange(start, min(start + ROW_BLOCK, n_cells))
        counts = rng.poisson(np.exp(log_rates(rows) + np.float32(offset)))
        block = sp.csr_matrix(counts.astype(np.float32))
        np.log1p(block.data, out=block.data)
        blocks.append(block)
    X = sp.vstack(blocks, format="csr")

    state = np.hstack([type_latent[cell_type], programmes])
    protein_weights = rng.normal(0.0, 1.0, (n_latent + n_programmes, n_proteins))
    prot = state @ protein_weights / np.sqrt(n_latent + n_programmes) + 1.5
    prot += rng.normal(0.0, 0.3, prot.shape)
    prot = np.maximum(prot, 0.0).astype(np.float32)

    obs = pd.DataFrame(
        {"cell_type": pd.Categorical([f"type{t}" for t in cell_type])},
        index=[f"cell{i}" for i in range(n_cells)],
    )
    rna = ad.AnnData(
        X, obs=obs.copy(), var=pd.DataFrame(index=[f"gene{j}" for j in range(n_genes)])
    )
    protein = ad.AnnData(
        prot, obs=obs.copy(), var=pd.DataFrame(index=[f"protein{j}" for j in range(n_proteins)])
    )
    with md.set_options(pull_on_update=False):  # explicit choice: no FutureWarning
        mdata = MuData({"rna": rna, "prot": protein})
    mdata.obs["cell_type"] = obs["cell_type"].to_numpy()
    return mdata
