"""compare.py rows for the ODE solver: fastcalc against the same method in PyTorch."""
from __future__ import annotations

from typing import List

from _timing import Row

from ode_torch import fastcalc_epoch, fastcalc_run, run, torch_epoch


def rows(quick: bool) -> List[Row]:
    out: List[Row] = []
    try:
        import torch  # noqa: F401
    except ImportError:
        torch_ok = False
    else:
        torch_ok = True
    # one epoch of the same method on the same network (y' + y/5 = exp(-x/5) cos x on [0, 2],
    # y = x N(x), N with H tanh units, N Chebyshev points)
    sizes = (("adam", 10, 100, 2000), ("adam", 64, 5000, 100), ("lm", 64, 1000, 20))
    if quick:  # a smoke test: small networks, few epochs
        sizes = (("adam", 10, 100, 20), ("adam", 16, 200, 5), ("lm", 16, 100, 3))
    for method, H, N, epochs in sizes:
        name = {"adam": "Adam", "lm": "Levenberg-Marquardt"}[method]
        task = f"{name}, time per epoch, {H} tanh units, {N} points"
        out.append(Row(task, "fastcalc (C++ training loop)", fastcalc_epoch(method, H, N, epochs)))
        if torch_ok:
            how = "torch.func.jacrev + Cholesky" if method == "lm" else "torch.optim.Adam"
            out.append(Row(task, f"PyTorch ({how}; CPU, float64, 1 thread)", torch_epoch(method, H, N, epochs)))
        else:
            out.append(Row(task, "PyTorch", None, note="not installed: pip install torch==2.13.0"))
    fc_adam = fastcalc_run("adam", max_epochs=2000 if quick else 200000)
    if torch_ok:
        t_adam = run("adam", max_seconds=1 if quick else 30)
    task = "time to max error 1e-4 on a fine grid"
    lm = fastcalc_run("lm")
    lm4 = fastcalc_run("lm-target", target=1e-4)
    out.append(Row(task, "fastcalc Levenberg-Marquardt, stopped at the target", lm4["to_target"], lm4["error"],
                   note=f"{lm4['epochs']} epochs"))
    out.append(Row(task, "fastcalc defaults (until the error estimate is atol / 10)", lm["to_target"], lm["error"],
                   note=f"{lm['epochs']} epochs, estimate {lm['estimate']:.1e}"))
    out.append(Row(task, "fastcalc Adam (lr 1e-2)", fc_adam["to_target"] if fc_adam["to_target"] == fc_adam["to_target"]
                   else None, fc_adam["error"],
                   note=f"{fc_adam['epochs']} epochs"))
    if torch_ok:
        t_lbfgs = run("lbfgs", max_seconds=1 if quick else 30)
        out.append(Row(task, "PyTorch Adam (lr 1e-2)", t_adam["to_target"] if t_adam["to_target"] == t_adam["to_target"]
                       else None, t_adam["error"], note=f"{t_adam['epochs']} epochs"))
        out.append(Row(task, "PyTorch L-BFGS (strong Wolfe)", t_lbfgs["to_target"]
                       if t_lbfgs["to_target"] == t_lbfgs["to_target"] else None, t_lbfgs["error"],
                       note=f"{t_lbfgs['epochs']} steps"))
    task = "time to max error 1e-5 on a fine grid"
    lm5 = fastcalc_run("lm-target", target=1e-5)
    out.append(Row(task, "fastcalc Levenberg-Marquardt, stopped at the target", lm5["to_target"], lm5["error"],
                   note=f"{lm5['epochs']} epochs"))
    out.append(Row(task, "fastcalc defaults (until the error estimate is atol / 10)",
                   lm["to_target"] if lm["error"] < 1e-5 else None, lm["error"]))
    if torch_ok:
        t5 = run("lbfgs", target=1e-5, max_seconds=1 if quick else 60)
        out.append(Row(task, "PyTorch L-BFGS (strong Wolfe)", t5["to_target"] if t5["to_target"] == t5["to_target"]
                       else None, t5["error"], note=f"{t5['epochs']} steps"))
        a5 = run("adam", target=1e-5, max_seconds=1 if quick else 60)
        out.append(Row(task, "PyTorch Adam (lr 1e-2)", a5["to_target"] if a5["to_target"] == a5["to_target"] else None,
                       a5["error"], note=f"{a5['epochs']} epochs, stalls above 1e-5"))
    return out


SECTIONS = [("ODEs by neural networks", rows)]
