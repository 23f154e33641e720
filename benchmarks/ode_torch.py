"""The same ODE method in PyTorch (CPU, float64, one thread): a 10-unit tanh network in the trial
solution y = y0 + x N(x), residual loss at the same collocation points, the same optimizer."""
from __future__ import annotations

import time
from typing import Callable, Dict

import numpy as np

A, B = 0.0, 2.0


def exact(x):
    return np.exp(-x / 5) * np.sin(x)


def points(n: int = 100) -> np.ndarray:
    k = np.arange(n)
    return A + (B - A) * (1 - np.cos(np.pi * k / (n - 1))) / 2


def run(optimizer: str, target: float = 1e-4, max_seconds: float = 20.0, hidden: int = 10) -> Dict[str, float]:
    """Trains until the max error on a fine grid is below ``target`` (checked every 100 epochs)
    or ``max_seconds`` pass. Returns seconds per epoch, time to target, final error."""
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dt = torch.float64
    x = torch.tensor(points(), dtype=dt).reshape(-1, 1).requires_grad_(True)
    net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).to(dt)
    grid = np.linspace(A, B, 501)
    xg = torch.tensor(grid, dtype=dt).reshape(-1, 1)

    def loss_fn():
        n = net(x)
        dn = torch.autograd.grad(n, x, torch.ones_like(n), create_graph=True)[0]
        y = x * n
        dy = n + x * dn
        r = dy - (torch.exp(-x / 5) * torch.cos(x) - y / 5)
        return (r**2).mean()

    def error():
        with torch.no_grad():
            return float(np.max(np.abs((xg * net(xg)).numpy().ravel() - exact(grid))))

    if optimizer == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)

        def step():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            opt.step()
    else:
        opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=20, history_size=10,
                                line_search_fn="strong_wolfe", tolerance_grad=0, tolerance_change=0)

        def closure():
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        def step():
            opt.step(closure)
    epochs, start, reached = 0, time.perf_counter(), None
    err = error()
    while time.perf_counter() - start < max_seconds:
        for _ in range(100 if optimizer == "adam" else 1):
            step()
            epochs += 1
        err = error()
        if err < target and reached is None:
            reached = time.perf_counter() - start
            break
    elapsed = time.perf_counter() - start
    return {"per_epoch": elapsed / max(epochs, 1), "to_target": reached if reached is not None else float("nan"),
            "error": err, "epochs": epochs}


def fastcalc_run(optimizer: str, target: float = 1e-4, max_epochs: int = 200000) -> Dict[str, float]:
    """The same problem with fastcalc: time per epoch and time to reach the target error."""
    import fastcalc as fc

    grid = np.linspace(A, B, 501)
    rhs = "exp(-x/5)*cos(x) - y/5"
    t0 = time.perf_counter()
    if optimizer == "lm":  # the defaults: until the error estimate meets its goal
        sol = fc.solve_ode(rhs, (A, B), y0=0.0)
        elapsed = time.perf_counter() - t0
        return {"per_epoch": elapsed / max(sol.nit, 1), "to_target": elapsed,
                "error": float(np.max(np.abs(sol(grid) - exact(grid)))), "epochs": sol.nit,
                "estimate": sol.max_error_estimate}
    if optimizer == "lm-target":  # LM with a growing epoch budget until the target is met
        for epochs in (5, 10, 20, 40, 80, 160, 320, 640, 1280):
            t0 = time.perf_counter()
            sol = fc.solve_ode(rhs, (A, B), y0=0.0, maxiter=epochs, segments=1, stages=1, tol=1e-300,
                               atol=1.0)
            elapsed = time.perf_counter() - t0
            err = float(np.max(np.abs(sol(grid) - exact(grid))))
            if err < target:
                return {"per_epoch": elapsed / sol.nit, "to_target": elapsed, "error": err, "epochs": sol.nit}
        return {"per_epoch": elapsed / sol.nit, "to_target": float("nan"), "error": err, "epochs": sol.nit}
    # Adam at PyTorch's settings: the time of an epoch, and the epochs it needs (deterministic
    # retraining with a growing epoch budget, checked every 500 epochs as PyTorch is every 100)
    per_epoch = fastcalc_epoch("adam", 10, 100, 2000)
    epochs, err, reached = 0, float("inf"), float("nan")
    while epochs < max_epochs:
        epochs += 500
        sol = fc.solve_ode(rhs, (A, B), y0=0.0, method="adam", lr=1e-2, maxiter=epochs, segments=1, stages=1,
                           tol=1e-300, atol=1.0)
        err = float(np.max(np.abs(sol(grid) - exact(grid))))
        if err < target:
            reached = per_epoch * epochs
            break
    return {"per_epoch": per_epoch, "to_target": reached, "error": err, "epochs": epochs}


