"""Fixtures; and, without cupy installed, the cupy stand-in of ``tests/standin``.

The stand-in goes on ``sys.path`` before anything imports anndata: anndata decides at
import time whether cupy exists, and then builds its cupy view classes on ours.
"""

import importlib.util
import sys
from pathlib import Path

STANDIN = Path(__file__).parent / "standin"
USE_STANDIN = importlib.util.find_spec("cupy") is None
if USE_STANDIN:
    if "anndata" in sys.modules:
        raise ImportError(
            "anndata was imported before tests/conftest.py put the cupy stand-in on "
            "sys.path: its cupy view classes would be missing. Import anndata later."
        )
    sys.path.insert(0, str(STANDIN))

import warnings  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from scmodal._backend import gpu_available  # noqa: E402

warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")

# the stand-in's doctests run with it; next to real cupy, its modules must not be imported
collect_ignore = [] if USE_STANDIN else ["standin"]


def _standin_active() -> bool:
    import cupy

    return Path(cupy.__file__).resolve().is_relative_to(STANDIN.resolve())


def pytest_report_header(config):
    if _standin_active():
        return "cupy: strict numpy stand-in (tests/standin), no GPU"
    import cupy

    version = ".".join(cupy.__version__.split(".")[:2])
    return f"cupy: real cupy {version} ({'GPU' if gpu_available() else 'no GPU found'})"


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests run on real cupy, or on the stand-in without cupy; skipped only where
    cupy is installed but sees no GPU."""
    if gpu_available():
        return
    skip = pytest.mark.skip(
        reason='needs a CUDA GPU with cupy: on a GPU machine, pip install -e ".[test,gpu]" '
        "and run pytest again"
    )
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def standin():
    """The stand-in's counters module ``cupy._standin`` (counters reset); skips on real cupy.

    ``standin.stats.to_host`` / ``to_device`` / ``calls``; ``with standin.counting() as s:``.
    """
    if not _standin_active():
        pytest.skip("needs the cupy stand-in (real cupy is installed)")
    from cupy import _standin

    _standin.stats.reset()
    return _standin


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def device(request):
    """Run a test on numpy data, and again on cupy data (real cupy, or the stand-in)."""
    return request.param


@pytest.fixture
def to_dev(device):
    """Move a numpy array / scipy sparse matrix to the test's device."""
    if device == "cpu":
        return lambda x: x
    from scmodal._backend import gpu_namespace, to_device

    ns = gpu_namespace()
    return lambda x: to_device(x, ns)


def host(x):
    """A numpy copy of any array (dense, sparse, CPU or GPU)."""
    from scmodal._backend import is_sparse, to_numpy

    x = to_numpy(x)
    return x.toarray() if is_sparse(x) else np.asarray(x)
