"""The regression heads of :class:`ModalityPredictor`: the seam every head plugs into.

A head is a scikit-learn regressor from the per-cell z-scored source components ``Z`` to
the regression targets ``T`` (the target SVD scores, or the targets themselves). Its
:class:`Head` entry says how the pipeline builds, fits and stores it:

- a *kernel* head (``kernel=True``) is fitted on the kernel matrix of its training cells
  (``fit(K, T)``) and predicts from kernel rows (``predict(K_rows)``): the estimator is
  built with ``kernel="precomputed"``, so one kernel of the cells serves every kernel head
  of the same ``gamma``; a head that factorizes the kernel in place
  (``overwrites_kernel``) is fitted last;
- any other head is fitted on ``(Z, T)`` and predicts from ``Z`` (the MLP head's way).

``params`` are the :class:`ModalityPredictor` parameters the head reads; each may be a
number or a list of numbers (a grid, selected by cross-validation) or ``"auto"`` (the
head's ``auto`` grid). ``arrays``/``restore`` move a fitted head to and from the
pickle-free model file.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._backend import to_numpy
from ._kernel_ridge import KernelRidge


@dataclass(frozen=True)
class Head:
    """What the pipeline needs to know of one regression head.

    Attributes
    ----------
    name, label
        ``"krr"``, and how people call it (``"kernel ridge"``).
    params
        The head's :class:`ModalityPredictor` parameters, ``gamma`` first for kernel heads.
    build
        ``build(values, posterior=..., copy_X=...) -> estimator``: an unfitted estimator
        for one value of each of ``params``.
    arrays, restore
        The fitted estimator's arrays for the model file, and the estimator back from them.
    stored, optional
        The names ``arrays`` gives besides ``dual_coef``: always, and only for some fits
        (all of them or none, e.g. kernel ridge's posterior factor).
    kernel
        Fitted on a precomputed kernel (see the module's docstring).
    overwrites_kernel
        Its fit factorizes the kernel in place (it is fitted after the other heads).
    posterior
        One fit of it on all training cells gives a posterior standard deviation.
    auto
        The grid of each parameter that ``"auto"`` stands for.
    work
        Arrays of ``cells × regression targets`` its fit allocates besides the kernel
        (what the memory guard counts).
    defaults
        Its parameters' default values (:class:`ModalityPredictor`'s): kept by the
        cross-validation unless a grid point beats them significantly.
    """

    name: str
    label: str
    params: tuple[str, ...]
    build: Callable[..., Any]
    arrays: Callable[[Any], dict[str, np.ndarray]]
    restore: Callable[[dict[str, np.ndarray], dict[str, float]], Any]
    kernel: bool = True
    overwrites_kernel: bool = False
    posterior: bool = False
    auto: dict[str, tuple[float, ...]] = field(default_factory=dict)
    work: int = 2
    stored: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    defaults: dict[str, float] = field(default_factory=dict)


# --- kernel ridge ---------------------------------------------------------------------
def _krr(values: dict[str, float], *, posterior: bool = False, copy_X: bool = True) -> Any:
    return KernelRidge(values["alpha"], kernel="precomputed", copy_X=copy_X, posterior=posterior)


def _krr_arrays(model: KernelRidge) -> dict[str, np.ndarray]:
    arrays = {"dual_coef": to_numpy(model.dual_coef_)}
    if model.factor_ is not None:
        arrays["factor"] = to_numpy(model.factor_)
        arrays["target_variance"] = to_numpy(model.target_variance_)
    return arrays


def _krr_restore(arrays: dict[str, np.ndarray], values: dict[str, float]) -> KernelRidge:
    posterior = "factor" in arrays
    model = _krr(values, posterior=posterior)
    model.dual_coef_ = arrays["dual_coef"]
    model.factor_ = arrays.get("factor")
    model.target_variance_ = arrays.get("target_variance")
    model.X_fit_, model.gamma_ = None, None
    model.n_features_in_ = arrays["dual_coef"].shape[0]
    return model


# --- support vector regression ---------------------------------------------------------
def _svr(values: dict[str, float], *, posterior: bool = False, copy_X: bool = True) -> Any:
    from ._svr import SVR

    # each SVD score in units of its standard deviation: one C and epsilon suit them all
    return SVR(C=values["C"], epsilon=values["epsilon"], kernel="precomputed", standardize=True)


def _svr_arrays(model: Any) -> dict[str, np.ndarray]:
    return {"dual_coef": to_numpy(model.dual_coef_), "intercept": to_numpy(model.intercept_)}


def _svr_restore(arrays: dict[str, np.ndarray], values: dict[str, float]) -> Any:
    model = _svr(values)
    model.dual_coef_ = arrays["dual_coef"]
    model.intercept_ = arrays["intercept"]
    model.X_fit_, model.gamma_ = None, None
    model.n_features_in_ = arrays["dual_coef"].shape[0]
    model.n_iter_ = 0
    return model


# ``gamma`` auto grid: around the winner's 0.005 (RBF length scale 10), factors of 2
GAMMA_AUTO = (0.00125, 0.0025, 0.005, 0.01, 0.02)
HEADS: dict[str, Head] = {
    "krr": Head(
        "krr",
        "kernel ridge",
        ("gamma", "alpha"),
        _krr,
        _krr_arrays,
        _krr_restore,
        overwrites_kernel=True,
        posterior=True,
        auto={"gamma": GAMMA_AUTO, "alpha": (0.05, 0.1, 0.2, 0.5, 1.0)},
        defaults={"gamma": 0.005, "alpha": 0.2},
        optional=("factor", "target_variance"),
    ),
    "svr": Head(
        "svr",
        "support vector regression",
        ("gamma", "C", "epsilon"),
        _svr,
        _svr_arrays,
        _svr_restore,
        auto={"gamma": GAMMA_AUTO, "C": (0.3, 1.0, 3.0, 10.0, 30.0)},
        work=12,
        defaults={"gamma": 0.005, "C": 3.0, "epsilon": 0.1},
        stored=("intercept",),
    ),
}


# parameters whose value must be > 0 (the others: ≥ 0)
POSITIVE = ("gamma", "C")


def check_grid(value: Any, name: str, auto: tuple[float, ...]) -> tuple[float, ...]:
    """The values of parameter ``name``: a number, a non-empty list of numbers, or
    ``"auto"`` (the grid ``auto``); finite, > 0 for ``gamma`` and ``C``, else ≥ 0.

    Examples
    --------
    >>> check_grid(0.2, "alpha", ()), check_grid([1, 0.5], "alpha", ())
    ((0.2,), (1.0, 0.5))
    """
    if isinstance(value, str):
        if value != "auto":
            raise ValueError(
                f"`{name}` must be a number, a list of numbers or 'auto'; got {value!r}."
            )
        return auto
    values = list(value) if isinstance(value, list | tuple | np.ndarray) else [value]
    if not values:
        raise ValueError(f"`{name}` is an empty grid: give at least one value (or 'auto').")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"`{name}` must hold numbers; got {type(v).__name__} {v!r}.")
        positive = name in POSITIVE
        if not np.isfinite(v) or v < 0 or (positive and v == 0):
            bound = "> 0" if positive else "≥ 0"
            raise ValueError(f"`{name}` values must be finite and {bound}; got {v!r}.")
        out.append(float(v))
    if len(set(out)) < len(out):
        raise ValueError(f"`{name}` lists a value twice: {out}.")
    return tuple(out)


def heads_of(method: Any) -> list[str]:
    """The head names of ``method`` (a name or a list of names), checked.

    Examples
    --------
    >>> heads_of("krr"), heads_of(["krr", "svr"])
    (['krr'], ['krr', 'svr'])
    """
    names = [method] if isinstance(method, str) else method
    if not isinstance(names, list | tuple) or not names:
        raise ValueError(
            f"`method` must be a head name or a non-empty list of them, from "
            f"{sorted(HEADS)}; got {method!r}."
        )
    for name in names:
        if not isinstance(name, str) or name not in HEADS:
            hint = " (the 'mlp' head is not available yet)" if name == "mlp" else ""
            raise ValueError(f"`method` must name heads from {sorted(HEADS)}; got {name!r}{hint}.")
    if len(set(names)) < len(names):
        raise ValueError(f"`method` names a head twice: {list(names)}.")
    return list(names)


__all__ = ["HEADS", "Head", "check_grid", "heads_of"]
