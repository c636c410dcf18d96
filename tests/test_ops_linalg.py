"""ops: sparse × dense products and the in-place orthonormalization, against numpy."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import subspace_angles

import scmodal._backend as backend
import scmodal.ops._orthonormalize as orth
from scmodal._backend import CPU
from scmodal.ops._matmul import matmul, rmatmul


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("width", [3, 48, 130])
def test_products_match_dense_into_a_buffer(fmt, width):
    rng = np.random.default_rng(0)
    X = sp.random(300, 200, density=0.1, format=fmt, random_state=0, dtype=np.float32)
    W, Q = rng.random((200, width), np.float32), rng.random((300, width), np.float32)
    out, out_t = np.empty((300, width), np.float32), np.empty((200, width), np.float32)
    assert matmul(X, W, CPU, out=out) is out
    assert rmatmul(X, Q, CPU, out=out_t) is out_t
    np.testing.assert_allclose(out, X.toarray() @ W, rtol=1e-5)
    np.testing.assert_allclose(out_t, X.toarray().T @ Q, rtol=1e-5)


@pytest.mark.parametrize("passes", [1, 2])
def test_orthonormalize_spans_the_same_space_in_place(passes, monkeypatch):
    monkeypatch.setattr(backend, "BLOCK_ELEMENTS", 500)  # many row blocks
    rng = np.random.default_rng(1)
    A = rng.standard_normal((2000, 40)) @ np.diag(np.logspace(0, 3, 40))  # cond 1e3
    original = A.copy()
    Q = orth.orthonormalize(A, CPU, passes=passes)
    assert Q is A
    tol = 1e-12 if passes == 2 else 1e-8
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), atol=tol)
    assert subspace_angles(Q, original).max() < 1e-8
    householder = np.linalg.qr(original)[0]  # same basis up to column signs
    np.testing.assert_allclose(np.abs(Q.T @ householder), np.eye(40), atol=1e-8)


def test_orthonormalize_falls_back_to_householder_when_rank_deficient():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((500, 3)) @ rng.standard_normal((3, 10))  # rank 3 of 10
    Q = orth.orthonormalize(A.astype(np.float32), CPU)
    assert np.isfinite(Q).all()
    np.testing.assert_allclose(Q.T @ Q, np.eye(10), atol=1e-5)


def test_blas_threads_for_small_work_only():
    from threadpoolctl import threadpool_info

    from scmodal._backend import CPU, SMALL_BLAS_ELEMENTS, blas_threads_for

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    before = blas_threads()
    with blas_threads_for(SMALL_BLAS_ELEMENTS - 1, CPU):
        assert all(t == 1 for t in blas_threads())
    assert blas_threads() == before
    with blas_threads_for(SMALL_BLAS_ELEMENTS, CPU):
        assert blas_threads() == before
