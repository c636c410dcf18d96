"""``sm.pl.heads_accuracy`` and ``sm.pl.cv_grid``: the heads of an ensemble, and the grids
their parameters were chosen on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from mudata import MuData

from .._anndata import check_mudata
from ..get._predictions import _frame, prediction_keys
from ..models._heads import HEADS
from ._accuracy import METRICS
from ._utils import finish, held_out, new_axes

CV_METRICS = ("rmse", "pearson")
N_NAMED = 5  # proteins named in heads_accuracy: those the heads disagree on most


def _heads_of_run(mdata: MuData, key: str) -> dict[str, Mapping[str, Any]]:
    """``uns[key]["heads"]`` of a run with at least two heads, each one's predictions stored."""
    heads = mdata.uns[key].get("heads")
    if not isinstance(heads, Mapping) or len(heads) < 2:
        names = list(heads) if isinstance(heads, Mapping) else []
        raise ValueError(
            f"`key={key!r}` holds a run with one head ({names}): there is nothing to compare. "
            "Run sm.tl.predict_modality with several heads, e.g. method=['krr', 'svr']."
        )
    return dict(heads)


def _head_scores(
    mdata: MuData, key: str, metric: str
) -> tuple[Any, dict[str, np.ndarray], np.ndarray, dict[str, Mapping[str, Any]]]:
    """The held-out predictions, each head's and the blend's score per target feature."""
    p = held_out(mdata, key)
    heads = _heads_of_run(mdata, key)
    obsm = mdata.mod[p.source].obsm
    missing = [f"{key}_{h}" for h in heads if f"{key}_{h}" not in obsm]
    if missing:
        raise ValueError(
            f"`mdata.mod[{p.source!r}].obsm` lacks the heads' predictions {missing} of "
            f"`key={key!r}`; available: {list(obsm.keys())}."
        )
    test = p.held_out
    y = p.measured[test]
    score = METRICS[metric]
    scores = {
        h: np.asarray(score(y, _frame(obsm[f"{key}_{h}"], p.features)[test], axis=0), dtype=float)
        for h in heads
    }
    blend = np.asarray(score(y, p.mean[test], axis=0), dtype=float)
    return p, scores, blend, heads


