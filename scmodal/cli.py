"""The ``scmodal`` command line."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    import numpy as np
    from scipy.stats import skew

    import scmodal as sm

    mdata = sm.datasets.bmmc_cite()
    prot = mdata["prot"]
    print(
        f"Bundled NeurIPS 2021 BMMC CITE-seq data: {prot.n_obs} cells × {prot.n_vars} "
        "proteins (ADT, CLR-like)."
    )
    start = time.perf_counter()
    sm.pp.gaussrank(prot)
    sm.pp.inverse_gaussrank(prot)
    elapsed = time.perf_counter() - start
    X = prot.X.toarray()
    Z = prot.layers["gaussrank"]
    exact = np.array_equal(prot.layers["gaussrank_inverse"], X)
    names = list(prot.var_names[np.argsort(-np.abs(skew(X, axis=0)))[: args.top]])
    print(f"\nGaussRank per protein (the {args.top} most skewed):")
    print(f"  {'protein':<10} {'skew before':>11} {'skew after':>10} {'mean':>7} {'sd':>6}")
    for name in names:
        j = prot.var_names.get_loc(name)
        print(
            f"  {name:<10} {skew(X[:, j]):11.2f} {skew(Z[:, j]):10.2f} "
            f"{Z[:, j].mean():7.3f} {Z[:, j].std():6.3f}"
        )
    print(
        f"\nAll {prot.n_vars} proteins: scores mean {Z.mean():.3f}, sd {Z.std():.3f}; "
        f"inverse {'exact (bit for bit)' if exact else 'NOT exact'}; "
        f"forward + inverse in {elapsed * 1000:.0f} ms."
    )
    print("Stored: layers['gaussrank'], varm['gaussrank'] (reference), uns['gaussrank'].")
    return 0 if exact else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``scmodal`` command.

    Examples
    --------
    >>> from scmodal.cli import main
    >>> main(["demo", "--top", "2"])  # doctest: +ELLIPSIS
    Bundled NeurIPS 2021 BMMC CITE-seq data: 600 cells × 134 proteins (ADT, CLR-like).
    ...
    0
    """
    parser = argparse.ArgumentParser(
        prog="scmodal", description="Predict one single-cell modality from another."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="GaussRank-normalize the bundled BMMC ADT data")
    demo.add_argument("--top", type=int, default=8, help="proteins to list (default 8)")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
