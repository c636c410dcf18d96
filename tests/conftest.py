import warnings

import numpy as np
import pytest

from scmodal._backend import gpu_available

warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")


def pytest_collection_modifyitems(config, items):
    if gpu_available():
        return
    skip = pytest.mark.skip(
        reason='needs a CUDA GPU with cupy: on a GPU machine, pip install -e ".[test,gpu]" '
        "and run pytest again"
    )
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=["cpu", pytest.param("gpu", marks=pytest.mark.gpu)])
def device(request):
    """Run a test on numpy data, and again on cupy data where a GPU exists."""
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
