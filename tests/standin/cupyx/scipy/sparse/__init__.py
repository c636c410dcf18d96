"""``cupyx.scipy.sparse`` of the stand-in: CSR, CSC and COO matrices on stand-in arrays."""

from typing import Any

from ._base import spmatrix
from ._compressed import csc_matrix, csr_matrix, isspmatrix_csc, isspmatrix_csr
from ._construct import bmat, eye, hstack, identity, vstack
from ._coo import coo_matrix, isspmatrix_coo


def issparse(x: Any) -> bool:
    """Whether ``x`` is a cupyx sparse matrix (scipy's are not)."""
    return isinstance(x, spmatrix)


isspmatrix = issparse

__all__ = [
    "bmat",
    "coo_matrix",
    "csc_matrix",
    "csr_matrix",
    "eye",
    "hstack",
    "identity",
    "issparse",
    "isspmatrix",
    "isspmatrix_coo",
    "isspmatrix_csc",
    "isspmatrix_csr",
    "spmatrix",
    "vstack",
]
