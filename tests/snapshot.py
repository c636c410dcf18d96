"""One helper for "the object is exactly as it was": snapshot an AnnData/MuData, compare.

Every bad-input test uses it::

    with pytest.raises(ValueError, match="n_comps"), unchanged(adata):
        sm.pp.tsvd(adata, n_comps=10_000)

It compares values, not key sets: ``X``, every layer, ``obsm``, ``varm``, ``obsp``,
``varp``, ``uns`` (recursively), ``obs``, ``var``, obs/var names, whether the object is
a view, and, for a MuData, its own ``obs``/``var``/``obsm``/``uns``/``mod`` and every
modality. NaN equals NaN; dtypes, sparse formats and array types must match too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from scmodal._backend import is_gpu_array

SLOTS = ("layers", "obsm", "varm", "obsp", "varp")


def _freeze(value: Any) -> Any:
    """A deep, detached copy of one stored value (arrays, frames, dicts, scalars)."""
    if isinstance(value, AnnData):
        return _snapshot_adata(value)
    if hasattr(value, "mod") and hasattr(value, "obs"):  # MuData
        return _snapshot_mudata(value)
    if isinstance(value, Mapping):
        return {"__mapping__": type(value).__name__, **{k: _freeze(v) for k, v in value.items()}}
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        return value.copy(deep=True)
    if sp.issparse(value):
        return value.copy()
    if is_gpu_array(value):  # cupy, cupyx, and anndata's views of them
        return ("gpu", type(value).__name__, _freeze(value.get()))
    if isinstance(value, np.ndarray):
        return np.array(value, copy=True)
    return copy.deepcopy(value)


def _common(obj: Any) -> dict:
    """What AnnData and MuData both hold: view state, names, obs, var and uns."""
    return {
        "is_view": obj.is_view,
        "obs_names": obj.obs_names.copy(),
        "var_names": obj.var_names.copy(),
        "obs": obj.obs.copy(deep=True),
        "var": obj.var.copy(deep=True),
        "uns": _freeze(dict(obj.uns)),
    }


def _slots(obj: Any, slots: tuple[str, ...]) -> dict:
    return {slot: {k: _freeze(v) for k, v in getattr(obj, slot).items()} for slot in slots}


def _snapshot_adata(adata: AnnData) -> dict:
    snap = {"__anndata__": True, "isbacked": adata.isbacked, "shape": adata.shape}
    snap |= _common(adata) | _slots(adata, SLOTS)
    if not adata.isbacked:
        snap["X"] = None if adata.X is None else _freeze(adata.X)
    return snap


def _snapshot_mudata(mdata: Any) -> dict:
    snap = {"__mudata__": True, **_common(mdata), **_slots(mdata, ("obsm", "varm"))}
    snap["mod"] = {name: _snapshot_adata(a) for name, a in mdata.mod.items()}
    return snap


def snapshot(obj: Any) -> Any:
    """A detached copy of every value of an AnnData or MuData (see the module docstring)."""
    return _freeze(obj)


def _same(a: Any, b: Any, where: str) -> None:
    """Assert ``a`` (a snapshot) equals ``b`` (a snapshot of now), naming the place."""
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{where}: was a mapping, now {type(b).__name__}"
        assert list(a) == list(b), f"{where}: keys {list(a)} became {list(b)}"
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
        return
    assert type(a) is type(b), f"{where}: type {type(a).__name__} became {type(b).__name__}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True, obj=where)
    elif sp.issparse(a):
        assert a.format == b.format, f"{where}: sparse format {a.format} became {b.format}"
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} became {b.dtype}"
        assert a.shape == b.shape, f"{where}: shape {a.shape} became {b.shape}"
        np.testing.assert_array_equal(a.toarray(), b.toarray(), err_msg=where)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, f"{where}: dtype {a.dtype} became {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, tuple | list):
        assert len(a) == len(b), f"{where}: length {len(a)} became {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), f"{where}: NaN became {b!r}"
    else:
        assert a == b, f"{where}: {a!r} became {b!r}"


def assert_same_as(snap: Any, obj: Any) -> None:
    """Assert that ``obj`` holds exactly the values recorded in ``snap``."""
    _same(snap, snapshot(obj), type(obj).__name__)


@contextmanager
def unchanged(obj: Any) -> Iterator[None]:
    """Assert that the block leaves ``obj`` (AnnData or MuData) exactly as it was, also
    when the block raises (use it inside ``pytest.raises``)."""
    snap = snapshot(obj)
    try:
        yield
    finally:
        assert_same_as(snap, obj)
