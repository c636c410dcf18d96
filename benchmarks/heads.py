"""Heads, grid search and ensembles on real held-out splits.

Run:  python benchmarks/heads.py [--seeds 2]

On the real splits of ``benchmarks/bagging.py`` (BMMC donors both ways, BMMC and pbmc1k
cells held out at random, BMMC cell types held out in turn), side by side in one run,
``sm.models.ModalityPredictor`` with:

* ``krr``: the default, one kernel ridge fit (alpha 0.2, gamma 0.005);
* ``krr auto``: ``alpha="auto", gamma="auto"``: 3-fold cross-validation (grouped by
  donor where there are two) over the 5 × 5 grid, then one fit with the chosen values;
  its time as a multiple of the default's, and the held-out RMSE of the best grid point
  in hindsight (every grid point fitted on the training cells and scored on the
  held-out ones);
* ``svr``: the SVR head (C 3, epsilon 0.1, gamma 0.005, targets standardized);
* ``stack``: kernel ridge + SVR, weights fitted on out-of-fold predictions;
* ``mean``: kernel ridge + SVR, equal weights.

Scores on the held-out cells: RMSE, mean per-protein and mean per-cell Pearson r.
"""

from __future__ import annotations

import argparse
import itertools
import time
import warnings

import numpy as np
from bagging import real_splits
from predict import scores

import scmodal as sm
from scmodal.models._heads import HEADS

CONFIGS = {
    "krr": {},
    "krr auto": {"alpha": "auto", "gamma": "auto"},
    "svr": {"method": "svr"},
    "stack": {"method": ["krr", "svr"], "ensemble": "stack"},
    "mean": {"method": ["krr", "svr"], "ensemble": "mean"},
}


def fit_predict(X, Y, train, groups, **params):
    k, t = min(300, min(X.shape) - 1), min(70, Y.shape[1] - 1)
    model = sm.models.ModalityPredictor(k, t, progress=False, **params)
    t0 = time.perf_counter()
    model.fit(
        X[train], Y[train], groups=None if groups is None else groups[train], X_unlabeled=X[~train]
    )
    pred = model.predict(X[~train])
    return pred, time.perf_counter() - t0, model


def hindsight(X, Y, train, groups):
    """The lowest held-out RMSE over the krr 'auto' grid, each point fitted directly."""
    auto = HEADS["krr"].auto
    best = np.inf
    for gamma, alpha in itertools.product(auto["gamma"], auto["alpha"]):
        pred = fit_predict(X, Y, train, groups, gamma=gamma, alpha=alpha)[0]
        best = min(best, scores(Y[~train], pred)[0])
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*one group.*")
    warnings.filterwarnings("ignore", message=".*stacked blend.*")
    print("| split | model | RMSE | mean r (proteins) | mean r (cells) | time s | × krr | note |")
    print("|---|---|--:|--:|--:|--:|--:|---|")
    summary = []
    for label, X, Y, train, groups in real_splits(args.seeds):
        row = {}
        for name, params in CONFIGS.items():
            pred, seconds, model = fit_predict(X, Y, train, groups, **params)
            rmse, r, r_cell = scores(Y[~train], pred)
            row[name] = (rmse, r, r_cell, seconds)
            note = ""
            if name == "krr auto":
                best = hindsight(X, Y, train, groups)
                chosen = model.best_params_["krr"]
                note = (
                    f"chose gamma {chosen['gamma']:g}, alpha {chosen['alpha']:g}; best in "
                    f"hindsight {best:.4f} ({100 * (rmse / best - 1):+.1f} %)"
                )
            elif name == "stack":
                note = "weights " + ", ".join(f"{k} {w:.2f}" for k, w in model.weights_.items())
            ratio = seconds / row["krr"][3]
            print(
                f"| {label} | {name} | {rmse:.4f} | {r:.4f} | {r_cell:.4f} | {seconds:.1f} | "
                f"{ratio:.1f} | {note} |",
                flush=True,
            )
        summary.append(row)
    print()
    print("| model | mean RMSE | mean r (proteins) | mean r (cells) | lowest RMSE on |")
    print("|---|--:|--:|--:|--:|")
    lowest = [min(row[n][0] for n in CONFIGS) for row in summary]
    for name in CONFIGS:
        v = np.array([row[name][:3] for row in summary])
        wins = sum(row[name][0] <= low for row, low in zip(summary, lowest, strict=True))
        print(
            f"| {name} | {v[:, 0].mean():.4f} | {v[:, 1].mean():.4f} | {v[:, 2].mean():.4f} | "
            f"{wins} of {len(summary)} |"
        )
    for name in ("stack", "mean"):
        best_member = [min(row["krr"][0], row["svr"][0]) for row in summary]
        worse = sum(row[name][0] > b + 1e-12 for row, b in zip(summary, best_member, strict=True))
        print(f"<!-- {name}: RMSE above its best member on {worse} of {len(summary)} splits -->")


if __name__ == "__main__":
    main()
