"""Epsilon-support vector regression for many targets at once, on numpy or cupy arrays.

The model is scikit-learn's :class:`~sklearn.svm.SVR` (libsvm's epsilon-SVR). Its dual,
for one target column ``y``, is

    minimize ½ βᵀKβ − yᵀβ + ε‖β‖₁   subject to  −C ≤ βᵢ ≤ C,  Σᵢ βᵢ = 0,

and the prediction at ``x`` is ``K(x, X_train) β + b``. Every target column is an
independent problem with the same kernel, so :func:`svr_dual` solves all of them
together: each iteration is one product ``K @ B`` of the kernel with the coefficients of
all columns still running, written once against the array namespace (numpy on the CPU,
cupy on the GPU).

The solver is accelerated proximal gradient (FISTA) with adaptive restarts, made exact by
Newton steps on the free support vectors:

* The proximal step of ``ε|β| + box + {Σβ = 0}`` is ``β = clip(soft(v − λ, τε), −C, C)``
  with one shift ``λ`` per column chosen so that ``Σβ = 0`` (safeguarded Newton on the
  piecewise linear sum, exact on the right piece). The step ``τ = 1/L`` uses the largest
  eigenvalue of the kernel restricted to ``{Σβ = 0}`` (power iteration on the centered
  kernel: the constant direction, which dominates an RBF kernel, is not counted).
* Once the iterates are close, a Newton step fixes the variables at 0 and at ``±C``
  (read from the proximal step) and solves the equality-constrained system of the free
  ones, ``K_FF β_F + b = y_F − ε·sign(β_F) − K_FB β_B``, by conjugate gradients batched
  over columns (masks, one kernel product per CG iteration). The CG is preconditioned by
  the top eigenpairs ``U diag(w) Uᵀ`` of the kernel (computed once, by randomized
  subspace iteration: three products with ~100 vectors), restricted to each column's
  free rows: ``(U_F diag(w) U_Fᵀ + μ I)⁻¹`` by the Woodbury identity, ``μ`` the smallest
  kept eigenvalue. The kernel's large eigenvalues, which make the system ill-conditioned
  (an RBF kernel of z-scored SVD features has condition number ~10³–10⁴ on
  ``{Σβ = 0}``), are then taken care of, and the CG converges in ~10–15 products. A
  column takes the Newton point (after one proximal step, which makes it feasible) only
  when it lowers that column's dual objective, so the method stays as convergent as
  FISTA; it restarts its momentum there, the other columns keep theirs.
* A column stops when libsvm's own criterion holds: the largest violation of the KKT
  conditions, in units of the targets, is at most ``tol`` (libsvm's ``m(α) − M(α) ≤
  tol``). Converged columns leave the products. The intercept then follows from the KKT
  conditions as libsvm computes it: the mean of ``yᵢ − ε·sign(βᵢ) − (Kβ)ᵢ`` over the free
  support vectors (the midpoint of the feasible interval when there are none).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils import Tags

from .._backend import Namespace, get_namespace, gpu_namespace, is_gpu_array, to_device
from .._typing import Array, ArrayLike
from ._input import check_input, check_n_features, check_targets
from ._kernel_ridge import (
    KERNELS,
    PREDICT_ADVICE,
    check_kernel_memory,
    check_number,
    converts,
    fit_advice,
    kernel_matrix,
    kernel_ridge_predict_bytes,
    kernel_row_blocks,
)

SOLVERS = ("auto", "cuml")
# n × t work arrays the solver holds besides the kernel (iterates, products, CG vectors)
WORK_ARRAYS = 12
# iterations of the power method for the step size, and its safety factor
POWER_ITERATIONS = 30
STEP_SAFETY = 1.1
# Newton steps: first when the median column's KKT violation is below NEWTON_START × tol
# (or after NEWTON_AFTER iterations), then every NEWTON_EVERY iterations, NEWTON_CG
# products each (earlier ones, before most columns are close, are mostly rejected)
NEWTON_START = 50.0
NEWTON_AFTER = 200
NEWTON_EVERY = 40
NEWTON_CG = 30
# the conjugate gradients stop at NEWTON_CG_STOP × the column's KKT violation (in the
# largest residual entry), or at 0.05 × tol
NEWTON_CG_STOP = 0.1
# the conjugate gradients of the Newton steps are preconditioned by the top
# PRECONDITION_RANK eigenpairs of the kernel (randomized subspace iteration with
# PRECONDITION_OVERSAMPLE extra vectors), restricted to the free rows of each column
PRECONDITION_RANK = 100
PRECONDITION_OVERSAMPLE = 10
# the KKT violations (the stopping test) are computed every CHECK_EVERY iterations
CHECK_EVERY = 4


def svr_fit_bytes(n_train: int, n_targets: int, itemsize: int, *, n_converted: int = 0) -> int:
    """Bytes :meth:`SVR.fit` allocates for ``n_train`` cells (what its guard counts).

    The ``n × n`` kernel, :data:`WORK_ARRAYS` arrays of ``n × n_targets`` (iterates,
    kernel products, conjugate-gradient vectors), the Newton steps' preconditioner (three
    ``n × (r + p)`` blocks while its eigenvectors are computed, ``r =``
    :data:`PRECONDITION_RANK`, ``p =`` :data:`PRECONDITION_OVERSAMPLE`, and one ``r × r``
    float64 matrix and its inverse per target) and ``n_converted`` values per cell for
    input columns converted to the compute dtype.

    Examples
    --------
    >>> from scmodal.models._svr import svr_fit_bytes
    >>> svr_fit_bytes(4000, 70, 4) / 1e6  # 64 MB kernel, 13.4 MB work, 16.5 MB Newton
    93.92
    """
    block = min(PRECONDITION_RANK + PRECONDITION_OVERSAMPLE, n_train)
    rank = min(PRECONDITION_RANK, block)
    work = n_train**2 + n_train * (WORK_ARRAYS * n_targets + n_converted + 3 * block)
    return itemsize * work + 16 * n_targets * rank**2


def _prox(V: Any, shrink: float, C: float, lam: Any, ns: Namespace) -> tuple[Any, Any]:
    """``clip(soft(V − λ, shrink), −C, C)`` with the per-column ``λ`` that makes each sum 0.

    The sum is piecewise linear and non-increasing in ``λ``, with slope minus the number
    of entries strictly inside ``(shrink, shrink + C)``: Newton steps from the previous
    ``λ``, kept inside a bracket and replaced by bisection where they would leave it.
    """
    xp = ns.xp
    n = V.shape[0]
    tiny = float(np.finfo(V.dtype).eps)
    lo = V.min(axis=0) - (shrink + C)  # all at +C: the sum is n·C > 0
    hi = V.max(axis=0) + (shrink + C)  # all at −C
    lam = xp.clip(lam, lo, hi)
    tol = 4 * tiny * n * C
    B = V
    for _ in range(200):
        W = V - lam[None, :]
        A = xp.abs(W)
        B = xp.clip(xp.sign(W) * xp.maximum(A - shrink, 0.0), -C, C)
        s = B.astype(xp.float64).sum(axis=0)
        done = (xp.abs(s) <= tol) | (hi - lo <= 4 * tiny * xp.maximum(xp.abs(hi), 1.0))
        if bool(done.all()):
            break
        free = ((A > shrink) & (A < shrink + C)).sum(axis=0)
        lo = xp.where(s > 0, xp.maximum(lo, lam), lo)
        hi = xp.where(s < 0, xp.minimum(hi, lam), hi)
        step = lam + (s / xp.maximum(free, 1)).astype(V.dtype)
        inside = (free > 0) & (step > lo) & (step < hi)
        lam = xp.where(done, lam, xp.where(inside, step, 0.5 * (lo + hi)))
    return B, lam


def _bounds(KB: Any, Y: Any, B: Any, epsilon: float, C: float, ns: Namespace) -> tuple[Any, Any]:
    """Per column, the interval ``[lo, hi]`` of intercepts the KKT conditions allow.

    With ``u = y − Kβ``: an entry that can grow (``β < C``) needs ``b ≥ u − ε`` (``u + ε``
    if ``β < 0``); one that can shrink (``β > −C``) needs ``b ≤ u + ε`` (``u − ε`` if
    ``β > 0``). ``lo − hi`` is libsvm's ``m(α) − M(α)``, the largest KKT violation.
    """
    xp = ns.xp
    U = Y - KB
    grow = xp.where(B >= 0, U - epsilon, U + epsilon)
    shrink = xp.where(B <= 0, U + epsilon, U - epsilon)
    lo = xp.where(B < C, grow, -math.inf).max(axis=0)
    hi = xp.where(B > -C, shrink, math.inf).min(axis=0)
    return lo, hi


def _intercept(KB: Any, Y: Any, B: Any, epsilon: float, C: float, ns: Namespace) -> Any:
    """libsvm's intercept: the mean of ``u − ε·sign(β)`` over free entries, else mid-interval."""
    xp = ns.xp
    free = (B != 0) & (xp.abs(B) < C)
    total = xp.where(free, (Y - KB) - epsilon * xp.sign(B), 0.0).astype(xp.float64).sum(axis=0)
    count = free.sum(axis=0)
    lo, hi = _bounds(KB, Y, B, epsilon, C, ns)
    lo, hi = lo.astype(xp.float64), hi.astype(xp.float64)
    middle = 0.5 * (xp.clip(lo, -1e300, 1e300) + xp.clip(hi, -1e300, 1e300))
    return xp.where(count > 0, total / xp.maximum(count, 1), middle).astype(B.dtype)


