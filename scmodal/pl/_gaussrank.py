"""``sm.pl.gaussrank``: a feature's values before and after GaussRank."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from anndata import AnnData
from matplotlib.figure import Figure

from .._anndata import check_adata, get_matrix
from .._backend import get_namespace, is_gpu_array
from ..get._predictions import _dense
from ._utils import check_features, finish, grid


def _columns(matrix: Any, columns: np.ndarray) -> np.ndarray:
    """Some columns of a (sparse, GPU) matrix as a float64 numpy array."""
    if is_gpu_array(matrix):
        columns = get_namespace(matrix).xp.asarray(columns)
    return _dense(matrix[:, columns])


def gaussrank(
    adata: AnnData,
    features: str | list[str],
    *,
    key: str = "gaussrank",
    layer: str | None = None,
    bins: int = 50,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Figure | None:
    """Histograms of features before and after :func:`scmodal.pp.gaussrank`.

    One row per feature: the input values (left) and their normal scores (right).

    Parameters
    ----------
    adata
        An AnnData on which :func:`scmodal.pp.gaussrank` ran.
    features
        Feature name(s) (``adata.var_names``).
    key
        The ``key_added`` of that run (``layers[key]`` holds the scores).
    layer
        The matrix shown as "before"; default: the one the transform used (recorded in
        ``uns[key]["params"]["layer"]``).
    bins
        Histogram bins.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path.

    Returns
    -------
    The Figure, when it is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> prot = sm.datasets.bmmc_cite()["prot"].copy()
    >>> sm.pp.gaussrank(prot)
    >>> fig = sm.pl.gaussrank(prot, ["CD4", "CD14"], show=False)
    >>> len(fig.axes)
    4
    """
    check_adata(adata)
    if key not in adata.layers or key not in adata.uns:
        raise ValueError(
            f"no GaussRank scores under {key!r} (layers and uns); run "
            f"sm.pp.gaussrank(adata, key_added={key!r}) first."
        )
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"`bins` must be a positive integer; got {bins!r}.")
    names = check_features(features, adata.var_names, "adata.var_names")
    if layer is None:
        recorded = adata.uns[key].get("params", {}).get("layer", "X")
        layer = None if recorded == "X" else str(recorded)
    before_all = get_matrix(adata, layer)
    columns = adata.var_names.get_indexer(names)
    before = _columns(before_all, columns)
    after = _columns(adata.layers[key], columns)
    fig, axes = grid(2 * len(names), 2, (3.6, 2.6))
    for i, name in enumerate(names):
        left, right = axes[2 * i], axes[2 * i + 1]
        left.hist(before[:, i][~np.isnan(before[:, i])], bins=bins, color="tab:gray")
        left.set_title(f"{name}: {layer or 'X'}")
        right.hist(after[:, i][~np.isnan(after[:, i])], bins=bins, color="tab:blue")
        right.set_title(f"{name}: GaussRank")
        left.set_ylabel("cells")
    fig.tight_layout()
    return finish(fig, fig, show, save)
