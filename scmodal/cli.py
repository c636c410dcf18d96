"""The ``scmodal`` command line: ``scmodal demo`` and ``scmodal predict``.

User errors (a missing or unreadable input, an output that exists or cannot be written, a
bad option) end the command with a one-line message on stderr and exit status 2, worded
with the command's own flags; the output is checked before any computation.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import __version__
from ._files import atomic_write

if TYPE_CHECKING:
    from mudata import MuData

# the library's argument names, as `scmodal predict` spells them in its error messages
FLAGS = {
    "train": "--train-key",
    "source": "--source",
    "target": "--target",
    "batch_key": "--batch-key",
    "key_added": "--key-added",
    "random_state": "--seed",
    "n_components_source": "--n-components-source",
    "n_components_target": "--n-components-target",
    "n_repeats": "--n-repeats",
    "bagging": "--bagging",
    "method": "--method",
    "alpha": "--alpha",
    "gamma": "--gamma",
    "C": "--C",
    "ensemble": "--ensemble",
}
NEXT_COMMAND = (
    "scmodal predict data.h5mu --source rna --target prot --train-key is_train -o predicted.h5mu"
)


class UserError(Exception):
    """A problem with what the user asked for: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Bad command-line syntax: one line on stderr (no usage block), status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def in_cli_words(message: str) -> str:
    """A library error message on one line, naming the flags instead of the arguments.

    Examples
    --------
    >>> in_cli_words("`train='x'` is not a column of `mdata.obs`; `n_repeats` must be ≥ 1")
    "`--train-key 'x'` is not a column of `mdata.obs`; `--n-repeats` must be ≥ 1"
    """
    names = "|".join(FLAGS)
    message = re.sub(rf"`({names})=([^`]*)`", lambda m: f"`{FLAGS[m[1]]} {m[2]}`", message)
    message = re.sub(rf"`({names})`", lambda m: f"`{FLAGS[m[1]]}`", message)
    return " ".join(message.split())


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
    print(
        "\nNext, predict on your own data: an .h5mu MuData with both modalities "
        "(--train-key: a boolean obs column of training cells; without it, the cells "
        "measured in both train the model):"
    )
    print(f"  {NEXT_COMMAND}")
    return 0


