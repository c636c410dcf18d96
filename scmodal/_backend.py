"""Array-namespace dispatch: the device follows the data.

Every algorithm in scmodal is written once against the namespace returned by
:func:`get_namespace`: ``numpy`` + ``scipy.sparse`` for CPU data, ``cupy`` +
``cupyx.scipy.sparse`` for GPU data. This is the only module that imports cupy, and it
does so lazily, so the package and its CPU path work without cupy installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.special


@dataclass(frozen=True)
class Namespace:
    """The array libraries for one device.

    Attributes
    ----------
    xp
        ``numpy`` or ``cupy``.
    sparse
        ``scipy.sparse`` or ``cupyx.scipy.sparse``.
    special
        ``scipy.special`` or ``cupyx.scipy.special``.
    is_gpu
        Whether arrays of this namespace live on a GPU.
    linalg
        ``scipy.linalg`` or ``cupyx.scipy.linalg`` (triangular solves, Cholesky).
    """

    xp: ModuleType
    sparse: ModuleType
    special: ModuleType
    is_gpu: bool
    linalg: ModuleType = scipy.linalg

    def blocks(self, length: int, breadth: int) -> list[slice]:
        """Slices cutting ``range(length)`` into blocks of about ``BLOCK_ELEMENTS`` values.

        Each index along ``length`` carries ``breadth`` values (a row of that many
        columns, or a column of that many rows). On the GPU: one block.

        Examples
        --------
        >>> from scmodal._backend import CPU
        >>> len(CPU.blocks(10, BLOCK_ELEMENTS // 4))
        3
        """
        if self.is_gpu:
            return [slice(0, length)]
        step = max(1, BLOCK_ELEMENTS // max(breadth, 1))
        return [slice(a, min(a + step, length)) for a in range(0, length, step)]

    def map_columns(self, fn: Callable[[slice], Any], n_cols: int, n_rows: int) -> list[Any]:
        """Call ``fn(cols)`` on consecutive column blocks covering ``range(n_cols)``.

        On the GPU this is one call over all columns. On the CPU the blocks hold about
        ``BLOCK_ELEMENTS`` values each, so that their temporaries stay in cache and in
        memory the allocator reuses, and they run on a thread pool (numpy's sorting,
        searching and arithmetic release the GIL).

        Returns
        -------
        The results of ``fn`` in block order.
        """
        if n_cols < 2:
            return [fn(slice(0, n_cols))]
        blocks = self.blocks(n_cols, n_rows)
        n_threads = min(_n_threads(), len(blocks))
        if n_threads == 1:
            return [fn(b) for b in blocks]
        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(fn, blocks))


BLOCK_ELEMENTS = 1 << 20


CPU = Namespace(xp=np, sparse=scipy.sparse, special=scipy.special, is_gpu=False)


def _n_threads() -> int:
    env = os.environ.get("SCMODAL_NUM_THREADS")
    if env:
        return max(1, int(env))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


SMALL_BLAS_ELEMENTS = 1 << 22


@contextmanager
def blas_threads_for(n_elements: int, ns: Namespace) -> Iterator[None]:
    """One BLAS thread for work whose dense operands hold fewer than ``SMALL_BLAS_ELEMENTS``.

    numpy and scipy each bundle an OpenBLAS whose threads spin while they wait for work.
    On small products and factorizations the threads gain little, and on a busy machine
    (other processes, a notebook next to a docs build) the spinning makes a 0.4 s
    prediction take 6–12 s. Large work keeps all threads; the GPU is left alone.

    Examples
    --------
    >>> from scmodal._backend import CPU, blas_threads_for
    >>> with blas_threads_for(1000, CPU):
    ...     pass
    """
    if ns.is_gpu or n_elements >= SMALL_BLAS_ELEMENTS:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def is_gpu_array(x: Any) -> bool:
    """Whether ``x`` is a cupy array or cupyx sparse matrix (without importing cupy)."""
    return type(x).__module__.split(".")[0] in ("cupy", "cupyx")


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy or cupyx sparse matrix/array."""
    if scipy.sparse.issparse(x):
        return True
    if is_gpu_array(x):
        return get_namespace(x).sparse.issparse(x)
    return False


def gpu_namespace() -> Namespace:
    """The cupy namespace; raises ``ImportError`` with install advice if cupy is missing."""
    try:
        import cupy
        import cupyx.scipy.linalg
        import cupyx.scipy.sparse
        import cupyx.scipy.special
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise ImportError(
            "GPU support needs cupy: install it with `pip install 'scmodal[gpu]'` "
            "(a cupy wheel matching your CUDA version)."
        ) from err
    return Namespace(
        xp=cupy,
        sparse=cupyx.scipy.sparse,
        special=cupyx.scipy.special,
        is_gpu=True,
        linalg=cupyx.scipy.linalg,
    )


def get_namespace(*arrays: Any) -> Namespace:
    """The namespace of the given arrays: GPU if any of them is on the GPU.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import get_namespace
    >>> get_namespace(np.zeros(3)).is_gpu
    False
    """
    if any(is_gpu_array(a) for a in arrays if a is not None):
        return gpu_namespace()
    return CPU


def gpu_available() -> bool:
    """Whether cupy imports and sees at least one CUDA device."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def available_memory(ns: Namespace) -> int:
    """Bytes that can still be allocated on the namespace's device.

    CPU: the kernel's ``MemAvailable`` (Linux), else physical pages free. GPU: the
    device's free memory plus what cupy's pool holds but does not use.
    """
    if ns.is_gpu:
        free, _total = ns.xp.cuda.runtime.memGetInfo()
        pool = ns.xp.get_default_memory_pool()
        return int(free + pool.total_bytes() - pool.used_bytes())
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # pragma: no cover


def to_numpy(x: Any) -> Any:
    """Move an array or sparse matrix to the CPU (numpy / scipy.sparse); CPU input as is."""
    if is_gpu_array(x):
        return x.get()
    return x


def to_device(x: Any, ns: Namespace) -> Any:
    """Move a dense array or sparse matrix to the device of ``ns``."""
    if not ns.is_gpu:
        return to_numpy(x)
    if is_gpu_array(x):
        return x
    if scipy.sparse.issparse(x):
        fmt = x.format if x.format in ("csr", "csc", "coo") else "csr"
        return getattr(ns.sparse, f"{fmt}_matrix")(x.asformat(fmt))
    return ns.xp.asarray(x)
