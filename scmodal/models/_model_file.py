"""The ModalityPredictor file: arrays and JSON in one ``.npz`` (no pickle), written
atomically and checked whole when read.

Layout (format version 2): ``format_version`` and ``n_targets`` (integers), ``params``
(the estimator's parameters as a JSON string), ``fitted`` (JSON: the ``heads`` in order,
each head's ``best_params``, the blend ``weights`` and the ``cv_results``), ``Z_train``
(training cells × source components), ``fit_cells`` (fits × training cells, boolean),
``source_*`` and, when the targets were reduced, ``target_*`` (the TruncatedSVD
attributes ``components_``, ``singular_values_``, ``explained_variance_``,
``explained_variance_ratio_``), and ``target_reference`` (targets × reference points ×
2) with ``target_transform="gaussrank"``; ``y_ndim`` (1 when the model was fitted on a
1-D target, so it predicts 1-D; absent in older files: 2). Every head ``h`` stores
its fitted arrays stacked over the fits: ``h_dual_coef`` (fits × training cells ×
target components, zero for the cells a fit did not use), and ``svr_intercept`` (fits ×
target components); kernel ridge fitted once on all training cells also stores
``krr_factor`` (1 × training cells × training cells, its lower triangle the Cholesky
factor) and ``krr_target_variance`` (1 × target components): its standard deviation is
the Gaussian-process posterior one.

Version 1 (kernel ridge only) named those ``dual_coef``, ``factor`` (without the fits
axis) and ``target_variance``, and had no ``fitted``; it is read too.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backend import to_numpy
from .._files import atomic_write
from ._gaussrank import GaussRankScaler
from ._heads import HEADS, check_grid, heads_of
from ._tsvd import TruncatedSVD

if TYPE_CHECKING:
    from ._modality_predictor import ModalityPredictor

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SVD_ATTRIBUTES = (
    "components_",
    "singular_values_",
    "explained_variance_",
    "explained_variance_ratio_",
)
NPZ_MAGIC = b"PK\x03\x04"
FOREIGN_MAGIC = {
    b"\x89HDF": "an HDF5 file (e.g. .h5ad data), not a model",
    b"MuData": "a MuData .h5mu file (data), not a model",
    b"\x93NUMPY": "a single numpy array (.npy), not a model",
    b"\x80": "a Python pickle; scmodal models are never pickled",
}
KINDS = {"f": "float", "b": "boolean", "iu": "integer", "U": "string"}


def write_model(model: ModalityPredictor, path: str | os.PathLike) -> None:
    """Write a fitted ``model`` to ``path`` exactly (no suffix added), atomically."""
    fit_cells = np.asarray(model.fit_cells_)
    fitted = {
        "heads": list(model.heads_),
        "best_params": model.best_params_,
        "weights": model.weights_,
        "cv_results": _jsonable(model.cv_results_),
    }
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "params": np.array(json.dumps(_jsonable(model.get_params()))),
        "fitted": np.array(json.dumps(_jsonable(fitted))),
        "n_targets": np.array(model.n_targets_),
        "Z_train": to_numpy(model.Z_train_),
        "fit_cells": fit_cells,
        "y_ndim": np.array(getattr(model, "_y_ndim", 2)),
    }
    for name, fits in model.heads_.items():
        arrays.update(_head_arrays(name, fits, fit_cells))
    for prefix, svd in (("source", model.source_svd_), ("target", model.target_svd_)):
        if svd is not None:
            for attr in SVD_ATTRIBUTES:
                arrays[f"{prefix}_{attr}"] = to_numpy(getattr(svd, attr))
    if model.target_scaler_ is not None:
        arrays["target_reference"] = to_numpy(model.target_scaler_.reference_)
    # a file object, so numpy writes the .part itself instead of appending ".npz"
    with atomic_write(path) as part, open(part, "wb") as f:
        np.savez(f, **arrays)


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays as plain numbers and lists."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _head_arrays(name: str, fits: list[Any], fit_cells: np.ndarray) -> dict[str, np.ndarray]:
    """A head's arrays stacked over its fits; coefficients padded to all training cells."""
    per_fit = [HEADS[name].arrays(model) for model in fits]
    out = {}
    for attr in per_fit[0]:
        if attr == "dual_coef":
            first = per_fit[0][attr]
            stacked = np.zeros((len(fits), fit_cells.shape[1], first.shape[1]), first.dtype)
            for f, arrays in enumerate(per_fit):
                stacked[f, fit_cells[f]] = arrays[attr]
        else:
            stacked = np.stack([arrays[attr] for arrays in per_fit])
        out[f"{name}_{attr}"] = stacked
    return out


