"""``sm.pp.tsvd``: truncated SVD of an AnnData (or one modality of a MuData)."""

from __future__ import annotations

from typing import Any

import numpy as np
from anndata import AnnData
from mudata import MuData

from .._anndata import check_adata, get_matrix, make_writable
from .._backend import to_numpy
from .._validation import check_int, check_key, check_seed
from ..models import TruncatedSVD


def _modality(data: Any, mod: str | None) -> tuple[Any, AnnData]:
    """(container, AnnData to work on) for an AnnData or a MuData with ``mod=``."""
    if isinstance(data, AnnData):
        if mod is not None:
            raise ValueError("`mod` is only for a MuData; `adata` is an AnnData.")
        return data, data
    if hasattr(data, "mod"):
        if mod is None or mod not in data.mod:
            raise ValueError(
                f"`mod={mod!r}` must name a modality of the MuData: {list(data.mod.keys())}."
            )
        return data, data.mod[mod]
    raise TypeError(f"`adata` must be an AnnData or a MuData, got {type(data).__name__}.")


def tsvd(
    adata: AnnData | MuData,
    n_comps: int = 50,
    *,
    layer: str | None = None,
    key_added: str = "X_tsvd",
    random_state: int | None = 0,
    n_oversamples: int = 10,
    n_iter: int = 5,
    mod: str | None = None,
    copy: bool = False,
) -> AnnData | MuData | None:
    """Truncated SVD without centering and without densifying sparse input.

    The randomized :class:`~scmodal.models.TruncatedSVD` of ``adata.X`` (or
    ``adata.layers[layer]``); runs on the GPU when the matrix is a cupy/cupyx one.

    Parameters
    ----------
    adata
        Annotated data matrix (cells × features), or a MuData with ``mod=``.
    n_comps
        Number of components, ``1 ≤ n_comps < min(shape)``.
    layer
        Layer to decompose; ``None`` uses ``X``.
    key_added
        Key of the results in ``obsm``, ``varm`` and ``uns``.
    random_state
        Seed of the random sketch.
    n_oversamples, n_iter
        Accuracy settings of the randomized range finder.
    mod
        The modality to use when ``adata`` is a MuData.
    copy
        Return a modified copy instead of writing into ``adata``.

    Returns
    -------
    ``None``, or the modified copy if ``copy=True``. Sets:

    ``obsm[key_added]``
        ``(n_obs, n_comps)`` cell coordinates ``X @ varm[key_added]`` (the projection
        on the components, as for new cells; ≈ ``U Σ`` of the randomized SVD).
    ``varm[key_added]``
        ``(n_vars, n_comps)`` loadings (the right singular vectors).
    ``uns[key_added]``
        ``{"params": {...}, "singular_values", "variance", "variance_ratio"}``.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.pp.tsvd(mdata, n_comps=20, mod="rna")
    >>> mdata["rna"].obsm["X_tsvd"].shape, mdata["rna"].varm["X_tsvd"].shape
    ((600, 20), (1000, 20))
    """
    container, target = _modality(adata, mod)
    check_adata(target)
    check_key(key_added)
    check_seed(random_state)
    X = get_matrix(target, layer, allow_nan=False)
    check_int(n_comps, "n_comps", minimum=1)
    if n_comps >= min(X.shape):
        raise ValueError(
            f"`n_comps={n_comps}` must be < min(n_obs, n_vars) = {min(X.shape)} for a matrix "
            f"of shape {X.shape}; choose at most {min(X.shape) - 1}."
        )
    check_int(n_oversamples, "n_oversamples", minimum=0)
    check_int(n_iter, "n_iter", minimum=0)
    svd = TruncatedSVD(
        n_comps, n_oversamples=n_oversamples, n_iter=n_iter, random_state=random_state
    )
    Xt = svd.fit_transform(X)  # validates before anything is written
    if copy:
        container = container.copy()
        target = container if mod is None else container.mod[mod]
    else:
        target = make_writable(target, copy=False)
    params: dict[str, Any] = {
        "n_comps": int(n_comps),
        "layer": "X" if layer is None else layer,
        "n_oversamples": int(n_oversamples),
        "n_iter": int(n_iter),
    }
    if random_state is not None:
        params["random_state"] = int(random_state)
    target.obsm[key_added] = Xt
    target.varm[key_added] = np.asarray(to_numpy(svd.components_)).T
    target.uns[key_added] = {
        "params": params,
        "singular_values": np.asarray(to_numpy(svd.singular_values_)),
        "variance": np.asarray(to_numpy(svd.explained_variance_)),
        "variance_ratio": np.asarray(to_numpy(svd.explained_variance_ratio_)),
    }
    return container if copy else None