def _dual_objective(B: Any, KB: Any, Y: Any, epsilon: float, ns: Namespace) -> Any:
    xp = ns.xp
    terms = 0.5 * B * KB - Y * B + epsilon * xp.abs(B)
    return terms.astype(xp.float64).sum(axis=0)


def _step_bound(K: Any, ns: Namespace) -> float:
    """About 1.1 × the largest eigenvalue of ``K`` on ``{Σβ = 0}`` (power iteration)."""
    xp = ns.xp
    n = K.shape[0]
    v = xp.cos(xp.arange(n, dtype=K.dtype) * 1.618)  # deterministic, not constant
    value = 0.0
    for _ in range(POWER_ITERATIONS):
        v = v - v.mean()
        norm = float(xp.linalg.norm(v))
        if norm == 0.0:
            break
        v = v / norm
        w = K @ v
        w = w - w.mean()
        value = float(xp.dot(v, w))
        v = w
    return max(value, float(xp.abs(K).max()) * 1e-12, 1e-300) * STEP_SAFETY


def _top_eigen(K: Any, rank: int, ns: Namespace) -> tuple[Any, Any]:
    """The ``rank`` largest eigenpairs ``(U, w)`` of ``K``, approximately.

    Randomized subspace iteration (one power step) and Rayleigh-Ritz: three products of
    ``K`` with ``rank + PRECONDITION_OVERSAMPLE`` vectors. ``w`` is descending, ``> 0``.
    """
    xp = ns.xp
    n = K.shape[0]
    k = min(rank + PRECONDITION_OVERSAMPLE, n)
    rank = min(rank, k)
    omega = np.random.default_rng(0).standard_normal((n, k)).astype(K.dtype)
    Q, _ = xp.linalg.qr(K @ to_device(omega, ns))
    Q, _ = xp.linalg.qr(K @ Q)
    T = Q.T @ (K @ Q)
    w, V = xp.linalg.eigh(0.5 * (T + T.T))
    w, V = w[::-1][:rank], V[:, ::-1][:, :rank]
    floor = max(float(w[0]) * 1e-6, 1e-30)
    return Q @ V, xp.maximum(w, floor)


