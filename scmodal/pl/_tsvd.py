"""``sm.pl.tsvd_variance``: the scree plot of a truncated SVD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from anndata import AnnData
from matplotlib.axes import Axes

from .._anndata import check_adata
from ..get._predictions import _dense
from ._utils import PAGE_WIDTH, finish, new_axes


def tsvd_variance(
    adata: AnnData,
    *,
    key: str = "X_tsvd",
    n_comps: int | None = None,
    log: bool = False,
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Axes | None:
    """Scree plot: the variance ratio of each component of :func:`scmodal.pp.tsvd`.

    Bars: each component's share of the total variance; line (right axis): the
    cumulative share.

    Parameters
    ----------
    adata
        An AnnData on which :func:`scmodal.pp.tsvd` ran (for a MuData, pass the
        modality, e.g. ``mdata["rna"]``).
    key
        The ``key_added`` of that run.
    n_comps
        Show the first ``n_comps`` components; ``None``: all.
    log
        Logarithmic y axis for the bars.
    ax
        Draw into this Axes instead of a new figure.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path.

    Returns
    -------
    The Axes of the bars, when the figure is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> rna = sm.datasets.bmmc_cite()["rna"].copy()
    >>> sm.pp.tsvd(rna, n_comps=30)
    >>> ax = sm.pl.tsvd_variance(rna, show=False)
    >>> len(ax.patches)
    30
    """
    check_adata(adata)
    info = adata.uns.get(key)
    if not isinstance(info, dict) or "variance_ratio" not in info:
        raise ValueError(
            f"`adata.uns` has no truncated SVD under {key!r}; run "
            f"sm.pp.tsvd(adata, key_added={key!r}) first."
        )
    ratio = _dense(info["variance_ratio"]).ravel()
    if n_comps is not None:
        if not isinstance(n_comps, int) or n_comps < 1:
            raise ValueError(f"`n_comps` must be a positive integer or None; got {n_comps!r}.")
        ratio = ratio[:n_comps]
    n = len(ratio)
    fig, ax = new_axes(ax, (min(PAGE_WIDTH, max(5.0, 0.05 * n + 3)), 3.5))
    x = np.arange(1, n + 1)
    ax.bar(x, ratio, color="tab:blue", width=0.8)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("component")
    ax.set_ylabel("variance ratio")
    twin = ax.twinx()
    twin.plot(x, np.cumsum(ratio), color="tab:orange", marker="." if n <= 50 else None)
    twin.set_ylabel("cumulative", color="tab:orange")
    twin.set_ylim(0, max(1.0, float(np.cumsum(ratio)[-1])) * 1.02)
    ax.set_title(f"{key}: {n} components, {np.sum(ratio):.1%} of the variance")
    return finish(fig, ax, show, save)
