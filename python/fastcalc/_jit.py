"""Native kernels for Programs, compiled in process by LLVM (llvmlite): no system compiler, no
files.

A kernel computes every result of a ``_core.Program`` over many points, one vector of lanes at a
time with every temporary in a register. It is generated from the program's code and the table
of operations, and it calls the very functions the interpreter calls, so it gives the
interpreter's bits:

- + - * / and negation, sqrt, abs, floor and ceil are single IEEE operations;
- powi is the interpreter's multiplication chain (ops::powi), unrolled;
- an operation with a vectorized form calls the core's vector function for it (libmvec's or
  fastcalc's own, ``_core.native_functions``) on whole vectors, in vector registers;
- any other operation calls the core's scalar function for it on each lane.

One entry point per kernel, ``cols(n, X, R)``: X[v] the contiguous values of input v, R[r] those
of result r, n a multiple of 8. It returns the OR of the bits of the last result's values
(descent's step programs end with the stop codes, so it says whether any run stopped). The core
runs it over columns or, by pieces transposed, over a row-major matrix (``_core.run_columns``,
``run_rows``) and as descent's ``kernel``. A descent step program's kernel also has descent's
fused step loop ``fc_steps`` (:func:`_steps_entry`).

When a kernel is worth compiling is decided in one place, :func:`worth`. Kernels are cached per
process by the content of their program (``_CACHE``, bounded, least recently used first out).
``FASTCALC_JIT=0``, a missing llvmlite or a failure to compile: the interpreter runs (a failure
warns once, naming the reason).
"""
from __future__ import annotations

import hashlib
import os
import threading
import warnings
from collections import OrderedDict
from typing import Optional, Tuple

from . import _core

__all__ = ["available", "kernel", "worth", "config"]

_LOCK = threading.RLock()
_CACHE: "OrderedDict[str, Kernel]" = OrderedDict()
_CACHE_SIZE = 256
_LEDGER: "OrderedDict[str, float]" = OrderedDict()  # content -> predicted interpreter time saved so far
_ENGINE = None     # (llvm binding module, target machine, execution engine) once initialized
_REASON = None     # why there is no JIT, or None
_WARNED = set()    # reasons already warned about

# Cost model (measured on x86-64, one thread; see :func:`worth`): what native code saves per
# instruction and lane over the interpreter (descent's Rosenbrock step program, 28 instructions,
# 10^7 lanes: 6.6 ms native against 21.3 ms interpreted on an AVX-512 Xeon; on a Zen 3, where
# descent's interpreter runs the gradient's 9 instructions and one C++ loop for the step and the
# stop rule, 5-12 ms against 24-33 ms, still 0.07 ns per instruction and lane; an expression's
# math is the same libmvec calls either way, so the saving is about the same per instruction),
# the compile time of a kernel, and LLVM's one-time start (importing llvmlite, the target) in a
# process.
SAVE_NS = 0.05
COMPILE_S = 0.015
COMPILE_S_PER_INSTR = 5e-5
START_S = 0.045
# Batches of fewer points than this stay with the interpreter without asking the cost rule:
# native code would save well under a microsecond a call (and the rule costs about one).
SMALL = 2048
# Longer programs stay with the interpreter: LLVM's time grows faster than the program.
MAX_INSTRUCTIONS = 20000


class Kernel:
    """A compiled program: the addresses of its entry points, valid while this object lives
    (whoever runs a kernel holds it; once the cache has dropped it and nobody does, its machine
    code is freed)."""

    __slots__ = ("cols", "steps", "steps_lanes", "n_inputs", "n_results", "width", "_module", "uses", "__weakref__")

    def __init__(self, cols, n_inputs, n_results, width, module, steps=0, steps_lanes=0):
        self.cols, self.n_inputs, self.n_results = cols, n_inputs, n_results
        self.width, self._module, self.uses = width, module, 0
        # descent's fused step loop (fc_steps) and the lanes it takes at a time, or 0
        self.steps, self.steps_lanes = steps, steps_lanes

    def __del__(self):
        owned, self._module = self._module, None
        if owned is not None:
            try:
                engine, context = owned
                engine.close()  # its own engine (code, data, target machine), then its context
                context.close()
            except Exception:  # noqa: BLE001 - interpreter shutdown: nothing left to free
                pass