class _Preconditioner:
    """``(U_F diag(w) U_Fᵀ + μ I)⁻¹`` on the free rows ``F`` of each column (Woodbury).

    ``U, w`` are the top eigenpairs of the kernel and ``μ`` the smallest of ``w``: the
    kernel restricted to ``F`` is ``U_F diag(w) U_Fᵀ`` plus a remainder below ``μ``, so
    the preconditioned system has its spectrum in ``(λ_min / (λ_min + μ), ~1]``.
    """

    def __init__(self, U: Any, w: Any, free: Any, ns: Namespace) -> None:
        xp = ns.xp
        self.xp, self.U, self.free = xp, U, free
        self.mu = float(w[-1])
        t = free.shape[1]
        mask = free.astype(U.dtype)
        G = xp.stack([U.T @ (U * mask[:, j : j + 1]) for j in range(t)])
        G = G.astype(xp.float64) + xp.diag(self.mu / w.astype(xp.float64))[None]
        self.S = xp.linalg.inv(G).astype(U.dtype)  # (t, r, r)

    def __call__(self, R: Any) -> Any:
        xp = self.xp
        W = (self.U.T @ R).T[:, :, None]  # (t, r, 1)
        coeff = xp.matmul(self.S, W)[:, :, 0].T  # (r, t)
        return xp.where(self.free, R - self.U @ coeff, 0.0) / self.mu


