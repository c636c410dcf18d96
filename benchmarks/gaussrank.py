"""GaussRank forward + inverse on 10 million values, scmodal next to its peers.

Run:  python benchmarks/gaussrank.py [--cells 100000] [--features 100] [--repeats 3] [--gpu]

Every method transforms the same float32 matrix (cells × features) to normal scores and
maps the scores back to the original values. Peers, measured in the same run:

* numpy recipe (the GaussRank blog's CPU version): ``argsort().argsort()`` per feature,
  scaled to (−1, 1), ``erfinv``; inverse by ``np.interp`` per feature on the sorted values.
* pandas recipe: ``DataFrame.rank()`` (average ties), ``ndtri((r − 0.5) / n)``; inverse by
  ``np.interp`` per feature.
* scikit-learn: ``QuantileTransformer(output_distribution="normal")`` (its defaults).
* scmodal: ``GaussRankScaler().fit_transform`` + ``inverse_transform``.

Times are the best of ``--repeats`` runs after one warm-up; "× scmodal" is each method's
total time over scmodal's. "round trip" is the largest |inverse(forward(X)) − X|.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from scipy.special import erfinv, ndtri
from sklearn.preprocessing import QuantileTransformer

from scmodal.models import GaussRankScaler


def numpy_recipe(X):
    def forward():
        r = X.argsort(axis=0).argsort(axis=0).astype(np.float32)
        r = (r / r.max(axis=0) - 0.5) * 2
        eps = 1e-6
        return erfinv(np.clip(r, -1 + eps, 1 - eps)).astype(np.float32)

    def inverse(Z):
        xs, zs = np.sort(X, axis=0), np.sort(Z, axis=0)
        return np.stack([np.interp(Z[:, j], zs[:, j], xs[:, j]) for j in range(X.shape[1])], 1)

    return forward, inverse


def pandas_recipe(X):
    def forward():
        r = pd.DataFrame(X).rank(method="average").to_numpy()
        return ndtri((r - 0.5) / X.shape[0]).astype(np.float32)

    def inverse(Z):
        xs, zs = np.sort(X, axis=0), np.sort(Z, axis=0)
        return np.stack([np.interp(Z[:, j], zs[:, j], xs[:, j]) for j in range(X.shape[1])], 1)

    return forward, inverse


def sklearn_quantile(X):
    qt = QuantileTransformer(output_distribution="normal", random_state=0)
    return (lambda: qt.fit_transform(X)), qt.inverse_transform


def scmodal_scaler(X):
    scaler = GaussRankScaler()
    return (lambda: scaler.fit_transform(X)), scaler.inverse_transform


def measure(make, X, repeats, sync=lambda: None, host=np.asarray):
    best_f = best_i = np.inf
    for i in range(repeats + 1):
        forward, inverse = make(X)
        sync()
        t0 = time.perf_counter()
        Z = forward()
        sync()
        t1 = time.perf_counter()
        back = inverse(Z)
        sync()
        t2 = time.perf_counter()
        if i > 0:  # the first run warms up caches and the allocator
            best_f, best_i = min(best_f, t1 - t0), min(best_i, t2 - t1)
    err = float(np.nanmax(np.abs(host(back).astype(np.float64) - host(X))))
    return best_f, best_i, err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gpu", action="store_true", help="also run scmodal on cupy data")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.cells, args.features)).astype(np.float32)
    X[:, ::4] = np.round(X[:, ::4] * 4) / 4  # a quarter of the features with heavy ties
    print(
        f"GaussRank forward + inverse, {args.cells:,} cells × {args.features} features "
        f"({X.size / 1e6:.0f}M float32 values); best of {args.repeats}; "
        f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores"
    )
    rows = [
        ("numpy recipe (argsort², erfinv, np.interp)", numpy_recipe),
        ("pandas recipe (DataFrame.rank, ndtri, np.interp)", pandas_recipe),
        ("scikit-learn QuantileTransformer(normal)", sklearn_quantile),
        ("scmodal GaussRankScaler (CPU)", scmodal_scaler),
    ]
    results = [(name, *measure(make, X, args.repeats)) for name, make in rows]
    if args.gpu:
        import cupy

        Xg = cupy.asarray(X)
        sync = cupy.cuda.Device().synchronize
        results.append(
            (
                "scmodal GaussRankScaler (GPU, cupy)",
                *measure(scmodal_scaler, Xg, args.repeats, sync, cupy.asnumpy),
            )
        )
    ours = next(r for r in results if r[0].startswith("scmodal") and "CPU" in r[0])
    ours_total = ours[1] + ours[2]
    print(f"\n| {'method':<50} | forward s | inverse s | total s | × scmodal | round trip |")
    print(f"|{'-' * 52}|----------:|----------:|--------:|----------:|-----------:|")
    for name, fwd, inv, err in results:
        total = fwd + inv
        trip = "exact" if err == 0 else f"{err:.1e}"
        print(
            f"| {name:<50} | {fwd:9.3f} | {inv:9.3f} | {total:7.3f} | "
            f"{total / ours_total:9.1f} | {trip:>10} |"
        )
    peers = [r for r in results if not r[0].startswith("scmodal")]
    fastest = min(peers, key=lambda r: r[1] + r[2])
    print(
        f"\nscmodal (CPU) is {(fastest[1] + fastest[2]) / ours_total:.1f}× faster than the "
        f"fastest peer ({fastest[0]})."
    )
    if args.gpu:
        gpu = results[-1]
        pandas_row = results[1]
        print(
            f"scmodal (GPU) is {(pandas_row[1] + pandas_row[2]) / (gpu[1] + gpu[2]):.0f}× "
            "faster than the pandas recipe."
        )


if __name__ == "__main__":
    main()
