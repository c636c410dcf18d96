"""How to bag the kernel ridge fits: halves of batches, halves of cells, or one fit.

Run:  python benchmarks/bagging.py [--seeds 3]

Every configuration of ``sm.models.ModalityPredictor`` (defaults otherwise: 300 / 70
components, RBF gamma 0.005, alpha 0.2, 5 repeats when bagging) on real held-out splits,
side by side in one run:

* bmmc donor: train on donor s1d1, predict s1d2 (the bundled split), and the reverse;
* bmmc cells: a random half of the cells held out (both donors in training, so
  ``"batches"`` really halves the batches), one row per seed;
* pbmc1k cells: a random half of pbmc1k's cells held out (another lab, 10x v3, raw
  counts: log1p of counts per 10⁴ for RNA, CLR for proteins), one row per seed;
* bmmc cell types: every cell type with ≥ 40 cells held out in turn (cells unlike the
  training ones), pooled.

Scores on the held-out cells: RMSE over all values, mean per-protein Pearson r.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from predict import scores  # benchmarks/predict.py: RMSE, mean per-feature Pearson

import scmodal as sm

CONFIGS = {"batches": "batches", "cells": "cells", "one fit": None}


def clr(counts: np.ndarray) -> np.ndarray:
    logged = np.log1p(counts)
    return logged - logged.mean(axis=1, keepdims=True)


def pbmc1k():
    mdata = sm.datasets.pbmc1k_protein()
    rna = mdata["rna"].X.tocsr().astype(np.float64)
    rna = sp.diags(1e4 / np.maximum(rna.sum(axis=1).A1, 1)) @ rna
    rna.data = np.log1p(rna.data)
    prot = mdata["prot"].X
    prot = prot.toarray() if sp.issparse(prot) else np.asarray(prot)
    return rna.astype(np.float32).tocsr(), clr(prot).astype(np.float32)


def run(X, Y, train, groups, bagging, seed=0):
    model = sm.models.ModalityPredictor(
        min(300, min(X.shape) - 1), min(70, Y.shape[1] - 1), bagging=bagging, random_state=seed
    )
    t0 = time.perf_counter()
    model.fit(
        X[train], Y[train], groups=None if groups is None else groups[train], X_unlabeled=X[~train]
    )
    pred = model.predict(X[~train])
    return (*scores(Y[~train], pred)[:2], time.perf_counter() - t0)


def real_splits(seeds: int) -> list[tuple]:
    """``(label, X, Y, train mask, batches or None)`` of every real held-out split."""
    bmmc = sm.datasets.bmmc_cite()
    X, Y = bmmc["rna"].X.tocsr(), bmmc["prot"].X.toarray()
    batch = bmmc.obs["batch"].to_numpy().astype(str)
    splits = [
        ("bmmc donor s1d1 → s1d2", X, Y, batch == "s1d1", batch),
        ("bmmc donor s1d2 → s1d1", X, Y, batch == "s1d2", batch),
    ]
    for seed in range(seeds):
        held = np.random.default_rng(seed).random(len(batch)) < 0.5
        splits.append((f"bmmc cells, seed {seed}", X, Y, ~held, batch))
    Xp, Yp = pbmc1k()
    for seed in range(seeds):
        held = np.random.default_rng(seed).random(Xp.shape[0]) < 0.5
        splits.append((f"pbmc1k cells, seed {seed}", Xp, Yp, ~held, None))
    return splits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*one group.*")
    bmmc = sm.datasets.bmmc_cite()
    X, Y = bmmc["rna"].X.tocsr(), bmmc["prot"].X.toarray()
    batch = bmmc.obs["batch"].to_numpy().astype(str)
    splits = real_splits(args.seeds)
    print("| split | bagging | RMSE | mean r | time s |")
    print("|---|---|--:|--:|--:|")
    totals = {name: [] for name in CONFIGS}
    for label, Xs, Ys, train, groups in splits:
        for name, bagging in CONFIGS.items():
            rmse, r, seconds = run(Xs, Ys, train, groups, bagging)
            totals[name].append((rmse, r))
            print(f"| {label} | {name} | {rmse:.4f} | {r:.4f} | {seconds:.1f} |")
    # cell types held out in turn, pooled
    types = bmmc.obs["cell_type"].astype(str).to_numpy()
    kept = [t for t in np.unique(types) if (types == t).sum() >= 40]
    for name, bagging in CONFIGS.items():
        ys, preds = [], []
        for t in kept:
            train = types != t
            model = sm.models.ModalityPredictor(300, 70, bagging=bagging)
            model.fit(X[train], Y[train], groups=batch[train], X_unlabeled=X[~train])
            ys.append(Y[~train])
            preds.append(model.predict(X[~train]))
        rmse, r = scores(np.concatenate(ys), np.concatenate(preds))[:2]
        totals[name].append((rmse, r))
        print(f"| bmmc cell types held out ({len(kept)}) | {name} | {rmse:.4f} | {r:.4f} | |")
    print()
    print("| bagging | mean RMSE | mean r | lowest RMSE (ties count for each) on |")
    print("|---|--:|--:|--:|")
    table = {name: np.array(v) for name, v in totals.items()}
    lowest = np.min(np.stack([v[:, 0] for v in table.values()]), axis=0)
    for name, v in table.items():
        print(
            f"| {name} | {v[:, 0].mean():.4f} | {v[:, 1].mean():.4f} | "
            f"{int((v[:, 0] <= lowest).sum())} of {len(lowest)} splits |"
        )


if __name__ == "__main__":
    main()
