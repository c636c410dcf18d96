"""Which cells to train on: ``train=`` of :func:`scmodal.tl.predict_modality`, read safely.

Anything that carries cell names (a pandas Series, Index, an obs column) is aligned to the
MuData's cells by name, never by position; a plain numpy boolean mask is positional over
``mdata.obs_names``; ambiguous inputs (integer positions, sets, duplicated names, NaN in a
mask) are refused with an error naming ``train`` and the fix.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Any

import numpy as np
import pandas as pd

MASK_HINT = "pass a boolean mask, the name of a boolean obs column, or a list of obs names"


def obs_column(mdata: Any, source: str, key: Any, arg: str) -> pd.Series:
    """Column ``key`` of ``mdata.obs`` or, failing that, of ``mdata.mod[source].obs``."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"`{arg}` must be a non-empty string naming an obs column; got {key!r}.")
    if key in mdata.obs:
        return mdata.obs[key]
    if key in mdata.mod[source].obs:
        return mdata.mod[source].obs[key]
    raise ValueError(
        f"`{arg}={key!r}` is not a column of `mdata.obs` nor of `mdata.mod[{source!r}].obs`; "
        f"columns: {sorted(set(mdata.obs.columns) | set(mdata.mod[source].obs.columns))}."
    )


def _as_mask(values: Any, what: str) -> np.ndarray | None:
    """``values`` as a numpy bool array if they are a mask (bool, or only 0 and 1), else None.

    NaN/NA in a mask is refused: it is neither train nor not-train.
    """
    values = pd.array(values)
    if pd.api.types.is_bool_dtype(values.dtype) or values.dtype == object:
        missing = pd.isna(values)
        if missing.any() and (pd.api.types.is_bool_dtype(values.dtype) or _all_bool(values)):
            raise ValueError(
                f"{what} has {int(missing.sum())} missing (NaN/NA) values; a training mask "
                "must be True or False for every cell (fill them first, e.g. `.fillna(False)`)."
            )
        if pd.api.types.is_bool_dtype(values.dtype) or _all_bool(values):
            return np.asarray(values, dtype=bool)
        return None
    if pd.api.types.is_integer_dtype(values.dtype) and len(values):
        if pd.isna(values).any():
            raise ValueError(
                f"{what} has missing values; a training mask needs 0/1 for every cell."
            )
        if set(np.unique(np.asarray(values))) <= {0, 1}:
            return np.asarray(values, dtype=bool)
    return None


def _all_bool(values: Any) -> bool:
    present = [v for v in values if not pd.isna(v)]
    return bool(present) and all(isinstance(v, bool | np.bool_) for v in present)


def _check_unique(names: pd.Index, what: str) -> pd.Index:
    duplicated = names[names.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"{what} names {len(duplicated)} cells more than once, e.g. "
            f"{list(duplicated[:3])}; give each training cell once."
        )
    return names


def _known(names: pd.Index, obs_names: pd.Index, what: str) -> pd.Index:
    unknown = names.difference(obs_names)
    if len(unknown):
        raise ValueError(
            f"{what} names {len(unknown)} cells that are not in the MuData, "
            f"e.g. {list(unknown[:3])}; use the MuData's obs names."
        )
    return names


def _aligned_mask(mask: np.ndarray, index: pd.Index, obs_names: pd.Index, what: str) -> pd.Index:
    """The names where a mask indexed by cell names is True, aligned by name."""
    index = _check_unique(pd.Index(index).astype(str), f"the index of {what}")
    unknown = index.difference(obs_names)
    if len(unknown):
        raise ValueError(
            f"the index of {what} does not match the MuData's cells: {len(unknown)} of its "
            f"{len(index)} labels are not obs names (e.g. {list(unknown[:3])}). A mask is "
            "aligned by cell name; index it by `mdata.obs_names` (or pass `.to_numpy()` for "
            "a positional mask over `mdata.obs_names`)."
        )
    return index[mask]


def train_names(mdata: Any, source: str, train: Any, shared: pd.Index) -> pd.Index:
    """The obs names of the training cells selected by ``train`` (see ``predict_modality``)."""
    obs_names = mdata.obs_names
    if not obs_names.is_unique:
        raise ValueError(
            "the MuData has duplicated obs names, so cells cannot be selected by name; "
            "call `mdata.obs_names_make_unique()` first."
        )
    if train is None:
        return shared
    if isinstance(train, str):
        column = obs_column(mdata, source, train, "train")
        mask = _as_mask(column.to_numpy(), f"`train={train!r}`")
        if mask is None:
            raise ValueError(
                f"`train={train!r}` must be a column of booleans (True = train) or of 0/1; "
                f"it holds {column.dtype} values."
            )
        return _aligned_mask(mask, column.index, obs_names, f"`train={train!r}`")
    if isinstance(train, Set | dict):
        raise TypeError(
            f"`train` is a {type(train).__name__}; {MASK_HINT} (a list, so the selection "
            "is explicit)."
        )
    if isinstance(train, pd.DataFrame):
        raise TypeError(f"`train` is a DataFrame; pass one of its columns. Or: {MASK_HINT}.")
    if isinstance(train, pd.Series):
        mask = _as_mask(train.to_numpy(), "`train`")
        if mask is not None:
            return _aligned_mask(mask, train.index, obs_names, "the `train` Series")
    values = train.to_numpy() if isinstance(train, pd.Series | pd.Index) else np.asarray(train)
    return _from_values(values, obs_names)


def _from_values(values: np.ndarray, obs_names: pd.Index) -> pd.Index:
    """A positional boolean mask over ``obs_names``, or a list of obs names."""
    if values.ndim != 1:
        raise ValueError(f"`train` must be 1-D; got shape {values.shape}. {MASK_HINT}.")
    if values.dtype == bool:
        if values.shape != (len(obs_names),):
            raise ValueError(
                f"a boolean `train` mask needs one entry per cell of the MuData "
                f"({len(obs_names)}); got shape {values.shape}."
            )
        return obs_names[values]
    if values.dtype.kind in "iuf":
        raise TypeError(
            f"`train` holds {values.dtype} numbers; positions are ambiguous. {MASK_HINT}."
        )
    if len(values) and not all(isinstance(v, str) for v in values):
        raise TypeError(f"`train` must hold obs names (strings); {MASK_HINT}.")
    names = pd.Index(values, dtype=object).astype(str)
    return _known(_check_unique(names, "`train`"), obs_names, "`train`")
