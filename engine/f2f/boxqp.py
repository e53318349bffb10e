"""A small dense box-constrained quadratic program, solved exactly by a primal active set.

    minimise 0.5 x'Hx - g'x  subject to  lo <= x <= hi      (H symmetric positive definite)

Rig weights live in [0, 1] and many controls come in antagonistic pairs (jawLeft and
jawRight, mouthLeft and mouthRight, look in and look out): an unconstrained solve splits a
motion between the two with opposite signs, and clamping afterwards halves it. With the
bounds inside the solve, the pair resolves to one control at the full amount. Sizes here
are a few dozen unknowns; warm-started from the previous frame's solution and active set,
a frame usually takes one or two small dense solves.
"""
from __future__ import annotations

import numpy as np


def solve_box_qp(H: np.ndarray, g: np.ndarray, lo: float | np.ndarray,
                 hi: float | np.ndarray, x0: np.ndarray | None = None,
                 fixed: np.ndarray | None = None, max_iter: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(x, fixed): the minimiser and the mask of variables held on a bound.

    ``x0`` (clipped into the box) and ``fixed`` warm-start the active set; without them it
    starts from the clipped unconstrained minimiser.
    """
    n = len(g)
    lo = np.broadcast_to(np.asarray(lo, np.float64), (n,))
    hi = np.broadcast_to(np.asarray(hi, np.float64), (n,))
    x = np.clip(np.linalg.solve(H, g) if x0 is None else np.asarray(x0, np.float64), lo, hi)
    if fixed is None:
        grad = H @ x - g
        fixed = ((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0))
    else:
        fixed = fixed.copy()
        x[fixed] = np.where(np.abs(x[fixed] - lo[fixed]) <= np.abs(x[fixed] - hi[fixed]),
                            lo[fixed], hi[fixed])
    max_iter = max_iter or 4 * n + 10
    for _ in range(max_iter):
        free = ~fixed
        if free.any():
            fi = np.flatnonzero(free)
            target = np.linalg.solve(H[np.ix_(fi, fi)], g[fi] - H[fi][:, fixed] @ x[fixed])
            xf = x[fi]
            step = target - xf
            # the longest step along the way that stays feasible
            with np.errstate(divide="ignore", invalid="ignore"):
                a = np.where(step < 0, (lo[fi] - xf) / step,
                             np.where(step > 0, (hi[fi] - xf) / step, np.inf))
            alpha = float(a.min())
            if alpha < 1.0:
                alpha = max(alpha, 0.0)
                x[fi] = np.clip(xf + alpha * step, lo[fi], hi[fi])
                block = fi[a <= alpha + 1e-12]
                x[block] = np.where(step[a <= alpha + 1e-12] < 0, lo[block], hi[block])
                fixed[block] = True  # blocked by a bound: hold it there
                continue
            x[fi] = target
        # optimal on the free set: release the fixed variable whose multiplier has the
        # wrong sign most (the objective wants it back inside the box)
        grad = H @ x - g
        wrong = np.where(fixed & (x <= lo), -grad, 0.0) + np.where(fixed & (x >= hi), grad, 0.0)
        j = int(np.argmax(wrong))
        if wrong[j] <= 1e-12:
            break
        fixed[j] = False
    return x, fixed
