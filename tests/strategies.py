"""Hypothesis strategies for the input contract: small matrices, AnnData and MuData of
every storage kind a user hands scmodal, with the edge cases the contract names."""

from __future__ import annotations

import warnings

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import strategies as st

FLOATS = (np.float16, np.float32, np.float64)
DTYPES = (*FLOATS, np.int32, np.int64, np.bool_)
FILLS = ("random", "zeros", "zero_row", "zero_col", "constant_col", "ties")
SPECIALS = (None, None, None, "nan", "inf")


def make_matrix(seed, n, d, *, dtype, fill, special, fmt):
    """One ``n × d`` matrix: counts-like values, then the requested edge case."""
    rng = np.random.default_rng(seed)
    M = rng.poisson(1.0, size=(n, d)).astype(np.float64) * rng.random((n, d))
    if fill == "zeros":
        M[:] = 0
    elif fill == "zero_row":
        M[0] = 0
    elif fill == "zero_col":
        M[:, 0] = 0
    elif fill == "constant_col":
        M[:, -1] = 2.0
    elif fill == "ties":
        M = np.round(M)
    if np.dtype(dtype).kind in "iub":
        M = np.round(M) if np.dtype(dtype).kind != "b" else M > 0.5
    M = M.astype(dtype)
    if special is not None and np.dtype(dtype).kind == "f":
        M[rng.integers(n), rng.integers(d)] = np.nan if special == "nan" else np.inf
    if fmt == "dense" or M.dtype == np.float16:  # scipy.sparse has no float16
        return M
    return sp.csr_matrix(M).asformat(fmt)


@st.composite
def matrices(draw, *, max_obs=9, max_vars=7, formats=("dense", "csr", "csc", "coo", "lil")):
    """``(matrix, special)``: a small matrix of any dtype/format, maybe with NaN or inf."""
    n = draw(st.integers(1, max_obs))
    d = draw(st.integers(1, max_vars))
    dtype = draw(st.sampled_from(DTYPES))
    special = draw(st.sampled_from(SPECIALS)) if np.dtype(dtype).kind == "f" else None
    M = make_matrix(
        draw(st.integers(0, 2**32 - 1)),
        n,
        d,
        dtype=dtype,
        fill=draw(st.sampled_from(FILLS)),
        special=special,
        fmt=draw(st.sampled_from(formats)),
    )
    return M, special


def _names(prefix, n, duplicated):
    names = [f"{prefix}{i}" for i in range(n)]
    if duplicated and n > 1:
        names[-1] = names[0]
    return names


@st.composite
def adatas(draw, *, max_obs=9, max_vars=7):
    """``(adata, layer, special)``: an AnnData whose matrix (``X`` or ``layers[layer]``) is
    dense/CSR/CSC of any dtype, maybe a view, maybe with duplicated names, NaN or inf."""
    M, special = draw(matrices(max_obs=max_obs, max_vars=max_vars, formats=("dense", "csr", "csc")))
    n, d = M.shape
    view = draw(st.booleans())
    if view:  # a view of a bigger object: one extra cell, dropped
        extra = (
            sp.csr_matrix((1, d), dtype=M.dtype) if sp.issparse(M) else np.zeros((1, d), M.dtype)
        )
        M = sp.vstack([M, extra], format=M.format) if sp.issparse(M) else np.vstack([M, extra])
    obs = pd.DataFrame(
        {"group": pd.Categorical(np.arange(M.shape[0]) % 2).astype(str)},
        index=_names("cell", M.shape[0], draw(st.booleans())),
    )
    var = pd.DataFrame(index=_names("gene", d, draw(st.booleans())))
    layer = draw(st.sampled_from([None, "counts"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if layer is None:
            adata = ad.AnnData(M, obs=obs, var=var)
        else:
            adata = ad.AnnData(np.zeros(M.shape, np.float32), obs=obs, var=var)
            adata.layers[layer] = M
        adata.uns["note"] = {"kept": np.arange(3)}
        if view:
            adata = adata[:n]
    return adata, layer, special


@st.composite
def cite_mudatas(draw):
    """A small CITE-seq-like MuData (``rna``, ``prot``), with a boolean ``is_train`` column
    and a ``batch`` column, sometimes with only part of the cells in ``prot``."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(6, 24))
    genes = draw(st.integers(4, 12))
    proteins = draw(st.integers(1, 4))
    fmt = draw(st.sampled_from(["dense", "csr", "csc"]))
    dtype = draw(st.sampled_from(DTYPES))
    latent = rng.standard_normal((n, 2))
    X = np.log1p(rng.poisson(np.exp(latent @ rng.standard_normal((2, genes)))))
    X = X.astype(dtype) if np.dtype(dtype).kind != "b" else X > 0
    Y = np.exp(latent @ rng.standard_normal((2, proteins))).astype(np.float32)
    names = [f"c{i}" for i in range(n)]
    X = X if fmt == "dense" or dtype == np.float16 else sp.csr_matrix(X).asformat(fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rna = ad.AnnData(
            X,
            obs=pd.DataFrame(index=names),
            var=pd.DataFrame(index=[f"g{j}" for j in range(genes)]),
        )
        keep = n if draw(st.booleans()) else n - 2
        prot = ad.AnnData(
            Y[:keep],
            obs=pd.DataFrame(index=names[:keep]),
            var=pd.DataFrame(index=[f"p{j}" for j in range(proteins)]),
        )
        mdata = md.MuData({"rna": rna, "prot": prot})
    train = np.zeros(n, bool)
    train[: max(2, keep * 2 // 3)] = True
    mdata.obs["is_train"] = train
    mdata.obs["batch"] = np.where(np.arange(n) % 2, "b1", "b2")
    return mdata
