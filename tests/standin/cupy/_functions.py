"""cupy's module functions and ufuncs: numpy's, on the host, with cupy's refusals.

Every name of cupy 13.6's namespace that numpy also has is served by :func:`resolve`:
arguments are unwrapped (numpy arrays, scipy/cupyx sparse matrices refused with cupy's
``TypeError``), results wrapped (numpy scalars become 0-d arrays, as cupy's reductions
return). The functions below are those with cupy-specific rules.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ._array import is_sparse, ndarray, refuse, unwrap, wrap
from ._names import CUPY_NAMES
from ._standin import stats

# functions that look at dtypes or Python values, not at array data: numpy input passes,
# as in cupy (cupy/__init__.py result_type, can_cast, isscalar, ndim ...)
_HOST_OK = frozenset(
    "isscalar result_type can_cast promote_types issubdtype min_scalar_type ndim "
    "common_type broadcast_shapes".split()
)
# functions of cupy that take lists of numbers (cupy.asarray(q) and the like)
_NUMBER_LISTS = frozenset("percentile quantile nanpercentile nanquantile pad".split())
# numpy returns a Python bool where cupy returns a 0-d array
_ARRAY_RESULT = frozenset({"allclose", "array_equal", "array_equiv"})


def _call(f: Any, args: tuple, kwargs: dict, lists: str) -> Any:
    stats.calls += 1
    out = kwargs.get("out")
    values = [unwrap(a, lists) for a in args]
    r = f(*values, **unwrap(kwargs))
    if isinstance(out, ndarray):
        return out
    return wrap(r, args)


class ufunc:  # noqa: N801 - cupy's name
    """A cupy ufunc: a numpy ufunc that takes stand-in arrays and Python/numpy scalars only.

    Lists are refused, as cupy's ``_preprocess_args`` does.
    """

    def __init__(self, u: np.ufunc) -> None:
        self._u = u
        self.__name__ = u.__name__
        self.nin, self.nout, self.nargs = u.nin, u.nout, u.nargs

    def __repr__(self) -> str:
        return f"<ufunc '{self.__name__}'>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u, args, kwargs, lists="none")

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.reduce, args, kwargs, lists="arrays")

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.accumulate, args, kwargs, lists="arrays")

    def reduceat(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.reduceat, args, kwargs, lists="arrays")

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.outer, args, kwargs, lists="none")

    def at(self, a: ndarray, indices: Any, b: Any = None) -> None:
        """Unbuffered in-place operation; indices as in ``a[indices]``."""
        from ._array import _index

        if not isinstance(a, ndarray):
            raise refuse(a)
        stats.calls += 1
        self._u.at(a._a, _index(indices)[0], *(() if b is None else (unwrap(b),)))


def _function(f: Any, name: str, lists: str = "arrays") -> Any:
    host_ok = name in _HOST_OK
    lists = "any" if name in _NUMBER_LISTS else lists

    def function(*args: Any, **kwargs: Any) -> Any:
        if host_ok:
            stats.calls += 1
            return f(*[a._a if isinstance(a, ndarray) else a for a in args], **kwargs)
        r = _call(f, args, kwargs, lists)
        return ndarray._from(np.asarray(r)) if name in _ARRAY_RESULT else r

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"numpy.{name} on the host, with cupy's refusals."
    return function


def resolve(name: str, source: Any = np, names: frozenset = CUPY_NAMES) -> Any:
    """The stand-in for ``cupy.<name>`` (``AttributeError`` if cupy or numpy lacks it)."""
    obj = getattr(source, name, None) if name in names else None
    if obj is None or isinstance(obj, ModuleType):  # numpy.fft etc. are not cupy's
        raise AttributeError(f"module 'cupy' has no attribute {name!r}")
    if isinstance(obj, np.ufunc):
        return ufunc(obj)
    if isinstance(obj, type) or not callable(obj):
        return obj  # dtypes, finfo, constants
    return _function(obj, name)


def _host_array(obj: Any, dtype: Any, copy: bool, order: Any, ndmin: int) -> ndarray:
    """Host data to the device (core.pyx _array_default): always a new buffer."""
    if is_sparse(obj):
        raise ValueError("Unsupported dtype object")
    if isinstance(obj, list | tuple):
        obj = unwrap(obj)  # a sequence of cupy arrays is fine
    order = order or "K"
    if order in "KAka":
        fortran = isinstance(obj, np.ndarray) and obj.flags.fnc
        order = "F" if fortran else "C"
    a = np.array(obj, dtype=dtype, order=order, ndmin=ndmin, copy=True)
    if a.dtype.char not in "?bhilqBHILQefdFD":
        raise ValueError(f"Unsupported dtype {a.dtype}")
    stats.to_device += 1
    return ndarray._from(a)


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    """cupy.array: a cupy array unchanged when ``copy=False`` allows it, else a copy."""
    stats.calls += 1
    if subok:
        raise NotImplementedError
    if isinstance(obj, ndarray):  # core.pyx _array_from_cupy_ndarray
        a = obj.astype(obj.dtype if dtype is None else dtype, order=order, copy=copy)
        if ndmin > a.ndim:
            a = a.view() if a is obj else a
            a.shape = (1,) * (ndmin - a.ndim) + a.shape
        return a
    return _host_array(obj, dtype, copy, order, ndmin)


def asarray(a, dtype=None, order=None, *, blocking=False):
    """cupy.asarray: ``a`` itself for a cupy array of that dtype; host data copied over."""
    return array(a, dtype, copy=False, order=order, blocking=blocking)


def asanyarray(a, dtype=None, order=None):
    return array(a, dtype, copy=False, order=order)


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    """A numpy array of ``a`` (device→host for a cupy array)."""
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out, blocking=blocking)
    temp = np.asarray(a, order=order)
    if out is None:
        return temp
    out[...] = temp
    return out


def get_array_module(*args: Any) -> Any:
    """cupy if any argument is a cupy array or cupyx sparse matrix, else numpy."""
    import cupy

    for arg in args:
        if isinstance(arg, ndarray) or type(arg).__module__.startswith("cupyx."):
            return cupy
    return np


def bincount(x: ndarray, weights: ndarray | None = None, minlength: int | None = None):
    """cupy/_statistics/histogram.py bincount: two host syncs, errors in cupy's order."""
    stats.calls += 1
    a = unwrap(x)
    if a.ndim > 1:
        raise ValueError("object too deep for desired array")
    if a.ndim < 1:
        raise ValueError("object of too small depth for desired array")
    if a.dtype.kind == "f":
        raise TypeError("x must be int array")
    stats.to_host += 1  # (x < 0).any()
    if (a < 0).any():
        raise ValueError("The first argument of bincount must be non-negative")
    if weights is not None and x.shape != weights.shape:
        raise ValueError("The weights and list don't have the same length.")
    if minlength is not None:
        minlength = int(minlength)
        if minlength < 0:
            raise ValueError("minlength must be non-negative")
    if a.size == 0:  # int(cupy.max(x)): cupy's reduction of an empty array
        raise ValueError("zero-size array to reduction operation cupy_max which has no identity")
    stats.to_host += 1  # int(cupy.max(x))
    size = max(int(a.max()) + 1, minlength or 0)
    w = None if weights is None else unwrap(weights)
    out = np.bincount(a.astype(np.intp), weights=w, minlength=size)
    return ndarray._from(out if w is not None else out.astype(np.intp))
