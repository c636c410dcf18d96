"""``cupy.ndarray``: a numpy array in a wrapper that refuses what cupy refuses.

The wrapper is not a numpy subclass: numpy sees it through ``__array_ufunc__`` and
``__array_function__`` only, and implicit conversion to numpy raises, as on a GPU.
Behaviour follows cupy 13.6 ``cupy/_core/core.pyx`` (cited by method below).
"""

from __future__ import annotations

import builtins
import functools
import warnings
from typing import Any

import numpy as np
import scipy.sparse

from ._standin import stats

_PY_SCALARS = (bool, int, float, complex, np.generic)
_COMPARISONS = ("less", "less_equal", "equal", "not_equal", "greater", "greater_equal")


def refuse(x: Any) -> TypeError:
    """cupy's error for an operand it cannot take (cupy/_core/_kernel.pyx _preprocess_arg)."""
    return TypeError(f"Unsupported type {type(x)}")


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy or stand-in cupyx sparse matrix."""
    return scipy.sparse.issparse(x) or type(x).__module__.startswith("cupyx.")


def _int_sequence(x: Any) -> bool:
    return all(
        (isinstance(v, int | np.integer) and not isinstance(v, bool))
        or (type(v) in (list, tuple) and _int_sequence(v))
        for v in x
    )


def unwrap(x: Any, lists: str = "arrays") -> Any:
    """The numpy value of an argument; host arrays and sparse matrices refused.

    ``lists``: which lists/tuples may stand for an argument: ``"arrays"`` (of cupy
    arrays, as ``concatenate`` takes, or of ints: shapes, axes, indices), ``"any"``
    (numbers too: quantiles, probabilities), ``"none"`` (cupy's ufuncs refuse lists).
    """
    if isinstance(x, ndarray):
        return x._a
    if type(x) in (list, tuple):
        if lists == "none":
            raise refuse(x)
        if all(isinstance(v, ndarray) for v in x):
            return type(x)(v._a for v in x)
        if lists == "any" or _int_sequence(x):
            return type(x)(unwrap(v, lists) for v in x)
        raise refuse(x)
    if isinstance(x, np.ndarray) or is_sparse(x):
        raise refuse(x)
    if isinstance(x, dict):
        return {k: unwrap(v) for k, v in x.items()}
    return x


def _owner(a: np.ndarray) -> np.ndarray:
    return a if a.base is None else a.base


def wrap(r: Any, sources: tuple = ()) -> Any:
    """Stand-in arrays for numpy results (numpy scalars become 0-d arrays, as cupy's).

    A result sharing memory with one of ``sources`` is a view of it (``base`` set).
    """
    if isinstance(r, np.ndarray):
        for s in sources:
            if isinstance(s, ndarray) and _owner(r) is _owner(s._a):
                return type(s)._from(r, s if s._base is None else s._base, s)
        return ndarray._from(r)
    if isinstance(r, np.generic):
        return ndarray._from(np.asarray(r))
    if isinstance(r, tuple):  # cupy returns plain tuples where numpy has named ones
        return tuple(wrap(v, sources) for v in r)
    if isinstance(r, list):
        return [wrap(v, sources) for v in r]
    return r


def _index(key: Any) -> tuple[Any, bool]:
    """numpy index for ``key`` and whether it is advanced (_prepare_slice_list)."""
    items = list(key) if isinstance(key, tuple) else [key]
    advanced = False
    for i, s in enumerate(items):
        if s is None or s is Ellipsis or isinstance(s, slice):
            continue
        if isinstance(s, int | np.integer) and not isinstance(s, bool | np.bool_):
            continue
        if is_sparse(s):
            raise IndexError("only integers, slices, ellipsis, newaxis and arrays are indices")
        s = s._a if isinstance(s, ndarray) else np.asarray(s)
        if s.dtype.kind not in "biu" and not (s.size == 0 and isinstance(items[i], list)):
            raise IndexError("arrays used as indices must be of integer (or boolean) type")
        items[i] = s.astype(np.int32) if s.size == 0 and s.dtype.kind == "f" else s
        advanced = True
    if not advanced and Ellipsis not in items:
        items.append(Ellipsis)  # so that integer indices give 0-d views, not numpy scalars
    return tuple(items), advanced


class ndarray:  # noqa: N801 - cupy's name
    """cupy's ndarray: ``ndarray(shape, dtype=float, memptr=None, strides=None, order='C')``."""

    __module__ = "cupy"
    __array_priority__ = 100
    __hash__ = None  # type: ignore[assignment]

    def __new__(cls, shape, dtype=float, memptr=None, strides=None, order="C"):
        if memptr is not None or strides is not None:
            raise NotImplementedError("the stand-in allocates its own memory")
        return cls._from(np.zeros(shape, dtype=dtype, order=order or "C"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # as cupy: everything happens in __new__ (anndata's views call __init__)

    def __array_finalize__(self, obj: Any) -> None:
        pass

    @classmethod
    def _from(cls, a: np.ndarray, base: ndarray | None = None, obj: Any = None) -> ndarray:
        x = object.__new__(cls)
        x._a, x._base = a, base
        if cls is not ndarray:
            x.__array_finalize__(obj)
        return x

    # -- attributes ------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    base = property(lambda self: self._base)
    T = property(lambda self: self._view(self._a.T))
    real = property(lambda self: self._view(self._a.real))
    imag = property(lambda self: self._view(self._a.imag))

    @shape.setter
    def shape(self, value: Any) -> None:
        self._a.shape = value

    @property
    def data(self) -> Any:
        """The memory pointer; only ``.ptr`` (an address to compare)."""
        return _MemoryPointer(self._a.__array_interface__["data"][0])

    @property
    def device(self) -> Any:
        from .cuda import Device

        return Device(0)

    def _view(self, a: np.ndarray) -> ndarray:
        return type(self)._from(a, self if self._base is None else self._base, self)

    # -- host transfers (counted) ----------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True) -> np.ndarray:
        """A numpy copy (device→host)."""
        stats.to_host += 1
        if out is not None:
            out[...] = self._a
            return out
        return np.array(self._a, order=order, copy=True)

    def set(self, arr: np.ndarray, stream=None) -> None:
        """Copy a numpy array of the same shape and dtype in (host→device)."""
        if not isinstance(arr, np.ndarray):
            raise TypeError("Only numpy.ndarray can be set to cupy.ndarray")
        if self.dtype != arr.dtype:
            raise TypeError(f"{arr.dtype} array cannot be set to {self.dtype} array")
        if self.shape != arr.shape:
            raise ValueError("Shape mismatch")
        stats.to_device += 1
        self._a[...] = arr

    def _host(self, convert: Any) -> Any:
        stats.to_host += 1
        return convert(self._a)

    def item(self) -> Any:
        return self._host(np.ndarray.item)

    def tolist(self) -> Any:
        return self._host(np.ndarray.tolist)

    def tobytes(self, order="C") -> bytes:
        return self._host(lambda a: a.tobytes(order))

    def __float__(self) -> float:
        return self._host(float)

    def __int__(self) -> int:
        return self._host(int)

    def __complex__(self) -> complex:
        return self._host(complex)

    def __format__(self, spec: str) -> str:
        return self._host(lambda a: format(a, spec))

    def __bool__(self) -> bool:  # core.pyx __nonzero__
        if self.size == 0:
            warnings.warn(
                "The truth value of an empty array is ambiguous.", DeprecationWarning, stacklevel=2
            )
            return False
        if self.size > 1:
            raise ValueError(
                "The truth value of an array with more than one element is ambiguous. "
                "Use a.any() or a.all()"
            )
        return self._host(bool)

    def __repr__(self) -> str:
        return repr(self._a)

    def __str__(self) -> str:
        return str(self._a)

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    # -- numpy protocols (core.pyx __array_ufunc__, __array_function__) -------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        import cupyx.scipy.special

        import cupy

        inout = inputs
        if "out" in kwargs:
            out = kwargs["out"]
            if len(out) != 1:
                raise ValueError("The 'out' parameter must have exactly one array value")
            inout += out
            kwargs["out"] = out[0]
        if method not in ("__call__", "outer", "at", "reduce", "accumulate", "reduceat"):
            return NotImplemented
        name = ufunc.__name__
        func = getattr(cupy, name, None) or getattr(cupyx.scipy.special, name, None)
        if func is None or (method != "__call__" and not hasattr(func, method)):
            return NotImplemented
        func = func if method == "__call__" else getattr(func, method)
        for x in inout:
            if not isinstance(x, (ndarray, np.ndarray, *_PY_SCALARS)):
                return NotImplemented
        if name in _COMPARISONS:
            inputs = tuple(
                x.item() if isinstance(x, np.ndarray) and x.ndim == 0 else x for x in inputs
            )
        return func(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        import cupy

        try:
            module = functools.reduce(getattr, func.__module__.split(".")[1:], cupy)
            cupy_func = getattr(module, func.__name__)
        except AttributeError:
            return NotImplemented
        if cupy_func is func or not all(issubclass(t, ndarray | np.ndarray) for t in types):
            return NotImplemented
        return cupy_func(*args, **kwargs)

    # -- container -------------------------------------------------------------------
    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __getitem__(self, key: Any) -> ndarray:
        stats.calls += 1
        index, _ = _index(key)
        return wrap(self._a[index], (self,))

    def __setitem__(self, key: Any, value: Any) -> None:
        stats.calls += 1
        index, advanced = _index(key)
        if isinstance(value, ndarray):
            value = value._a
        elif not advanced:  # cupy fills the view (_routines_indexing.pyx _scatter_op)
            if isinstance(value, np.ndarray) and value.ndim:
                raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
            if not isinstance(value, (*_PY_SCALARS, np.ndarray)):
                raise refuse(value)
        elif is_sparse(value):
            raise refuse(value)
        self._a[index] = value

    def fill(self, value: Any) -> None:
        """Set every element to a scalar (core.pyx fill)."""
        stats.calls += 1
        if isinstance(value, ndarray | np.ndarray) and value.shape != ():
            kind = "cupy" if isinstance(value, ndarray) else "numpy"
            raise ValueError(f"non-scalar {kind}.ndarray cannot be used for fill")
        if not isinstance(value, (*_PY_SCALARS, ndarray, np.ndarray)):
            raise refuse(value)
        self._a.fill(unwrap(value) if isinstance(value, ndarray) else value)

    # -- methods with cupy's own signatures ------------------------------------------
    def astype(self, dtype, order="K", casting=None, subok=None, copy=True) -> ndarray:
        """Cast; ``copy=False`` returns ``self`` when nothing changes (core.pyx astype)."""
        stats.calls += 1
        if casting is not None:
            raise TypeError("casting is not supported yet")
        if subok is not None:
            raise TypeError("subok is not supported yet")
        order = order or "K"
        c, f = self.flags.c_contiguous, self.flags.f_contiguous
        if not copy and np.dtype(dtype) == self.dtype:
            if order == "K" or (order, c or f) == ("A", True) or (order, c) == ("C", True):
                return self
            if (order, f) == ("F", True):
                return self
        return ndarray._from(self._a.astype(dtype, order=order, copy=True))

    def copy(self, order="C") -> ndarray:
        stats.calls += 1
        return ndarray._from(self._a.copy(order=order))

    __copy__ = copy

    def __deepcopy__(self, memo: Any) -> ndarray:
        return self.copy()

    def view(self, dtype=None, type=None) -> ndarray:
        """A view sharing memory, of ``type`` (a subclass) or of ``type(self)``."""
        stats.calls += 1
        if isinstance(dtype, builtins.type) and issubclass(dtype, ndarray):
            dtype, type = None, dtype
        if type is not None and not (isinstance(type, builtins.type) and issubclass(type, ndarray)):
            raise ValueError("Type must be a sub-type of ndarray type")
        a = self._a.view() if dtype is None else self._a.view(dtype)
        return (type or builtins.type(self))._from(
            a, self if self._base is None else self._base, self
        )

    def __reduce__(self):
        return (ndarray._from, (self._a.copy(),))


class _MemoryPointer:
    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


def _method(name: str):
    def method(self, *args, **kwargs):
        stats.calls += 1
        return wrap(getattr(self._a, name)(*unwrap(args), **unwrap(kwargs)), (self,))

    method.__name__ = name
    return method


_METHODS = (
    "all any argmax argmin argpartition argsort clip compress conj conjugate cumprod cumsum "
    "diagonal dot flatten max mean min nonzero partition prod put ravel repeat reshape round "
    "searchsorted sort squeeze std sum swapaxes take trace transpose var"
)
for _name in _METHODS.split():
    setattr(ndarray, _name, _method(_name))


def _should_use_rop(x: Any, y: Any) -> bool:
    """core.pyx _should_use_rop: defer to ``y`` (e.g. a sparse matrix) or not."""
    try:
        y_ufunc = y.__array_ufunc__
    except AttributeError:
        return getattr(x, "__array_priority__", 0) < getattr(y, "__array_priority__", 0)
    return y_ufunc is None


def _ufunc(name: str):
    import cupy

    return getattr(cupy, name)


def _binary(name: str, ufunc: str) -> None:
    def op(self, other):
        if isinstance(other, ndarray):
            return _ufunc(ufunc)(self, other)
        if _should_use_rop(self, other):
            return NotImplemented
        return getattr(np, ufunc)(self, other)  # numpy comes back via __array_ufunc__

    def rop(self, other):
        return _ufunc(ufunc)(other, self)

    def iop(self, other):
        return _ufunc(ufunc)(self, other, out=self)

    for prefix, f in (("", op), ("r", rop), ("i", iop)):
        f.__name__ = f"__{prefix}{name}__"
        setattr(ndarray, f.__name__, f)


_BINARY = (
    "add:add sub:subtract mul:multiply matmul:matmul truediv:true_divide "
    "floordiv:floor_divide mod:remainder pow:power lshift:left_shift rshift:right_shift "
    "and:bitwise_and or:bitwise_or xor:bitwise_xor"
)
for _pair in _BINARY.split():
    _binary(*_pair.split(":"))
ndarray.__divmod__ = lambda self, other: _ufunc("divmod")(self, other)
ndarray.__neg__ = lambda self: _ufunc("negative")(self)
ndarray.__pos__ = lambda self: _ufunc("positive")(self)
ndarray.__abs__ = lambda self: _ufunc("absolute")(self)
ndarray.__invert__ = lambda self: _ufunc("invert")(self)


def _compare(name: str, ufunc: str, constant: bool | None) -> None:
    def op(self, other):  # core.pyx __richcmp__
        if isinstance(other, ndarray):
            return _ufunc(ufunc)(self, other)
        if _should_use_rop(self, other):
            return NotImplemented
        if isinstance(other, np.ndarray) and other.ndim == 0:
            other = other.item()
        if constant is not None and (type(other).__eq__ is object.__eq__ or other is None):
            return _ufunc("full")(self.shape, constant, dtype=bool)
        return getattr(np, ufunc)(self, other)

    op.__name__ = f"__{name}__"
    setattr(ndarray, op.__name__, op)


for _op, _uf, _const in zip(
    ("lt", "le", "eq", "ne", "gt", "ge"),
    _COMPARISONS,
    (None, None, False, True, None, None),
    strict=True,
):
    _compare(_op, _uf, _const)
