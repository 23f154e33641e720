"""compare.py rows for fastcalc.dask: value and gradient at 10^8 points, scaled out over two
dask workers, against one process.

The points are made once and kept in memory where each scheduler computes (in this process, or
persisted on the cluster's workers); what is timed is value and gradient of every point, reduced
to their sums so that no scheduler ships 2.4 GB of results back. Every row runs one thread per
worker with OpenMP off inside calls (OMP_NUM_THREADS=1, set by _timing), so the parallelism is
dask's alone; the machine has two cores.
"""
from __future__ import annotations

import logging
from typing import List

import numpy as np

from _timing import Row, best_times

import fastcalc as fc

TEXT = "x*exp(-(x**2+y**2)) + sin(3*x)*tanh(y)"


def _sums(f, X):
    v, g = f.value_and_gradient(X)
    return np.array([v.sum(), g[:, 0].sum(), g[:, 1].sum()])


def rows(quick: bool) -> List[Row]:
    try:
        import dask
        import dask.array as da
        from dask.distributed import Client, LocalCluster
    except ImportError:
        return [Row("value and gradient, 10^8 points", "fastcalc.dask", None, note="not run: dask not installed")]
    import fastcalc.dask as fcd

    n = 400_000 if quick else 100_000_000
    chunk = 100_000 if quick else 1_000_000
    f = fc.expr(TEXT)
    task = f"value and gradient of {TEXT}, {n:.0e} points in chunks of {chunk:,}, summed"
    X = da.random.default_rng(19).uniform(-2.0, 2.0, size=(n, 2), chunks=(chunk, 2))
    local = X.persist(scheduler="threads")
    plain = local.compute(scheduler="threads")  # the same points as one NumPy array
    _sums(f, plain[:chunk])  # the native kernel, compiled once and cached on disk

    def one_process():
        return sum(_sums(f, plain[i:i + chunk]) for i in range(0, n, chunk))

    def on(scheduler, Xs, **options):
        v, g = fcd.value_and_gradient(f, Xs)
        vs, gs = dask.compute(v.sum(), g.sum(axis=0), scheduler=scheduler, **options)
        return np.array([vs, gs[0], gs[1]])

    reference = on("sync", local)

    def err(s):
        return float(np.max(np.abs(s - reference) / np.abs(reference)))

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        remote = client.persist(X)
        distributed_wait(remote)
        cases = [
            ("fastcalc, one process, a loop over the chunks (no dask)", one_process),
            ("fastcalc.dask, synchronous scheduler (one process, one thread)", lambda: on("sync", local)),
            ("fastcalc.dask, threaded scheduler (one process, two threads)",
             lambda: on("threads", local, num_workers=2)),
            ("fastcalc.dask, LocalCluster (two worker processes, one thread each)", lambda: on(client.get, remote)),
        ]
        sums = [fn() for _, fn in cases]  # warm: kernels loaded in every process
        # interleaved passes: a burst of load from elsewhere must hit a row in every pass to count
        times = best_times([fn for _, fn in cases], repeat=1 if quick else 2, passes=1 if quick else 3, budget=60.0)
    return [Row(task, who, t, err(s)) for (who, _), t, s in zip(cases, times, sums)]


def distributed_wait(x) -> None:
    from dask.distributed import wait

    wait(x)


SECTIONS = [("Scale-out: fastcalc.dask", rows)]
