"""Move the matrices of an AnnData or MuData between CPU and GPU, in place."""

from __future__ import annotations

from typing import Any

from anndata import AnnData
from mudata import MuData

from .._anndata import check_in_memory
from .._backend import CPU, gpu_namespace, is_gpu_array, is_sparse, to_device


def _movable(x: Any) -> bool:
    return is_sparse(x) or is_gpu_array(x) or (hasattr(x, "__array__") and hasattr(x, "shape"))


def _move(data: Any, target: Any) -> None:
    if isinstance(data, AnnData):
        adatas = [data]
    elif hasattr(data, "mod"):
        adatas = list(data.mod.values())
    else:
        raise TypeError(f"`data` must be an AnnData or MuData, got {type(data).__name__}.")
    for adata in adatas:
        check_in_memory(adata, "data")
        if adata.is_view:
            raise ValueError(
                "`data` is a view; moving it would silently copy it. Call `.copy()` first."
            )
    for adata in adatas:
        if adata.X is not None and _movable(adata.X):
            adata.X = to_device(adata.X, target)
        for key in list(adata.layers.keys()):
            adata.layers[key] = to_device(adata.layers[key], target)
        for key in list(adata.obsm.keys()):
            if _movable(adata.obsm[key]) and not hasattr(adata.obsm[key], "columns"):
                adata.obsm[key] = to_device(adata.obsm[key], target)


def to_gpu(data: AnnData | MuData) -> None:
    """Move ``X``, ``layers`` and ``obsm`` arrays of an AnnData/MuData to the GPU, in place.

    Dense arrays become cupy arrays and sparse matrices cupyx sparse matrices (CSR/CSC
    kept, other formats as CSR); DataFrames in ``obsm`` stay on the CPU. Every scmodal
    function then computes on the GPU and leaves its results there.

    Parameters
    ----------
    data
        An AnnData, or a MuData (all its modalities are moved).

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.get.to_gpu(mdata)  # doctest: +SKIP
    >>> type(mdata["prot"].X)  # doctest: +SKIP
    <class 'cupyx.scipy.sparse._csc.csc_matrix'>
    """
    _move(data, gpu_namespace())


def to_cpu(data: AnnData | MuData) -> None:
    """Move ``X``, ``layers`` and ``obsm`` arrays of an AnnData/MuData to the CPU, in place.

    The inverse of :func:`to_gpu`; do this before ``write_h5ad``/``write_h5mu``.
    CPU data is left as it is, and cupy is not needed for it.

    Parameters
    ----------
    data
        An AnnData, or a MuData (all its modalities are moved).

    Examples
    --------
    >>> import scmodal as sm
    >>> adata = sm.datasets.bmmc_cite()["prot"]
    >>> sm.get.to_cpu(adata)  # already on the CPU: nothing changes
    >>> type(adata.X).__name__
    'csc_matrix'
    """
    _move(data, CPU)
