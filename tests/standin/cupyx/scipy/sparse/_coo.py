"""``coo_matrix`` (cupyx/scipy/sparse/_coo.py): ``data``, ``row``, ``col``."""

from __future__ import annotations

from typing import Any

import cupy
import numpy as np
import scipy.sparse
from cupy._array import ndarray
from cupy._standin import stats

from ._base import isdense, isshape, spmatrix
from ._compressed import _DTYPE_ERROR, _DTYPES


class coo_matrix(spmatrix):  # noqa: N801 - cupyx's name
    """cupyx.scipy.sparse.coo_matrix."""

    format = "coo"

    def __init__(self, arg1: Any, shape: Any = None, dtype: Any = None, copy: bool = False):  # noqa: C901 - cupyx's branches
        if shape is not None and len(shape) != 2:
            raise ValueError("Only two-dimensional sparse arrays are supported.")
        if isinstance(arg1, spmatrix):
            x = arg1.asformat(self.format)
            data, row, col = x.data, x.row, x.col
            copy = copy and arg1.format == self.format
            shape = arg1.shape if shape is None else shape
            self.has_canonical_format = x.has_canonical_format
        elif isshape(arg1):
            data = cupy.zeros(0, dtype or "d")
            row, col = cupy.zeros(0, dtype="i"), cupy.zeros(0, dtype="i")
            shape, copy = (int(arg1[0]), int(arg1[1])), False
            self.has_canonical_format = True
        elif scipy.sparse.issparse(arg1):  # host → device
            x = arg1.tocoo()
            stats.to_device += 1
            data = ndarray._from(np.array(x.data))
            row, col = (ndarray._from(np.array(v, dtype="i")) for v in (x.row, x.col))
            copy = False
            shape = arg1.shape if shape is None else shape
            self.has_canonical_format = x.has_canonical_format
        elif isinstance(arg1, tuple) and len(arg1) == 2:
            try:
                data, (row, col) = arg1
            except (TypeError, ValueError):
                raise TypeError("invalid input format") from None
            if not all(isdense(v) and v.ndim == 1 for v in (data, row, col)):
                raise ValueError("row, column, and data arrays must be 1-D")
            if not len(data) == len(row) == len(col):
                raise ValueError("row, column, and data array must all be the same length")
            self.has_canonical_format = False
        elif isdense(arg1):
            if arg1.ndim > 2:
                raise TypeError("expected dimension <= 2 array or matrix")
            dense = cupy.atleast_2d(arg1)
            row, col = dense.nonzero()
            data, shape = dense[row, col], dense.shape
            self.has_canonical_format = True
        else:
            raise TypeError("invalid input format")
        dtype = data.dtype if dtype is None else np.dtype(dtype)
        if dtype.char not in _DTYPES:
            raise ValueError(_DTYPE_ERROR)
        data = data.astype(dtype, copy=copy)
        row, col = row.astype("i", copy=copy), col.astype("i", copy=copy)
        if shape is None:
            if len(row) == 0 or len(col) == 0:
                raise ValueError("cannot infer dimensions from zero sized index arrays")
            shape = (int(row.max()) + 1, int(col.max()) + 1)
        if len(data) > 0:  # four host syncs, as in cupyx
            if row.max() >= shape[0]:
                raise ValueError("row index exceeds matrix dimensions")
            if col.max() >= shape[1]:
                raise ValueError("column index exceeds matrix dimensions")
            if row.min() < 0:
                raise ValueError("negative row index found")
            if col.min() < 0:
                raise ValueError("negative column index found")
        self.data, self.row, self.col = data, row, col
        if not isshape(tuple(shape)):
            raise ValueError("invalid shape (must be a 2-tuple of int)")
        self._shape = int(shape[0]), int(shape[1])

    @classmethod
    def _from_scipy(cls, x: Any) -> coo_matrix:
        arrays = (x.data, x.row.astype("i", copy=False), x.col.astype("i", copy=False))
        data, row, col = (ndarray._from(v) for v in arrays)
        return cls((data, (row, col)), shape=x.shape)

    def _sp(self) -> Any:
        arrays = (self.data._a, (self.row._a, self.col._a))
        return scipy.sparse.coo_matrix(arrays, shape=self._shape, copy=False)

    def _with_data(self, data: ndarray, copy: bool = True) -> coo_matrix:
        row, col = (self.row.copy(), self.col.copy()) if copy else (self.row, self.col)
        return coo_matrix((data, (row, col)), shape=self.shape, dtype=data.dtype)

    def sum_duplicates(self) -> None:
        """In place: new sorted arrays (row-major), duplicates added."""
        if self.has_canonical_format:
            return
        x = self._sp().copy()
        x.sum_duplicates()
        y = self._from_scipy(x)
        self.data, self.row, self.col = y.data, y.row, y.col
        self.has_canonical_format = True

    def eliminate_zeros(self) -> None:
        keep = self.data != 0
        self.data, self.row, self.col = self.data[keep], self.row[keep], self.col[keep]

    def tocoo(self, copy: bool = False) -> coo_matrix:
        return self.copy() if copy else self

    def _converted(self, fmt: str) -> Any:
        from ._base import from_host

        if self.nnz == 0:
            from . import csc_matrix, csr_matrix

            return {"csr": csr_matrix, "csc": csc_matrix}[fmt](self.shape, dtype=self.dtype)
        x = self.copy()
        x.sum_duplicates()
        result = from_host(x._sp().asformat(fmt))
        result.has_canonical_format = True
        return result

    def tocsr(self, copy: bool = False) -> Any:
        return self._converted("csr")

    def tocsc(self, copy: bool = False) -> Any:
        return self._converted("csc")

    def transpose(self, axes: Any = None, copy: bool = False) -> coo_matrix:
        if axes is not None:
            raise ValueError(
                "Sparse matrices do not support an 'axes' parameter because swapping "
                "dimensions is the only logical permutation."
            )
        return coo_matrix((self.data, (self.col, self.row)), shape=self.shape[::-1], copy=copy)


def isspmatrix_coo(x: Any) -> bool:
    return isinstance(x, coo_matrix)