def _newton(
    K: Any,
    Y: Any,
    X: Any,
    KX: Any,
    tau: float,
    epsilon: float,
    C: float,
    lam: Any,
    viol: Any,
    tol: float,
    eigen: list[Any],
    ns: Namespace,
) -> tuple[Any, Any, Any, int]:
    """A Newton step on the free entries of the proximal step from ``X`` (see module doc).

    Returns the feasible point ``Z`` after one proximal step from the Newton point, its
    product ``K Z`` is left to the caller; here ``(Z, λ, K @ Newton point, CG products)``.
    """
    xp = ns.xp
    P0, lam = _prox(X - tau * (KX - Y), tau * epsilon, C, lam, ns)
    free = (P0 != 0) & (xp.abs(P0) < C)
    count = xp.maximum(free.sum(axis=0), 1).astype(X.dtype)
    precondition = _Preconditioner(*eigen, free, ns)

    def project(W: Any) -> Any:  # onto the free entries with sum 0, per column
        W = xp.where(free, W, 0.0)
        return xp.where(free, W - W.sum(axis=0) / count, 0.0)

    B = P0.copy()
    KB = K @ B
    R = project((Y - epsilon * xp.sign(P0)) - KB)
    Zr = project(precondition(R))
    D = Zr.copy()
    rz = (R * Zr).sum(axis=0)
    stop = xp.maximum(NEWTON_CG_STOP * xp.minimum(viol, 1.0), 0.05 * tol)
    running = xp.abs(R).max(axis=0) > stop
    products = 1
    for _ in range(NEWTON_CG):
        if not bool(running.any()):
            break
        KD = K @ D
        products += 1
        curvature = (D * KD).sum(axis=0)
        # a direction (nearly) in the kernel's null space: the free system is singular
        # there, and this column's CG stops (the step is judged by its objective)
        running &= curvature > 1e-10 / tau * (D * D).sum(axis=0)
        a = xp.where(running, rz / xp.where(running, curvature, 1.0), 0.0)
        B += a * D
        KB += a * KD
        R = project(R - a * KD)
        Zr = project(precondition(R))
        rz_new = (R * Zr).sum(axis=0)
        D = project(Zr + xp.where(running, rz_new / xp.maximum(rz, 1e-300), 0.0) * D)
        rz = rz_new
        running &= xp.abs(R).max(axis=0) > stop
    Z, lam = _prox(B - tau * (KB - Y), tau * epsilon, C, lam, ns)
    return Z, lam, KB, products


def _take_newton(
    K: Any,
    Y: Any,
    state: tuple[Any, ...],
    tau: float,
    epsilon: float,
    C: float,
    viol: Any,
    tol: float,
    eigen: list[Any],
    ns: Namespace,
) -> tuple[Any, ...]:
    """A Newton step, taken by the columns whose dual objective it lowers.

    ``state`` is ``(X, KX, λ, Xe, KXe, θ)``; returns it updated, and the KKT violations.
    ``eigen`` holds the kernel's top eigenpairs (computed here, the first time).
    The columns that take the Newton point restart their momentum there; the others keep
    theirs.
    """
    xp = ns.xp
    X, KX, lam, Xe, KXe, theta = state
    if not eigen:
        eigen.extend(_top_eigen(K, PRECONDITION_RANK, ns))
    Z, lam_z, _, _ = _newton(K, Y, X, KX, tau, epsilon, C, lam, viol, tol, eigen, ns)
    KZ = K @ Z
    better = _dual_objective(Z, KZ, Y, epsilon, ns) < _dual_objective(X, KX, Y, epsilon, ns)
    X = xp.where(better, Z, X)
    KX = xp.where(better, KZ, KX)
    lo, hi = _bounds(KX, Y, X, epsilon, C, ns)
    return (
        X,
        KX,
        xp.where(better, lam_z, lam),
        xp.where(better, Z, Xe),
        xp.where(better, KZ, KXe),
        xp.where(better, 1.0, theta),
        lo - hi,
    )


