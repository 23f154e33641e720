"""The descent methods of fastcalc.optimize in plain NumPy (time loop outside, runs vectorized):
the same formulas, the same stop rules, so the C++ iterates match to rounding."""
import numpy as np

METHODS = ("gd", "momentum", "nesterov", "adam")


def descent(value_and_grad, x0, *, lr=0.1, steps=100, method="gd", maximize=False, tol=None, momentum=0.9,
            betas=(0.9, 0.999), eps=1e-8, line_search=False, armijo_c=1e-4, max_backtracks=60, blowup=1e8):
    """value_and_grad(X (k, n)) -> (f (k,), G (k, n)). x0 (k, n); lr scalar or (k,).
    Returns a dict like fastcalc.descent's result, with the full history."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}")
    x = np.array(x0, dtype=float, copy=True)
    k, n = x.shape
    lr = np.broadcast_to(np.asarray(lr, dtype=float), (k,)).copy()
    sg = -1.0 if maximize else 1.0
    tol2 = tol * tol if tol else -1.0
    lim = np.maximum(1.0, np.max(np.abs(x), axis=1)) * blowup
    s1, s2 = np.zeros_like(x), np.zeros_like(x)
    act = np.ones(k, bool)
    res = dict(fun=np.zeros(k), grad_norm=np.zeros(k), nit=np.zeros(k, np.int64), converged=np.zeros(k, bool),
               diverged=np.zeros(k, bool))
    f, g = value_and_grad(x)
    f, g = np.array(f, float), np.array(g, float)
    hist, fhist = [], []
    for t in range(steps + 1):
        hist.append(x.copy())
        fhist.append(f.copy())
        gn2 = np.sum(g * g, axis=1)
        with np.errstate(invalid="ignore"):
            # the value is tested at the last step only; iterate and gradient at every step
            bad = (~(np.abs(f) <= np.finfo(float).max) & (t == steps)) \
                | ~np.all(np.abs(x) <= lim[:, None], axis=1) | ~(gn2 <= np.finfo(float).max)
        conv = ~bad & (gn2 < tol2)
        stop = act & (bad | conv | (t == steps))
        res["nit"][stop] = t
        res["fun"][stop] = f[stop]
        res["grad_norm"][stop] = np.sqrt(gn2[stop])
        res["diverged"][stop] = bad[stop]
        res["converged"][stop] = conv[stop]
        act &= ~stop
        if not act.any():
            break
        G = sg * g
        a = act[:, None]
        if line_search:
            alpha, srch, F0 = lr.copy(), act.copy(), sg * f
            for it in range(max_backtracks):
                xt = x - alpha[:, None] * G
                ft, gt = value_and_grad(xt)
                acc = srch & ((sg * ft <= F0 - armijo_c * alpha * gn2) | (it + 1 == max_backtracks))
                x[acc], f[acc], g[acc] = xt[acc], ft[acc], gt[acc]
                srch &= ~acc
                alpha[srch] *= 0.5
                if not srch.any():
                    break
            continue
        if method == "gd":
            xn = x - lr[:, None] * G
        elif method in ("momentum", "nesterov"):
            v = momentum * s1 + G
            xn = x - lr[:, None] * ((G + momentum * v) if method == "nesterov" else v)
            s1 = np.where(a, v, s1)
        else:
            b1, b2 = betas
            c1, c2 = 1.0 - b1 ** float(t + 1), 1.0 - b2 ** float(t + 1)
            m = b1 * s1 + (1.0 - b1) * G
            v = b2 * s2 + (1.0 - b2) * (G * G)
            xn = x - lr[:, None] * (m / c1) / (np.sqrt(v / c2) + eps)
            s1, s2 = np.where(a, m, s1), np.where(a, v, s2)
        x = np.where(a, xn, x)
        fn, gnew = value_and_grad(x)
        f = np.where(act, fn, f)
        g = np.where(a, gnew, g)
    while len(hist) < steps + 1:
        hist.append(x.copy())
        fhist.append(f.copy())
    res.update(x=x, history=np.array(hist), fun_history=np.array(fhist))
    return res


def gd_numpy_loop(grad, x0, lr, steps):
    """The benchmark's baseline: plain vectorized NumPy gradient descent, nothing else."""
    x = np.array(x0, dtype=float, copy=True)
    for _ in range(steps):
        x = x - lr * grad(x)
    return x
