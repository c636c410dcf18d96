"""Array-namespace dispatch: the device follows the data.

Every algorithm in scmodal is written once against the namespace returned by
:func:`get_namespace`: ``numpy`` + ``scipy.sparse`` for CPU data, ``cupy`` +
``cupyx.scipy.sparse`` for GPU data. This is the only module that imports cupy, and it
does so lazily, so the package and its CPU path work without cupy installed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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
        columns, or a column of that many rows). On the GPU the blocks are
        ``GPU_BLOCK_ELEMENTS`` values: a few launches and host reads per block, never
        per column, and the block-sized temporaries stay a bounded share of the device.

        Examples
        --------
        >>> from scmodal._backend import CPU
        >>> len(CPU.blocks(10, BLOCK_ELEMENTS // 4))
        3
        """
        size = GPU_BLOCK_ELEMENTS if self.is_gpu else BLOCK_ELEMENTS
        step = max(1, size // max(breadth, 1))
        return [slice(a, min(a + step, length)) for a in range(0, length, step)]

    def map_columns(self, fn: Callable[[slice], Any], n_cols: int, n_rows: int) -> list[Any]:
        """Call ``fn(cols)`` on consecutive column blocks covering ``range(n_cols)``.

        On the GPU the blocks hold up to ``GPU_BLOCK_ELEMENTS`` values (all columns at
        once at the sizes of most data sets) and run one after the other. On the CPU
        the blocks hold about ``BLOCK_ELEMENTS`` values each, so that their temporaries
        stay in cache and in memory the allocator reuses, and they run on a thread pool
        (numpy's sorting, searching and arithmetic release the GIL).

        Returns
        -------
        The results of ``fn`` in block order.
        """
        if n_cols < 2:
            return [fn(slice(0, n_cols))]
        blocks = self.blocks(n_cols, n_rows)
        n_threads = 1 if self.is_gpu else min(_n_threads(), len(blocks))
        if n_threads == 1:
            return [fn(b) for b in blocks]
        with ThreadPoolExecutor(n_threads) as pool:
            return list(pool.map(fn, blocks))

    def bincount(self, x: Any, weights: Any = None, minlength: int = 0) -> Any:
        """``xp.bincount``, also for an empty ``x`` (``cupy.bincount`` raises on one).

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal._backend import CPU
        >>> CPU.bincount(np.zeros(0, dtype=np.int64), minlength=2)
        array([0, 0])
        """
        if x.shape[0] == 0:
            dtype = self.xp.int64 if weights is None else self.xp.float64
            return self.xp.zeros(minlength, dtype=dtype)
        return self.xp.bincount(x, weights=weights, minlength=minlength)

    def cholesky(self, A: Any) -> Any:
        """Lower Cholesky factor of ``A``; ``numpy.linalg.LinAlgError`` if it breaks down.

        cupy's default (``linalg="ignore"``) returns a wrong factor without a word on a
        matrix that is not positive definite; here cuSOLVER's status is checked
        (``cupyx.errstate(linalg="raise")``), so both devices raise the same error.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal._backend import CPU
        >>> CPU.cholesky(np.array([[4.0, 2.0], [2.0, 2.0]]))
        array([[2., 0.],
               [1., 1.]])
        """
        if not self.is_gpu:
            return self.xp.linalg.cholesky(A)
        import cupyx

        with cupyx.errstate(linalg="raise"):
            return self.xp.linalg.cholesky(A)


BLOCK_ELEMENTS = 1 << 20
GPU_BLOCK_ELEMENTS = 1 << 26  # 512 MB per float64 temporary


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
    """Whether ``x`` is a cupy array or cupyx sparse matrix, subclasses included.

    anndata hands out its own subclasses for the matrices of a view (``CupyArrayView``,
    ``CupySparseCSRView``, ...), so the test is ``isinstance``, not the module name. cupy
    is never imported here: if it has not been imported, no cupy array can exist.

    Examples
    --------
    >>> import numpy as np
    >>> is_gpu_array(np.zeros(3))
    False
    """
    cupy = sys.modules.get("cupy")
    if cupy is None:
        return False
    if isinstance(x, cupy.ndarray):
        return True
    sparse = sys.modules.get("cupyx.scipy.sparse")
    return sparse is not None and bool(sparse.issparse(x))


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


CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")
# cgroup v2 and v1 file names: limit, usage, and the reclaimable page-cache line of stat
_CGROUP_FILES = {
    "v2": ("memory.max", "memory.current", "inactive_file"),
    "v1": ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"),
}


def _cgroup_room(folder: Path, limit_file: str, usage_file: str, inactive: str) -> int | None:
    """Limit − usage + inactive page cache of one cgroup folder; ``None`` without a limit."""
    try:
        limit = (folder / limit_file).read_text().strip()
        if limit == "max" or int(limit) >= 1 << 60:  # v1 writes "no limit" as ~2⁶³
            return None
        usage = int((folder / usage_file).read_text())
        stat = dict(row.split() for row in (folder / "memory.stat").read_text().splitlines())
        return max(0, int(limit) - usage + int(stat.get(inactive, 0)))
    except (OSError, ValueError):
        return None


def _cgroup_free() -> int | None:
    """Bytes left under this process's cgroup memory limits, or ``None`` without a limit.

    A container or a batch job (Slurm, Kubernetes) caps the memory of its processes with
    a cgroup, which the machine-wide ``MemAvailable`` does not see: past the cap, the
    kernel kills the process. The cap may be set on the process's cgroup or on any
    parent; under each, the room is the limit minus the usage plus the inactive page
    cache, which the kernel reclaims before it kills (as ``docker stats`` counts it).
    """
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        return None
    rooms = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            root, names = CGROUP_ROOT, _CGROUP_FILES["v2"]
        elif "memory" in controllers.split(","):
            root, names = CGROUP_ROOT / "memory", _CGROUP_FILES["v1"]
        else:
            continue
        folder = root / path.lstrip("/")
        for level in (folder, *folder.parents):
            if not level.is_relative_to(root):
                break
            room = _cgroup_room(level, *names)
            if room is not None:
                rooms.append(room)
    return min(rooms) if rooms else None


def available_memory(ns: Namespace) -> int:
    """Bytes that can still be allocated on the namespace's device.

    CPU: the kernel's ``MemAvailable`` (Linux), else physical pages free; less if this
    process runs under a cgroup memory limit (a container or a batch job) with less room
    left. GPU: the device's free memory plus what cupy's pool holds but does not use.
    """
    if ns.is_gpu:
        free, _total = ns.xp.cuda.runtime.memGetInfo()
        pool = ns.xp.get_default_memory_pool()
        return int(free + pool.total_bytes() - pool.used_bytes())
    machine = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    machine = int(line.split()[1]) * 1024
                    break
    except OSError:  # pragma: no cover - not Linux
        pass
    if machine is None:  # pragma: no cover - not Linux
        machine = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    capped = _cgroup_free()
    return machine if capped is None else min(machine, capped)


def to_numpy(x: Any) -> Any:
    """Move an array or sparse matrix to the CPU (numpy / scipy.sparse); CPU input as is."""
    if is_gpu_array(x):
        return x.get()
    return x


FLOAT32_EXACT = 1 << 24  # float32 holds every integer up to 2**24 exactly


def gpu_sparse_dtype(x: Any) -> np.dtype:
    """The dtype a host sparse matrix takes on the GPU.

    cupyx sparse matrices hold bool, float32, float64, complex64 or complex128 data only.
    Those keep their dtype; integer data become float32, or float64 when a value lies
    beyond ±2**24 (the integers float32 holds exactly), so that no count changes;
    longdouble becomes float64. Anything else (strings, objects) raises a ``TypeError``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> gpu_sparse_dtype(sp.csr_matrix(np.eye(2, dtype=np.int32)))
    dtype('float32')
    """
    dtype = np.dtype(x.dtype)
    if dtype.kind == "b" or dtype in (np.float32, np.float64, np.complex64, np.complex128):
        return dtype
    if dtype.kind in "fc":  # longdouble: the GPU has no wider type
        return np.dtype(np.float64 if dtype.kind == "f" else np.complex128)
    if dtype.kind in "iu":
        data = x.data
        big = data.size and max(abs(int(data.max())), abs(int(data.min()))) > FLOAT32_EXACT
        return np.dtype(np.float64 if big else np.float32)
    raise TypeError(
        f"a sparse matrix of dtype {dtype} cannot go to the GPU: cupyx sparse matrices hold "
        "numbers (bool, integer or float) only."
    )


def as_dtype(x: Any, dtype: Any) -> Any:
    """``x`` in ``dtype``, copied only when the dtype changes (dense or sparse, any device).

    ``astype(dtype, copy=False)`` is not an option: cupyx sparse ``astype`` has no
    ``copy`` argument.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(3, dtype=np.float32)
    >>> as_dtype(x, np.float32) is x
    True
    """
    return x if x.dtype == dtype else x.astype(dtype)


def to_device(x: Any, ns: Namespace) -> Any:
    """Move a dense array or sparse matrix to the device of ``ns``.

    Sparse matrices keep CSR/CSC (other formats become CSR); on the GPU their data take
    :func:`gpu_sparse_dtype`. Dense arrays keep their dtype.
    """
    if not ns.is_gpu:
        return to_numpy(x)
    if is_gpu_array(x):
        return x
    if scipy.sparse.issparse(x):
        fmt = x.format if x.format in ("csr", "csc", "coo") else "csr"
        x = as_dtype(x.asformat(fmt), gpu_sparse_dtype(x))
        return getattr(ns.sparse, f"{fmt}_matrix")(x)
    return ns.xp.asarray(x)
