"""GEX → ADT prediction, scmodal next to the published scikit-learn pipeline.

Run:  python benchmarks/predict.py [--sizes 5000 10000 20000] [--genes 13953] [--gpu]

The peer is the NeurIPS 2021 winner's pipeline written with scikit-learn, as published:
``TruncatedSVD(300)`` of the GEX of training + test cells, per-cell z-score of the
components, ``TruncatedSVD(70)`` of the training ADT, ten ``KernelRidge(alpha=0.2,
kernel=RBF(length_scale=10))`` fits on the same bagging halves scmodal uses
(``bagging_halves``, 5 repeats × 2 halves), each prediction mapped back through the ADT
SVD, clipped at 0, averaged. A second peer row, "scikit-learn, kernel='rbf'", swaps the
Gaussian-process ``RBF`` object (distances by ``cdist``) for KernelRidge's built-in
``kernel="rbf", gamma=0.005`` (distances from a matrix product): the same model,
scikit-learn's fastest way to compute it.

scmodal is ``ModalityPredictor().fit(X_train, Y_train, X_unlabeled=X_test)`` then
``predict(X_test)`` with its defaults (the winner's settings, but one fit on all
training cells instead of the bagged halves), and again bagged on the peer's own halves
(``bagging="cells"``: the same model as the peer, fit for fit). Then the other heads:
the SVR head alone (``method="svr"``), kernel ridge with ``alpha`` and ``gamma`` chosen
by 3-fold cross-validation over the 5 × 5 ``"auto"`` grid, and kernel ridge + SVR
stacked (``method=["krr", "svr"]``). Every row of a block is measured in the same
process on the same matrices; scores: RMSE, mean per-protein and mean per-cell Pearson r.

Rows:

* ``bmmc``: the bundled BMMC CITE-seq data (real): train on donor s1d1 (311 cells),
  predict donor s1d2 (289 cells); RMSE and mean per-protein Pearson against the
  measured ADT, next to the predict-the-training-mean baseline.
* ``synthetic N``: ``sm.datasets.synthetic_cite`` with N training cells + 1,000 cells to
  predict, ``--genes`` genes (default: the challenge's 13,953; 7 % non-zero) and 134
  proteins.
* ``--gpu``: scmodal on cupy input at the full challenge shape (66,175 training cells ×
  13,953 genes, 134 proteins, 1,000 cells to predict), end to end (host → device copy
  included), after one warm-up run on a small matrix.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from sklearn.decomposition import TruncatedSVD as SkTruncatedSVD
from sklearn.gaussian_process.kernels import RBF
from sklearn.kernel_ridge import KernelRidge as SkKernelRidge

import scmodal as sm
from scmodal.models import ModalityPredictor
from scmodal.models._bagging import bagging_halves

N_REPEATS = 5
SEED = 0


def zscore_rows(A: np.ndarray) -> np.ndarray:
    std = A.std(axis=1, keepdims=True)
    return (A - A.mean(axis=1, keepdims=True)) / np.where(std > 0, std, 1)


def sklearn_pipeline(X_train, Y_train, X_test, halves, kernel, seed):
    """The winner's pipeline with scikit-learn (float64, as scikit-learn computes it)."""
    import scipy.sparse as sp

    X_all = sp.vstack([X_train, X_test], format="csr")
    Z = zscore_rows(SkTruncatedSVD(300, random_state=seed).fit_transform(X_all))
    Z_train, Z_test = Z[: X_train.shape[0]], Z[X_train.shape[0] :]
    target_svd = SkTruncatedSVD(70, random_state=seed)
    T = target_svd.fit_transform(Y_train)
    total = np.zeros((X_test.shape[0], Y_train.shape[1]))
    for half in halves:
        if kernel == "gp":
            krr = SkKernelRidge(alpha=0.2, kernel=RBF(length_scale=10))
        else:
            krr = SkKernelRidge(alpha=0.2, kernel="rbf", gamma=0.005)
        krr.fit(Z_train[half], T[half])
        total += np.maximum(target_svd.inverse_transform(krr.predict(Z_test)), 0)
    return total / len(halves)


