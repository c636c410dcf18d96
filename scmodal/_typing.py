"""Type aliases of the public signatures: what an argument may be, on either device.

A parameter that takes "an array on the CPU or the GPU, dense or sparse" would otherwise
be annotated with a union of six classes (or ``Any``). The aliases name those unions; the
API reference shows them by name and describes them under "Types" (``docs/api.rst``).
They are :class:`typing.TypeAliasType` objects, for type checkers and documentation only:
nothing is checked against them at run time. cupy is optional, so the values are strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import TypeAliasType

if TYPE_CHECKING:
    import cupy
    import cupyx.scipy.sparse
    import numpy
    import numpy.typing
    import scipy.sparse

Array = TypeAliasType("Array", "numpy.ndarray | cupy.ndarray")
"""A dense array on the CPU (:class:`numpy.ndarray`) or the GPU (``cupy.ndarray``)."""

SparseMatrix = TypeAliasType(
    "SparseMatrix", "scipy.sparse.spmatrix | scipy.sparse.sparray | cupyx.scipy.sparse.spmatrix"
)
"""A sparse matrix on the CPU (:mod:`scipy.sparse`) or the GPU (``cupyx.scipy.sparse``)."""

Matrix = TypeAliasType("Matrix", "Array | SparseMatrix")
"""A dense :data:`Array` or a :data:`SparseMatrix`, on either device."""

ArrayLike = TypeAliasType("ArrayLike", "numpy.typing.ArrayLike")
"""Anything :func:`numpy.asarray` takes: a list, a numpy array, a pandas Series, ..."""

__all__ = ["Array", "ArrayLike", "Matrix", "SparseMatrix"]
