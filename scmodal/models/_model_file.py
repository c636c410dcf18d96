"""The ModalityPredictor file: arrays and JSON in one ``.npz`` (no pickle), written
atomically and checked whole when read.

Layout (format version 1): ``format_version`` and ``n_targets`` (integers), ``params``
(the estimator's parameters as a JSON string), ``Z_train`` (training cells × source
components), ``dual_coef`` (fits × training cells × target components), ``fit_cells``
(fits × training cells, boolean), ``source_*`` and, when the targets were reduced,
``target_*`` (the TruncatedSVD attributes ``components_``, ``singular_values_``,
``explained_variance_``, ``explained_variance_ratio_``), and ``target_reference``
(targets × reference points × 2) with ``target_transform="gaussrank"``; ``y_ndim``
(1 when the model was fitted on a 1-D target, so it predicts 1-D; absent in older files:
2); ``factor`` (training cells × training cells, its lower triangle the Cholesky
factor) and ``target_variance`` (one per target component) for a model of one fit on all
training cells, whose standard deviation is the Gaussian-process posterior one.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._backend import to_numpy
from .._files import atomic_write
from ._gaussrank import GaussRankScaler
from ._tsvd import TruncatedSVD

if TYPE_CHECKING:
    from ._modality_predictor import ModalityPredictor

FORMAT_VERSION = 1
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
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "params": np.array(json.dumps(model.get_params())),
        "n_targets": np.array(model.n_targets_),
        "Z_train": to_numpy(model.Z_train_),
        "dual_coef": to_numpy(model.dual_coef_),
        "fit_cells": np.asarray(model.fit_cells_),
        "y_ndim": np.array(getattr(model, "_y_ndim", 2)),
    }
    for prefix, svd in (("source", model.source_svd_), ("target", model.target_svd_)):
        if svd is not None:
            for attr in SVD_ATTRIBUTES:
                arrays[f"{prefix}_{attr}"] = to_numpy(getattr(svd, attr))
    if model.target_scaler_ is not None:
        arrays["target_reference"] = to_numpy(model.target_scaler_.reference_)
    if getattr(model, "factor_", None) is not None:
        arrays["factor"] = to_numpy(model.factor_)
        arrays["target_variance"] = to_numpy(model.target_variance_)
    # a file object, so numpy writes the .part itself instead of appending ".npz"
    with atomic_write(path) as part, open(part, "wb") as f:
        np.savez(f, **arrays)


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


def _check_version(path: Path, arrays: dict) -> None:
    if "format_version" not in arrays:
        raise _invalid(path, f"it has no `format_version` (it holds the arrays {sorted(arrays)})")
    version = _get(path, arrays, "format_version", 0, "iu")
    if int(version) != FORMAT_VERSION:
        raise _invalid(
            path,
            f"it is in format version {int(version)}; this scmodal reads version "
            f"{FORMAT_VERSION}: load it with the scmodal version that wrote it",
        )


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
    _check_version(path, arrays)
    model = _params(path, arrays, cls)
    n_targets = int(_get(path, arrays, "n_targets", 0, "iu"))
    if n_targets < 1:
        raise _invalid(path, f"`n_targets` is {n_targets}")
    source_svd = _svd(path, arrays, "source", None)
    target_svd = _target_svd(path, arrays, n_targets)
    Z_train = _get(path, arrays, "Z_train", 2, "f")
    dual_coef = _get(path, arrays, "dual_coef", 3, "f")
    fit_cells = _get(path, arrays, "fit_cells", 2, "b")
    n, k = Z_train.shape
    if k != source_svd.components_.shape[0]:
        raise _invalid(
            path,
            f"`Z_train` has {k} columns; the source SVD has "
            f"{source_svd.components_.shape[0]} components",
        )
    if n < 1 or len(dual_coef) < 1:
        raise _invalid(path, f"it holds {n} training cells and {len(dual_coef)} fits")
    width = n_targets if target_svd is None else target_svd.components_.shape[0]
    if dual_coef.shape[1:] != (n, width):
        raise _invalid(
            path,
            f"`dual_coef` has shape {dual_coef.shape}; expected (fits, {n}, {width}): one "
            f"row per training cell of `Z_train` and one column per "
            f"{'target' if target_svd is None else 'target component'}",
        )
    if fit_cells.shape != dual_coef.shape[:2]:
        raise _invalid(
            path,
            f"`fit_cells` has shape {fit_cells.shape}; expected {dual_coef.shape[:2]} "
            "(fits × training cells, as `dual_coef`)",
        )
    model.source_svd_, model.target_svd_ = source_svd, target_svd
    model.target_scaler_ = _target_scaler(path, arrays, n_targets, model)
    model.factor_, model.target_variance_ = _posterior(path, arrays, dual_coef, fit_cells)
    model.Z_train_, model.dual_coef_, model.fit_cells_ = Z_train, dual_coef, fit_cells
    model.n_features_in_ = source_svd.n_features_in_
    model.n_targets_ = n_targets
    model._y_ndim = _y_ndim(path, arrays, n_targets)
    return model


def _y_ndim(path: Path, arrays: dict, n_targets: int) -> int:
    """1 for a model of one 1-D target, else 2 (also for files written before the field)."""
    if "y_ndim" not in arrays:
        return 2
    y_ndim = int(_get(path, arrays, "y_ndim", 0, "iu"))
    if y_ndim not in (1, 2) or (y_ndim == 1 and n_targets != 1):
        raise _invalid(path, f"`y_ndim` is {y_ndim} for {n_targets} targets")
    return y_ndim


def _posterior(
    path: Path, arrays: dict, dual_coef: np.ndarray, fit_cells: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The Cholesky factor and target variances of a one-fit model, checked; else ``None``."""
    present = [name for name in ("factor", "target_variance") if name in arrays]
    if not present:
        return None, None
    if len(present) == 1:
        missing = {"factor", "target_variance"} - set(present)
        raise _invalid(path, f"it has `{present[0]}` but not `{missing.pop()}`")
    n_fits, n, width = dual_coef.shape
    if n_fits != 1 or not fit_cells.all():
        raise _invalid(path, "it has a posterior `factor` but more than one fit on all cells")
    factor = _get(path, arrays, "factor", 2, "f")
    variance = _get(path, arrays, "target_variance", 1, "f")
    if factor.shape != (n, n) or variance.shape != (width,):
        raise _invalid(
            path,
            f"`factor` has shape {factor.shape} and `target_variance` {variance.shape}; "
            f"expected ({n}, {n}) and ({width},)",
        )
    if not np.isfinite(np.tril(factor)).all() or (variance < 0).any():
        raise _invalid(
            path, "its posterior `factor` is not finite or a `target_variance` is negative"
        )
    return factor, variance
