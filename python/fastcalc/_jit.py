"""Optional native kernels, generated as C++ from a compiled Program, compiled once with the
system compiler and cached on disk:

- descent's step loop (many runs times many steps): an interpreted program keeps every temporary
  in memory; the generated loop does the same operations in the same order, so the same bits;
- a batch kernel (the value and gradient of an expression at many points): one loop over the
  points with every temporary in a register and the math from glibc's vector library (libmvec,
  the functions the tape calls), so that nothing round-trips through memory between operations.

Any failure (no compiler, no libmvec, FASTCALC_JIT=0) means: not available, and the interpreter
runs instead."""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading

import numpy as np

_loaded: dict = {}  # hash -> (CDLL, address); the CDLL must stay alive

_PRELUDE = r"""#include <cfloat>
#include <cmath>
static inline double fc_powi(double x, int n) {
    const bool inv = n < 0;
    unsigned m = inv ? 0u - static_cast<unsigned>(n) : static_cast<unsigned>(n);
    double r = 1.0, p = x;
    bool first = true;
    while (m) {
        if (m & 1u) r = first ? p : r * p, first = false;
        m >>= 1;
        if (m) p = p * p;
    }
    return inv ? 1.0 / r : r;
}
static inline double fc_sigmoid(double a) {
    if (a >= 0) return 1.0 / (1.0 + std::exp(-a));
    const double e = std::exp(a);
    return e / (1.0 + e);
}
static inline double fc_sign(double a) { return a > 0 ? 1.0 : (a < 0 ? -1.0 : (a == a ? 0.0 : a)); }
"""

_UNARY = {6: "-({a})", 9: "std::exp({a})", 10: "std::log({a})", 11: "std::sin({a})", 12: "std::cos({a})",
          13: "std::tan({a})", 14: "std::asin({a})", 15: "std::acos({a})", 16: "std::atan({a})",
          17: "std::sinh({a})", 18: "std::cosh({a})", 19: "std::tanh({a})", 20: "std::sqrt({a})",
          21: "std::fabs({a})", 22: "fc_sigmoid({a})", 23: "fc_sign({a})"}
_BINARY = {2: "{a} + {b}", 3: "{a} - {b}", 4: "{a} * {b}", 5: "{a} / {b}", 7: "std::pow({a}, {b})"}


def _literal(v: float) -> str:
    if v != v:
        return "NAN"
    if v in (float("inf"), float("-inf")):
        return "INFINITY" if v > 0 else "(-INFINITY)"
    return f"({v.hex()})"


def _instruction(op, k, sa, sb, unary, binary) -> str:
    """The C++ expression of one Program instruction on operands named sa and sb."""
    if op == 8:  # POWI: squares and cubes as the interpreter multiplies them
        return f"{sa} * {sa}" if k == 2 else f"{sa} * ({sa} * {sa})" if k == 3 else f"fc_powi({sa}, {k})"
    if op in binary:
        return binary[op].format(a=sa, b=sb)
    return unary[op].format(a=sa)


