"""What every plot shares: a figure or the caller's Axes, show/save, held-out cells."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..get._predictions import Predictions, collect

# The widest figure, in inches, that a notebook or documentation page shows at its own
# size (800 pixels at matplotlib's default 100 dpi): wider ones are shrunk, text with them.
PAGE_WIDTH = 8.0


def new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """The caller's Axes and its figure, or a new figure with one Axes."""
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize)
    return fig, ax


def finish(fig: Figure, result: Any, show: bool | None, save: str | Path | None) -> Any:
    """Save the figure if asked; show it (``None``: scanpy's ``settings.autoshow``).

    Returns ``result`` when the figure is not shown, else ``None`` (scanpy's convention).
    """
    import matplotlib.pyplot as plt

    if save is not None:
        fig.savefig(save, bbox_inches="tight")
    if show is None:
        from scanpy import settings

        show = settings.autoshow
    if show:
        plt.show()
        return None
    return result


def held_out(mdata: Any, key: str) -> Predictions:
    """The stored predictions, checked to have held-out cells (measured, not trained on)."""
    p = collect(mdata, key)
    if not p.held_out.any():
        raise ValueError(
            f"no held-out cells to score under {key!r}: every cell measured in "
            f"{p.target!r} was used for training. Pass `train=` to predict_modality so "
            "that some measured cells are left out."
        )
    return p


def check_features(features: Any, available: Any, what: str) -> list[str]:
    """``features`` as a list of names, each one of ``available``."""
    names = [features] if isinstance(features, str) else list(features)
    if not names:
        raise ValueError("`features` is empty; name at least one feature.")
    available = pd.Index(available).astype(str)
    known = set(available)
    unknown = [f for f in names if f not in known]
    repeated = sorted(set(available[available.duplicated()]) & set(names))
    if repeated:
        raise ValueError(
            f"feature(s) {repeated} occur more than once in {what}, so `features` is "
            "ambiguous; make the names unique first (e.g. `adata.var_names_make_unique()`)."
        )
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown} in {what}; e.g. {list(available[:5])}.")
    return names


def grid(n: int, ncols: int, panel: tuple[float, float]) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` panels in rows of ``ncols``; unused cells of the grid hidden.

    Panels are ``panel`` inches, scaled down (both sides) so a row fits ``PAGE_WIDTH``.
    """
    import matplotlib.pyplot as plt

    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    scale = min(1.0, PAGE_WIDTH / (panel[0] * ncols))
    width, height = panel[0] * scale, panel[1] * scale
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]