def svr_dual(
    K: Any,
    Y: Any,
    C: float,
    epsilon: float,
    ns: Namespace,
    *,
    tol: float = 1e-3,
    max_iter: int = 10_000,
    coef_init: Any = None,
) -> tuple[Any, Any, int]:
    """Epsilon-SVR dual coefficients and intercepts of every column of ``Y`` on one kernel.

    Solves, for each column ``y`` of ``Y`` independently, libsvm's epsilon-SVR dual
    ``min ½ βᵀKβ − yᵀβ + ε‖β‖₁`` subject to ``−C ≤ β ≤ C``, ``Σβ = 0`` (accelerated
    proximal gradient with restarts and Newton steps; see :mod:`scmodal.models._svr`),
    with one kernel product for all running columns per iteration. Predictions are
    ``K(x, X_train) @ coef + intercept``. No input checks: the caller validates.

    Parameters
    ----------
    K
        ``(n, n)`` symmetric positive semi-definite kernel of the training rows (not
        modified), float32 or float64; the computation runs in its dtype.
    Y
        ``(n, t)`` targets, same dtype and device as ``K``.
    C
        Box bound (> 0), the same for every column.
    epsilon
        Width of the insensitive tube (≥ 0).
    ns
        The array namespace of ``K`` and ``Y``.
    tol
        Stop a column when its largest KKT violation, in units of the targets, is at most
        ``tol`` (libsvm's criterion, as scikit-learn's ``tol``).
    max_iter
        Largest number of iterations (kernel products of the proximal gradient loop).
    coef_init
        ``(n, t)`` coefficients to start from (e.g. the solution for a nearby ``C``);
        clipped to ``[−C, C]`` and shifted to sum to 0 per column.

    Returns
    -------
    coef
        ``(n, t)`` dual coefficients ``β`` (exactly 0 off the support vectors).
    intercept
        ``(t,)`` intercepts ``b``.
    n_iter
        Iterations run (the most any column needed; ``max_iter`` if one did not converge).

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal._backend import CPU
    >>> from sklearn.svm import SVR as SkSVR
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 2))
    >>> Y = np.c_[np.sin(X[:, 0]), X[:, 1]]
    >>> K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    >>> coef, b, n_iter = svr_dual(K, Y, 1.0, 0.1, CPU, tol=1e-6)
    >>> sk = SkSVR(kernel="precomputed", C=1.0, epsilon=0.1, tol=1e-6).fit(K, Y[:, 0])
    >>> bool(np.abs(K @ coef[:, 0] + b[0] - sk.predict(K)).max() < 1e-4)
    True
    """
    xp = ns.xp
    n, t = Y.shape
    dtype = K.dtype
    C, epsilon = float(C), float(epsilon)
    coef = xp.zeros((n, t), dtype=dtype)
    intercept = xp.zeros(t, dtype=dtype)
    if t == 0:
        return coef, intercept, 0
    tau = 1.0 / _step_bound(K, ns)
    lam = xp.zeros(t, dtype=dtype)
    if coef_init is None:
        X = xp.zeros((n, t), dtype=dtype)
        KX = xp.zeros((n, t), dtype=dtype)
    else:  # the nearest feasible point, by the same proximal map with no shrinkage
        X, lam = _prox(xp.asarray(coef_init, dtype=dtype), 0.0, C, lam, ns)
        KX = K @ X
    cols = xp.arange(t)  # the columns still running, and their work arrays below
    Yc, Xe, KXe = Y, X, KX
    theta = xp.ones(t, dtype=dtype)
    viol = xp.full(t, math.inf, dtype=dtype)
    n_iter, newton_at = 0, None
    eigen: list[Any] = []  # the kernel's top eigenpairs, at the first Newton step

    def finish(done: Any) -> None:  # store converged columns, keep the others running
        nonlocal cols, Yc, X, KX, Xe, KXe, theta, lam, viol
        keep = ~done
        where = cols[done]
        coef[:, where] = X[:, done]
        intercept[where] = _intercept(KX[:, done], Yc[:, done], X[:, done], epsilon, C, ns)
        cols, Yc, X, KX = cols[keep], Yc[:, keep], X[:, keep], KX[:, keep]
        Xe, KXe, theta, lam, viol = Xe[:, keep], KXe[:, keep], theta[keep], lam[keep], viol[keep]

    while n_iter < max_iter and cols.shape[0] > 0:
        Xn, lam = _prox(Xe - tau * (KXe - Yc), tau * epsilon, C, lam, ns)
        KXn = K @ Xn
        n_iter += 1
        check = n_iter % CHECK_EVERY == 0 or n_iter == max_iter
        if check:
            lo, hi = _bounds(KXn, Yc, Xn, epsilon, C, ns)
            viol = lo - hi
        # adaptive restart (O'Donoghue & Candès): momentum off where it points uphill
        restart = ((Xe - Xn) * (Xn - X)).sum(axis=0) > 0
        theta = xp.where(restart, 1.0, theta)
        theta_next = 0.5 * (1.0 + xp.sqrt(1.0 + 4.0 * theta * theta))
        momentum = (theta - 1.0) / theta_next
        Xe = Xn + momentum * (Xn - X)
        KXe = (1.0 + momentum) * KXn - momentum * KX  # K @ Xe, by linearity
        X, KX, theta = Xn, KXn, theta_next
        done = viol <= tol
        if check and bool(done.any()):
            finish(done)
            if cols.shape[0] == 0:
                break
        if newton_at is None and (
            float(xp.median(viol)) <= NEWTON_START * tol or n_iter >= NEWTON_AFTER
        ):
            newton_at = n_iter
        if newton_at is not None and n_iter >= newton_at:
            newton_at = n_iter + NEWTON_EVERY
            X, KX, lam, Xe, KXe, theta, viol = _take_newton(
                K, Yc, (X, KX, lam, Xe, KXe, theta), tau, epsilon, C, viol, tol, eigen, ns
            )
            done = viol <= tol
            if bool(done.any()):
                finish(done)
    if cols.shape[0] > 0:  # not converged in max_iter: the last iterates
        worst = float(viol.max())
        finish(xp.ones(cols.shape[0], dtype=bool))
        warnings.warn(
            f"SVR did not converge in max_iter={max_iter} iterations (largest KKT "
            f"violation {worst:.3g} > tol={tol:g}); increase `max_iter` or `tol`.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return coef, intercept, n_iter


def _check_params(svr: SVR) -> tuple[float, float, str, float, int, str]:
    kernel, solver = svr.kernel, svr.solver
    kernels = (*KERNELS, "precomputed")
    if not isinstance(kernel, str) or kernel not in kernels:
        raise ValueError(f"`kernel` must be one of {kernels}; got {kernel!r}.")
    if not isinstance(solver, str) or solver not in SOLVERS:
        raise ValueError(f"`solver` must be one of {SOLVERS}; got {solver!r}.")
    C = check_number(svr.C, "C", positive=True)
    epsilon = check_number(svr.epsilon, "epsilon")
    tol = check_number(svr.tol, "tol", positive=True)
    if svr.gamma is not None:
        check_number(svr.gamma, "gamma", positive=True)
    max_iter = svr.max_iter
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"`max_iter` must be an integer ≥ 1; got {max_iter!r}.")
    for name in ("warm_start", "standardize"):
        if not isinstance(getattr(svr, name), bool | np.bool_):
            raise TypeError(f"`{name}` must be True or False; got {getattr(svr, name)!r}.")
    return C, epsilon, kernel, tol, int(max_iter), solver