def heads_accuracy(
    mdata: MuData,
    *,
    key: str = "prot_predicted",
    metric: str = "pearson",
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Axes | None:
    """Each head of an ensemble against the blend, feature by feature, on held-out cells.

    For a run of :func:`scmodal.tl.predict_modality` with several heads (e.g.
    ``method=["krr", "svr"]``), every target feature is a point per head: across, the
    blend's score on the held-out cells; up, how much better that head alone scores on
    the feature than the blend (``head − blend`` for ``"pearson"`` and ``"spearman"``,
    ``blend − head`` for ``"rmse"``, so above 0 is always the head doing better). A
    grey segment joins the points of the same feature: the higher end is the head that
    wins on it. The features the heads disagree on most are named. The legend gives
    each head's weight in the blend, its mean score over the features and on how many
    it is the best head, and the blend's mean score. Features whose score is undefined
    (constant over the held-out cells) are left out, and the title says how many.

    Parameters
    ----------
    mdata
        A MuData on which :func:`scmodal.tl.predict_modality` ran with several heads and
        held-out cells.
    key
        The ``key_added`` of that run.
    metric
        ``"pearson"``, ``"spearman"`` (higher is better) or ``"rmse"`` (lower is better).
    ax
        Draw into this Axes instead of a new figure.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path (e.g. ``"heads.png"``).

    Returns
    -------
    The Axes, when the figure is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(
    ...     mdata, train="is_train", method=["krr", "svr"], C=10.0, n_components_source=50,
    ...     n_components_target=20,
    ... )
    >>> ax = sm.pl.heads_accuracy(mdata, show=False)
    >>> [text.get_text().split(" ")[0] for text in ax.get_legend().get_texts()]
    ['blend:', 'krr', 'svr']
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {list(METRICS)}; got {metric!r}.")
    p, scores, blend, heads = _head_scores(mdata, key, metric)
    sign = -1.0 if metric == "rmse" else 1.0  # up: the head does better than the blend
    table = np.stack([scores[h] for h in heads], axis=1)
    defined = np.isfinite(table).all(axis=1) & np.isfinite(blend)
    x, gain = blend[defined], sign * (table[defined] - blend[defined, None])
    names = p.features[defined]
    winner = np.argmax(gain, axis=1)  # the best head on each feature (ties: the first)

    fig, ax = new_axes(ax, (7.0, 4.5))
    ax.vlines(x, gain.min(axis=1), gain.max(axis=1), color="0.8", lw=0.8, zorder=1)
    ax.axhline(0.0, color="black", lw=1, zorder=2, label=f"blend: mean {np.nanmean(blend):.3f}")
    for j, (head, entry) in enumerate(heads.items()):
        ax.scatter(
            x,
            gain[:, j],
            s=14,
            color=f"C{j}",
            zorder=3,
            label=(
                f"{head} (weight {float(entry['weight']):.2f}): mean "
                f"{np.nanmean(scores[head]):.3f}, best head on {int((winner == j).sum())}"
            ),
        )
    spread = gain.max(axis=1) - gain.min(axis=1)
    named = np.argsort(-spread, kind="stable")[: min(N_NAMED, len(spread))]
    for k, i in enumerate(named[np.argsort(x[named], kind="stable")]):
        ax.annotate(  # left to right, every other name raised: neighbours do not overlap
            names[i],
            (x[i], gain[i].max()),
            xytext=(0, 4 + 9 * (k % 2)),
            textcoords="offset points",
            ha="center",
            fontsize=7,
        )
    better, worse = ("head", "blend") if sign > 0 else ("blend", "head")
    ax.set_xlabel(f"{metric} of the blend")
    ax.set_ylabel(f"{metric}: {better} − {worse}\n(above 0: the head does better)")
    left_out = int((~defined).sum())
    note = f"; {left_out} with an undefined score left out" if left_out else ""
    ax.set_title(
        f"{metric} of each {p.target} feature by head, on {int(p.held_out.sum())} "
        f"held-out cells\n{int(defined.sum())} features{note}"
    )
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top + 0.35 * (top - bottom))  # headroom for the legend
    ax.legend(loc="upper right", fontsize=8)
    return finish(fig, ax, show, save)


# --- cv_grid ----------------------------------------------------------------------------
def _cv_record(mdata: MuData, key: str, head: str) -> Mapping[str, Any]:
    check_mudata(mdata)
    if not isinstance(key, str):
        raise TypeError(f"`key` must be a string naming predictions; got {key!r}.")
    keys = prediction_keys(mdata)
    if key not in keys:
        raise ValueError(
            f"`key={key!r}` holds no predictions in `mdata.uns`; run sm.tl.predict_modality "
            f"first. Prediction keys: {keys}."
        )
    cv = mdata.uns[key].get("cv")
    if not isinstance(cv, Mapping) or not cv:
        raise ValueError(
            f"`key={key!r}` has no cross-validation record (`mdata.uns[{key!r}]['cv']`): that "
            "run searched no grid. Give a parameter as a list or 'auto', e.g. "
            "sm.tl.predict_modality(mdata, ..., alpha='auto')."
        )
    if head not in cv:
        raise ValueError(
            f"`head={head!r}` is not in the cross-validation record of `key={key!r}`; "
            f"its heads: {list(cv)}."
        )
    return cv[head]


def _reduce(
    values: np.ndarray, params: list[str], grid: dict[str, np.ndarray], best_of: Any
) -> tuple[np.ndarray, list[str], list[str]]:
    """The scores over the parameters that vary (the first two), and notes for the title.

    Fixed parameters (one value) are dropped; a third varying one (and on) is reduced to
    its best value for each cell of the first two.
    """
    varying = [q for q in params if len(grid[q]) > 1]
    shown, notes = varying[:2], []
    for axis in reversed(range(len(params))):
        name = params[axis]
        if name in shown:
            continue
        if len(grid[name]) == 1:
            values = np.take(values, 0, axis=axis)
            notes.append(f"{name} = {grid[name][0]:g}")
        else:
            with np.errstate(all="ignore"):
                values = best_of(values, axis=axis)
            notes.append(f"best over {name}")
    return values, shown, notes[::-1]


def _ticks(values: np.ndarray) -> list[str]:
    return [f"{v:g}" for v in values]


def _heatmap(
    ax: Axes, scores: np.ndarray, grid: dict, shown: list[str], chosen: tuple, metric: str
) -> None:
    from matplotlib.patches import Rectangle

    cmap = "viridis_r" if metric == "rmse" else "viridis"  # bright: better
    image = ax.imshow(scores.T, origin="lower", aspect="auto", cmap=cmap)
    (a, b), (i, j) = shown, chosen
    ax.set_xticks(np.arange(len(grid[a])), _ticks(grid[a]))
    ax.set_yticks(np.arange(len(grid[b])), _ticks(grid[b]))
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    for (u, v), value in np.ndenumerate(scores):
        if np.isfinite(value):
            r, g, bl, _ = image.cmap(image.norm(value))
            dark = 0.299 * r + 0.587 * g + 0.114 * bl < 0.5
            ax.text(
                u,
                v,
                f"{value:.3f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    ax.add_patch(
        Rectangle((i - 0.5, j - 0.5), 1, 1, fill=False, edgecolor="red", lw=2, label="chosen")
    )
    ax.figure.colorbar(image, ax=ax, label=_better(metric))


def _line(ax: Axes, scores: np.ndarray, grid: dict, name: str, chosen: int, metric: str) -> None:
    values = grid[name]
    ax.plot(values, scores, marker="o", color="tab:blue")
    ax.plot(
        values[chosen],
        scores[chosen],
        ls="",
        marker="o",
        ms=12,
        mfc="none",
        mec="red",
        mew=2,
        label="chosen",
    )
    for v, s in zip(values, scores, strict=True):
        if np.isfinite(s):
            ax.annotate(
                f"{s:.3f}",
                (v, s),
                xytext=(0, 7),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
    if (values > 0).all():
        ax.set_xscale("log")
    ax.set_xticks(values, _ticks(values))
    ax.minorticks_off()
    ax.set_xlabel(name)
    ax.set_ylabel(_better(metric))
    ax.legend(loc="best", fontsize=8)
    ax.margins(y=0.2)


def _better(metric: str) -> str:
    return f"{metric} ({'lower' if metric == 'rmse' else 'higher'} is better)"


def cv_grid(
    mdata: MuData,
    *,
    key: str = "prot_predicted",
    head: str = "krr",
    metric: str = "rmse",
    ax: Axes | None = None,
    show: bool | None = None,
    save: str | Path | None = None,
) -> Axes | None:
    """The cross-validated score of a head over the grid its parameters were chosen on.

    :func:`scmodal.tl.predict_modality` chooses a parameter given as a list or
    ``"auto"`` (``gamma``, ``alpha``, ``C``, ``epsilon``) by cross-validation on the
    training cells and stores the out-of-fold scores of every grid point in
    ``mdata.uns[key]["cv"]``. With two parameters that vary (``gamma`` × ``alpha`` for
    kernel ridge, ``gamma`` × ``C`` for SVR) this is a heatmap, the first one across;
    with one, a line over its values (a logarithmic axis). Each value is written in its
    cell (or at its point), the chosen one (the lowest RMSE, whatever ``metric`` shows) is
    framed in red, and the axes are labelled with the grid's values (a log-spaced grid,
    such as ``"auto"``'s, is evenly spaced on the page). A
    parameter with one value is named in the title; a third one that varies (SVR's
    ``epsilon``) is reduced to its best value in every cell, and the title says so.

    Parameters
    ----------
    mdata
        A MuData on which :func:`scmodal.tl.predict_modality` searched a grid (or fitted
        a stacked ensemble).
    key
        The ``key_added`` of that run.
    head
        The head whose grid to show: ``"krr"`` or ``"svr"``.
    metric
        ``"rmse"`` (lower is better) or ``"pearson"`` (higher is better), both out of
        fold over the training cells.
    ax
        Draw into this Axes instead of a new figure.
    show
        Show the figure; ``None``: ``scanpy.settings.autoshow``.
    save
        Write the figure to this file path (e.g. ``"grid.png"``).

    Returns
    -------
    The Axes, when the figure is not shown.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(
    ...     mdata, train="is_train", gamma=[0.0025, 0.005, 0.01], alpha="auto",
    ...     n_components_source=50, n_components_target=20,
    ... )
    >>> ax = sm.pl.cv_grid(mdata, show=False)
    >>> ax.images[0].get_array().shape  # alpha (5 values) up, gamma (3 values) across
    (5, 3)
    """
    if metric not in CV_METRICS:
        raise ValueError(f"`metric` must be one of {list(CV_METRICS)}; got {metric!r}.")
    if not isinstance(head, str):
        raise TypeError(f"`head` must be a head's name, e.g. 'krr'; got {head!r}.")
    record = _cv_record(mdata, key, head)
    params = [str(q) for q in record["params"]]
    grid = {q: np.atleast_1d(np.asarray(record["grid"][q], dtype=float)) for q in params}
    best = {q: float(record["best"][q]) for q in params}
    if all(len(grid[q]) == 1 for q in params):
        fixed = ", ".join(f"{q}={best[q]:g}" for q in params)
        raise ValueError(
            f"`head={head!r}` of `key={key!r}` was fitted with one value of each parameter "
            f"({fixed}): there is no grid to show. Give a parameter as a list or 'auto'."
        )
    best_of = np.nanmin if metric == "rmse" else np.nanmax
    scores, shown, notes = _reduce(np.asarray(record[metric], dtype=float), params, grid, best_of)
    chosen = tuple(int(np.argmin(np.abs(grid[q] - best[q]))) for q in shown)
    fig, ax = new_axes(ax, (5.5, 4.0) if len(shown) == 2 else (5.0, 3.5))
    if len(shown) == 2:
        _heatmap(ax, scores, grid, shown, chosen, metric)
    else:
        _line(ax, scores, grid, shown[0], chosen[0], metric)
    label = HEADS[head].label if head in HEADS else head
    picked = ", ".join(f"{q} = {best[q]:g}" for q in params)
    extra = f"; {', '.join(notes)}" if notes else ""
    ax.set_title(
        f"{label} ({head}): {int(record['n_folds'])}-fold cross-validated {metric}\n"
        f"on {int(record['n_cells'])} training cells{extra}\nchosen: {picked}",
        fontsize=9,
    )
    return finish(fig, ax, show, save)


__all__ = ["cv_grid", "heads_accuracy"]