def fastcalc_epoch(method: str, hidden: int, n: int, epochs: int) -> float:
    """Seconds per epoch of solve_ode's training loop (the C++ call it makes, `epochs` epochs from
    the same initial network, no early stop) with one network of `hidden` tanh units on n
    Chebyshev points, as torch_epoch times PyTorch's."""
    import fastcalc as fc
    from _timing import best_time
    from fastcalc import _core

    tape = fc.expr("exp(-x/5)*cos(x) - y/5", vars=["x", "y"])._tape()
    problem = dict(trial=0, a=A, b=B, order=1, y0=[0.0])
    p0 = np.asarray(_core.ode_init([hidden], 1, 0, 0))
    x = np.ascontiguousarray(points(n))
    code = {"lm": 0, "adam": 1}[method]

    def train():
        res = _core.ode_train([hidden], 1, 0, problem, tape, None, p0, x, code, 1e-2, epochs, 0.0, 10, None)
        assert res["epochs"] == epochs

    return best_time(train, repeat=5, budget=30) / epochs


def torch_epoch(method: str, hidden: int, n: int, epochs: int) -> float:
    """Seconds per epoch of the same network, trial solution and loss in PyTorch (float64, one
    thread): Adam, or one Levenberg-Marquardt step (the residual Jacobian by torch.func.jacrev,
    the damped normal equations by Cholesky, the trial point's residuals), as fastcalc's."""
    import torch
    from torch.func import functional_call, jacrev, jvp

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dt = torch.float64
    x = torch.tensor(points(n), dtype=dt).reshape(-1, 1)
    net = torch.nn.Sequential(torch.nn.Linear(1, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1)).to(dt)

    def residual_of(params):  # autograd for x-derivative (Adam, as ``run``)
        xx = x.clone().requires_grad_(True)
        nn_ = functional_call(net, params, (xx,))
        dn = torch.autograd.grad(nn_, xx, torch.ones_like(nn_), create_graph=True)[0]
        y = xx * nn_
        dy = nn_ + xx * dn
        return (dy - (torch.exp(-xx / 5) * torch.cos(xx) - y / 5)).reshape(-1)

    def residual_func(params):  # forward mode in x, composable with jacrev over the parameters
        nn_, dn = jvp(lambda xx: functional_call(net, params, (xx,)), (x,), (torch.ones_like(x),))
        y = x * nn_
        dy = nn_ + x * dn
        return (dy - (torch.exp(-x / 5) * torch.cos(x) - y / 5)).reshape(-1)

    if method == "adam":
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        params = dict(net.named_parameters())

        def step():
            opt.zero_grad()
            loss = (residual_of(params) ** 2).mean()
            loss.backward()
            opt.step()
    else:
        names = [k for k, _ in net.named_parameters()]
        flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
        shapes = [p.shape for p in net.parameters()]
        state = {"p": flat, "lam": 1e-3}

        def unflat(v):
            out, at = {}, 0
            for k, shp in zip(names, shapes):
                size = int(np.prod(shp))
                out[k] = v[at:at + size].reshape(shp)
                at += size
            return out

        def r_of(v):
            return residual_func(unflat(v))

        def step():
            p = state["p"]
            r = r_of(p).detach()
            J = jacrev(r_of)(p).detach()
            Amat = J.T @ J
            D = torch.diagonal(Amat) + 1e-12 * torch.max(torch.diagonal(Amat))
            L = torch.linalg.cholesky(Amat + state["lam"] * torch.diag(D))
            d = torch.cholesky_solve(-(J.T @ r).reshape(-1, 1), L).reshape(-1)
            rn = r_of(p + d).detach()
            if (rn ** 2).mean() < (r ** 2).mean():
                state["p"] = p + d
                state["lam"] /= 3
            else:
                state["lam"] *= 2
    for _ in range(3):
        step()
    from _timing import best_time

    def run():
        for _ in range(epochs):
            step()

    return best_time(run, repeat=3, budget=30) / epochs