def _cuml_fit(
    X: Any,
    Y: Any,
    C: float,
    epsilon: float,
    gamma: float,
    kernel: str,
    tol: float,
    max_iter: int,
) -> tuple[Any, Any, int]:
    """Fit cuML's SVR on each column; returns dense ``(coef, intercept, n_iter)`` (cupy)."""
    try:
        import cuml.svm
    except ImportError as err:
        raise ImportError(
            "solver='cuml' needs RAPIDS cuML: `pip install cuml-cu12` (CUDA 12), see "
            "https://docs.rapids.ai/install; or use solver='auto' (scmodal's batched "
            "solver, on the GPU with cupy input)."
        ) from err
    xp = gpu_namespace().xp  # cuML brings cupy
    X, Y = xp.asarray(X), xp.asarray(Y)
    coef = xp.zeros((X.shape[0], Y.shape[1]), dtype=X.dtype)
    intercept = xp.zeros(Y.shape[1], dtype=X.dtype)
    for j in range(Y.shape[1]):
        model = cuml.svm.SVR(
            kernel=kernel, C=C, epsilon=epsilon, gamma=gamma, tol=tol, max_iter=max_iter
        ).fit(X, Y[:, j])
        support = xp.asarray(model.support_).ravel().astype(xp.int64)
        coef[support, j] = xp.asarray(model.dual_coef_).ravel().astype(X.dtype)
        intercept[j] = float(xp.asarray(model.intercept_).ravel()[0])
    return coef, intercept, max_iter


