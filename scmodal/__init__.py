"""scmodal: predict one single-cell modality from another, on CPU or GPU."""

from importlib.metadata import PackageNotFoundError, version

from . import datasets, get, metrics, models, ops, pl, pp, tl

try:
    __version__ = version("scmodal")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__", "datasets", "get", "metrics", "models", "ops", "pl", "pp", "tl"]
