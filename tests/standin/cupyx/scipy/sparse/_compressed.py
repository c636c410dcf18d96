"""``csr_matrix`` and ``csc_matrix`` (cupyx/scipy/sparse/_compressed.py, _csr.py, _csc.py).

What mutates in cupyx mutates here: ``sum_duplicates`` (called by ``*``, ``@``,
``multiply``, ``sum``) re-initializes the matrix with new arrays when it is not canonical,
``eliminate_zeros``/``sort_indices`` replace or reorder the stored arrays.
"""

from __future__ import annotations

from typing import Any

import cupy
import numpy as np
import scipy.sparse
from cupy._array import ndarray
from cupy._standin import stats

from ._base import from_host, isdense, isscalarlike, isshape, spmatrix

_DTYPES = "?fdFD"
_DTYPE_ERROR = "Only bool, float32, float64, complex64 and complex128 are supported"


class _compressed_sparse_matrix(spmatrix):  # noqa: N801 - cupyx's name
    _scipy: Any = None

    def __init__(self, arg1: Any, shape: Any = None, dtype: Any = None, copy: bool = False):  # noqa: C901 - cupyx's branches
        from ._coo import coo_matrix

        if shape is not None:
            if not isshape(shape):
                raise ValueError("invalid shape (must be a 2-tuple of int)")
            shape = int(shape[0]), int(shape[1])
        if isinstance(arg1, spmatrix):
            x = arg1.asformat(self.format)
            data, indices, indptr = x.data, x.indices, x.indptr
            copy = copy and arg1.format == self.format  # else already new arrays
            shape = arg1.shape if shape is None else shape
        elif isshape(arg1):
            m, n = int(arg1[0]), int(arg1[1])
            data = cupy.zeros(0, dtype or "d")
            indices = cupy.zeros(0, "i")
            indptr = cupy.zeros(self._swap(m, n)[0] + 1, dtype="i")
            shape, copy = (m, n), False
        elif scipy.sparse.issparse(arg1):  # host → device
            x = arg1.asformat(self.format)
            stats.to_device += 1
            data = ndarray._from(np.array(x.data))
            indices = ndarray._from(np.array(x.indices, dtype="i"))
            indptr = ndarray._from(np.array(x.indptr, dtype="i"))
            copy = False
            shape = arg1.shape if shape is None else shape
        elif isinstance(arg1, tuple) and len(arg1) == 2:
            x = coo_matrix(arg1, shape=shape, dtype=dtype, copy=copy).asformat(self.format)
            data, indices, indptr = x.data, x.indices, x.indptr
        elif isinstance(arg1, tuple) and len(arg1) == 3:
            data, indices, indptr = arg1
            if not all(isdense(v) and v.ndim == 1 for v in arg1):
                raise ValueError("data, indices, and indptr should be 1-D")
            if len(data) != len(indices):
                raise ValueError("indices and data should have the same size")
        elif isdense(arg1):
            if arg1.ndim > 2:
                raise TypeError("expected dimension <= 2 array or matrix")
            arg1 = arg1.reshape((1,) * (2 - arg1.ndim) + arg1.shape)
            x = self._scipy(arg1._a)
            data, indices, indptr = (ndarray._from(v) for v in (x.data, x.indices, x.indptr))
            copy, shape = False, arg1.shape if shape is None else shape
        else:
            raise ValueError("Unsupported initializer format")
        dtype = data.dtype if dtype is None else np.dtype(dtype)
        if dtype.char not in _DTYPES:
            raise ValueError(_DTYPE_ERROR)
        self.data = data.astype(dtype, copy=copy)
        self.indices = indices.astype("i", copy=copy)
        self.indptr = indptr.astype("i", copy=copy)
        if shape is None:
            shape = self._swap(len(indptr) - 1, int(indices.max()) + 1)
        major = self._swap(*shape)[0]
        if len(indptr) != major + 1:
            raise ValueError(f"index pointer size ({len(indptr)}) should be ({major + 1})")
        self._shape = shape

    @classmethod
    def _from_scipy(cls, x: Any) -> Any:
        arrays = (x.data, x.indices.astype("i", copy=False), x.indptr.astype("i", copy=False))
        return cls(tuple(ndarray._from(v) for v in arrays), shape=x.shape)

    def _sp(self) -> Any:
        arrays = (self.data._a, self.indices._a, self.indptr._a)
        return self._scipy(arrays, shape=self._shape, copy=False)

    def _swap(self, x: Any, y: Any) -> tuple:
        raise NotImplementedError

    def _with_data(self, data: ndarray, copy: bool = True) -> Any:
        indices, indptr = self.indices, self.indptr
        if copy:
            indices, indptr = indices.copy(), indptr.copy()
        return self.__class__((data, indices, indptr), shape=self.shape, dtype=data.dtype)

    # -- canonical format (a device check, hence a host sync, cached) ----------------
    @property
    def has_canonical_format(self) -> bool:
        if self.data.size == 0:
            self._has_canonical_format = True
        elif not getattr(self, "_has_sorted_indices", True):
            self._has_canonical_format = False
        elif not hasattr(self, "_has_canonical_format"):
            stats.to_host += 1
            self._has_canonical_format = bool(self._sp().has_canonical_format)
        return self._has_canonical_format

    @has_canonical_format.setter
    def has_canonical_format(self, value: bool) -> None:
        self._has_canonical_format = bool(value)
        if value:
            self._has_sorted_indices = True

    @property
    def has_sorted_indices(self) -> bool:
        if self.data.size == 0:
            self._has_sorted_indices = True
        elif not hasattr(self, "_has_sorted_indices"):
            stats.to_host += 1
            self._has_sorted_indices = bool(self._sp().has_sorted_indices)
        return self._has_sorted_indices

    @has_sorted_indices.setter
    def has_sorted_indices(self, value: bool) -> None:
        self._has_sorted_indices = bool(value)

    def sum_duplicates(self) -> None:
        """In place; re-initializes ``self`` with new arrays unless canonical."""
        if self.has_canonical_format:
            return
        x = self._sp().copy()
        x.sum_duplicates()
        self.__init__(self._from_scipy(x))  # as cupyx: anndata views lose their view_args
        self.has_canonical_format = True

    def sort_indices(self) -> None:
        if not self.has_sorted_indices:
            self._sp().sort_indices()  # sorts the stored arrays in place
            self.has_sorted_indices = True

    def eliminate_zeros(self) -> None:
        x = self._sp().copy()
        x.eliminate_zeros()
        y = self._from_scipy(x)
        self.data, self.indices, self.indptr = y.data, y.indices, y.indptr

    def tocoo(self, copy: bool = False) -> Any:
        from ._coo import coo_matrix

        data, minor = self.data, self.indices
        if copy:
            data, minor = data.copy(), minor.copy()
        counts = np.diff(self.indptr._a)
        major = ndarray._from(np.repeat(np.arange(len(counts), dtype="i"), counts))
        row, col = (major, minor) if self.format == "csr" else (minor, major)
        return coo_matrix((data, (row, col)), shape=self.shape)

    def transpose(self, axes: Any = None, copy: bool = False) -> Any:
        if axes is not None:
            raise ValueError(
                "Sparse matrices do not support an 'axes' parameter because swapping "
                "dimensions is the only logical permutation."
            )
        other = csc_matrix if self.format == "csr" else csr_matrix
        arrays = (self.data, self.indices, self.indptr)
        trans = other(arrays, shape=self.shape[::-1], copy=copy)
        trans.has_canonical_format = self.has_canonical_format
        return trans

    def __mul__(self, other: Any) -> Any:
        """_csr.py/_csc.py __mul__: each branch sums duplicates of ``self`` first, in place
        (of ``other`` too when it is CSR/CSC; COO goes via ``tocsr()``)."""
        if isinstance(other, spmatrix) and not isinstance(other, _compressed_sparse_matrix):
            return self * other.tocsr()
        if not (cupy.isscalar(other) or isinstance(other, spmatrix) or isdense(other)):
            return NotImplemented
        if isdense(other) and other.ndim > 2:
            raise ValueError("could not interpret dimensions")
        self.sum_duplicates()
        if cupy.isscalar(other) or other.ndim == 0:
            return self._with_data(self.data * other)
        stats.calls += 1
        if isinstance(other, spmatrix):
            other.sum_duplicates()
            return csr_matrix._from_scipy(scipy.sparse.csr_matrix(self._sp() @ other._sp()))
        return ndarray._from(np.asarray(self._sp() @ other._a))

    # -- indexing (cupyx/scipy/sparse/_index.py) ----------------------------------
    def __getitem__(self, key: Any) -> Any:
        stats.calls += 1
        items = list(key) if isinstance(key, tuple) else [key]
        if len(items) > 2:
            raise IndexError("invalid number of indices")
        for axis, s in enumerate(items):
            if s is None or s is Ellipsis or isinstance(s, slice):
                continue
            n, name = self.shape[axis], ("row", "column")[axis]
            if isinstance(s, int | np.integer) and not isinstance(s, bool):
                if not -n <= s < n:
                    raise IndexError(f"{name} index ({s}) out of range")
                continue
            if isinstance(s, spmatrix) or scipy.sparse.issparse(s):
                raise IndexError("Indexing with sparse matrices is not supported")
            s = np.asarray(s._a if isinstance(s, ndarray) else s)
            if s.dtype.kind == "b":
                s = np.flatnonzero(s)
            elif s.dtype.kind not in "iu":
                raise IndexError("invalid index")
            items[axis] = s % n  # cupyx wraps array indices around
        return from_host(self._sp()[tuple(items)])


