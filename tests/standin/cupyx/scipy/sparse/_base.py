"""``spmatrix``: what cupyx 13.6's sparse matrices share (cupyx/scipy/sparse/_base.py,
_data.py). Stored arrays are stand-in ``cupy.ndarray`` attributes, as in cupyx (writes
through them reach the matrix); computations run on a scipy matrix viewing them.
"""

from __future__ import annotations

from typing import Any

import cupy
import numpy as np
from cupy._array import ndarray
from cupy._standin import stats


def isshape(x: Any) -> bool:
    return (
        isinstance(x, tuple)
        and len(x) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in x)
    )


def isdense(x: Any) -> bool:
    return isinstance(x, ndarray)


def isscalarlike(x: Any) -> bool:
    return cupy.isscalar(x) or (isdense(x) and x.ndim == 0)


class spmatrix:  # noqa: N801 - cupyx's name
    """Base of ``csr_matrix``, ``csc_matrix`` and ``coo_matrix``."""

    __array_priority__ = 101
    ndim = 2
    format = ""

    # -- subclass hooks ------------------------------------------------------------
    def _sp(self) -> Any:
        """A scipy matrix viewing the stored arrays (no copy)."""
        raise NotImplementedError

    def _with_data(self, data: ndarray, copy: bool = True) -> spmatrix:
        raise NotImplementedError

    # -- attributes -------------------------------------------------------------------
    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self.data.dtype)
    nnz = property(lambda self: self.getnnz())
    size = nnz
    T = property(lambda self: self.transpose())

    def get_shape(self) -> tuple[int, int]:
        return self._shape

    def getformat(self) -> str:
        return self.format

    def getnnz(self, axis: Any = None) -> int:
        if axis is not None:
            raise ValueError
        return self.data.size

    # -- host and dense ---------------------------------------------------------------
    def get(self, stream: Any = None) -> Any:
        """A scipy copy (device→host)."""
        stats.to_host += 1
        return self._sp().copy()

    def toarray(self, order: Any = None, out: Any = None) -> ndarray:
        stats.calls += 1
        return ndarray._from(self._sp().toarray(order=order))

    todense = toarray

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        # cupyx has no __array__ (numpy would build a 0-d object array): the stand-in
        # refuses, so that the mistake shows where it is made
        raise TypeError("Implicit conversion of a cupyx sparse matrix to numpy is not allowed.")

    def __len__(self) -> int:
        raise TypeError("sparse matrix length is ambiguous; use getnnz() or shape[0]")

    def __iter__(self):
        for r in range(self.shape[0]):
            yield self[r, :]

    def __bool__(self) -> bool:
        if self.shape == (1, 1):
            return self.nnz != 0
        raise ValueError(
            "The truth value of an array with more than one element is ambiguous. "
            "Use a.any() or a.all()."
        )

    def __repr__(self) -> str:
        return f"<cupyx stand-in {self.format}_matrix of shape {self.shape}, nnz {self.nnz}>"

    def __str__(self) -> str:
        return str(self._sp())

    # -- formats and copies -----------------------------------------------------------
    def asformat(self, format: str | None) -> spmatrix:
        if format is None or format == self.format:
            return self
        return getattr(self, "to" + format)()

    def astype(self, t: Any) -> spmatrix:
        """Cast ``data``; no ``copy=`` keyword before cupy 14.2 (_data.py astype)."""
        return self._with_data(self.data.astype(t))

    def copy(self) -> spmatrix:
        return self._with_data(self.data.copy(), copy=True)

    def conj(self, copy: bool = True) -> spmatrix:
        if self.dtype.kind == "c":
            return self._with_data(self.data.conj(), copy=copy)
        return self.copy() if copy else self

    conjugate = conj

    def __neg__(self) -> spmatrix:
        return self._with_data(-self.data)

    def __abs__(self) -> spmatrix:
        return self._with_data(abs(self.data))

    def count_nonzero(self) -> ndarray:
        return cupy.count_nonzero(self.data)

    # -- reductions (_base.py sum: a product with ones, hence sum_duplicates) ---------
    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> ndarray:
        """A 0-d array for ``axis=None``, else ``(1, n)``/``(m, 1)`` (not np.matrix)."""
        if axis not in (None, 0, 1, -1, -2):
            raise ValueError("axis out of range")
        m, n = self.shape
        if axis is None:
            return self.dot(cupy.ones(n, dtype=self.dtype)).sum(dtype=dtype, out=out)
        if axis in (0, -2):
            ret = self.T.dot(cupy.ones(m, dtype=self.dtype)).reshape(1, n)
        else:
            ret = self.dot(cupy.ones(n, dtype=self.dtype)).reshape(m, 1)
        return ret if dtype is None else ret.astype(dtype, copy=False)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None) -> ndarray:
        m, n = self.shape
        count = m * n if axis is None else (m if axis in (0, -2) else n)
        return self._with_data(self.data.copy() / count).sum(axis, dtype, out)

    def power(self, n: Any, dtype: Any = None) -> spmatrix:
        data = self.data.copy() if dtype is None else self.data.astype(dtype, copy=True)
        data **= n
        return self._with_data(data)

    def max(self, axis: Any = None, out: Any = None) -> Any:
        return self._delegate("max", axis)

    def min(self, axis: Any = None, out: Any = None) -> Any:
        return self._delegate("min", axis)

    def diagonal(self, k: int = 0) -> ndarray:
        return self._delegate("diagonal", k)

    def _delegate(self, name: str, *args: Any) -> Any:
        """scipy's method on the stored arrays (duplicates summed first, as cupyx does)."""
        stats.calls += 1
        self.sum_duplicates()
        return from_host(getattr(self._sp(), name)(*args))

    # -- products and arithmetic: in CSR (_base.py), overridden there -----------------
    def multiply(self, other: Any) -> spmatrix:
        return self.tocsr().multiply(other)

    def __mul__(self, other: Any) -> Any:
        return self.tocsr().__mul__(other)

    def __rmul__(self, other: Any) -> Any:
        if cupy.isscalar(other) or (isdense(other) and other.ndim == 0):
            return self * other
        try:
            tr = other.T
        except AttributeError:
            return NotImplemented
        return (self.T * tr).T  # as cupyx, even when that is NotImplemented.T

    def __matmul__(self, other: Any) -> Any:
        if cupy.isscalar(other):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.__mul__(other)

    def __rmatmul__(self, other: Any) -> Any:
        if cupy.isscalar(other):
            raise ValueError("Scalar operands are not allowed, use '*' instead")
        return self.__rmul__(other)

    def dot(self, other: Any) -> Any:
        return self * other if cupy.isscalar(other) else self @ other

    def __add__(self, other: Any) -> Any:
        return self.tocsr().__add__(other)

    def __radd__(self, other: Any) -> Any:
        return self.tocsr().__radd__(other)

    def __sub__(self, other: Any) -> Any:
        return self.tocsr().__sub__(other)

    def __rsub__(self, other: Any) -> Any:
        return self.tocsr().__rsub__(other)

    def __truediv__(self, other: Any) -> Any:
        return self.tocsr().__truediv__(other)


def from_host(r: Any) -> Any:
    """Stand-in values of what scipy computed for a stand-in matrix (no transfer)."""
    import scipy.sparse

    from . import coo_matrix, csc_matrix, csr_matrix

    if scipy.sparse.issparse(r):
        cls = {"csc": csc_matrix, "coo": coo_matrix}.get(r.format, csr_matrix)
        return cls._from_scipy(r)
    if isinstance(r, np.matrix):
        r = r.A
    return ndarray._from(np.asarray(r)) if isinstance(r, np.ndarray | np.generic) else r
