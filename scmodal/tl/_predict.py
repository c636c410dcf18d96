"""sm.tl.predict_modality: train on the cells measured in both modalities, predict all."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from mudata import MuData

from .._anndata import check_mudata
from .._backend import get_namespace, is_gpu_array, is_sparse
from .._validation import check_key, check_matrix, check_seed
from ..get._device import record_columns
from ..models import ModalityPredictor
from ..models._heads import heads_of
from ._selection import obs_column, train_names


def _check_mudata(mdata: Any, source: str, target: str) -> None:
    check_mudata(mdata, source=source, target=target)
    if source == target:
        raise ValueError(f"`source` and `target` are the same modality ({source!r}).")


def _batches(mdata: Any, source: str, batch_key: str, names: pd.Index) -> np.ndarray:
    """The batch of every training cell, with NaN refused (it belongs to no batch)."""
    column = obs_column(mdata, source, batch_key, "batch_key")
    # its index is unique: check_mudata and train_names refuse duplicated obs names first
    batches = column.reindex(names)
    missing = batches.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"`batch_key={batch_key!r}` has no batch (NaN) for {int(missing.sum())} training "
            f"cells, e.g. {list(names[missing][:3])}; fill the column or leave those cells out "
            "of `train`."
        )
    return batches.astype(str).to_numpy()


def predict_modality(
    mdata: MuData,
    source: str = "rna",
    target: str = "prot",
    *,
    train: str | Sequence[str] | np.ndarray | pd.Series | pd.Index | None = None,
    batch_key: str | None = None,
    method: str | Sequence[str] = "krr",
    key_added: str | None = None,
    random_state: int | None = 0,
    copy: bool = False,
    **method_params: float | str | list[float] | list[str] | None,
) -> MuData | None:
    """Predict the ``target`` modality of every cell from its ``source`` modality.

    Trains :class:`~scmodal.models.ModalityPredictor` (the NeurIPS 2021 GEX→ADT winning
    pipeline: source SVD over all source cells, per-cell z-score, target SVD, then one or
    more regression heads — RBF kernel ridge regression, support vector regression —
    fitted once on all training cells or bagged, their parameters chosen by
    cross-validation when given as lists, and blended) on the training cells and predicts
    the target for every source cell, on the device of the data (CPU, or GPU after
    :func:`scmodal.get.to_gpu`).

    Parameters
    ----------
    mdata
        MuData holding both modalities.
    source, target
        Modality names, e.g. ``"rna"`` and ``"prot"``. ``X`` of each is used.
    train
        Training cells; they must be measured in both modalities. One of:

        - ``None``: every cell measured in both modalities;
        - the name of a boolean (or 0/1) column of ``mdata.obs`` or of the source's
          ``obs``;
        - a pandas Series of booleans (or 0/1) indexed by cell names: aligned to the
          cells **by name**, never by position (cells absent from its index are not
          trained on; an index that names unknown cells is refused);
        - a numpy boolean mask with one entry per cell of ``mdata.obs_names``;
        - obs names: a list, a numpy array, a pandas Index or a Series of strings.

        Integer positions, sets, duplicated names and masks with missing values are
        refused.
    batch_key
        Column of batches: with ``bagging="batches"``, the bagging halves are halves of
        the shuffled batches (the winner's scheme); without it, random halves of the
        training cells. The cross-validation folds hold out whole batches. Every training
        cell needs a batch (no NaN).
    method
        ``"krr"`` (kernel ridge regression), ``"svr"`` (support vector regression), or a
        list of them, e.g. ``["krr", "svr"]``: an ensemble, blended as ``ensemble`` says
        (``"mean"``, the default: equal weights; ``"stack"``: weights fitted on
        out-of-fold predictions).
    key_added
        Key of the results; default ``f"{target}_predicted"``.
    random_state
        Seed of the SVDs and of the bagging.
    copy
        Return a modified copy instead of writing into ``mdata``.
    **method_params
        Passed to :class:`~scmodal.models.ModalityPredictor`, e.g.
        ``n_components_source=300, n_components_target=70, gamma=0.005, alpha=0.2,
        C=3.0, epsilon=0.1, ensemble="mean", cv=3, bagging="batches", n_repeats=5,
        clip_min=0.0, target_transform="gaussrank"``.
        ``bagging``: ``None`` (default), one fit on all training cells; ``"batches"``,
        halves of the ``batch_key`` batches (the winner's scheme); ``"cells"``, random
        halves of the training cells. ``gamma``, ``alpha``, ``C``, ``epsilon``: a number,
        a list (a grid, chosen by cross-validation) or ``"auto"``.

    Returns
    -------
    MuData or None
        The modified copy with ``copy=True``; otherwise ``None``, and the results are
        written into ``mdata``:

        - ``mdata.mod[source].obsm[key]``: predictions for every source cell, a
          DataFrame with the target's ``var_names`` as columns. On the GPU a cupy
          array of the same shape, whose column names wait in
          ``mdata.mod[source].uns["scmodal_obsm_columns"]`` until
          :func:`scmodal.get.to_cpu` turns it into that DataFrame;
        - ``mdata.mod[source].obsm[key + "_std"]``: their standard deviation, same
          layout: the Gaussian-process posterior one for one fit on all training cells
          (the default), the spread of the fits with ``bagging``;
        - ``mdata.mod[source].obsm[f"{key}_{head}"]``: with several heads, each head's
          own predictions, same layout;
        - ``mdata.mod[target].layers[key]``: the predictions of the cells the target
          holds (NaN for a target cell without source data);
        - ``mdata.uns[key]``: ``params``, ``n_train``, ``train`` (the training cells'
          names), ``target_features``, ``timings`` (seconds per step and per fit),
          ``heads`` (for each head: ``weight`` in the blend and the ``params`` it was
          fitted with; with cross-validation also its out-of-fold ``cv_rmse`` and
          ``cv_pearson``) and, when a grid was searched or a stack fitted, ``cv``: for
          each head its ``params``, ``grid`` (values per parameter), ``rmse`` and
          ``pearson`` (one axis per parameter), ``best``, ``chosen_by``, ``n_cells`` and
          ``n_folds``.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(mdata, train="is_train", batch_key="batch", n_repeats=1)
    >>> mdata["rna"].obsm["prot_predicted"].shape
    (600, 134)
    >>> mdata.uns["prot_predicted"]["n_train"]
    311
    """
    _check_mudata(mdata, source, target)
    check_seed(random_state)
    heads = heads_of(list(method) if isinstance(method, list | tuple) else method)
    method = heads if len(heads) > 1 else heads[0]  # as ModalityPredictor takes it
    allowed = set(inspect.signature(ModalityPredictor).parameters) - {"random_state", "method"}
    unknown = set(method_params) - allowed
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {sorted(unknown)} for method {method!r}; "
            f"valid ones: {sorted(allowed)}."
        )
    src, tgt = mdata.mod[source], mdata.mod[target]
    shared = src.obs_names.intersection(tgt.obs_names, sort=False)
    if len(shared) == 0:
        raise ValueError(
            f"modalities {source!r} and {target!r} share no cells (obs_names); nothing to train on."
        )
    names = train_names(mdata, source, train, shared)
    if len(names) == 0:
        raise ValueError("the training set is empty: `train` selects no cells.")
    missing = names.difference(shared)
    if len(missing):
        raise ValueError(
            f"{len(missing)} training cells are not measured in both {source!r} and "
            f"{target!r}, e.g. {list(missing[:3])}; train only on shared cells."
        )
    X = check_matrix(src.X, f"mdata[{source!r}].X", allow_nan=False)
    Y = check_matrix(tgt[names].X, f"mdata[{target!r}].X (training cells)", allow_nan=False)
    Y = Y.toarray() if is_sparse(Y) else Y
    groups = None
    if batch_key is not None:
        groups = _batches(mdata, source, batch_key, names)
    key = f"{target}_predicted" if key_added is None else check_key(key_added)
    model = ModalityPredictor(method=method, random_state=random_state, **method_params)
    train_idx = src.obs_names.get_indexer(names)
    out = model.fit_predict(X, Y, train=train_idx, groups=groups)
    mean, std = out["mean"], out["std"]
    per_head = out["heads"] if len(heads) > 1 else {}

    # everything is computed: now write
    if copy:
        mdata = mdata.copy()
        src, tgt = mdata.mod[source], mdata.mod[target]
    features = tgt.var_names
    xp = get_namespace(mean).xp  # the device of the values, whatever the target's is
    rows = src.obs_names.get_indexer(tgt.obs_names)
    present = np.flatnonzero(rows >= 0)
    layer = xp.full((tgt.n_obs, mean.shape[1]), xp.nan, dtype=mean.dtype)
    layer[xp.asarray(present)] = mean[xp.asarray(rows[present])]
    results = {key: mean, f"{key}_std": std}
    results.update({f"{key}_{name}": values for name, values in per_head.items()})
    for name, values in results.items():
        if is_gpu_array(mean):  # AnnData holds no GPU DataFrame: names wait for to_cpu
            src.obsm[name] = values
        else:
            src.obsm[name] = pd.DataFrame(values, index=src.obs_names, columns=features)
    record_columns(src, {name: features if is_gpu_array(mean) else None for name in results})
    tgt.layers[key] = layer
    timings = dict(model.timings_)
    timings["fits"] = np.asarray(timings["fits"])
    params = {k: _plain(v) for k, v in model.get_params().items() if v is not None}
    params.update(source=source, target=target, method=_plain(method))
    params["bagging"] = "none" if model.bagging is None else model.bagging
    if batch_key is not None:
        params["batch_key"] = batch_key
    if isinstance(train, str):
        params["train"] = train
    mdata.uns[key] = {
        "params": params,
        "n_train": len(names),
        "train": np.asarray(names, dtype=str),
        "target_features": np.asarray(features, dtype=str),
        "timings": timings,
        "heads": _heads_record(model),
    }
    if model.cv_results_ is not None:
        mdata.uns[key]["cv"] = {
            name: {
                "params": list(r["params"]),
                "grid": {p: np.asarray(v, dtype=float) for p, v in r["grid"].items()},
                "rmse": np.asarray(r["rmse"], dtype=float),
                "pearson": np.asarray(r["pearson"], dtype=float),
                "best": {p: float(v) for p, v in r["best"].items()},
                "chosen_by": str(r["chosen_by"]),
                "n_cells": int(r["n_cells"]),
                "n_folds": int(r["n_folds"]),
            }
            for name, r in model.cv_results_.items()
        }
    return mdata if copy else None


def _plain(value: Any) -> Any:
    """A parameter as h5py can store it: lists of names or numbers as arrays."""
    if isinstance(value, list | tuple):
        return np.asarray(value, dtype=str if all(isinstance(v, str) for v in value) else float)
    return value


def _heads_record(model: ModalityPredictor) -> dict[str, Any]:
    """Each head's weight, fitted parameters and (with cross-validation) scores."""
    record = {}
    for name in model.heads_:
        entry = {
            "weight": float(model.weights_[name]),
            "params": {p: float(v) for p, v in model.best_params_[name].items()},
        }
        if model.cv_results_ is not None:
            entry["cv_rmse"] = float(model.cv_results_[name]["best_rmse"])
            entry["cv_pearson"] = float(model.cv_results_[name]["best_pearson"])
        record[name] = entry
    return record


__all__ = ["predict_modality"]