def scmodal_pipeline(X_train, Y_train, X_test, halves, seed, bagging=None, **params):
    model = ModalityPredictor(progress=False, random_state=seed, bagging=bagging, **params)
    model.fit(X_train, Y_train, X_unlabeled=X_test)
    if bagging is not None:  # the peer's own halves: the same model, fit for fit
        used = [np.flatnonzero(row) for row in model.fit_cells_]
        if any(not np.array_equal(a, b) for a, b in zip(used, halves, strict=True)):
            raise RuntimeError("scmodal used other bagging halves than the peer")
    return model.predict(X_test)


def scores(Y_test, pred):
    """RMSE, mean per-protein Pearson r, mean per-cell Pearson r."""
    r = sm.metrics.pearson(Y_test, pred, axis=0)
    r_cell = sm.metrics.pearson(Y_test, pred, axis=1)
    return (
        float(sm.metrics.rmse(Y_test, pred)),
        float(np.nanmean(r)),
        float(np.nanmean(r_cell)),
    )


METHODS = {
    "scmodal": lambda *a, seed: scmodal_pipeline(*a, seed),
    "bagged": lambda *a, seed: scmodal_pipeline(*a, seed, bagging="cells"),
    "gp": lambda *a, seed: sklearn_pipeline(*a, "gp", seed),
    "rbf": lambda *a, seed: sklearn_pipeline(*a, "rbf", seed),
    "svr": lambda *a, seed: scmodal_pipeline(*a, seed, method="svr"),
    "auto": lambda *a, seed: scmodal_pipeline(*a, seed, alpha="auto", gamma="auto"),
    "stack": lambda *a, seed: scmodal_pipeline(*a, seed, method=["krr", "svr"], ensemble="stack"),
}
LABELS = {
    "scmodal": "scmodal (default: one fit)",
    "bagged": "scmodal, bagged as the peer",
    "svr": "scmodal SVR head (C=3, ε=0.1)",
    "auto": "scmodal, alpha & gamma auto (5 × 5 CV)",
    "stack": "scmodal, kernel ridge + SVR, stacked",
    "gp": "scikit-learn (published: RBF(length_scale=10))",
    "rbf": "scikit-learn, kernel='rbf'",
}


HEAD_ROWS = ["svr", "auto", "stack"]


def block(name, X_train, Y_train, X_test, Y_test, peers, seeds=(SEED,), heads=HEAD_ROWS):
    """Time and score every method on one split (over ``seeds``); print its rows.

    With several seeds (SVD sketches and bagging halves both change with the seed), the
    time is the median and the scores are mean ± standard deviation over the seeds.
    """
    Y_train = np.asarray(Y_train, dtype=np.float32)
    results = {m: [] for m in ["scmodal", "bagged", *heads, *peers]}
    for seed in seeds:
        halves = bagging_halves(X_train.shape[0], None, N_REPEATS, seed, bagging="cells")
        for method in results:
            t0 = time.perf_counter()
            pred = METHODS[method](X_train, Y_train, X_test, halves, seed=seed)
            results[method].append((time.perf_counter() - t0, *scores(Y_test, pred)))
    base = np.median([r[0] for r in results["scmodal"]])
    shape = f"{X_train.shape[0]:,} + {X_test.shape[0]:,} × {X_train.shape[1]:,}"

    def fmt(values, digits):
        if len(values) == 1:
            return f"{values[0]:.{digits}f}"
        return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"

    for method, runs in results.items():
        t, rmse, r, r_cell = (np.array(col) for col in zip(*runs, strict=True))
        print(
            f"| {name} | {shape} | {LABELS[method]} | {np.median(t):.1f} | "
            f"{np.median(t) / base:.1f} | {fmt(rmse, 4)} | {fmt(r, 4)} | {fmt(r_cell, 4)} |",
            flush=True,
        )
    if len(seeds) > 1:
        wins = sum(a[1] <= b[1] for a, b in zip(results["bagged"], results[peers[0]], strict=True))
        print(
            f"<!-- {name}: seeds {list(seeds)}; bagged scmodal's RMSE <= {LABELS[peers[0]]}'s "
            f"in {wins} of {len(seeds)} -->"
        )
    mean = np.broadcast_to(Y_train.mean(axis=0), Y_test.shape)
    rmse = scores(Y_test, mean)[0]
    print(
        f"| {name} | {shape} | training mean (baseline) | — | — | {rmse:.4f} | — | — |", flush=True
    )


