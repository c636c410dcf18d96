"""``sm.pl.prediction_accuracy``: the score of every predicted feature on held-out cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from mudata import MuData

from .. import metrics
from ._utils import finish, held_out, new_axes

METRICS = {"pearson": metrics.pearson, "spearman": metrics.spearman, "rmse": metrics.rmse}


def prediction_accuracy(
    mdata: MuData,
    *,
    key: str = "prot_predicted",
    metric: str = "pearson",
    n_features: int | None = 30,
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Axes | None:
    """Bar chart of the target features' scores on the held-out cells, best first.

    Held-out cells are those the target modality measured but the model did not train
    on. At each bar, a black tick marks the predict-the-training-mean baseline
    (the measured mean over the training cells, for every held-out cell). For
    ``"rmse"`` that baseline is a number per feature; for ``"pearson"`` and
    ``"spearman"`` a constant prediction has no correlation: the tick is drawn at 0 and
    the legend says it is undefined. A feature whose own score is undefined (constant
    over the held-out cells, measured or predicted) comes last, without a bar. The title
    gives the number of held-out cells and the mean score over all features.

    With many features (134 proteins in the NeurIPS 2021 panel), one bar each makes
    labels too small to read: by default the 15 best and the 15 worst are shown, on
    either side of a gap.

    Parameters
    ----------
    mdata
        A MuData on which :func:`scmodal.tl.predict_modality` ran with held-out cells.
    key
        The ``key_added`` of that run.
    metric
        ``"pearson"``, ``"spearman"`` (higher is better) or ``"rmse"`` (lower is better).
    n_features
        How many features to show: the best ``n_features - n_features // 2`` and the
        worst ``n_features // 2``; ``None``: every feature (the figure widens with them).
    ax
        Draw into this Axes instead of a new figure.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path (e.g. ``"accuracy.png"``).

    Returns
    -------
    The Axes, when the figure is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(mdata, train="is_train", n_repeats=1)
    >>> ax = sm.pl.prediction_accuracy(mdata, show=False)
    >>> len(ax.patches)  # the 15 best and the 15 worst of 134 proteins
    30
    >>> len(sm.pl.prediction_accuracy(mdata, n_features=None, show=False).patches)
    134
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {list(METRICS)}; got {metric!r}.")
    if n_features is not None and (not isinstance(n_features, int) or n_features < 1):
        raise ValueError(f"`n_features` must be a positive integer or None; got {n_features!r}.")
    p = held_out(mdata, key)
    y, y_hat = p.measured[p.held_out], p.mean[p.held_out]
    score = np.asarray(METRICS[metric](y, y_hat, axis=0), dtype=float)
    correlation = metric != "rmse"
    if correlation:
        baseline = np.zeros_like(score)
        base_label = "training mean (constant: correlation undefined, drawn at 0)"
        order = np.argsort(np.where(np.isnan(score), np.inf, -score), kind="stable")
    else:
        mean = np.broadcast_to(p.train_mean, y.shape)
        baseline = np.asarray(metrics.rmse(y, mean, axis=0), dtype=float)
        base_label = "training mean (baseline)"
        order = np.argsort(np.where(np.isnan(score), np.inf, score), kind="stable")
    n_all = len(order)
    n_best = n_all if n_features is None else min(n_all, n_features - n_features // 2)
    n_worst = 0 if n_features is None else min(n_all - n_best, n_features // 2)
    order = np.concatenate([order[:n_best], order[n_all - n_worst :]])
    n = len(order)
    gap = n < n_all  # an empty slot between the best and the worst
    fig, ax = new_axes(ax, (max(6.0, 0.14 * (n + gap) + 2), 4.0))
    x = np.arange(n) + (gap & (np.arange(n) >= n_best))
    ax.bar(x, score[order], color="tab:blue", label="scmodal")
    ax.plot(x, baseline[order], ls="", marker="_", ms=8, mew=2, color="black", label=base_label)
    ax.set_xticks(x, p.features[order], rotation=90, fontsize=max(4, min(9, 600 // max(n, 1))))
    if gap:
        ax.text(n_best, 0, "…", ha="center", va="bottom", fontsize=12)
    ax.set_xlim(-0.7, n + gap - 0.3)
    bottom, top = ax.get_ylim()
    span = max(top - bottom, 1e-3)
    if correlation:  # keep the baseline ticks at 0 in view, off the axis line
        bottom = min(bottom, -0.05 * span)
    ax.set_ylim(bottom, top + 0.22 * span)  # headroom for the legend
    ax.set_ylabel(metric)
    mean_score = float(np.nanmean(score)) if np.isfinite(score).any() else np.nan
    shown = f"; best {n_best} and worst {n_worst} shown" if gap else ""
    ax.set_title(
        f"{metric} of each {p.target} feature on {int(p.held_out.sum())} held-out cells\n"
        f"mean over all {n_all} features: {mean_score:.3f}{shown}"
    )
    ax.legend(loc="upper right" if correlation else "upper left", fontsize=8)
    return finish(fig, ax, show, save)