def _check_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The input exists; the output can be written and does not exist (or --overwrite)."""
    source, out = Path(args.input), Path(args.output)
    if not source.is_file():
        raise UserError(f"the input {source} does not exist or is not a file.")
    folder = out.parent
    if not folder.is_dir():
        raise UserError(f"--output: the folder {folder} does not exist; create it first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"--output: the folder {folder} is not writable.")
    if out.is_dir():
        raise UserError(f"--output: {out} is a folder; name a file, e.g. {out / 'predicted.h5mu'}.")
    if out.exists() and not args.overwrite:
        raise UserError(f"--output: {out} exists; pass --overwrite to replace it.")
    return source, out


def _read(source: Path) -> MuData:
    import mudata as md

    try:
        return md.read_h5mu(source)
    except Exception as err:  # h5py, anndata and mudata raise many kinds on a bad file
        hint = ""
        if source.suffix == ".h5ad":
            hint = (
                " An .h5ad holds one modality: combine them first, e.g. "
                "`mudata.MuData({'rna': rna, 'prot': prot}).write('data.h5mu')`."
            )
        raise UserError(
            f"cannot read {source} as a MuData .h5mu file ({type(err).__name__}: "
            f"{in_cli_words(str(err))}).{hint}"
        ) from err


def _predict(args: argparse.Namespace) -> int:
    import scmodal as sm

    source, out = _check_paths(args)
    mdata = _read(source)
    params = {}
    for name in ("n_components_source", "n_components_target", "n_repeats"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if args.bagging is not None:
        params["bagging"] = None if args.bagging == "none" else args.bagging
    for name in ("alpha", "gamma", "C"):
        values = getattr(args, name)
        if values is not None:
            params[name] = _grid(values, name)
    if args.ensemble is not None:
        params["ensemble"] = args.ensemble
    try:
        sm.tl.predict_modality(
            mdata,
            args.source,
            args.target,
            train=args.train_key,
            batch_key=args.batch_key,
            method=args.method if len(args.method) > 1 else args.method[0],
            key_added=args.key_added,
            random_state=args.seed,
            **params,
        )
    except (ValueError, TypeError, MemoryError) as err:
        raise UserError(in_cli_words(str(err) or "not enough memory.")) from err
    try:
        with atomic_write(out) as tmp:  # a failed write never leaves a half-written OUT
            mdata.write_h5mu(tmp)
    except OSError as err:
        raise UserError(f"cannot write {out}: {err}") from err
    key = args.key_added or f"{args.target}_predicted"
    print(
        f"Predicted {mdata[args.target].n_vars} {args.target} features for "
        f"{mdata[args.source].n_obs} cells ({mdata.uns[key]['n_train']} training cells); "
        f"wrote {out} (obsm/layers/uns['{key}'])."
    )
    heads = mdata.uns[key]["heads"]
    if len(heads) > 1 or "cv" in mdata.uns[key]:
        for name, head in heads.items():
            values = ", ".join(f"{p}={v:g}" for p, v in head["params"].items())
            score = f", cross-validated RMSE {head['cv_rmse']:.4f}" if "cv_rmse" in head else ""
            print(f"  {name}: weight {head['weight']:.2f} ({values}{score})")
    return 0


def _grid(values: list[str], name: str) -> float | list[float] | str:
    """``--alpha 0.2``, ``--alpha 0.1 0.2 0.5`` or ``--alpha auto`` as the library takes it."""
    if values == ["auto"]:
        return "auto"
    try:
        numbers = [float(v) for v in values]
    except ValueError as err:
        raise UserError(
            f"`{FLAGS[name]}` takes numbers or 'auto'; got {' '.join(values)}."
        ) from err
    return numbers[0] if len(numbers) == 1 else numbers


def _quiet_mudata() -> None:
    """mudata's notices (shared var names, future defaults, files from other tools) are not
    for CLI users."""
    warnings.filterwarnings("ignore", module="mudata")
    warnings.filterwarnings("ignore", message=".*var_names are intersecting.*")
    warnings.filterwarnings("ignore", message=".*pull_on_update.*")
    warnings.filterwarnings("ignore", message=".*not created by muon/mudata.*")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scmodal`` command; returns the exit status.

    Examples
    --------
    >>> from scmodal.cli import main
    >>> main(["demo"])  # doctest: +ELLIPSIS
    Bundled NeurIPS 2021 BMMC CITE-seq data: 600 cells, 1000 genes, 134 proteins.
    ...
    0
    """
    parser = _Parser(prog="scmodal", description="Predict one single-cell modality from another.")
    parser.add_argument("--version", action="version", version=f"scmodal {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo", help="predict the proteins of the bundled BMMC test donor; print the scores"
    )
    demo.add_argument("--seed", type=int, default=0, help="random state (default 0)")
    demo.set_defaults(func=_demo)

    predict = sub.add_parser("predict", help="predict a target modality in an .h5mu file")
    predict.add_argument("input", help="input .h5mu with the source and target modalities")
    predict.add_argument("-o", "--output", required=True, help="output .h5mu")
    predict.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    predict.add_argument("--source", default="rna", help="source modality (default rna)")
    predict.add_argument("--target", default="prot", help="target modality (default prot)")
    predict.add_argument(
        "--train-key", help="boolean obs column of training cells (default: cells in both)"
    )
    predict.add_argument("--batch-key", help="obs column of batches, for bagging halves")
    predict.add_argument("--key-added", help="results key (default TARGET_predicted)")
    predict.add_argument("--n-components-source", type=int, help="default 300")
    predict.add_argument("--n-components-target", type=int, help="default 70")
    predict.add_argument(
        "--bagging",
        choices=["none", "batches", "cells"],
        help="one fit on all training cells (none, the default), or bagged fits on halves "
        "of the batches or of the cells",
    )
    predict.add_argument("--n-repeats", type=int, help="bagging repeats (default 5)")
    predict.add_argument(
        "--method",
        nargs="+",
        default=["krr"],
        help="regression head(s): krr (kernel ridge, default), svr (support vector "
        "regression), or several to blend, e.g. --method krr svr",
    )
    grid = "a number, several (chosen by cross-validation) or auto"
    predict.add_argument("--alpha", nargs="+", help=f"kernel ridge penalty: {grid} (default 0.2)")
    predict.add_argument("--gamma", nargs="+", help=f"RBF width: {grid} (default 0.005)")
    predict.add_argument("--C", nargs="+", help=f"SVR penalty: {grid} (default 1.0)")
    predict.add_argument(
        "--ensemble",
        choices=["stack", "mean"],
        help="blend of several heads: equal weights (mean, the default) or weights fitted "
        "on out-of-fold predictions (stack)",
    )
    predict.add_argument("--seed", type=int, default=0, help="random state (default 0)")
    predict.set_defaults(func=_predict)
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            _quiet_mudata()
            return args.func(args)
    except UserError as err:
        print(f"scmodal {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"scmodal {args.command}: interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
