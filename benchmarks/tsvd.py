"""Sparse truncated SVD, scmodal next to scikit-learn's randomized TruncatedSVD.

Run:  python benchmarks/tsvd.py [--components 300] [--quick] [--gpu]

Matrices (GEX-like: log1p of Poisson counts over cell types, ``sm.datasets.synthetic_cite``):

* ``full``: the NeurIPS 2021 CITE training shape, 66,175 cells × 13,953 genes, 7 % non-zero
  (float32 CSR). Reference: scipy ``svds`` (ARPACK, float64, tol 1e-10) for the top 10
  singular values.
* ``mid``: 10,000 × 4,000, 7 % non-zero. Reference: ``numpy.linalg.svd`` of the dense
  float64 matrix, so every one of the k values is checked.
* ``bmmc``: the bundled BMMC GEX (600 cells × 1,000 genes, 33 % non-zero, real data), with
  ``numpy.linalg.svd`` as reference.

For each, both methods run with their defaults (5 power iterations, 10 oversamples) in
the same process on the same matrix. Columns: wall time (best of ``--repeats``),
"× scmodal" (time over scmodal's), peak memory the fit allocates beyond its input
(``tracemalloc``: numpy/scipy buffers, output included) next to the input's size and
the size of one pair of factors ``(n_cells + n_genes) × k`` float32, and the largest
relative error of the top-10 and of all k singular values against the reference.
``--gpu`` adds scmodal on cupy/cupyx input (time only; memory from cupy's pool).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import tracemalloc

import numpy as np
from scipy.sparse.linalg import svds
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD

import scmodal as sm
from scmodal.models import TruncatedSVD

MB = 1e6


def reference(X, k, exact):
    """Top singular values of X in float64: a dense SVD when small, else ARPACK's top 10."""
    X64 = X.astype(np.float64)
    if exact:
        return np.linalg.svd(X64.toarray(), compute_uv=False)[:k]
    s = svds(X64, k=10, tol=1e-10, random_state=0, return_singular_vectors=False)
    return np.sort(s)[::-1]


def run(make, X, repeats):
    """Best time, peak traced memory of one fit, and its singular values."""
    tracemalloc.start()
    est = make()
    est.fit(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    best = np.inf
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        est.fit(X)
        best = min(best, time.perf_counter() - t0)
    return best, peak, np.asarray(est.singular_values_, dtype=np.float64)


def run_gpu(X, k, repeats):
    import cupy as cp
    import cupyx.scipy.sparse as cpsp

    Xg = cpsp.csr_matrix(X)
    TruncatedSVD(k).fit(Xg)  # warm-up: kernels compiled, pool filled
    cp.cuda.Device().synchronize()
    pool = cp.get_default_memory_pool()
    best = np.inf
    for _ in range(repeats):
        est = TruncatedSVD(k)
        t0 = time.perf_counter()
        est.fit(Xg)
        cp.cuda.Device().synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, pool.total_bytes(), cp.asnumpy(est.singular_values_).astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--components", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="skip the full-shape matrix")
    parser.add_argument("--gpu", action="store_true", help="add scmodal on cupy input")
    args = parser.parse_args()
    k = args.components

    cases = [("bmmc", lambda: sm.datasets.bmmc_cite()["rna"].X.tocsr(), True)]
    cases.append(
        ("mid", lambda: sm.datasets.synthetic_cite(10_000, 4_000, 1)["rna"].X, True),
    )
    if not args.quick:
        cases.append(
            ("full", lambda: sm.datasets.synthetic_cite(66_175, 13_953, 1)["rna"].X, False),
        )

    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"k = {k}, n_iter = 5, n_oversamples = 10, {time.strftime('%Y-%m-%d')}"
    )
    header = (
        "| matrix | shape, non-zero | method | time s | × scmodal | peak extra MB | "
        "input MB | factors MB | top-10 rel err | all-k rel err |"
    )
    print(header)
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, load, exact in cases:
        X = load()
        n, d = X.shape
        kk = min(k, min(n, d) - 1)
        t0 = time.perf_counter()
        ref = reference(X, kk, exact)
        t_ref = time.perf_counter() - t0
        input_mb = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / MB
        factors_mb = (n + d) * kk * 4 / MB
        rows = [
            ("scmodal", run(lambda kk=kk: TruncatedSVD(kk, random_state=0), X, args.repeats)),
            (
                "scikit-learn",
                run(lambda kk=kk: SkTruncatedSVD(kk, random_state=0), X, args.repeats),
            ),
        ]
        if args.gpu:
            rows.append(("scmodal (GPU)", run_gpu(X, kk, max(args.repeats, 3))))
        base = rows[0][1][0]
        for method, (t, peak, s) in rows:
            top = np.abs(s[:10] / ref[:10] - 1).max()
            every = f"{np.abs(s / ref - 1).max():.1e}" if exact else "—"
            print(
                f"| {name} | {n:,} × {d:,}, {X.nnz / (n * d):.0%} | {method} | {t:.2f} | "
                f"{t / base:.1f} | {peak / MB:,.0f} | {input_mb:,.0f} | {factors_mb:,.0f} | "
                f"{top:.1e} | {every} |"
            )
        print(f"<!-- {name}: reference took {t_ref:.1f} s -->")


if __name__ == "__main__":
    main()