def step_source(prog, method="gd", maximize=False, tol=False) -> str:
    """C++ source of the FusedStep kernel (cpp/include/fastcalc/descent.hpp) for a Program, one
    method and direction, with or without the tolerance test (compile-time: fewer operations).
    Every formula is run_lanes' (descent.cpp), operation for operation."""
    n = prog.n_vars
    name = {v: f"x{v}" for v in range(n)}
    for slot, val in prog.constants():
        name[slot] = _literal(val)
    body = [f"            const double x{v} = cr[{v} * 64 + j];" for v in range(n)]
    code, res_slots = prog.code(), prog.result_slots()
    # Only the gradient is needed (the value is tested at the last step, by the engine): drop
    # the instructions whose slot is overwritten or never read before the gradient's slots.
    live, keep = set(res_slots[1:1 + n]), [False] * len(code)
    for i in range(len(code) - 1, -1, -1):
        op, k, d, a, b = code[i]
        if d in live:
            keep[i] = True
            live.discard(d)
            live.update((a, b))
    for i, (op, k, d, a, b) in enumerate(code):
        if not keep[i]:
            continue
        expr = _instruction(op, k, name[a], name[b], _UNARY, _BINARY)
        body.append(f"            const double v{i} = {expr};")
        name[d] = f"v{i}"
    res = [name.get(s) for s in res_slots]  # the value (res[0]) may be dropped
    for v in range(n):  # gn2 as run_lanes sums it (0.0 + g0^2 is g0^2: squares are never -0.0)
        body.append(f"            const double G{v} = {res[1 + v]};")
        body.append(f"            {'double gn2 =' if v == 0 else 'gn2 +='} G{v} * G{v};")
    # The stop test of run_lanes (descent.cpp) before the last step, as one predicate.
    ok = [f"std::fabs(x{v}) <= lim[j]" for v in range(n)] + \
         ["gn2 <= DBL_MAX"] + (["!(gn2 < tol2)"] if tol else [])
    body.append(f"            const double go = ({' & '.join(ok)}) ? 1.0 : 0.0;  // &, not &&: stays in mask registers")
    body.append("            hit += go == 0.0;")
    states = {"gd": 0, "momentum": 1, "nesterov": 1, "adam": 2}[method]
    for v in range(n):
        i = f"{v} * 64 + j"
        body.append(f"            const double S{v} = {'-(G%d)' % v if maximize else 'G%d' % v};  // sg * g")
        if method == "gd":
            body.append(f"            nx[{i}] = x{v} - lr[j] * S{v};")
        elif method in ("momentum", "nesterov"):
            body.append(f"            const double m{v} = mu * cs1[{i}] + S{v};")
            body.append(f"            ns1[{i}] = m{v};")
            step = f"(S{v} + mu * m{v})" if method == "nesterov" else f"m{v}"
            body.append(f"            nx[{i}] = x{v} - lr[j] * {step};")
        else:
            body.append(f"            const double a{v} = b1 * cs1[{i}] + (1.0 - b1) * S{v};")
            body.append(f"            const double q{v} = b2 * cs2[{i}] + (1.0 - b2) * (S{v} * S{v});")
            body.append(f"            ns1[{i}] = a{v};")
            body.append(f"            ns2[{i}] = q{v};")
            body.append(f"            nx[{i}] = x{v} - lr[j] * (a{v} / c1) / (std::sqrt(q{v} / c2) + eps);")
    pairs = [("x", "xb")] + [("s1", "s1b")] * (states >= 1) + [("s2", "s2b")] * (states >= 2)
    back = "".join(f"    fc_copy({a}, c_{a}, m, {n});\n" for a, _ in pairs)
    swap = "".join(f"        std::swap(c_{a}, n_{a});\n" for a, _ in pairs)
    start = "".join(f"    double* c_{a} = {a};\n    double* n_{a} = {b};\n" for a, b in pairs)
    views = ("        const double* __restrict cr = c_x;\n        double* __restrict nx = n_x;\n"
             + ("        const double* __restrict cs1 = c_s1;\n        double* __restrict ns1 = n_s1;\n" if states >= 1 else "")
             + ("        const double* __restrict cs2 = c_s2;\n        double* __restrict ns2 = n_s2;\n" if states >= 2 else ""))
    bias = ("        const double c1 = 1.0 - std::pow(b1, static_cast<double>(t + 1));\n"
            "        const double c2 = 1.0 - std::pow(b2, static_cast<double>(t + 1));\n") if method == "adam" else ""
    return _PRELUDE + (
        "#include <utility>\n"
        "static void fc_copy(double* dst, const double* src, long m, int n) {\n"
        "    if (dst != src)\n"
        "        for (int d = 0; d < n; ++d)\n"
        "            for (long j = 0; j < m; ++j) dst[d * 64 + j] = src[d * 64 + j];\n"
        "}\n"
        # restrict on every pointer: without it GCC 12 does not vectorize the lane loop
        'extern "C" long fc_step(long t0, long t1, long m, double* __restrict x, double* __restrict xb,\n'
        "                        double* __restrict s1, double* __restrict s1b, double* __restrict s2,\n"
        "                        double* __restrict s2b, const double* __restrict lr,\n"
        "                        const double* __restrict lim, double tol2, double mu, double b1, double b2,\n"
        "                        double eps) {\n"
        "    (void)s1, (void)s1b, (void)s2, (void)s2b, (void)tol2, (void)mu, (void)b1, (void)b2, (void)eps;\n"
        + start +
        "    for (long t = t0; t < t1; ++t) {\n"
        "        long hit = 0;\n" + views + bias +
        "        for (long j = 0; j < m; ++j) {\n" + "\n".join(body) + "\n"
        "        }\n"
        "        if (hit) {\n" + back.replace("    ", "            ", 1).replace("\n    fc", "\n            fc") +
        "            return t;\n"
        "        }\n" + swap +
        "    }\n" + back +
        "    return t1;\n"
        "}\n")


_FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=off", "-fno-math-errno",
          "-std=c++17", "-shared", "-fPIC"]


def _cache_dir() -> str:
    base = os.environ.get("FASTCALC_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "fastcalc")
    d = os.path.join(base, "jit")
    os.makedirs(d, exist_ok=True)
    return d


def _cpu() -> str:
    """What -march=native compiles for: a kernel cached on a shared disk must not be loaded on
    another kind of CPU (illegal instruction)."""
    global _CPU
    if _CPU is None:
        _CPU = platform.machine() + platform.processor()
        try:
            with open("/proc/cpuinfo") as fh:
                _CPU += "".join(sorted({ln for ln in fh if ln.startswith(("model name", "flags"))}))
        except OSError:
            pass
    return _CPU


_CPU = None


def _build(src: str, prefix: str, symbol, flags, compile: bool = True):
    """Address of ``symbol`` (a tuple of addresses for a tuple of symbols) in the compiled ``src``
    (cached in memory and on disk), or None."""
    if os.environ.get("FASTCALC_JIT", "1") == "0":
        return None
    cxx = shutil.which(os.environ.get("CXX", "c++"))
    if cxx is None:
        return None
    key = hashlib.sha256((cxx + " ".join(flags) + _cpu() + src).encode()).hexdigest()[:24]
    if key in _loaded:
        return _loaded[key][1]
    try:
        d = _cache_dir()
        so = os.path.join(d, f"{prefix}_{key}.so")
        if not os.path.exists(so):
            if not compile:
                return None
            with tempfile.TemporaryDirectory(dir=d) as tmp:
                cpp, out = os.path.join(tmp, "k.cpp"), os.path.join(tmp, "k.so")
                with open(cpp, "w") as fh:
                    fh.write(src)
                libs = [f for f in flags if f.startswith("-l")]  # after the source: --as-needed
                opts = [f for f in flags if not f.startswith("-l")]
                r = subprocess.run([cxx, *opts, cpp, "-o", out, *libs], capture_output=True, timeout=120)
                if r.returncode != 0:
                    return None
                os.replace(out, so)  # atomic: concurrent processes see a whole file or none
        lib = ctypes.CDLL(so)
        if isinstance(symbol, tuple):
            addr = tuple(ctypes.cast(getattr(lib, sym), ctypes.c_void_p).value for sym in symbol)
        else:
            addr = ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
    except (OSError, AttributeError, subprocess.SubprocessError):
        return None
    _loaded[key] = (lib, addr)
    return addr


# Compile time grows faster than the program (measured, value and gradient: 1,300 instructions
# 1.1 s, 5,200 9 s, 20,800 2 minutes); longer programs stay with the interpreter.
MAX_INSTRUCTIONS = 2000


def step_kernel(prog, method="gd", maximize=False, tol=False, compile=True):
    """Address of the compiled step kernel for prog, or None where no compiler is available
    (or, with compile=False, where it is not compiled yet)."""
    if prog.n_vars == 0 or prog.n_instructions > MAX_INSTRUCTIONS or os.environ.get("FASTCALC_JIT", "1") == "0":
        return None
    return _build(step_source(prog, method, maximize, tol), "step", "fc_step", _FLAGS, compile)


# ---- batch kernels ----------------------------------------------------------------------------

# libmvec's functions under our own names: the `simd` attribute tells GCC that vector variants
# (_ZGVeN8v_sin, ...) exist, which glibc's headers declare only under -ffast-math; `const` lets it
# vectorize the call; and GCC does not see two calls of sin and cos of one argument, so it cannot
# merge them into a scalar sincos.
_VECTOR_MATH = {9: "exp", 10: "log", 11: "sin", 12: "cos", 13: "tan", 14: "asin", 15: "acos", 16: "atan",
                17: "sinh", 18: "cosh"}
_BATCH_UNARY = {**_UNARY, **{op: f"fc_v_{fn}({{a}})" for op, fn in _VECTOR_MATH.items()},
                19: "fc_tanh({a})", 22: "fc_vsigmoid({a})"}
_BATCH_BINARY = {**_BINARY, 7: "fc_v_pow({a}, {b})"}

_BATCH_PRELUDE = _PRELUDE + "".join(
    f'extern "C" __attribute__((simd("notinbranch"), const, nothrow)) double fc_v_{fn}(double) __asm__("{fn}");\n'
    for fn in list(_VECTOR_MATH.values()) + ["expm1"]) + r"""extern "C" __attribute__((simd("notinbranch"), const, nothrow)) double fc_v_pow(double, double) __asm__("pow");
// The tape's tanh (vmath.cpp): t / (t + 2) with t = expm1(2|x|), |x| capped at 20, NaN kept.
static inline double fc_tanh(double x) {
    const double a = std::fabs(x);
    const double t = fc_v_expm1(2.0 * (20.0 < a ? 20.0 : a));
    return std::copysign(t / (t + 2.0), x);
}
// fc_sigmoid without a branch around exp: exp(-|a|) is exp(-a) or exp(a), as there.
static inline double fc_vsigmoid(double a) {
    const double e = fc_v_exp(-std::fabs(a));
    return a >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
"""

_BATCH_FLAGS = _FLAGS + ["-fopenmp-simd", "-lm"]


def batch_source(prog) -> str:
    """C++ source of two entry points computing every result of prog at n points, R[r] the
    contiguous column of result r: ``fc_batch(n, X, R)`` with X[v] the contiguous column of
    variable v, and ``fc_batch_rows(n, X, ld, R)`` with point i at X[i * ld + v] (a row-major
    matrix: no columns copied out)."""
    n = prog.n_vars
    name = {v: f"x{v}" for v in range(n)}
    for slot, val in prog.constants():
        name[slot] = _literal(val)
    body = []
    for i, (op, k, d, a, b) in enumerate(prog.code()):
        expr = _instruction(op, k, name.get(a, "0.0"), name.get(b, "0.0"), _BATCH_UNARY, _BATCH_BINARY)
        body.append(f"        const double v{i} = {expr};")
        name[d] = f"v{i}"
    res = prog.result_slots()
    body += [f"        R{r}[i] = {name[s]};" for r, s in enumerate(res)]
    outs = "".join(f"    double* __restrict R{r} = R[{r}];\n" for r in range(len(res)))

    def entry(signature, setup, load):
        return (signature + " {\n" + setup + outs + "#pragma omp simd\n"
                "    for (long i = 0; i < n; ++i) {\n" +
                "".join(f"        const double x{v} = {load(v)};\n" for v in range(n)) +
                "\n".join(body) + "\n    }\n}\n")

    return _BATCH_PRELUDE + entry(
        'extern "C" void fc_batch(long n, const double* const* X, double* const* R)',
        "    (void)X;\n" + "".join(f"    const double* __restrict X{v} = X[{v}];\n" for v in range(n)),
        lambda v: f"X{v}[i]") + entry(
        'extern "C" void fc_batch_rows(long n, const double* __restrict X, long ld, double* const* R)',
        "    (void)X, (void)ld;\n",
        lambda v: f"X[i * ld + {v}]")


def batch_kernel(prog, compile=True):
    """(address of fc_batch, address of fc_batch_rows) for prog, or None (see the module's
    docstring)."""
    if prog.n_instructions > MAX_INSTRUCTIONS or os.environ.get("FASTCALC_JIT", "1") == "0":
        return None
    return _build(batch_source(prog), "batch", ("fc_batch", "fc_batch_rows"), _BATCH_FLAGS, compile)


_BATCH_SIG = ctypes.CFUNCTYPE(None, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)
_ROWS_SIG = ctypes.CFUNCTYPE(None, ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p)


def run_batch(addr, columns, n_results, threads=1):
    """fc_batch on contiguous float64 columns of one length: the results as one (n_results, N)
    array (see _drive)."""
    fn = _BATCH_SIG(addr)
    N = columns[0].shape[0] if columns else 0

    def pointers(cols, s=0):
        return (ctypes.c_void_p * max(1, len(cols)))(*[c.ctypes.data + 8 * s for c in cols])

    def call(s, m, R):
        fn(m, pointers(columns, s), R)

    def tail(s, R):
        fn(8, pointers([np.concatenate([c[s:], np.full(8 - (N - s), 0.5)]) for c in columns]), R)

    return _drive(N, n_results, threads, call, tail)


def run_batch_rows(addr, X, n_results, threads=1):
    """fc_batch_rows on a C-contiguous float64 matrix X (N, n_vars), a point per row."""
    fn = _ROWS_SIG(addr)
    N, ld = X.shape

    def call(s, m, R):
        fn(m, X.ctypes.data + 8 * s * ld, ld, R)

    def tail(s, R):
        pad = np.full((8, ld), 0.5)
        pad[:N - s] = X[s:]
        fn(8, pad.ctypes.data, ld, R)

    return _drive(N, n_results, threads, call, tail)


def _drive(N, n_results, threads, call, tail):
    """The results of points [0, N) as one (n_results, N) array. Every point goes through the
    vector loop, so that the split does not change a bit: pieces start at multiples of 64 points,
    and the last N % 8 points run padded to 8 (with 0.5, inside every function's domain), as the
    tape pads its tails. ctypes releases the GIL during each call, so `threads` Python threads
    (each with 65,536 points at least) run side by side, as the tape's OpenMP loop would; each
    works in pieces so that Ctrl-C is noticed between them."""
    out = np.empty((n_results, N))

    def outs(s):
        return (ctypes.c_void_p * n_results)(*[out.ctypes.data + 8 * (r * N + s) for r in range(n_results)])

    def work(s0, s1, piece=1 << 20):
        for s in range(s0, s1, piece):
            call(s, min(piece, s1 - s), outs(s))

    body = N - N % 8
    if body < N:
        last = np.empty((n_results, 8))
        tail(body, (ctypes.c_void_p * n_results)(*[last.ctypes.data + 64 * r for r in range(n_results)]))
        out[:, body:] = last[:, :N - body]
    threads = max(1, min(int(threads), body >> 16))
    if threads == 1:
        work(0, body)
        return out
    bounds = [body * t // threads // 64 * 64 for t in range(threads)] + [body]
    errors = []

    def guarded(s0, s1):
        try:
            work(s0, s1)
        except BaseException as e:  # noqa: BLE001  (re-raised in the calling thread)
            errors.append(e)

    pool = [threading.Thread(target=guarded, args=(bounds[t], bounds[t + 1])) for t in range(1, threads)]
    for t in pool:
        t.start()
    try:
        work(bounds[0], bounds[1])
    finally:
        for t in pool:
            t.join()
    if errors:
        raise errors[0]
    return out