class csr_matrix(_compressed_sparse_matrix):  # noqa: N801 - cupyx's name
    """cupyx.scipy.sparse.csr_matrix."""

    format = "csr"
    _scipy = scipy.sparse.csr_matrix

    def _swap(self, x: Any, y: Any) -> tuple:
        return x, y

    def tocsr(self, copy: bool = False) -> csr_matrix:
        return self.copy() if copy else self

    def tocsc(self, copy: bool = False) -> Any:
        return from_host(self._sp().tocsc())

    def multiply(self, other: Any) -> csr_matrix:
        """_csr.py multiply: a scalar, a dense cupy array or a CSR matrix; else TypeError."""
        if cupy.isscalar(other):
            return csr_matrix(
                (self.data * other, self.indices.copy(), self.indptr.copy()), shape=self.shape
            )
        if isdense(other):
            self.sum_duplicates()
            other = cupy.atleast_2d(other)
            product = self._sp().multiply(other._a)
        elif isinstance(other, csr_matrix):
            self.sum_duplicates()
            other.sum_duplicates()
            product = self._sp().multiply(other._sp())
        else:
            raise TypeError("expected scalar, dense matrix/vector or csr matrix")
        stats.calls += 1
        return csr_matrix._from_scipy(scipy.sparse.csr_matrix(product))

    def _add(self, other: Any, sign_self: int, sign_other: int) -> Any:
        """_compressed.py _add: only 0 as a scalar; sparse → CSR, dense → dense."""
        if cupy.isscalar(other):
            if other != 0:
                raise NotImplementedError(
                    "adding a nonzero scalar to a sparse matrix is not supported"
                )
            return -self if sign_self < 0 else self.copy()
        stats.calls += 1
        if isinstance(other, spmatrix):
            r = sign_self * self._sp() + sign_other * other._sp()
            return csr_matrix._from_scipy(scipy.sparse.csr_matrix(r))
        if isdense(other):
            return ndarray._from(np.asarray(sign_self * self._sp() + sign_other * other._a))
        return NotImplemented

    def __add__(self, other: Any) -> Any:
        return self._add(other, 1, 1)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self._add(other, 1, -1)

    def __rsub__(self, other: Any) -> Any:
        return self._add(other, -1, 1)

    def __truediv__(self, other: Any) -> Any:
        """_csr.py __truediv__: float32 ÷ scalar gives float64, as scipy."""
        if isscalarlike(other):
            dtype = np.float64 if self.dtype == np.float32 else self.dtype
            d = cupy.reciprocal(cupy.asarray(other), dtype=cupy.result_type(dtype, other))
            return csr_matrix(
                (self.data * d, self.indices.copy(), self.indptr.copy()), shape=self.shape
            )
        if isdense(other):
            stats.calls += 1
            other = cupy.broadcast_to(cupy.atleast_2d(other), self.shape)
            return from_host(scipy.sparse.coo_matrix(self._sp().multiply(1 / other._a)))
        if isinstance(other, spmatrix):
            return self.toarray() / other.toarray()
        return NotImplemented


class csc_matrix(_compressed_sparse_matrix):  # noqa: N801 - cupyx's name
    """cupyx.scipy.sparse.csc_matrix; products, ``multiply`` and arithmetic go via CSR."""

    format = "csc"
    _scipy = scipy.sparse.csc_matrix

    def _swap(self, x: Any, y: Any) -> tuple:
        return y, x

    def tocsc(self, copy: bool = False) -> csc_matrix:
        return self.copy() if copy else self

    def tocsr(self, copy: bool = False) -> csr_matrix:
        return from_host(self._sp().tocsr())


def isspmatrix_csr(x: Any) -> bool:
    return isinstance(x, csr_matrix)


def isspmatrix_csc(x: Any) -> bool:
    return isinstance(x, csc_matrix)
