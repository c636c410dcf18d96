"""``sm.get.predictions``: the results of ``sm.tl.predict_modality`` as an AnnData."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData
from mudata import MuData

from .._anndata import check_mudata
from .._backend import is_sparse, to_numpy

ROLES = ("train", "held out", "not measured")


@dataclass
class Predictions:
    """What ``predict_modality`` stored under one key, gathered over the source cells.

    ``mean``, ``std`` and ``measured`` are float64 numpy arrays (source cells × target
    features); ``measured`` is NaN for the cells the target does not hold. ``role`` says
    of every source cell whether it was trained on, held out (measured, not trained on)
    or not measured. ``train_mean`` is the measured mean over the training cells.
    """

    key: str
    source: str
    target: str
    features: pd.Index
    cells: pd.Index
    mean: np.ndarray
    std: np.ndarray | None
    measured: np.ndarray
    role: np.ndarray
    train_mean: np.ndarray

    @property
    def held_out(self) -> np.ndarray:
        return self.role == "held out"


def _dense(x: Any) -> np.ndarray:
    x = to_numpy(x)
    x = x.toarray() if is_sparse(x) else x
    return np.asarray(x, dtype=np.float64)


def _frame(x: Any, features: pd.Index) -> np.ndarray:
    """A stored prediction matrix as float64 numpy, DataFrame columns put in feature order."""
    if isinstance(x, pd.DataFrame):
        x = x.reindex(columns=features)
    return _dense(x)


def prediction_keys(mdata: Any) -> list[str]:
    """The keys of ``mdata.uns`` written by ``sm.tl.predict_modality``."""
    return [k for k, v in mdata.uns.items() if isinstance(v, dict) and "target_features" in v]


def collect(mdata: Any, key: str, source: str | None = None) -> Predictions:
    """Gather the predictions stored under ``key`` (validated; nothing is modified)."""
    check_mudata(mdata)
    if source is not None:
        check_mudata(mdata, source=source)
    if not isinstance(key, str):
        raise TypeError(f"`key` must be a string naming predictions; got {key!r}.")
    keys = prediction_keys(mdata)
    if key not in keys:
        raise ValueError(
            f"`key={key!r}` holds no predictions in `mdata.uns`; run sm.tl.predict_modality "
            f"first. Prediction keys: {keys}."
        )
    info = mdata.uns[key]
    params = info.get("params", {})
    source = source if source is not None else str(params.get("source", "rna"))
    target = str(params.get("target", ""))
    check_mudata(mdata, source=source, target=target)
    src, tgt = mdata.mod[source], mdata.mod[target]
    if key not in src.obsm:
        raise ValueError(
            f"`mdata.mod[{source!r}].obsm` has no {key!r}; available: {list(src.obsm.keys())}."
        )
    features = pd.Index(np.asarray(info["target_features"], dtype=str))
    std_key = f"{key}_std"
    mean = _frame(src.obsm[key], features)
    std = _frame(src.obsm[std_key], features) if std_key in src.obsm else None
    if mean.shape[1] != len(features):
        raise ValueError(
            f"`mdata.mod[{source!r}].obsm[{key!r}]` has {mean.shape[1]} columns but "
            f"{len(features)} target features are recorded in `mdata.uns[{key!r}]`."
        )
    columns = tgt.var_names.get_indexer(features)
    if (columns < 0).any():
        missing = list(features[columns < 0][:5])
        raise ValueError(f"the target {target!r} lacks predicted features {missing}.")
    rows = tgt.obs_names.get_indexer(src.obs_names)
    measured = np.full(mean.shape, np.nan)
    in_target = rows >= 0
    measured[in_target] = _dense(tgt.X)[rows[in_target]][:, columns]
    is_train = src.obs_names.isin(pd.Index(np.asarray(info["train"], dtype=str)))
    role = np.where(is_train, ROLES[0], np.where(in_target, ROLES[1], ROLES[2]))
    return Predictions(
        key=key,
        source=source,
        target=target,
        features=features,
        cells=src.obs_names,
        mean=mean,
        std=std,
        measured=measured,
        role=role,
        train_mean=measured[is_train & in_target].mean(axis=0),
    )


def predictions(mdata: MuData, key: str = "prot_predicted", source: str = "rna") -> AnnData:
    """The predictions of :func:`scmodal.tl.predict_modality` as an AnnData of the source cells.

    The AnnData carries the source modality's ``obs`` and ``obsm`` (UMAP, PCA, …), so
    that scanpy's own plots colour cells by predicted features:
    ``sc.pl.umap(pred, color="CD4")``, or by measured ones with ``layer="measured"``.

    Parameters
    ----------
    mdata
        A MuData on which ``sm.tl.predict_modality`` ran.
    key
        The ``key_added`` of that run (default: the target's name + ``"_predicted"``).
    source
        The source modality whose cells were predicted.

    Returns
    -------
    An AnnData (source cells × target features) with

    ``X``
        The predictions (float32).
    ``layers["std"]``
        Their standard deviation (posterior, or over the bagged fits).
    ``layers["measured"]``
        The target's measured values; NaN for cells the target does not hold.
    ``obs[key + "_role"]``
        ``"train"``, ``"held out"`` (measured, not trained on) or ``"not measured"``.
    ``uns["predictions"]``
        ``{"key", "source", "target"}``.

    ``mdata`` is not modified; GPU results are copied to the host.

    Examples
    --------
    >>> import scmodal as sm
    >>> mdata = sm.datasets.bmmc_cite()
    >>> sm.tl.predict_modality(mdata, train="is_train", n_repeats=1)
    >>> pred = sm.get.predictions(mdata)
    >>> pred.shape
    (600, 134)
    >>> pred.obs["prot_predicted_role"].value_counts()["held out"]
    np.int64(289)
    """
    p = collect(mdata, key, source)
    src = mdata.mod[p.source]
    obs = src.obs.copy()
    obs[f"{key}_role"] = pd.Categorical(p.role, categories=list(ROLES))
    layers = {"measured": p.measured.astype(np.float32)}
    if p.std is not None:
        layers["std"] = p.std.astype(np.float32)
    skip = {key, f"{key}_std"}
    obsm = {k: to_numpy(v).copy() for k, v in src.obsm.items() if k not in skip}
    return AnnData(
        X=p.mean.astype(np.float32),
        obs=obs,
        var=pd.DataFrame(index=p.features),
        obsm=obsm,
        layers=layers,
        uns={"predictions": {"key": key, "source": p.source, "target": p.target}},
    )
