"""compare.py rows for the ODE solver: fastcalc against the same method in PyTorch."""
from __future__ import annotations

from typing import List

from _timing import Row

from ode_torch import fastcalc_run, run


def rows(quick: bool) -> List[Row]:
    out: List[Row] = []
    task = "Adam, time per epoch (y' + y/5 = exp(-x/5) cos x on [0, 2], 10 tanh units, 100 points)"
    fc_adam = fastcalc_run("adam", max_epochs=2000 if quick else 200000)
    out.append(Row(task, "fastcalc (C++)", fc_adam["per_epoch"]))
    try:
        import torch  # noqa: F401
    except ImportError:
        out.append(Row(task, "PyTorch", None, note="not installed: pip install torch==2.13.0"))
        torch_ok = False
    else:
        torch_ok = True
        t_adam = run("adam", max_seconds=2 if quick else 30)
        out.append(Row(task, "PyTorch (CPU, float64, 1 thread)", t_adam["per_epoch"]))
    task = "time to max error 1e-4 on a fine grid"
    lm = fastcalc_run("lm")
    lm4 = fastcalc_run("lm-target", target=1e-4)
    out.append(Row(task, "fastcalc Levenberg-Marquardt, stopped at the target", lm4["to_target"], lm4["error"],
                   note=f"{lm4['epochs']} epochs"))
    out.append(Row(task, "fastcalc defaults (run to convergence)", lm["to_target"], lm["error"],
                   note=f"{lm['epochs']} epochs"))
    out.append(Row(task, "fastcalc Adam (lr 1e-2)", fc_adam["to_target"], fc_adam["error"],
                   note=f"{fc_adam['epochs']} epochs"))
    if torch_ok:
        t_lbfgs = run("lbfgs", max_seconds=2 if quick else 30)
        out.append(Row(task, "PyTorch Adam (lr 1e-2)", t_adam["to_target"] if t_adam["to_target"] == t_adam["to_target"]
                       else None, t_adam["error"], note=f"{t_adam['epochs']} epochs"))
        out.append(Row(task, "PyTorch L-BFGS (strong Wolfe)", t_lbfgs["to_target"]
                       if t_lbfgs["to_target"] == t_lbfgs["to_target"] else None, t_lbfgs["error"],
                       note=f"{t_lbfgs['epochs']} steps"))
    task = "time to max error 1e-5 on a fine grid"
    lm5 = fastcalc_run("lm-target", target=1e-5)
    out.append(Row(task, "fastcalc Levenberg-Marquardt, stopped at the target", lm5["to_target"], lm5["error"],
                   note=f"{lm5['epochs']} epochs"))
    out.append(Row(task, "fastcalc defaults (run to convergence)", lm["to_target"] if lm["error"] < 1e-5 else None,
                   lm["error"]))
    if torch_ok:
        t5 = run("lbfgs", target=1e-5, max_seconds=5 if quick else 60)
        out.append(Row(task, "PyTorch L-BFGS (strong Wolfe)", t5["to_target"] if t5["to_target"] == t5["to_target"]
                       else None, t5["error"], note=f"{t5['epochs']} steps"))
        a5 = run("adam", target=1e-5, max_seconds=5 if quick else 60)
        out.append(Row(task, "PyTorch Adam (lr 1e-2)", a5["to_target"] if a5["to_target"] == a5["to_target"] else None,
                       a5["error"], note=f"{a5['epochs']} epochs, stalls above 1e-5"))
    return out


SECTIONS = [("ODEs by neural networks", rows)]
