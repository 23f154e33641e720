"""The descent benchmark's problems and baseline loops (NumPy, JAX), shared by bench_descent.py
and compare_descent.py."""
from __future__ import annotations

import os

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

PROBLEMS = {  # name: (expression, lr)
    "Rosenbrock": ("(1 - x)**2 + 100*(y - x**2)**2", 1e-3),
    "Himmelblau": ("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", 1e-2),
}


def np_grad(name, X):
    x, y = X[:, 0], X[:, 1]
    if name == "Rosenbrock":
        t = y - x * x
        return np.stack([-2 * (1 - x) - 400 * x * t, 200 * t], 1)
    u, v = x * x + y - 11, x + y * y - 7
    return np.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], 1)


def numpy_gd(name, X0, lr, steps):
    X = X0.copy()
    with np.errstate(all="ignore"):
        for _ in range(steps):
            X = X - lr * np_grad(name, X)
    return X


def jax_gd(name, lr, steps):
    """jit of a fori_loop over vmap(grad), or None without JAX."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def f(p):
        x, y = p[0], p[1]
        if name == "Rosenbrock":
            return (1 - x) ** 2 + 100 * (y - x**2) ** 2
        return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2

    g = jax.vmap(jax.grad(f))
    run = jax.jit(lambda X: jax.lax.fori_loop(0, steps, lambda i, X: X - lr * g(X), X))
    return lambda X0: np.asarray(run(jnp.asarray(X0)).block_until_ready())