class SVR(RegressorMixin, BaseEstimator):
    """Epsilon-support vector regression of many targets on one kernel, on numpy or cupy.

    The model of scikit-learn's :class:`~sklearn.svm.SVR` (libsvm), fitted for every
    target column at once: each column is an independent SVR with the same ``C``,
    ``epsilon`` and kernel, and one iteration of the solver is one product of the kernel
    with the coefficients of all columns (:func:`svr_dual`). Computed in float32
    (float64 for float64 input) on the device of the data. The fit holds one ``n × n``
    kernel; before it is allocated, the memory needed is compared with the memory
    available (``MemoryError`` with the number of cells that fit). ``predict`` computes
    the kernel rows of a bounded block of cells at a time. A scikit-learn regressor
    (``score`` is the R² of :meth:`predict`); dense input only.

    Parameters
    ----------
    C
        Box bound on the dual coefficients (> 0): the weight of the training errors.
    epsilon
        Half-width of the tube within which errors cost nothing (≥ 0), in units of the
        targets.
    kernel
        ``"rbf"`` (``exp(-gamma ‖x − y‖²)``), ``"linear"``, or ``"precomputed"``: ``fit``
        takes the ``(n_train, n_train)`` kernel matrix (not modified) and ``predict`` the
        ``(n, n_train)`` kernel rows of new cells.
    gamma
        RBF width; ``None`` means ``1 / n_features``.
    tol
        Stopping tolerance: the largest violation of the optimality (KKT) conditions, in
        units of the targets, per column (libsvm's criterion, as scikit-learn's ``tol``).
    max_iter
        Largest number of solver iterations; a ``ConvergenceWarning`` if reached.
    warm_start
        Start from the previous fit's ``dual_coef_`` when it has the same training cells
        and targets (e.g. along a path of ``C`` values).
    solver
        ``"auto"``: scmodal's batched solver. ``"cuml"``: RAPIDS cuML's ``SVR`` fitted
        column by column (needs ``cuml``; not for ``kernel="precomputed"``).
    standardize
        Fit each target column in units of its standard deviation ``s_j``: ``C``,
        ``epsilon`` and ``tol`` are then relative to it (the SVR of column ``j`` with
        ``C·s_j`` and ``epsilon·s_j``), so one setting suits targets of any scale, e.g.
        the SVD scores of ``ModalityPredictor``. The fitted coefficients are scaled back:
        ``predict`` gives the targets on their own scale.

    Attributes
    ----------
    dual_coef_
        ``(n_train, n_targets)`` (``(n_train,)`` for 1-D ``y``) coefficients ``β``, 0 for
        the cells that are not support vectors.
    intercept_
        ``(n_targets,)`` intercepts (0-d for 1-D ``y``).
    n_iter_
        Solver iterations.
    X_fit_
        The training rows (``None`` with ``kernel="precomputed"``).
    gamma_
        The RBF width used (``None`` with ``kernel="precomputed"``).
    n_features_in_
        Number of features seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from scmodal.models import SVR
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 3))
    >>> Y = np.c_[np.sin(X[:, 0]), np.cos(X[:, 1])]
    >>> model = SVR(C=1.0, epsilon=0.05, gamma=0.5).fit(X, Y)
    >>> float(np.abs(model.predict(X) - Y).mean()) < 0.1
    True
    """

    def __init__(
        self,
        C: float = 1.0,
        epsilon: float = 0.1,
        kernel: str = "rbf",
        gamma: float | None = None,
        tol: float = 1e-3,
        max_iter: int = 10_000,
        warm_start: bool = False,
        solver: str = "auto",
        standardize: bool = False,
    ) -> None:
        self.C = C
        self.epsilon = epsilon
        self.kernel = kernel
        self.gamma = gamma
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.solver = solver
        self.standardize = standardize

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.pairwise = self.kernel == "precomputed"
        return tags

    def fit(self, X: Array | ArrayLike, y: Array | ArrayLike) -> SVR:
        """Fit on dense ``X`` (samples × features) and targets ``y`` (samples or samples × t).

        Parameters
        ----------
        X
            Dense numpy or cupy array, finite; with ``kernel="precomputed"`` the square
            kernel matrix of the training rows.
        y
            Targets with ``len(X)`` rows, finite, on the same device as ``X``.

        Returns
        -------
        The fitted estimator.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import SVR
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> SVR(kernel="linear").fit(X, X[:, 0]).dual_coef_.shape
        (5,)
        """
        C, epsilon, kernel, tol, max_iter, solver = _check_params(self)
        X = check_input(X, "X", accept_sparse=False)
        y = check_targets(y, "y", self)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"`y` has {y.shape[0]} rows; `X` has {X.shape[0]}.")
        if kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(
                "with kernel='precomputed', `X` must be the square kernel matrix of the "
                f"training rows (n_train × n_train); got shape {X.shape}."
            )
        if solver == "cuml" and kernel == "precomputed":
            raise ValueError("solver='cuml' does not take kernel='precomputed'; use 'auto'.")
        ns = get_namespace(X, y)
        dtype = np.float64 if X.dtype == np.float64 else np.float32
        gamma = 1.0 / X.shape[1] if self.gamma is None else float(self.gamma)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        n_targets = Y.shape[1]
        if solver == "cuml":
            coef, intercept, n_iter = _cuml_fit(X, Y, C, epsilon, gamma, kernel, tol, max_iter)
            self._store(coef, intercept, n_iter, y, ns.xp.asarray(X, dtype=dtype), gamma)
            return self
        itemsize = np.dtype(dtype).itemsize
        converted = converts(Y, dtype, ns) * n_targets
        if kernel != "precomputed":
            converted += converts(X, dtype, ns) * X.shape[1]
        check_kernel_memory(
            X.shape[0],
            lambda n: svr_fit_bytes(n, n_targets, itemsize, n_converted=converted),
            ns,
            task=lambda n: (
                f"support vector regression on {n:,} training cells "
                f"({n:,} × {n:,} kernel of {itemsize}-byte floats)"
            ),
            advice=fit_advice(ns),
        )
        coef_init = None
        if self.warm_start and hasattr(self, "dual_coef_"):
            previous = self.dual_coef_
            previous = previous.reshape(-1, 1) if previous.ndim == 1 else previous
            if previous.shape == (X.shape[0], n_targets) and is_gpu_array(previous) == ns.is_gpu:
                coef_init = previous
        if kernel == "precomputed":
            K = ns.xp.asarray(X, dtype=dtype)
            X_fit = None
        else:
            X_fit = ns.xp.asarray(X, dtype=dtype)
            K = kernel_matrix(X_fit, X_fit, kernel, gamma, ns)
        Y = ns.xp.asarray(Y, dtype=dtype)
        scale = None
        if self.standardize:  # the columns in units of their standard deviation
            scale = Y.std(axis=0)
            scale = ns.xp.where(scale > 0, scale, 1).astype(dtype)
            Y = Y / scale
            coef_init = None if coef_init is None else coef_init / scale
        coef, intercept, n_iter = svr_dual(
            K, Y, C, epsilon, ns, tol=tol, max_iter=max_iter, coef_init=coef_init
        )
        del K
        if scale is not None:  # the SVR of each column with C·s_j, epsilon·s_j
            coef *= scale
            intercept *= scale
        self._store(coef, intercept, n_iter, y, X_fit, None if kernel == "precomputed" else gamma)
        return self

    def _store(
        self, coef: Any, intercept: Any, n_iter: int, y: Any, X_fit: Any, gamma: Any
    ) -> None:
        one = y.ndim == 1
        self.dual_coef_ = coef[:, 0] if one else coef
        self.intercept_ = intercept[0] if one else intercept
        self.n_iter_ = int(n_iter)
        self.n_features_in_ = coef.shape[0] if X_fit is None else X_fit.shape[1]
        self.X_fit_ = X_fit
        self.gamma_ = gamma

    def predict(self, X: Array | ArrayLike) -> Array:
        """Predict the targets of new rows: ``K(X, X_fit_) @ dual_coef_ + intercept_``.

        Parameters
        ----------
        X
            Dense array with the training data's number of features; with
            ``kernel="precomputed"``, the kernel rows ``(n, n_train)`` of the new rows.

        Returns
        -------
        Predictions on the device of the training data, in its compute dtype.

        Examples
        --------
        >>> import numpy as np
        >>> from scmodal.models import SVR
        >>> X = np.arange(10.0).reshape(5, 2)
        >>> SVR(kernel="linear").fit(X, X[:, 0]).predict(X[:2]).shape
        (2,)
        """
        if not hasattr(self, "dual_coef_"):
            raise NotFittedError("This SVR is not fitted yet; call `fit` first.")
        X = check_input(X, "X", accept_sparse=False)
        check_n_features(X, self.n_features_in_, self)
        ns = get_namespace(self.dual_coef_)
        dtype = self.dual_coef_.dtype
        n_train, n_predict = self.dual_coef_.shape[0], X.shape[0]
        n_targets = 1 if self.dual_coef_.ndim == 1 else self.dual_coef_.shape[1]
        converted = converts(X, dtype, ns) * X.shape[1]
        check_kernel_memory(
            n_predict,
            lambda n: kernel_ridge_predict_bytes(
                n, n_train, n_targets, dtype.itemsize, n_converted=converted
            ),
            ns,
            task=lambda n: f"predicting {n:,} cells by SVR on {n_train:,} training cells",
            cells="cells",
            advice=PREDICT_ADVICE,
        )
        X = ns.xp.asarray(X, dtype=dtype)
        out = ns.xp.empty((n_predict, *self.dual_coef_.shape[1:]), dtype=dtype)
        blocks = kernel_row_blocks(
            X, self.X_fit_, self.kernel, self.gamma_, ns, dtype.itemsize * n_train
        )
        for rows, K in blocks:  # one block of kernel rows at a time
            ns.xp.matmul(K, self.dual_coef_, out=out[rows])
            del K
        out += self.intercept_
        return out


__all__ = ["SVR", "svr_dual", "svr_fit_bytes"]