def dense(A):
    return A.toarray() if hasattr(A, "toarray") else np.asarray(A)


def split(mdata, n_train):
    X, Y = mdata["rna"].X.tocsr(), dense(mdata["prot"].X)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def gpu_row(n_train, n_genes, n_test):
    import cupy as cp
    import cupyx.scipy.sparse as cpsp

    warm = sm.datasets.synthetic_cite(3000, 2000, 134, random_state=1)
    Xw = cpsp.csr_matrix(warm["rna"].X)
    ModalityPredictor(progress=False).fit(Xw[:2000], cp.asarray(warm["prot"].X[:2000]))
    mdata = sm.datasets.synthetic_cite(n_train + n_test, n_genes, 134)
    X_train, Y_train, X_test, Y_test = split(mdata, n_train)
    cp.cuda.Device().synchronize()
    t0 = time.perf_counter()
    model = ModalityPredictor(progress=False, random_state=SEED)
    model.fit(cpsp.csr_matrix(X_train), cp.asarray(Y_train), X_unlabeled=cpsp.csr_matrix(X_test))
    t_fit = time.perf_counter()
    pred = cp.asnumpy(model.predict(cpsp.csr_matrix(X_test)))
    t = time.perf_counter() - t0
    rmse, r, _ = scores(Y_test, pred)
    timings = {**model.timings_, "predict": t0 + t - t_fit}  # timings_ covers fit only
    steps = ", ".join(f"{k} {sum(v) if isinstance(v, list) else v:.1f}" for k, v in timings.items())
    shape = f"{n_train:,} + {n_test:,} × {n_genes:,}"
    print(
        f"| GPU {cp.cuda.runtime.getDeviceProperties(0)['name'].decode()} | {shape} | "
        f"scmodal (GPU) | {t:.1f} | — | {rmse:.3f} | {r:.3f} | — |"
    )
    print(f"<!-- GPU steps (s): {steps} -->")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000, 10000, 20000])
    parser.add_argument("--genes", type=int, default=13_953)
    parser.add_argument("--test-cells", type=int, default=1000)
    parser.add_argument(
        "--peers",
        nargs="*",
        default=["gp", "rbf"],
        choices=["gp", "rbf"],
        help="scikit-learn variants to run (gp: the published RBF object; rbf: kernel='rbf')",
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the bmmc rows")
    parser.add_argument(
        "--head-sizes",
        type=int,
        nargs="*",
        default=None,
        help="synthetic sizes with the SVR and stack rows (default: all of --sizes)",
    )
    parser.add_argument("--gpu", action="store_true", help="add the full shape on the GPU")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*one group.*")

    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; 300 / 70 components, 5 × 2 fits, alpha 0.2, gamma 0.005"
    )
    print(
        "| data | train + predict × genes | method | time s | × scmodal | RMSE "
        "| mean r (proteins) | mean r (cells) |"
    )
    print("|---|---|---|--:|--:|--:|--:|--:|")
    mdata = sm.datasets.bmmc_cite()
    train = mdata.obs["is_train"].to_numpy()
    X, Y = mdata["rna"].X.tocsr(), dense(mdata["prot"].X)
    block("bmmc (real)", X[train], Y[train], X[~train], Y[~train], args.peers, range(args.seeds))
    for n in args.sizes:
        data = sm.datasets.synthetic_cite(n + args.test_cells, args.genes, 134)
        heads = HEAD_ROWS
        if args.head_sizes is not None and n not in args.head_sizes:
            heads = [h for h in HEAD_ROWS if h not in ("svr", "stack")]
        block(f"synthetic {n:,}", *split(data, n), args.peers, heads=heads)
        del data
    if args.gpu:
        gpu_row(66_175, 13_953, 1000)


if __name__ == "__main__":
    main()
