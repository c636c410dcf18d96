"""scmodal: predict one single-cell modality from another, on CPU or GPU."""

from importlib import metadata as _metadata

from . import datasets, get, metrics, models, ops, pl, pp, tl

try:
    __version__ = _metadata.version("scmodal")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__", "datasets", "get", "metrics", "models", "ops", "pl", "pp", "tl"]