def _target_machine(llvm):
    """This CPU with all its features (AVX-512 where it has it), optimizing."""
    return llvm.Target.from_default_triple().create_target_machine(
        cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(), opt=3, codemodel="jitdefault")


def _init():
    """The LLVM engine, or the reason there is none."""
    global _ENGINE, _REASON
    if _ENGINE is not None or _REASON is not None:
        return _ENGINE
    if os.environ.get("FASTCALC_JIT", "1") == "0":
        _REASON = "disabled by FASTCALC_JIT=0"
        return None
    try:
        import llvmlite.binding as llvm
    except ImportError:
        _REASON = "llvmlite is not installed"
        return None
    try:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        tm = _target_machine(llvm)
        engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), _target_machine(llvm))
    except Exception as exc:  # noqa: BLE001 - any failure means: no JIT, and why
        _REASON = f"LLVM could not start: {exc}"
        return None
    _ENGINE = (llvm, tm, engine)
    return _ENGINE


def available() -> bool:
    """Whether native kernels can be compiled in this process."""
    with _LOCK:
        return _init() is not None


def config() -> dict:
    """What the JIT is and why (for fastcalc.show_config)."""
    with _LOCK:
        eng = _init()
    if eng is None:
        return {"jit": False, "reason": _REASON}
    llvm = eng[0]
    import llvmlite
    return {"jit": True, "llvmlite": llvmlite.__version__, "llvm": ".".join(map(str, llvm.llvm_version_info)),
            "cpu": llvm.get_host_cpu_name(), "vector_width": _width(), "cached_kernels": len(_CACHE)}


def saving(n_instructions: int, lane_evaluations: float) -> float:
    """Seconds native code is predicted to save over the interpreter on one call."""
    return SAVE_NS * 1e-9 * n_instructions * lane_evaluations


def cost(n_instructions: int) -> float:
    """Seconds predicted to compile a kernel now (LLVM's start included until it has started)."""
    return COMPILE_S + COMPILE_S_PER_INSTR * n_instructions + (START_S if _ENGINE is None else 0.0)


def worth(n_instructions: int, lane_evaluations: float, compiled: bool = False) -> bool:
    """Whether native code pays on one call: its saving exceeds the compile time (nothing to
    compile when ``compiled``). ``lane_evaluations``: points (or runs times steps) the program
    runs over in this call."""
    if n_instructions > MAX_INSTRUCTIONS or n_instructions == 0:
        return False
    return saving(n_instructions, lane_evaluations) > (0.0 if compiled else cost(n_instructions))


def decide(prog, lane_evaluations: float, force: Optional[bool] = None, key: Optional[str] = None,
           steps: int = 0) -> Optional[Kernel]:
    """The kernel to run this call of ``prog`` over ``lane_evaluations`` lanes with, or None for
    the interpreter: the one place where the path is chosen. A compiled kernel is always used;
    one is compiled when this call's predicted saving pays for its compile time (:func:`worth`),
    or when the savings the interpreter could have had over earlier calls of the same program
    in this process do (repeated calls). ``force``: True compiles whatever it costs, False never
    uses native code. ``key``: the program's content key (:func:`content_key`), when known.
    ``steps``: also descent's fused step loop, this many vectors at a time (:func:`_steps_entry`).
    LLVM itself starts only when a first kernel pays for its start too."""
    if force is False or prog.n_instructions > MAX_INSTRUCTIONS or prog.n_instructions == 0:
        return None
    with _LOCK:
        if _REASON is not None or (_ENGINE is None and os.environ.get("FASTCALC_JIT", "1") == "0"):
            return None
        key = key or _key(prog, steps)
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
        n = prog.n_instructions
        total = _LEDGER.pop(key, 0.0) + saving(n, lane_evaluations)
        if not (force or total > cost(n)):
            _LEDGER[key] = total
            while len(_LEDGER) > 4 * _CACHE_SIZE:
                _LEDGER.popitem(last=False)
            return None
    return kernel(prog, key=key, steps=steps)


_FUNCS = None


def _functions():
    global _FUNCS
    if _FUNCS is None:
        _FUNCS = _core.native_functions(True)
    return _FUNCS


def _width() -> int:
    """Lanes per vector: the widest of the core's vector functions (8 with AVX-512), else 4."""
    widths = [w for w, _ in _functions()["vmath"].values()]
    return 8 if 8 in widths else 4