def _invalid(path: Path, what: str) -> ValueError:
    return ValueError(f"{path} is not a scmodal ModalityPredictor file: {what}.")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist or is not a file; pass the path given to "
            "ModalityPredictor.save."
        )
    with open(path, "rb") as f:
        head = f.read(8)
        if not head.startswith(NPZ_MAGIC):
            kind = next(
                (name for magic, name in FOREIGN_MAGIC.items() if head.startswith(magic)),
                "unknown content" if head else "the file is empty",
            )
            raise _invalid(path, f"it is not an .npz archive ({kind})")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as npz:
                return {name: npz[name] for name in npz.files}
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
            raise _invalid(path, f"it is truncated or damaged ({err})") from err


def _get(path: Path, arrays: dict, name: str, ndim: int, kind: str) -> np.ndarray:
    if name not in arrays:
        raise _invalid(path, f"the array `{name}` is missing")
    a = arrays[name]
    if a.ndim != ndim or a.dtype.kind not in kind:
        raise _invalid(
            path, f"`{name}` must be a {ndim}-D {KINDS[kind]} array; got {a.dtype} {a.shape}"
        )
    if kind == "f" and name != "target_reference" and not np.isfinite(a).all():
        raise _invalid(path, f"`{name}` contains NaN or inf")
    return a


def _check_version(path: Path, arrays: dict) -> int:
    if "format_version" not in arrays:
        raise _invalid(path, f"it has no `format_version` (it holds the arrays {sorted(arrays)})")
    version = _get(path, arrays, "format_version", 0, "iu")
    if int(version) not in READABLE_VERSIONS:
        raise _invalid(
            path,
            f"it is in format version {int(version)}; this scmodal reads versions "
            f"{list(READABLE_VERSIONS)}: load it with the scmodal version that wrote it",
        )
    return int(version)


def _params(path: Path, arrays: dict, cls: type[ModalityPredictor]) -> ModalityPredictor:
    text = str(_get(path, arrays, "params", 0, "U"))
    try:
        params = json.loads(text)
    except json.JSONDecodeError as err:
        raise _invalid(path, f"`params` is not valid JSON ({err})") from err
    if not isinstance(params, dict):
        raise _invalid(path, f"`params` must be a JSON object; got {text[:80]!r}")
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise _invalid(path, f"`params` has unknown parameters {unknown}")
    model = cls(**params)
    try:
        model._check_params()
    except (ValueError, TypeError) as err:
        raise _invalid(path, f"`params` holds a bad value: {err}") from err
    return model


def _svd(path: Path, arrays: dict, prefix: str, n_features: int | None) -> TruncatedSVD:
    """The stored ``prefix`` SVD, its arrays checked against each other (and ``n_features``)."""
    components = _get(path, arrays, f"{prefix}_components_", 2, "f")
    k, d = components.shape
    if n_features is not None and d != n_features:
        raise _invalid(
            path, f"`{prefix}_components_` has {d} columns; the model has {n_features} targets"
        )
    svd = TruncatedSVD(k)
    svd.components_ = components
    for attr in SVD_ATTRIBUTES[1:]:
        values = _get(path, arrays, f"{prefix}_{attr}", 1, "f")
        if values.shape != (k,):
            raise _invalid(
                path, f"`{prefix}_{attr}` has {values.shape[0]} entries; there are {k} components"
            )
        setattr(svd, attr, values)
    svd.n_features_in_ = d
    return svd


def _target_svd(path: Path, arrays: dict, n_targets: int) -> TruncatedSVD | None:
    present = [f"target_{attr}" for attr in SVD_ATTRIBUTES if f"target_{attr}" in arrays]
    if not present:
        return None
    if len(present) < len(SVD_ATTRIBUTES):
        missing = sorted(set(f"target_{a}" for a in SVD_ATTRIBUTES) - set(present))
        raise _invalid(path, f"the target SVD is incomplete: {missing} missing")
    return _svd(path, arrays, "target", n_targets)


