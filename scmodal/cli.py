"""The ``scmodal`` command line: ``scmodal demo`` and ``scmodal predict``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from ._files import part_file


def _demo(args: argparse.Namespace) -> int:
    import numpy as np

    import scmodal as sm

    mdata = sm.datasets.bmmc_cite()
    rna, prot = mdata["rna"], mdata["prot"]
    train = mdata.obs["is_train"].to_numpy()
    print(
        f"Bundled NeurIPS 2021 BMMC CITE-seq data: {mdata.n_obs} cells, {rna.n_vars} genes, "
        f"{prot.n_vars} proteins.\nTrain on donor s1d1 ({train.sum()} cells), predict the "
        f"proteins of donor s1d2 ({(~train).sum()} cells) from their genes."
    )
    start = time.perf_counter()
    sm.tl.predict_modality(mdata, "rna", "prot", train="is_train", random_state=args.seed)
    elapsed = time.perf_counter() - start
    Y = prot.X.toarray() if hasattr(prot.X, "toarray") else np.asarray(prot.X)
    measured = Y[~train]
    predicted = rna.obsm["prot_predicted"].to_numpy()[~train]
    baseline = np.broadcast_to(Y[train].mean(axis=0), measured.shape)
    rows = [("scmodal (SVD + kernel ridge)", predicted), ("training mean (baseline)", baseline)]
    print(f"\nHeld-out donor s1d2 ({measured.shape[0]} cells × {measured.shape[1]} proteins):")
    print(f"  {'method':<30} {'RMSE':>7} {'mean per-protein Pearson':>25}")
    for name, values in rows:
        r_text = "undefined (constant)"
        if values is predicted:
            r_text = f"{np.nanmean(sm.metrics.pearson(measured, values, axis=0)):.3f}"
        print(f"  {name:<30} {sm.metrics.rmse(measured, values):7.3f} {r_text:>25}")
    print(
        f"\nFit + prediction in {elapsed:.1f} s. Stored: mdata['rna'].obsm['prot_predicted'] "
        "(and '_std'), mdata['prot'].layers['prot_predicted'], mdata.uns['prot_predicted']."
    )
    return 0


def _predict(args: argparse.Namespace) -> int:
    import mudata as md

    import scmodal as sm

    source = Path(args.input)
    if not source.exists():
        print(f"scmodal predict: {source} does not exist.", file=sys.stderr)
        return 2
    mdata = md.read_h5mu(source)
    params = {}
    for name in ("n_components_source", "n_components_target", "n_repeats"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    try:
        sm.tl.predict_modality(
            mdata,
            args.source,
            args.target,
            train=args.train_key,
            batch_key=args.batch_key,
            key_added=args.key_added,
            random_state=args.seed,
            **params,
        )
    except (ValueError, TypeError, MemoryError) as err:
        print(f"scmodal predict: {err}", file=sys.stderr)
        return 2
    out = Path(args.output)
    with part_file(out) as tmp:  # a failed write never leaves a half-written OUT
        mdata.write_h5mu(tmp)
    key = args.key_added or f"{args.target}_predicted"
    print(
        f"Predicted {mdata[args.target].n_vars} {args.target} features for "
        f"{mdata[args.source].n_obs} cells ({mdata.uns[key]['n_train']} training cells); "
        f"wrote {out} (obsm/layers/uns['{key}'])."
    )
    return 0


def _quiet_mudata() -> None:
    """mudata's notices about shared var names and future defaults are not for CLI users."""
    warnings.filterwarnings("ignore", module="mudata")
    warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")
    warnings.filterwarnings("ignore", message=".*pull_on_update.*")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scmodal`` command.

    Examples
    --------
    >>> from scmodal.cli import main
    >>> main(["demo"])  # doctest: +ELLIPSIS
    Bundled NeurIPS 2021 BMMC CITE-seq data: 600 cells, 1000 genes, 134 proteins.
    ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="scmodal", description="Predict one single-cell modality from another."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="predict the proteins of the bundled BMMC test donor; print the scores"
    )
    demo.add_argument("--seed", type=int, default=0, help="random state (default 0)")
    demo.set_defaults(func=_demo)

    predict = sub.add_parser("predict", help="predict a target modality in an .h5mu file")
    predict.add_argument("input", help="input .h5mu with the source and target modalities")
    predict.add_argument("-o", "--output", required=True, help="output .h5mu")
    predict.add_argument("--source", default="rna", help="source modality (default rna)")
    predict.add_argument("--target", default="prot", help="target modality (default prot)")
    predict.add_argument(
        "--train-key", help="boolean obs column of training cells (default: cells in both)"
    )
    predict.add_argument("--batch-key", help="obs column of batches, for bagging halves")
    predict.add_argument("--key-added", help="results key (default TARGET_predicted)")
    predict.add_argument("--n-components-source", type=int, help="default 300")
    predict.add_argument("--n-components-target", type=int, help="default 70")
    predict.add_argument("--n-repeats", type=int, help="bagging repeats (default 5)")
    predict.add_argument("--seed", type=int, default=0, help="random state (default 0)")
    predict.set_defaults(func=_predict)
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        _quiet_mudata()
        return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
