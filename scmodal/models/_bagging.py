"""Bagging: the training cells of every kernel fit (all of them, or halves)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._backend import to_numpy

BAGGING = ("batches", "cells", None)


def bagging_halves(
    n: int, groups: Any, n_repeats: int, seed: int | None, bagging: str | None = None
) -> list[np.ndarray]:
    """Training-cell indices of every fit.

    ``bagging=None``: one fit on all ``n`` cells. ``"cells"``: each repeat splits a random
    permutation of the cells into two halves. ``"batches"`` (the winner's scheme): each
    repeat shuffles the list of ``groups`` and splits it in half; without ``groups``,
    random halves of the cells; with a single group, one fit on all cells (there is
    nothing to split: the winner's code then fits every cell each time).
    """
    if bagging not in BAGGING:
        raise ValueError(f"`bagging` must be one of {BAGGING}; got {bagging!r}.")
    rng = np.random.default_rng(seed)
    if bagging is None:
        return [np.arange(n)]
    if bagging == "cells":
        groups = None
    if groups is not None:
        groups = np.asarray(to_numpy(groups))
        if groups.shape != (n,):
            raise ValueError(f"`groups` must have one entry per training cell ({n}).")
        if len(np.unique(groups)) < 2:
            warnings.warn(
                "the training cells come from one group (batch): halves of the batches "
                "leave nothing to split, so one fit on all training cells (as the "
                "winner's code does); `bagging='cells'` bags over random halves instead.",
                UserWarning,
                stacklevel=4,
            )
            return [np.arange(n)]
    fits = []
    if groups is None:
        if n < 2:
            raise ValueError(f"bagging needs at least 2 training cells; got {n}.")
        for _ in range(n_repeats):
            order = rng.permutation(n)
            fits += [np.sort(order[: n // 2]), np.sort(order[n // 2 :])]
        return fits
    names = np.unique(groups)
    for _ in range(n_repeats):
        shuffled = rng.permutation(names)
        half = len(names) // 2
        for part in (shuffled[:half], shuffled[half:]):
            fits.append(np.flatnonzero(np.isin(groups, part)))
    return fits


__all__ = ["BAGGING", "bagging_halves"]