def _target_scaler(
    path: Path, arrays: dict, n_targets: int, model: ModalityPredictor
) -> GaussRankScaler | None:
    gaussrank = model.target_transform == "gaussrank"
    if "target_reference" not in arrays:
        if gaussrank:
            raise _invalid(
                path,
                "`params` say target_transform='gaussrank' but the "
                "`target_reference` array is missing",
            )
        return None
    if not gaussrank:
        raise _invalid(
            path, f"it has a `target_reference` but target_transform={model.target_transform!r}"
        )
    reference = _get(path, arrays, "target_reference", 3, "f")
    if reference.shape[0] != n_targets or reference.shape[2] != 2 or reference.shape[1] < 1:
        raise _invalid(
            path,
            f"`target_reference` has shape {reference.shape}; expected ({n_targets}, "
            "reference points, 2), one row per target",
        )
    return GaussRankScaler.from_reference(reference)


def read_model(path: str | os.PathLike, cls: type[ModalityPredictor]) -> ModalityPredictor:
    """Read and check a file of :func:`write_model`; every inconsistency raises here."""
    path = Path(path)
    arrays = _read_arrays(path)
    if _check_version(path, arrays) == 1:
        arrays = _from_version_1(path, arrays)
    model = _params(path, arrays, cls)
    n_targets = int(_get(path, arrays, "n_targets", 0, "iu"))
    if n_targets < 1:
        raise _invalid(path, f"`n_targets` is {n_targets}")
    source_svd = _svd(path, arrays, "source", None)
    target_svd = _target_svd(path, arrays, n_targets)
    Z_train = _get(path, arrays, "Z_train", 2, "f")
    fit_cells = _get(path, arrays, "fit_cells", 2, "b")
    n, k = Z_train.shape
    if k != source_svd.components_.shape[0]:
        raise _invalid(
            path,
            f"`Z_train` has {k} columns; the source SVD has "
            f"{source_svd.components_.shape[0]} components",
        )
    if n < 1 or len(fit_cells) < 1:
        raise _invalid(path, f"it holds {n} training cells and {len(fit_cells)} fits")
    if fit_cells.shape[1] != n:
        raise _invalid(
            path,
            f"`fit_cells` has shape {fit_cells.shape}; expected ({len(fit_cells)}, {n}) "
            "(fits × training cells of `Z_train`)",
        )
    width = n_targets if target_svd is None else target_svd.components_.shape[0]
    fitted = _fitted(path, arrays, model)
    model.heads_ = {
        name: _read_head(path, arrays, name, fit_cells, width, fitted["best_params"][name])
        for name in fitted["heads"]
    }
    model.best_params_ = fitted["best_params"]
    model.weights_ = fitted["weights"]
    model.cv_results_ = _cv_results(fitted["cv_results"])
    model.source_svd_, model.target_svd_ = source_svd, target_svd
    model.target_scaler_ = _target_scaler(path, arrays, n_targets, model)
    model.Z_train_, model.fit_cells_ = Z_train, fit_cells
    model.n_features_in_ = source_svd.n_features_in_
    model.n_targets_ = n_targets
    model._y_ndim = _y_ndim(path, arrays, n_targets)
    return model


def _from_version_1(path: Path, arrays: dict) -> dict:
    """A version-1 file's arrays in version 2's names (one kernel ridge head)."""
    arrays = dict(arrays)
    renames = {"dual_coef": "krr_dual_coef", "target_variance": "krr_target_variance"}
    for old, new in renames.items():
        if old in arrays:
            arrays[new] = arrays.pop(old)
    if "factor" in arrays:
        arrays["krr_factor"] = arrays.pop("factor")[None]
    if "krr_target_variance" in arrays:
        arrays["krr_target_variance"] = arrays["krr_target_variance"][None]
    params = json.loads(str(_get(path, arrays, "params", 0, "U")))
    values = {"gamma": params.get("gamma"), "alpha": params.get("alpha")}
    fitted = {"heads": ["krr"], "best_params": {"krr": values}, "weights": {"krr": 1.0}}
    arrays["fitted"] = np.array(json.dumps({**fitted, "cv_results": None}))
    return arrays


