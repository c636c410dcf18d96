"""Helpers the AnnData/MuData adapters share: pick a matrix, validate keys, write safely."""

from __future__ import annotations

from typing import Any

from anndata import AnnData

from ._validation import check_matrix


def check_adata(adata: Any, name: str = "adata") -> AnnData:
    """An AnnData, or a ``TypeError`` naming the argument."""
    if not isinstance(adata, AnnData):
        raise TypeError(f"`{name}` must be an AnnData, got {type(adata).__name__}.")
    check_in_memory(adata, name)
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise ValueError(f"`{name}` is empty ({adata.n_obs} cells × {adata.n_vars} features).")
    return adata


def check_mudata(mdata: Any, **modalities: str) -> None:
    """A MuData holding the named modalities, or an error naming the argument.

    ``check_mudata(mdata, source="rna")`` raises a ``TypeError`` for anything but a
    MuData and a ``ValueError`` naming ``source`` when ``"rna"`` is not a modality.
    """
    if not hasattr(mdata, "mod"):
        raise TypeError(f"`mdata` must be a MuData, got {type(mdata).__name__}.")
    for arg, name in modalities.items():
        if not isinstance(name, str):
            raise TypeError(f"`{arg}` must be a modality name (str); got {name!r}.")
        if name not in mdata.mod:
            raise ValueError(
                f"`{arg}={name!r}` is not a modality of the MuData: {list(mdata.mod.keys())}."
            )
        check_in_memory(mdata.mod[name], f"mdata[{name!r}]")
        if not mdata.mod[name].obs_names.is_unique:
            raise ValueError(
                f"`mdata[{name!r}]` has duplicated obs names; cells are matched by name, so "
                f"make them unique first (`mdata[{name!r}].obs_names_make_unique()`)."
            )


def check_in_memory(adata: AnnData, name: str = "adata") -> None:
    """A ``ValueError`` for a backed AnnData (``backed="r"``): scmodal computes in memory."""
    if adata.isbacked:
        raise ValueError(
            f"`{name}` is backed on disk ({adata.filename}); scmodal needs it in memory: "
            "call `.to_memory()` (or read the file without `backed=`)."
        )


def matrix_name(layer: str | None, adata: str = "adata") -> str:
    """How messages name the matrix the user picked: ``adata.X`` or ``adata.layers['x']``."""
    return f"{adata}.X" if layer is None else f"{adata}.layers[{layer!r}]"


def get_matrix(
    adata: AnnData, layer: str | None, name: str = "layer", *, allow_nan: bool | None = None
) -> Any:
    """``adata.X`` or ``adata.layers[layer]``, with a clear error for an unknown layer.

    With ``allow_nan`` set, the matrix is also validated (numeric, finite; NaN only when
    allowed), and errors name it as the user does (``adata.layers['counts']``).
    """
    matrix = _pick(adata, layer, name)
    if allow_nan is not None:
        check_matrix(matrix, matrix_name(layer), allow_nan=allow_nan)
    return matrix


def _pick(adata: AnnData, layer: str | None, name: str) -> Any:
    if layer is None:
        if adata.X is None:
            raise ValueError("`adata.X` is None; pass `layer=` naming the matrix to use.")
        return adata.X
    if not isinstance(layer, str):
        raise TypeError(f"`{name}` must be a string or None, got {type(layer).__name__}.")
    if layer not in adata.layers:
        raise ValueError(
            f"`{name}={layer!r}` is not in adata.layers; available: {list(adata.layers.keys())}."
        )
    return adata.layers[layer]


def make_writable(adata: AnnData, copy: bool) -> AnnData:
    """The object to write results into: a copy, or ``adata`` made actual if a view.

    Called only after every check has passed, so nothing is written on bad input.
    """
    if copy:
        return adata.copy()
    if adata.is_view:
        adata._init_as_actual(adata.copy())
    return adata
