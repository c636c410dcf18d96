"""``sm.pl.predicted_vs_measured`` and ``sm.pl.uncertainty``: predictions cell by cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from mudata import MuData

from .. import metrics
from ..get._predictions import collect
from ._utils import check_features, finish, grid, held_out, new_axes

CELLS = ("held_out", "all")
KINDS = ("hexbin", "scatter")


def predicted_vs_measured(
    mdata: MuData,
    features: str | list[str],
    *,
    key: str = "prot_predicted",
    cells: str = "held_out",
    kind: str = "hexbin",
    ncols: int = 4,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Figure | None:
    """Predicted against measured values, one panel per feature, with the line y = x.

    Each panel's title gives the feature's Pearson correlation over the cells shown.

    Parameters
    ----------
    mdata
        A MuData on which :func:`scmodal.tl.predict_modality` ran.
    features
        Target feature(s) to show.
    key
        The ``key_added`` of that run.
    cells
        ``"held_out"``: the measured cells the model did not train on; ``"all"``: every
        measured cell, training cells included.
    kind
        ``"hexbin"`` (cell density, for many cells) or ``"scatter"``.
    ncols
        Panels per row.
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
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(mdata, train="is_train", n_repeats=1)
    >>> fig = sm.pl.predicted_vs_measured(mdata, ["CD4", "CD14"], show=False)
    >>> [ax.get_title().split()[0] for ax in fig.axes]
    ['CD4', 'CD14']
    """
    if cells not in CELLS:
        raise ValueError(f"`cells` must be one of {CELLS}; got {cells!r}.")
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {KINDS}; got {kind!r}.")
    if not isinstance(ncols, int) or ncols < 1:
        raise ValueError(f"`ncols` must be a positive integer; got {ncols!r}.")
    p = held_out(mdata, key) if cells == "held_out" else collect(mdata, key)
    names = check_features(features, p.features, f"the {p.target!r} predictions")
    rows = p.held_out if cells == "held_out" else p.role != "not measured"
    fig, axes = grid(len(names), ncols, (3.2, 3.0))
    for ax, name in zip(axes, names, strict=True):
        j = p.features.get_loc(name)
        x, y = p.measured[rows, j], p.mean[rows, j]
        if kind == "hexbin":
            ax.hexbin(x, y, gridsize=30, mincnt=1, cmap="viridis", linewidths=0)
        else:
            ax.scatter(x, y, s=4, alpha=0.6, linewidths=0)
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], color="tab:red", lw=1, label="y = x")
        ax.set_title(f"{name}  r = {metrics.pearson(x, y):.2f}")
        ax.set_xlabel("measured")
        ax.set_ylabel("predicted")
    fig.tight_layout()
    return finish(fig, fig, show, save)


def uncertainty(
    mdata: MuData,
    *,
    key: str = "prot_predicted",
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Axes | None:
    """Per-cell standard deviation of the predictions against the per-cell error, on
    held-out cells.

    x: the stored standard deviation (``obsm[key + "_std"]``: the Gaussian-process
    posterior one for one fit on all cells, the spread of the fits with ``bagging``),
    averaged over the target features; y: the absolute error, averaged over the same
    features. The title gives their Spearman correlation: how well the model's own
    uncertainty flags the cells it gets wrong.

    Parameters
    ----------
    mdata
        A MuData on which :func:`scmodal.tl.predict_modality` ran with held-out cells.
    key
        The ``key_added`` of that run (its ``obsm[key + "_std"]`` is used).
    ax
        Draw into this Axes instead of a new figure.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path.

    Returns
    -------
    The Axes, when the figure is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(mdata, train="is_train")
    >>> ax = sm.pl.uncertainty(mdata, show=False)
    >>> ax.get_xlabel()
    'posterior std (mean over features)'
    """
    p = held_out(mdata, key)
    if p.std is None:
        raise ValueError(
            f"`mdata.mod[{p.source!r}].obsm` has no {key + '_std'!r}: the standard "
            "deviation of the predictions is missing; re-run sm.tl.predict_modality."
        )
    spread = p.std[p.held_out].mean(axis=1)
    error = np.abs(p.mean[p.held_out] - p.measured[p.held_out]).mean(axis=1)
    fig, ax = new_axes(ax, (4.5, 4.0))
    ax.scatter(spread, error, s=8, alpha=0.7, linewidths=0)
    bagging = mdata.uns.get(key, {}).get("params", {}).get("bagging", "batches")
    kind = "posterior" if bagging == "none" else "bagged"
    ax.set_xlabel(f"{kind} std (mean over features)")
    ax.set_ylabel("|error| (mean over features)")
    rho = metrics.spearman(spread, error)
    ax.set_title(f"{int(p.held_out.sum())} held-out cells, Spearman r = {rho:.2f}")
    return finish(fig, ax, show, save)
