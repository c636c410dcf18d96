"""Move the matrices of an AnnData or MuData between CPU and GPU, in place."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._anndata import check_in_memory
from .._backend import (
    CPU,
    Namespace,
    gpu_namespace,
    gpu_sparse_dtype,
    is_gpu_array,
    is_sparse,
    to_device,
)

COLUMNS_KEY = "scmodal_obsm_columns"
"""``adata.uns`` entry naming the columns of scmodal's GPU results in ``obsm``."""


def record_columns(adata: AnnData, columns: dict[str, pd.Index | None]) -> None:
    """Keep the column names of ``obsm`` results, to label them when they come to the host.

    On the CPU scmodal stores a result in ``obsm`` as a DataFrame with named columns;
    on the GPU it stores a cupy array (AnnData holds no GPU DataFrame), and the names
    wait in ``adata.uns[COLUMNS_KEY]`` until :func:`to_cpu` makes the DataFrame. A
    ``None`` value for a key (a CPU result) drops what was recorded for it.
    """
    recorded = dict(adata.uns.get(COLUMNS_KEY, {}))
    for key, names in columns.items():
        if names is None:
            recorded.pop(key, None)
        else:
            recorded[key] = np.asarray(names, dtype=str)
    if recorded:
        adata.uns[COLUMNS_KEY] = recorded
    else:
        adata.uns.pop(COLUMNS_KEY, None)


def _adatas(data: Any) -> list[tuple[str, AnnData]]:
    if isinstance(data, AnnData):
        return [("data", data)]
    if isinstance(data, MuData):
        return [(f"data[{name!r}]", adata) for name, adata in data.mod.items()]
    raise TypeError(f"`data` must be an AnnData or MuData, got {type(data).__name__}.")


def _movable(x: Any) -> bool:
    if is_sparse(x) or is_gpu_array(x):
        return True
    return isinstance(x, np.ndarray)


def _check_movable(x: Any, where: str, target: Namespace) -> None:
    """Refuse, before anything moves, a matrix the target device cannot hold."""
    if is_gpu_array(x) or not target.is_gpu:
        return
    if is_sparse(x):
        try:
            gpu_sparse_dtype(x)
        except TypeError as err:
            raise TypeError(f"`{where}`: {err} Nothing was moved.") from None
    elif np.dtype(x.dtype).kind not in "biufc":
        raise TypeError(
            f"`{where}` has dtype {x.dtype}: only numeric arrays can go to the GPU. "
            "Nothing was moved."
        )


def _plan(name: str, adata: AnnData, target: Namespace) -> list[tuple[str, str | None, Any]]:
    """Every matrix of ``adata`` to move, as ``(slot, key, value)``; checked, not moved."""
    check_in_memory(adata, name)
    if adata.is_view:
        raise ValueError(
            f"`{name}` is a view; moving it would silently copy it. Call `.copy()` first."
        )
    items: list[tuple[str, str | None, Any]] = []
    if adata.X is not None and _movable(adata.X):
        items.append(("X", None, adata.X))
    items += [("layers", k, v) for k, v in adata.layers.items() if _movable(v)]
    items += [("obsm", k, v) for k, v in adata.obsm.items() if _movable(v)]
    for slot, key, value in items:
        where = f"{name}.X" if key is None else f"{name}.{slot}[{key!r}]"
        _check_movable(value, where, target)
    return items


def _move(data: Any, target: Namespace) -> None:
    """Check everything, copy everything to ``target``, then swap it all in."""
    adatas = _adatas(data)
    plans = [(adata, _plan(name, adata, target)) for name, adata in adatas]
    # a failure while copying (out of device memory) leaves every object as it was
    moved = [
        (adata, [(slot, key, to_device(value, target)) for slot, key, value in plan])
        for adata, plan in plans
    ]
    for adata, items in moved:
        columns = adata.uns.get(COLUMNS_KEY, {}) if not target.is_gpu else {}
        for slot, key, value in items:
            if slot == "X":
                adata.X = value
            elif slot == "obsm" and key in columns:
                adata.obsm[key] = pd.DataFrame(
                    value, index=adata.obs_names, columns=list(columns[key])
                )
            else:
                getattr(adata, slot)[key] = value
        if columns:
            adata.uns.pop(COLUMNS_KEY)


def to_gpu(data: AnnData | MuData) -> None:
    """Move ``X``, ``layers`` and ``obsm`` arrays of an AnnData/MuData to the GPU, in place.

    Dense arrays become cupy arrays (dtype kept) and sparse matrices cupyx sparse
    matrices (CSR/CSC kept, other formats as CSR). cupyx sparse matrices hold bool and
    float data only: integer sparse matrices become float32 (float64 when a value lies
    beyond ±2**24, so no count changes). DataFrames in ``obsm`` and
    everything in ``obs``, ``var`` and ``uns`` stay on the host. Every scmodal function
    then computes on the GPU and leaves its results there.

    Everything is checked before anything moves, and everything is copied before
    anything is replaced: a matrix the GPU cannot hold (strings) or running out of GPU
    memory raises and leaves ``data`` as it was.

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
    CPU data is left as it is, and cupy is not needed for it. Predictions that
    :func:`scmodal.tl.predict_modality` stored in ``obsm`` on the GPU (cupy arrays)
    become the DataFrames it stores on the CPU, with the target's feature names as
    columns (kept in ``uns["scmodal_obsm_columns"]`` until then). Atomic as
    :func:`to_gpu`.

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