def _fitted(path: Path, arrays: dict, model: ModalityPredictor) -> dict[str, Any]:
    """The ``fitted`` record: heads as in the params, their values and weights, checked."""
    text = str(_get(path, arrays, "fitted", 0, "U"))
    try:
        fitted = json.loads(text)
    except json.JSONDecodeError as err:
        raise _invalid(path, f"`fitted` is not valid JSON ({err})") from err
    keys = {"heads", "best_params", "weights", "cv_results"}
    if not isinstance(fitted, dict) or set(fitted) != keys:
        raise _invalid(path, f"`fitted` must be a JSON object with the keys {sorted(keys)}")
    if fitted["heads"] != heads_of(model.method):
        raise _invalid(
            path, f"`fitted` holds the heads {fitted['heads']}; `params` say {model.method!r}"
        )
    for name in fitted["heads"]:
        values = (
            fitted["best_params"].get(name) if isinstance(fitted["best_params"], dict) else None
        )
        if not isinstance(values, dict) or set(values) != set(HEADS[name].params):
            raise _invalid(
                path, f"`fitted` has no values of {list(HEADS[name].params)} for head {name!r}"
            )
        try:
            for param, value in values.items():
                check_grid(value, param, ())
        except (TypeError, ValueError) as err:
            raise _invalid(path, f"`fitted` holds a bad value for head {name!r}: {err}") from err
    weights = fitted["weights"]
    ok = isinstance(weights, dict) and set(weights) == set(fitted["heads"])
    ok = ok and all(isinstance(w, int | float) and 0 <= w <= 1 for w in weights.values())
    if not ok or abs(sum(weights.values()) - 1) > 1e-6:
        raise _invalid(
            path, f"`fitted` weights {weights!r} are not one per head, ≥ 0, summing to 1"
        )
    return fitted


def _cv_results(results: Any) -> dict[str, Any] | None:
    """The cross-validation results with their score grids as arrays again."""
    if results is None:
        return None
    return {
        name: {**r, "rmse": np.asarray(r["rmse"]), "pearson": np.asarray(r["pearson"])}
        for name, r in results.items()
    }


def _read_head(
    path: Path,
    arrays: dict,
    name: str,
    fit_cells: np.ndarray,
    width: int,
    values: dict[str, float],
) -> list[Any]:
    """The fitted estimators of head ``name``, one per fit, their arrays checked."""
    n_fits, n = fit_cells.shape
    dual = _get(path, arrays, f"{name}_dual_coef", 3, "f")
    if dual.shape != (n_fits, n, width):
        raise _invalid(
            path,
            f"`{name}_dual_coef` has shape {dual.shape}; expected ({n_fits}, {n}, {width}): "
            f"one per fit of `fit_cells`, one row per training cell of `Z_train` and one "
            f"column per {'target' if width == 0 else 'target component'}",
        )
    required, optional = HEADS[name].stored, HEADS[name].optional
    present = [attr for attr in optional if f"{name}_{attr}" in arrays]
    if present and len(present) < len(optional):
        missing = [f"{name}_{attr}" for attr in optional if attr not in present]
        raise _invalid(path, f"it has `{name}_{present[0]}` but not `{missing[0]}`")
    if present and (n_fits != 1 or not fit_cells.all()):
        raise _invalid(
            path, f"it has a posterior `{name}_factor` but more than one fit on all cells"
        )
    shapes = {
        "factor": (n_fits, n, n),
        "target_variance": (n_fits, width),
        "intercept": (n_fits, width),
    }
    extra = {}
    for attr in (*required, *present):
        a = _get(path, arrays, f"{name}_{attr}", len(shapes[attr]), "f")
        if a.shape != shapes[attr]:
            raise _invalid(path, f"`{name}_{attr}` has shape {a.shape}; expected {shapes[attr]}")
        extra[attr] = a
    if "target_variance" in extra and (extra["target_variance"] < 0).any():
        raise _invalid(path, f"a `{name}_target_variance` is negative")
    return [
        HEADS[name].restore(
            {"dual_coef": dual[f][fit_cells[f]], **{k: v[f] for k, v in extra.items()}}, values
        )
        for f in range(n_fits)
    ]


def _y_ndim(path: Path, arrays: dict, n_targets: int) -> int:
    """1 for a model of one 1-D target, else 2 (also for files written before the field)."""
    if "y_ndim" not in arrays:
        return 2
    y_ndim = int(_get(path, arrays, "y_ndim", 0, "iu"))
    if y_ndim not in (1, 2) or (y_ndim == 1 and n_targets != 1):
        raise _invalid(path, f"`y_ndim` is {y_ndim} for {n_targets} targets")
    return y_ndim
