"""Epsilon-SVR on SVD scores: scmodal's batched SVR next to scikit-learn's SVR per target.

Run:  python benchmarks/svr.py [--sizes 5000 10000] [--targets 70] [--sk-targets k]
      [--genes 13953]

Data: ``sm.datasets.synthetic_cite`` with N training cells + 1,000 held-out cells.
Features: per-cell z-scored 300-component SVD of the GEX (scmodal's TruncatedSVD, fit on
all cells, as the pipeline does); targets: the 70-component SVD scores of the ADT (fit on
the training cells), what the pipeline regresses. Model: the pipeline's SVR head, RBF
kernel, gamma = 0.005, C = 3, epsilon = 0.1, tol = 1e-3, each target column in units of
its standard deviation ``s_j`` (scmodal: ``standardize=True``; scikit-learn: the same
model, fitted on ``y_j / s_j`` with its predictions multiplied by ``s_j``).

Rows: scikit-learn ``SVR(kernel="rbf")`` fitted target by target (libsvm computes kernel
rows on demand); scikit-learn ``SVR(kernel="precomputed")`` on one float64 kernel
computed once (its time included); scmodal ``SVR`` on all targets at once (float32, as
the pipeline computes). With ``--sk-targets k`` the scikit-learn loops fit k of the
targets only, evenly spaced from the first to the last (their costs differ), and their
times are extrapolated linearly to all targets (said in the row); RMSE and differences
are then over those k targets. Columns: fit and predict (1,000 held-out cells) seconds,
held-out RMSE against the true target scores (on their own scale, over the targets every
row fitted), the largest |prediction − scikit-learn rbf| over those targets, and the
fit-time ratio to scmodal.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.svm import SVR as SkSVR  # noqa: N811

import scmodal as sm
from scmodal.models import TruncatedSVD
from scmodal.models._svr import SVR

GAMMA, C, EPSILON, TOL = 0.005, 3.0, 0.1, 1e-3


def features_and_targets(n, n_test, genes):
    mdata = sm.datasets.synthetic_cite(n + n_test, genes, 134)
    X = mdata["rna"].X.tocsr()
    Y = mdata["prot"].X
    Y = np.asarray(Y.toarray() if hasattr(Y, "toarray") else Y, dtype=np.float64)
    Z = np.asarray(TruncatedSVD(300).fit_transform(X), dtype=np.float64)
    Z = (Z - Z.mean(1, keepdims=True)) / Z.std(1, keepdims=True)
    T = np.asarray(TruncatedSVD(70).fit(Y[:n]).transform(Y), dtype=np.float64)
    return Z[:n], T[:n], Z[n:], T[n:]


def rmse(pred, truth):
    """Held-out RMSE, on the targets' own scale."""
    return float(np.sqrt(((pred - truth) ** 2).mean()))


def sklearn_loop(Z, T, Z_new, picked, precomputed):
    """The ``picked`` targets one by one, each in units of its std (as scmodal's)."""
    scale = T.astype(np.float32).std(axis=0).astype(np.float64)  # what SVR computes
    scale = np.where(scale > 0, scale, 1.0)
    t0 = time.perf_counter()
    if precomputed:
        K = rbf_kernel(Z, Z, gamma=GAMMA)
    fits = []
    for j in picked:
        model = SkSVR(kernel="precomputed" if precomputed else "rbf", gamma=GAMMA)
        fits.append(
            model.set_params(C=C, epsilon=EPSILON, tol=TOL).fit(
                K if precomputed else Z, T[:, j] / scale[j]
            )
        )
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    A = rbf_kernel(Z_new, Z, gamma=GAMMA) if precomputed else Z_new
    pred = np.column_stack([f.predict(A) * scale[j] for j, f in zip(picked, fits, strict=True)])
    return t_fit, time.perf_counter() - t0, pred


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[5000])
    parser.add_argument("--targets", type=int, default=70)
    parser.add_argument("--sk-targets", type=int, default=None)
    parser.add_argument("--genes", type=int, default=13_953)
    parser.add_argument("--test-cells", type=int, default=1000)
    args = parser.parse_args()
    print(
        f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; gamma {GAMMA}, C {C}, epsilon {EPSILON}, tol {TOL}, "
        "targets in units of their std"
    )
    print("| cells | method | fit s | predict s | RMSE | max diff vs sk rbf | fit × scmodal |")
    print("|--:|---|--:|--:|--:|--:|--:|")
    for n in args.sizes:
        Z, T, Z_new, T_new = features_and_targets(n, args.test_cells, args.genes)
        t = min(args.targets, T.shape[1])
        T, T_new = T[:, :t], T_new[:, :t]
        k = t if args.sk_targets is None else max(1, min(args.sk_targets, t))
        picked = np.unique(np.linspace(0, t - 1, k).round().astype(int))
        k = len(picked)
        t0 = time.perf_counter()
        model = SVR(C=C, epsilon=EPSILON, gamma=GAMMA, tol=TOL, standardize=True).fit(
            Z.astype(np.float32), T.astype(np.float32)
        )
        fit_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        ours = np.asarray(model.predict(Z_new.astype(np.float32)), dtype=np.float64)
        predict_ours = time.perf_counter() - t0
        rows = {}
        for label, pre in [
            ("scikit-learn SVR(kernel='rbf'), per target", False),
            ("scikit-learn SVR(kernel='precomputed'), per target", True),
        ]:
            rows[label] = sklearn_loop(Z, T, Z_new, picked, pre)
        reference = rows["scikit-learn SVR(kernel='rbf'), per target"][2]
        scale = t / k
        note = "" if k == t else f" ({k} of {t} targets, times × {scale:.1f})"

        for label, (fit_s, pred_s, pred) in rows.items():
            print(
                f"| {n:,} | {label}{note} | {fit_s * scale:.1f} | {pred_s * scale:.2f} | "
                f"{rmse(pred, T_new[:, picked]):.4f} | {np.abs(pred - reference).max():.1e} | "
                f"{fit_s * scale / fit_ours:.1f} |",
                flush=True,
            )
        print(
            f"| {n:,} | scmodal SVR, all {t} targets at once ({model.n_iter_} iterations) | "
            f"{fit_ours:.1f} | {predict_ours:.2f} | "
            f"{rmse(ours[:, picked], T_new[:, picked]):.4f} | "
            f"{np.abs(ours[:, picked] - reference).max():.1e} | 1.0 |",
            flush=True,
        )


if __name__ == "__main__":
    main()