def content_key(prog, steps: int = 0) -> str:
    """What native code of prog is cached under: its code, constants, results, the width and
    whether it has descent's fused step loop."""
    return _key(prog, steps)


def _key(prog, steps: int = 0) -> str:
    h = hashlib.sha256()
    h.update(repr((prog.n_inputs, prog.code(), prog.constants(), prog.result_slots(), _width(), steps)).encode())
    return h.hexdigest()


def kernel(prog, compile: bool = True, key: Optional[str] = None, steps: int = 0) -> Optional[Kernel]:
    """The native kernel of ``prog`` (cached by content), or None: no JIT here, the program is
    too long, compile=False and it is not compiled yet, or LLVM failed (with a warning)."""
    if prog.n_instructions > MAX_INSTRUCTIONS or prog.n_instructions == 0:
        return None  # nothing to compile: the results are inputs or constants
    with _LOCK:
        eng = _init()
        if eng is None:
            return None
        if steps:  # the core takes 8, 16, 32 or 64 lanes at a time
            steps = min(max(1 << (int(steps).bit_length() - 1), 8 // _width()), 64 // _width())
        key = key or _key(prog, steps)
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            hit.uses += 1
            return hit
        if not compile:
            return None
        try:
            k = _compile(eng, prog, steps)
        except Exception as exc:  # noqa: BLE001 - the interpreter runs instead
            reason = f"{type(exc).__name__}: {exc}"
            if reason not in _WARNED and len(_WARNED) < 64:  # bounded: distinct reasons are few
                _WARNED.add(reason)
                warnings.warn(f"fastcalc: native kernel not compiled ({reason}); the interpreter runs instead",
                              RuntimeWarning, stacklevel=3)
            return None
        _CACHE[key] = k
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)  # the engine keeps its code; the entry is only forgotten
        return k


# ---- code generation ---------------------------------------------------------------------

def _ops():
    return {p["code"]: p for p in _core.op_table()["primitives"]}


_NATIVE = {"add": "fadd", "sub": "fsub", "mul": "fmul", "div": "fdiv"}
_COMPARE = {"le": "<=", "lt": "<"}  # 1.0 or 0.0
_INTRINSIC = {"sqrt": "llvm.sqrt", "abs": "llvm.fabs", "floor": "llvm.floor", "ceil": "llvm.ceil"}


class _Mask:
    """A 1.0-or-0.0 value kept as the comparison's lanes mask: products of such values are ANDs
    and 1 - such a value is a NOT (the same numbers: {0, 1} is closed under them); it becomes a
    vector only where something else uses it."""

    __slots__ = ("m", "vec")

    def __init__(self, m):
        self.m, self.vec = m, None


class _Gen:
    def __init__(self, ir, module, W):
        self.ir, self.module, self.W = ir, module, W
        self.dbl = ir.DoubleType()
        self.vec = ir.VectorType(self.dbl, W)
        self.i32, self.i64 = ir.IntType(32), ir.IntType(64)
        self.intrinsics = {}
        self.table = _ops()
        self.funcs = _functions()
        # vectors whose lanes are 0 or >= 1, nonzero exactly on a mask's lanes (a stop code built
        # from comparisons): id -> (vector, mask); the fused step loop ANDs masks, not vectors
        self.nz = {}
        # masks made as not(x): id -> (mask, x)
        self.negated = {}

    def not_mask(self, b, m):
        """not m, where not(not x) = x and not(not x | y) = x & not y: the stop rule's masks
        have that shape, and the backend alone keeps the redundant operations."""
        known = self.negated.get(id(m))
        if known is not None and known[0] is m:
            return known[1]
        if getattr(m, "opname", None) == "or":
            p, q = m.operands
            for u, v in ((p, q), (q, p)):
                known = self.negated.get(id(u))
                if known is not None and known[0] is u:
                    return b.and_(known[1], self.not_mask(b, v))
        r = b.not_(m)
        self.negated[id(r)] = (r, m)
        return r

    def or_mask(self, b, p, q):
        """p | q, where not(x) | (x & y) = not(x) | y."""
        for u, v in ((p, q), (q, p)):
            known = self.negated.get(id(u))
            if known is not None and known[0] is u and getattr(v, "opname", None) == "and":
                x, y = v.operands
                if x is known[1] or y is known[1]:
                    return b.or_(u, y if x is known[1] else x)
        return b.or_(p, q)

    def splat(self, v: float):
        return self.ir.Constant(self.vec, [self.ir.Constant(self.dbl, float(v))] * self.W)

    def intrinsic(self, name):
        if name not in self.intrinsics:
            full = f"{name}.v{self.W}f64"
            ft = self.ir.FunctionType(self.vec, [self.vec])
            self.intrinsics[name] = self.module.globals.get(full) or self.ir.Function(self.module, ft, name=full)
        return self.intrinsics[name]

    def fnptr(self, b, addr, ret, args):
        ft = self.ir.FunctionType(ret, args)
        return b.inttoptr(self.ir.Constant(self.i64, addr), ft.as_pointer())

    def vector_call(self, b, name, operands):
        """The core's vector function `name` on whole vectors (split or per lane to its width)."""
        width, addr = self.funcs["vmath"][name]
        if width == self.W:
            f = self.fnptr(b, addr, self.vec, [self.vec] * len(operands))
            return b.call(f, operands)
        if width > 1 and self.W % width == 0:  # e.g. AVX2's 4 lanes twice for 8
            part = self.ir.VectorType(self.dbl, width)
            f = self.fnptr(b, addr, part, [part] * len(operands))
            pieces = []
            for s in range(0, self.W, width):
                idx = self.ir.Constant(self.ir.VectorType(self.i32, width), list(range(s, s + width)))
                pieces.append(b.call(f, [b.shuffle_vector(o, o, idx) for o in operands]))
            out = pieces[0]
            while len(pieces) > 1:
                joined = []
                for a, c in zip(pieces[::2], pieces[1::2]):
                    n = a.type.count
                    joined.append(b.shuffle_vector(a, c, self.ir.Constant(self.ir.VectorType(self.i32, 2 * n),
                                                                         list(range(2 * n)))))
                pieces = joined
            return pieces[0] if len(pieces) == 1 else out
        f = self.fnptr(b, addr, self.dbl, [self.dbl] * len(operands))
        return self.per_lane(b, lambda xs: b.call(f, xs), operands)

    def per_lane(self, b, call, operands):
        out = self.ir.Constant(self.vec, self.ir.Undefined)
        for j in range(self.W):
            lane = self.ir.Constant(self.i32, j)
            out = b.insert_element(out, call([b.extract_element(o, lane) for o in operands]), lane)
        return out

    def powi(self, b, a, n: int):
        """ops::powi's multiplication chain, unrolled for the exponent n."""
        if n == 2:
            return b.fmul(a, a)
        inv, m = n < 0, abs(n)
        r, p, first = self.splat(1.0), a, True
        while m:
            if m & 1:
                r, first = (p if first else b.fmul(r, p)), False
            m >>= 1
            if m:
                p = b.fmul(p, p)
        return b.fdiv(self.splat(1.0), r) if inv else r

    def value(self, b, v):
        """A vector of v (a _Mask becomes select(mask, 1.0, 0.0), once)."""
        if isinstance(v, _Mask):
            if v.vec is None:
                v.vec = b.select(v.m, self.splat(1.0), self.splat(0.0))
                self.nz[id(v.vec)] = (v.vec, v.m)
            return v.vec
        return v

    def _known_mask(self, v):
        """The mask on whose lanes v is nonzero, where v was built from comparisons, else None."""
        known = self.nz.get(id(v))
        return known[1] if known is not None and known[0] is v else None

    def nonzero_mask(self, b, v):
        """The lanes in which the vector v is not 0.0 (NaN counts as not 0)."""
        m = self._known_mask(v)
        return m if m is not None else b.fcmp_unordered("!=", v, self.splat(0.0))

    def _track(self, b, name, a, c, r, imm_a, imm_c):
        """Records r's nonzero mask where r = a + c or a * c of values in {0} or [1, inf) with
        known masks, or immediates in [1, inf): then r is such a value too (no cancellation, no
        underflow to 0)."""
        def mask(v, imm):
            if imm is not None:
                return True if 1.0 <= imm < float("inf") else None
            return self._known_mask(v)

        ma, mc = mask(a, imm_a), mask(c, imm_c)
        if ma is None or mc is None or (ma is True and mc is True):
            return
        if ma is True or mc is True:
            m = mc if ma is True else ma
        else:
            m = self.or_mask(b, ma, mc) if name == "add" else b.and_(ma, mc)
        self.nz[id(r)] = (r, m)

    def instruction(self, b, op, n, a, c, one_minus=False, imm_a=None, imm_c=None):
        """The value of one instruction on operands a (and c): vectors or _Masks; one_minus: a
        is the immediate 1.0; imm_a, imm_c: the operands' immediates, where they are."""
        info = self.table[op]
        name = info["name"]
        if name == "mul" and isinstance(a, _Mask) and isinstance(c, _Mask):
            return _Mask(b.and_(a.m, c.m))
        if name == "sub" and one_minus and isinstance(c, _Mask):
            return _Mask(self.not_mask(b, c.m))
        if name in _COMPARE:  # ordered: NaN compares false, as in C++
            return _Mask(b.fcmp_ordered(_COMPARE[name], self.value(b, a), self.value(b, c)))
        a, c = self.value(b, a), self.value(b, c)
        if name in _NATIVE:
            r = getattr(b, _NATIVE[name])(a, c)
            if name in ("add", "mul"):
                self._track(b, name, a, c, r, imm_a, imm_c)
            return r
        if name == "neg":
            return b.fneg(a)
        if name == "powi":
            return self.powi(b, a, n)
        if name in _INTRINSIC:
            return b.call(self.intrinsic(_INTRINSIC[name]), [a])
        operands = [a] if info["arity"] == 1 else [a, c]
        if info["vectorized"]:
            return self.vector_call(b, info["vmath"], operands)
        addr = self.funcs["scalar_ops"][op]  # double f(double a, double b, int32 n)
        f = self.fnptr(b, addr, self.dbl, [self.dbl, self.dbl, self.i32])
        nn = self.ir.Constant(self.i32, int(n))
        zero = self.ir.Constant(self.dbl, 0.0)
        return self.per_lane(b, lambda xs: b.call(f, [xs[0], xs[1] if len(xs) > 1 else zero, nn]), operands)


def _source(prog, W: int, steps: int = 0) -> str:
    """LLVM IR of prog's entry point fc_cols, and with ``steps`` (G, vectors at a time) descent's
    fused step loop :func:`_steps_entry` of a step program."""
    from llvmlite import ir

    module = ir.Module(name="fastcalc_kernel")
    g = _Gen(ir, module, W)
    code, consts, results = prog.code(), prog.constants(), prog.result_slots()
    n_in = prog.n_inputs
    dptr = g.dbl.as_pointer()
    vptr = g.vec.as_pointer()

    def compute(b, inputs):
        """The program's results (vectors) from its inputs' vectors, as straight-line code."""
        slot = {}
        for s, v in consts:
            slot[s] = g.splat(v)
        for v, x in enumerate(inputs):
            slot[v] = x
        for op, n, d, a, c_slot, flags, c in code:
            va = g.splat(c) if flags & 1 else slot[a]
            vb = g.splat(c) if flags & 2 else slot.get(c_slot, va)
            slot[d] = g.instruction(b, op, n, va, vb, one_minus=bool(flags & 1) and c == 1.0,
                                    imm_a=c if flags & 1 else None, imm_c=c if flags & 2 else None)
        return [g.value(b, slot[s]) for s in results]

    # fc_cols(n, X, R) -> the OR of the last result's bits
    pp = dptr.as_pointer()
    ivec = ir.VectorType(g.i64, W)
    izero = ir.Constant(ivec, [0] * W)
    fn = ir.Function(module, ir.FunctionType(g.i64, [g.i64, pp, pp]), name="fc_cols")
    entry_bb, loop_bb, done_bb = (fn.append_basic_block(x) for x in ("entry", "loop", "done"))
    b = ir.IRBuilder(entry_bb)
    n, X, R = fn.args
    zero = ir.Constant(g.i64, 0)
    # the columns' addresses, read once (the backend does not hoist them out of the loop)
    ins = [b.load(b.gep(X, [ir.Constant(g.i64, v)])) for v in range(n_in)]
    outs = [b.load(b.gep(R, [ir.Constant(g.i64, r)])) for r in range(len(results))]
    b.cbranch(b.icmp_signed(">", n, zero), loop_bb, done_bb)
    b.position_at_end(loop_bb)
    i = b.phi(g.i64)
    i.add_incoming(zero, entry_bb)
    acc = b.phi(ivec)
    acc.add_incoming(izero, entry_bb)
    loads = []
    for col in ins:
        ld = b.load(b.bitcast(b.gep(col, [i]), vptr))
        ld.align = 8
        loads.append(ld)
    vals = compute(b, loads)
    for col, val in zip(outs, vals):
        st = b.store(val, b.bitcast(b.gep(col, [i]), vptr))
        st.align = 8
    # descent's "did any run stop" (its step programs end with the stop codes), without another
    # pass over them
    acc1 = b.or_(acc, b.bitcast(vals[-1], ivec)) if vals else acc
    _close_loop(ir, g, b, i, W, n, acc, acc1, entry_bb, loop_bb, done_bb)
    if steps:
        _steps_entry(ir, module, g, compute, prog, steps)
    return str(module)


def _steps_entry(ir, module, g, compute, prog, G: int) -> None:
    """``fc_steps(n, A, B, lr, lim, S, c1s, c2s)``: up to S steps of a descent step program
    (inputs: the ns state values, lr, lim and for Adam c1, c2; results: the ns next state values
    and the stop code) over n lanes (a multiple of W*G), from the state rows A to B and back
    (step t reads the rows of its parity and writes the others), G vectors an iteration. It
    returns s, the steps taken: at step s some lane's stop code is not 0 (or s = S), and that
    step is not applied, so the state x_s is in A when s is even, in B when odd. Every step it
    takes is a step in which no run stops, so it gives exactly fc_cols's steps (the same
    operations, so the same bits); the caller takes step s itself. Adam's c1 and c2 of step t
    are c1s[t], c2s[t]."""
    W = g.W
    ns = prog.n_results - 1
    adam = prog.n_inputs - ns == 4
    dptr = g.dbl.as_pointer()
    vptr = g.vec.as_pointer()
    i64 = g.i64
    fn = ir.Function(module, ir.FunctionType(i64, [i64, dptr.as_pointer(), dptr.as_pointer(), dptr, dptr, i64, dptr,
                                                   dptr]), name="fc_steps")
    n, A, B, lr, lim, S, c1s, c2s = fn.args
    entry_bb, tloop_bb, lanes_bb, tnext_bb, done_bb = (fn.append_basic_block(x) for x in
                                                        ("entry", "tloop", "lanes", "tnext", "done"))
    b = ir.IRBuilder(entry_bb)
    zero = ir.Constant(i64, 0)
    rows_a = [b.load(b.gep(A, [ir.Constant(i64, k)])) for k in range(ns)]
    rows_b = [b.load(b.gep(B, [ir.Constant(i64, k)])) for k in range(ns)]
    b.cbranch(b.and_(b.icmp_signed(">", n, zero), b.icmp_signed(">", S, zero)), tloop_bb, done_bb)

    def at(bb, row, ii):
        return bb.bitcast(bb.gep(row, [ii]), vptr)

    # step t: rows of its parity in, the others out
    b.position_at_end(tloop_bb)
    t = b.phi(i64)
    t.add_incoming(zero, entry_bb)
    odd = b.trunc(t, ir.IntType(1))
    src = [b.select(odd, rb, ra) for ra, rb in zip(rows_a, rows_b)]
    dst = [b.select(odd, ra, rb) for ra, rb in zip(rows_a, rows_b)]
    extra = []
    if adam:
        undef = ir.Constant(g.vec, ir.Undefined)
        splat0 = ir.Constant(ir.VectorType(g.i32, W), [0] * W)
        extra = [b.shuffle_vector(b.insert_element(undef, b.load(b.gep(p, [t])), ir.Constant(g.i32, 0)), undef, splat0)
                 for p in (c1s, c2s)]
    b.branch(lanes_bb)

    b.position_at_end(lanes_bb)
    i = b.phi(i64)
    i.add_incoming(zero, tloop_bb)
    # the lanes whose codes are all 0 so far: an AND of the stop rule's comparisons, without
    # making the codes' vector. AVX-512 keeps it in a mask register; AVX2 has none and
    # compares into full-width lanes, where an i1 vector costs a pack and a negation a vector,
    # so there it stays a vector of 64-bit lanes, all ones or all zeros.
    mvec = ir.VectorType(ir.IntType(1), W) if W == 8 else ir.VectorType(i64, W)
    codes = b.phi(mvec)
    codes.add_incoming(ir.Constant(mvec, [1 if W == 8 else -1] * W), tloop_bb)
    codes1 = codes
    for q in range(G):
        o = b.add(i, ir.Constant(i64, W * q)) if q else i

        def load(row):
            v = b.load(at(b, row, o))
            v.align = 8
            return v

        r = compute(b, [load(row) for row in src] + [load(lr), load(lim)] + extra)
        for k in range(ns):
            st = b.store(r[k], at(b, dst[k], o))
            st.align = 8
        go = g.not_mask(b, g.nonzero_mask(b, r[-1]))
        codes1 = b.and_(codes1, go if W == 8 else b.sext(go, mvec))
    i1 = b.add(i, ir.Constant(i64, W * G))
    i.add_incoming(i1, b.block)
    codes.add_incoming(codes1, b.block)
    b.cbranch(b.icmp_signed("<", i1, n), lanes_bb, tnext_bb)

    # a lane stopped at step t: return t (x_t untouched in the rows of t's parity)
    b.position_at_end(tnext_bb)
    wide = ir.IntType(W if W == 8 else 64 * W)
    stopped = b.icmp_unsigned("!=", b.bitcast(codes1, wide), ir.Constant(wide, (1 << wide.width) - 1))
    t1 = b.add(t, ir.Constant(i64, 1))
    t.add_incoming(t1, tnext_bb)
    go_on = b.and_(b.not_(stopped), b.icmp_signed("<", t1, S))
    taken = b.select(stopped, t, t1)
    b.cbranch(go_on, tloop_bb, done_bb)

    b.position_at_end(done_bb)
    out = b.phi(i64)
    out.add_incoming(zero, entry_bb)
    out.add_incoming(taken, tnext_bb)
    b.ret(out)


def _close_loop(ir, g, b, i, step, n, acc, acc1, entry_bb, head_bb, done_bb):
    """Ends a loop over the lanes (i += step while i < n, back to head_bb) that ORs codes' bits
    into acc, and returns the OR of the final bits' lanes from done_bb (0 if it never ran)."""
    end = b.block
    nxt = b.add(i, ir.Constant(g.i64, step))
    i.add_incoming(nxt, end)
    acc.add_incoming(acc1, end)
    b.cbranch(b.icmp_signed("<", nxt, n), head_bb, done_bb)
    b.position_at_end(done_bb)
    bits = b.phi(acc.type)
    bits.add_incoming(ir.Constant(acc.type, [0] * g.W), entry_bb)
    bits.add_incoming(acc1, end)
    out = b.extract_element(bits, ir.Constant(g.i32, 0))
    for j in range(1, g.W):
        out = b.or_(out, b.extract_element(bits, ir.Constant(g.i32, j)))
    b.ret(out)


def _compile(eng, prog, steps: int = 0) -> Kernel:
    llvm, tm, engine = eng
    W = _width()
    # a context of its own: types and constants are uniqued per context, and the global one
    # would keep every kernel's forever (measured: 93 KB a kernel)
    context = llvm.create_context()
    mod = llvm.parse_assembly(_source(prog, W, steps), context=context)
    mod.triple = tm.triple
    mod.data_layout = str(tm.target_data)
    mod.verify()
    # No IR pass pipeline: the program is already common-subexpression-free straight-line code
    # with explicit vectors, and the backend's own optimization at opt=3 is what speed needs
    # (measured: the same run times without it). It would also cost ~93 KB a compile that
    # llvmlite 0.50's pass builder never gives back.
    # one engine per kernel, with its own target machine (the engine owns it): both are freed
    # with the kernel
    own = llvm.create_mcjit_compiler(mod, _target_machine(llvm))
    own.finalize_object()
    return Kernel(own.get_function_address("fc_cols"), prog.n_inputs, prog.n_results, W, (own, context), own.get_function_address("fc_steps") if steps else 0, W * steps)


# ---- running kernels ---------------------------------------------------------------------

def run_columns(k: Kernel, columns, threads: int = 1):
    """(n_results, N): every result of the kernel's program at the points of the columns."""
    return _core.run_columns(k.cols, columns, k.n_results, threads)


def run_rows(k: Kernel, X, threads: int = 1):
    """(n_results, N) for a row-major matrix X (N, n_inputs)."""
    return _core.run_rows(k.cols, X, k.n_inputs, k.n_results, threads)


def program_of(expr, order: int) -> Tuple[object, int]:
    """(Program, n_results) of an expression's value (order 0), also its gradient (1) or also its
    Hessian (2): the programs native batch evaluation compiles."""
    from .optimize import _program

    p = _program(expr, order)
    return p, p.n_results
