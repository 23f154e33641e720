"""Expression nodes: immutable, interned (one object per distinct node, so an expression is a DAG
with every common subexpression shared) and kept in a canonical form by their constructors.

Sums and products are n-ary and flattened, their operands in one deterministic order; numbers
are folded; like terms (2*x + 3*x) and like factors (x*x**2) are combined where that keeps the
domain; 0 and 1 identities applied. Subtraction is a sum with a -1 coefficient, division a
product with a power -1.

**Domains.** A rewrite never changes where the expression is defined. For finite arguments: the
canonical form is NaN wherever NumPy evaluating the text as written is NaN; inside the text's
domain (where every intermediate value is finite) it has the text's value, up to rounding;
overflow aside (exp(1000)*0 is NaN in NumPy, 0 here) and signed zeros aside (-0.0 is 0 here, so
atan2(-0.0, -1) is pi). So ``x/x``, ``log(x) - log(x)``, ``0*log(x)`` and ``sqrt(x)**2`` stay as
they are: each is NaN somewhere its simplification is not. What is applied:

- ``0*t -> 0`` and ``c1*t + c2*t -> (c1 + c2)*t`` when t is *total* (finite for every finite
  argument: a polynomial, sin, exp, ...); for a partial t the coefficients are combined by sign
  (``2/x - 1/x + 1/x`` is ``3/x - 1/x``), because inf - inf is NaN where inf + inf is not;
- ``u**a * u**b -> u**(a + b)`` for numbers a, b of one sign when the sum has the NaN/inf pattern
  of the product (both integers, or a non-integer sum); ``(u**a)**k -> u**(a*k)`` for an integer k
  when a is an integer or a*k is not; ``(u*v)**k -> u**k * v**k`` for an integer k;
- ``u**0 -> 1`` and ``1**u -> 1`` (NumPy's values, NaN operands included); numbers raised to
  numbers are folded as the tape computes them (powi, sqrt or pow: ``ops.power_instruction``);
- a function of numbers is folded only where the table's value is exact and simple (an integer
  or a half: cos(0), floor(2.5), sigmoid(0)), or equals its argument up to sign (abs(-0.3)).

Limits, documented in ``fastcalc.expressions``: nodes nest at most :data:`MAX_DEPTH` levels
deep; deeper raises :class:`ExprError`.

Interning is thread safe (the table of live nodes holds them weakly; a node enters it by an atomic
``setdefault``, a dead entry is replaced under a lock). Every algorithm over nodes is iterative
and visits each distinct node once; building a node of k operands costs O(k log k).
"""
from __future__ import annotations

import math
import threading
import zlib
import weakref
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from . import ops as _ops
from .errors import ExprError

try:  # the atomic "delete if still dead" that WeakValueDictionary uses
    from _weakref import _remove_dead_weakref
except ImportError:  # pragma: no cover - not CPython
    def _remove_dead_weakref(d, key):
        wr = d.get(key)
        if wr is not None and wr() is None:
            d.pop(key, None)

#: nodes nest at most this many levels (an expression of depth d prints to text that the parser
#: reads back: see parse.MAX_NESTING)
MAX_DEPTH = 2000

NUM, CONST, VAR, POW, MUL, ADD, CALL = "num", "const", "var", "pow", "mul", "add", "call"
_RANK = {NUM: 0, CONST: 1, VAR: 2, POW: 3, MUL: 4, ADD: 5, CALL: 6}
CONSTANTS = {"pi": math.pi, "e": math.e}
#: names of numbers the parser reads and the printer writes: inf and nan are numbers
NUMBER_NAMES = {"inf": math.inf, "nan": math.nan}
FUNCTIONS = _ops.FUNCTIONS
_VARS_CAP = 64  # a node keeps the set of its variables up to this many (pruning in diff)
_EMPTY: frozenset = frozenset()


def _strhash(s: str) -> int:
    # deterministic across processes (Python's str hash is salted): the canonical order and the
    # printed text do not depend on PYTHONHASHSEED
    b = s.encode("utf-8", "surrogatepass")
    return zlib.crc32(b) | (zlib.adler32(b) << 32)


_NAN_HASH = 0x7FF8000000000000


def _numkey(v: float):
    return (1, 0.0) if v != v else (0, v)  # NaN last


class Node:
    """One node: ``kind`` in num/const/var/add/mul/pow/call; ``value`` is the number, the name of a
    variable or constant, or the function's name; ``args`` the operands. Nodes are interned:
    equal nodes are the same object, so ``==`` is ``is``. Build them with :func:`num`,
    :func:`var`, :func:`add`, :func:`mul`, :func:`power`, :func:`call` (never directly)."""

    __slots__ = ("kind", "value", "args", "_h", "_rank", "_head", "_key", "total", "depth", "_vars", "_deg", "_rest",
                 "__weakref__")

    def __hash__(self) -> int:
        return self._h

    def __lt__(self, other: "Node") -> bool:
        return self._key < other._key

    def __repr__(self) -> str:
        from .printing import to_str

        try:
            return f"Node({to_str(self)!r})"
        except ExprError:
            return f"<Node {self.kind}: {size(self)} nodes>"

    def __reduce__(self):
        table, roots = encode([self])
        return (_decode_one, (table, roots))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    @property
    def is_num(self) -> bool:
        return self.kind == NUM

    def variables(self) -> List[str]:
        """Variable names in order of first appearance (depth first, left to right)."""
        seen = set()
        order: List[str] = []
        stack = [self]
        visited = set()
        while stack:
            n = stack.pop()
            if id(n) in visited:
                continue
            visited.add(id(n))
            if n.kind == VAR and n.value not in seen:
                seen.add(n.value)
                order.append(n.value)
            stack.extend(reversed(n.args))
        return order


class _Ref(weakref.ref):
    """A weak reference that knows its table key (KeyedRef without its Python-level __init__)."""

    __slots__ = ("key",)


_TABLE: Dict[tuple, _Ref] = {}
_LOCK = threading.Lock()


def _gone(wr, _remove=_remove_dead_weakref, _t=_TABLE):
    _remove(_t, wr.key)


def _make(kind: str, value, args: Tuple[Node, ...], total: bool, deg: float) -> Node:
    """The interned node with these (canonical) parts."""
    key = (kind, value, args)  # numbers: one NaN object, one zero (num() normalizes them)
    wr = _TABLE.get(key)
    if wr is not None:
        n = wr()
        if n is not None:
            return n
    return _create(key, kind, value, args, total, deg)


def _create(key, kind: str, value, args: Tuple[Node, ...], total: bool, deg: float) -> Node:
    depth = 1
    for a in args:
        if a.depth >= depth:
            depth = a.depth + 1
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
    rank = _RANK[kind]
    if kind == NUM:
        vh, head = (hash(value), value) if value == value else (_NAN_HASH, -math.inf)
    elif kind == VAR or kind == CONST or kind == CALL:
        vh, head = _strhash(value), value
    else:
        vh, head = 0, (0 if kind == POW else len(args))
    if args:
        h = hash((rank, vh, *[a._h for a in args]))
        # the canonical order: kind, name or value, the same of the first three operands, the hash
        # (a flat tuple of numbers and strings: no garbage-collected containers per node)
        a0 = args[0]
        if len(args) == 1:
            sort_key = (rank, head, a0._rank, a0._head, -1, 0, -1, 0, h)
        elif len(args) == 2:
            a1 = args[1]
            sort_key = (rank, head, a0._rank, a0._head, a1._rank, a1._head, -1, 0, h)
        else:
            a1, a2 = args[1], args[2]
            sort_key = (rank, head, a0._rank, a0._head, a1._rank, a1._head, a2._rank, a2._head, h)
    else:
        h = hash((rank, vh))
        sort_key = (rank, head, -1, 0, -1, 0, -1, 0, h)
    # the variables, while few
    if kind == VAR:
        vs: Optional[frozenset] = frozenset((value,))
    elif not args:
        vs = _EMPTY
    else:
        vs = args[0]._vars
        for a in args[1:]:
            if vs is None:
                break
            av = a._vars
            if av is None:
                vs = None
            elif not av <= vs:
                vs = vs | av
                if len(vs) > _VARS_CAP:
                    vs = None
    n = object.__new__(Node)
    n.kind, n.value, n.args, n._h = kind, value, args, h
    n._rank, n._head, n._key = rank, head, sort_key
    n.total, n.depth, n._vars, n._deg, n._rest = total, depth, vs, deg, None
    r = _Ref(n, _gone)
    r.key = key
    while True:
        # setdefault is atomic (the key's hash is computed first; nodes compare by identity)
        cur = _TABLE.setdefault(key, r)
        if cur is r:
            return n
        m = cur()
        if m is not None:  # another thread made it first: theirs is the node
            return m
        with _LOCK:  # a dead entry whose callback has not run yet: replace it, once
            if _TABLE.get(key) is cur:
                _TABLE[key] = r
                return n


def _sorted(nodes: List[Node]) -> Tuple[Node, ...]:
    nodes.sort(key=_sortkey)
    for i in range(1, len(nodes)):  # a 64-bit hash collision between distinct nodes: order by structure
        if nodes[i]._key == nodes[i - 1]._key and nodes[i] is not nodes[i - 1]:
            nodes.sort(key=lambda n: (n._key, structure(n)))
            break
    return tuple(nodes)


def _sortkey(n: Node):
    return n._key


def structure(n: Node) -> tuple:
    """The full structure of n as one flat tuple (pre-order kinds and values): a total order."""
    out = []
    stack = [n]
    while stack:
        m = stack.pop()
        out.append((_RANK[m.kind], _numkey(m.value) if m.kind == NUM else (m.value or ""), len(m.args)))
        stack.extend(reversed(m.args))
    return tuple(out)


# ---- leaves ----------------------------------------------------------------------------------

def num(v: float) -> Node:
    v = float(v)
    if v == 0.0:
        v = 0.0  # one zero: -0.0 and 0.0 are the same node
    elif v != v:
        v = math.nan
    return _make(NUM, v, (), math.isfinite(v), 0.0)


num_node = num  # an alias for code whose locals shadow ``num``
ZERO, ONE, MINUS_ONE = num(0), num(1), num(-1)
_HALF = 0.5


def var(name: str) -> Node:
    return _make(VAR, name, (), True, 1.0)


def const(name: str) -> Node:
    if name not in CONSTANTS:
        raise KeyError(name)
    return _make(CONST, name, (), True, 0.0)


def number_value(n: Node) -> Optional[float]:
    """The value of a number or a named constant, else None."""
    if n.kind == NUM:
        return n.value
    if n.kind == CONST:
        return CONSTANTS[n.value]
    return None


# ---- sums ------------------------------------------------------------------------------------

def split_coeff(t: Node) -> Tuple[float, Node]:
    """term -> (numeric coefficient, the rest)"""
    if t.kind == NUM:
        return t.value, ONE
    if t.kind == MUL and t.args[0].kind == NUM:
        r = t._rest
        if r is None:
            rest = t.args[1:]
            r = rest[0] if len(rest) == 1 else _make(MUL, None, rest, all(f.total for f in rest),
                                                     sum(f._deg for f in rest))
            t._rest = r
        return t.args[0].value, r
    return 1.0, t


_split_coeff = split_coeff


def add(*terms: Node) -> Node:
    return add_list(terms)


def add_list(terms: Iterable[Node]) -> Node:
    flat: List[Node] = []
    for t in terms:
        if t.kind == ADD:
            flat.extend(t.args)
        else:
            flat.append(t)
    if len(flat) == 1:
        return flat[0]
    constant, has_constant = 0.0, False
    groups: Dict[Node, List[Node]] = {}
    for t in flat:
        if t.kind == NUM:
            constant += t.value
            has_constant = True
            continue
        rest = split_coeff(t)[1]
        g = groups.get(rest)
        if g is None:
            groups[rest] = [t]
        else:
            g.append(t)
    out: List[Node] = []
    for rest, ts in groups.items():
        if len(ts) == 1:
            out.append(ts[0])
            continue
        cs = [split_coeff(t)[0] for t in ts]
        if rest.total:
            c = 0.0
            for v in cs:
                c += v
            if c != 0.0:
                out.append(_scaled(rest, c))
            continue
        # a partial term: inf - inf is NaN where inf + inf is not, and 0*inf is NaN: combine by sign
        if any(v != v for v in cs):
            out.append(_scaled(rest, math.nan))
            continue
        pos = [v for v in cs if v > 0]
        neg = [v for v in cs if v < 0]
        if pos:
            out.append(_scaled(rest, _total(pos)))
        if neg:
            out.append(_scaled(rest, _total(neg)))
        if len(pos) + len(neg) < len(cs):
            out.append(_scaled(rest, 0.0))
    if has_constant and (constant != 0.0 or not math.isfinite(constant)):
        out.append(num(constant))
    if not out:
        return ZERO
    if len(out) == 1:
        return out[0]
    args = _sorted(out)
    return _make(ADD, None, args, all(a.total for a in args), 0.5)


def _total(vs: List[float]) -> float:
    s = 0.0
    for v in vs:
        s += v
    return s


def _scaled(rest: Node, c: float) -> Node:
    return rest if c == 1.0 else mul_list((num(c), rest))


# ---- products --------------------------------------------------------------------------------

def _base_exp(f: Node) -> Tuple[Node, float]:
    if f.kind == POW and f.args[1].kind == NUM:
        return f.args[0], f.args[1].value
    return f, 1.0


def _is_int(v: float) -> bool:
    return math.isfinite(v) and v.is_integer()


def _merge_exponents(es: List[float]) -> List[float]:
    """The exponents of one base in a product, merged where the merged power is NaN and infinite
    exactly where the product is (see the module's docstring)."""
    out: List[float] = []
    for sign in (1, -1):
        part = sorted(e for e in es if math.isfinite(e) and (e > 0 if sign > 0 else e < 0))
        if not part:
            continue
        s = _total(part)
        if all(e.is_integer() for e in part) or not _is_int(s):
            out.append(s)
        else:  # sqrt(x)*sqrt(x) is NaN for x < 0, x is not: keep a half apart
            out.extend((s - 0.5 * sign, 0.5 * sign))
    out.extend(sorted((e for e in es if not math.isfinite(e)), key=lambda e: (e != e, e if e == e else 0.0)))
    return out


def mul(*factors: Node) -> Node:
    return mul_list(factors)


def mul_list(factors: Iterable[Node]) -> Node:
    todo = factors if type(factors) is list else list(factors)
    if len(todo) == 2:  # the common case c*t: nothing to merge
        c, t = todo
        if t.kind == NUM and c.kind != NUM:
            c, t = t, c
        if c.kind == NUM and t.kind != NUM and t.kind != MUL:
            v = c.value
            if v == 1.0:
                return t
            if v == 0.0 and t.total:
                return ZERO
            return _make(MUL, None, (c, t), c.total and t.total, t._deg)
    while True:
        flat: List[Node] = []
        for f in todo:
            if f.kind == MUL:
                flat.extend(f.args)
            else:
                flat.append(f)
        coeff = 1.0
        bases: Dict[Node, List[Tuple[float, Node]]] = {}
        for f in flat:
            if f.kind == NUM:
                coeff *= f.value
                continue
            b, e = _base_exp(f)
            g = bases.get(b)
            if g is None:
                bases[b] = [(e, f)]
            else:
                g.append((e, f))
        out: List[Node] = []
        again = False
        for b, g in bases.items():
            if len(g) == 1:
                out.append(g[0][1])
                continue
            for e in _merge_exponents([e for e, _ in g]):
                p = power(b, num(e))
                if p.kind == NUM:
                    coeff *= p.value
                    continue
                if p.kind == MUL or _base_exp(p)[0] is not b:
                    again = True  # the power was rewritten: its factors may merge with others
                out.append(p)
        if again:
            todo = [num(coeff)] + out
            continue
        break
    if coeff == 0.0:
        out = [f for f in out if not f.total]  # 0*x is 0 where x is finite; 0*log(x) is not
        if not out:
            return ZERO
    if not out:
        return num(coeff)
    if coeff == 1.0 and len(out) == 1:
        return out[0]
    args = _sorted(out)
    if coeff != 1.0:
        args = (num(coeff),) + args
    return _make(MUL, None, args, all(a.total for a in args), sum(a._deg for a in args))


# ---- powers ----------------------------------------------------------------------------------

def _pow_value(a: float, b: float) -> float:
    """a**b for numbers, computed as the tape computes it (ops.power_instruction)."""
    from .. import _core

    name, n = _ops.power_instruction(b)
    return _core.eval_op(_ops.CODES[name], a, b, n or 0)


def power(b: Node, e: Node) -> Node:
    if e.kind == NUM:
        v = e.value
        if v == 0.0:
            return ONE  # NumPy: u**0 is 1 for every u, NaN included
        if v == 1.0:
            return b
        if b.kind == NUM:
            return num(_pow_value(b.value, v))
        if _is_int(v):
            if b.kind == POW and b.args[1].kind == NUM:
                a = b.args[1].value
                if math.isfinite(a) and (a.is_integer() or not _is_int(a * v)):
                    return power(b.args[0], num(a * v))
            if b.kind == MUL:
                return mul_list([power(f, e) for f in b.args])
        total = b.total and v > 0 and _is_int(v)
        deg = v * b._deg if math.isfinite(v) else 0.5
    else:
        if b.kind == NUM and b.value == 1.0:
            return ONE
        bv = number_value(b)
        total = bv is not None and math.isfinite(bv) and bv > 0 and e.total
        deg = 0.5
    return _make(POW, None, (b, e), total, deg)


# ---- functions -------------------------------------------------------------------------------

def _scalar(fn: _ops.Function, args: Sequence[float], imm: Optional[int]) -> float:
    """The table's value of a function at numbers (a function by its definition)."""
    from .. import _core

    if fn.code is not None:
        a = args[0]
        b = args[1] if len(args) > 1 else 0.0
        return _core.eval_op(fn.code, a, b, imm or 0)

    def op(name, k, operands):
        sub = FUNCTIONS.get(name)
        if sub is not None:
            return _scalar(sub, operands, k)
        return _core.eval_op(_ops.CODES[name], operands[0], operands[1] if len(operands) > 1 else 0.0, k or 0)

    return _ops.instantiate(fn.definition, args[0], args[1] if len(args) > 1 else 0.0, None, 0, float, op)


def _simple(v: float, args: Sequence[float]) -> bool:
    if not math.isfinite(v):
        return False
    if abs(v) < 2.0**52 and (2.0 * v).is_integer():
        return True
    return any(v == a or v == -a for a in args)


def check_call(name: str, nargs: int) -> _ops.Function:
    fn = FUNCTIONS.get(name)
    if fn is None:
        raise ExprError(f"unknown function '{name}'")
    if nargs != fn.arity:
        raise ExprError(f"{name}() takes {fn.arity} argument{'s' if fn.arity != 1 else ''}, got {nargs}")
    return fn


def call(name: str, args: Sequence[Node]) -> Node:
    if isinstance(args, Node):  # call(name, arg): the one-argument form of earlier versions
        args = (args,)
    fn = check_call(name, len(args))
    imm = None
    operands = tuple(args)
    if fn.imm:
        k = args[0]
        if k.kind != NUM or not _is_int(k.value) or not 0 <= k.value <= _ops.MAX_POLYGAMMA:
            raise ExprError(f"{name}()'s first argument is its order, an integer from 0 to {_ops.MAX_POLYGAMMA}")
        imm = int(k.value)
        operands = operands[1:]
    values = [number_value(a) for a in operands]
    if all(v is not None for v in values):
        v = _scalar(fn, values, imm)
        if _simple(v, values):
            return num(v)
    args = tuple(args)
    return _make(CALL, name, args, fn.total and all(a.total for a in operands), 0.5)


def neg(a: Node) -> Node:
    return mul_list((MINUS_ONE, a))


def sub(a: Node, b: Node) -> Node:
    return add_list((a, neg(b)))


def div(a: Node, b: Node) -> Node:
    return mul_list((a, power(b, MINUS_ONE)))


def make(kind: str, value, args: Sequence[Node]) -> Node:
    """The canonical node of this kind over these operands."""
    if kind == ADD:
        return add_list(args)
    if kind == MUL:
        return mul_list(args)
    if kind == POW:
        return power(args[0], args[1])
    if kind == CALL:
        return call(value, args)
    if kind == NUM:
        return num(value)
    if kind == VAR:
        return var(value)
    if kind == CONST:
        return const(value)
    raise ValueError(f"unknown node kind {kind!r}")


# ---- walks (iterative, each distinct node once) ----------------------------------------------

def postorder(roots: Iterable[Node]) -> List[Node]:
    """Every distinct node under the roots, each after its operands."""
    order: List[Node] = []
    done = set()
    for r in roots:
        if id(r) in done:
            continue
        stack = [(r, iter(r.args))]
        while stack:
            n, it = stack[-1]
            for c in it:
                if id(c) not in done:
                    stack.append((c, iter(c.args)))
                    break
            else:
                stack.pop()
                if id(n) not in done:
                    done.add(id(n))
                    order.append(n)
    return order


def size(n: Node) -> int:
    """The number of distinct nodes (the DAG's size)."""
    return len(postorder([n]))


def tree_size(n: Node) -> int:
    """The number of nodes the tree written out has (shared subexpressions counted each time)."""
    count: Dict[int, int] = {}
    for m in postorder([n]):
        count[id(m)] = 1 + sum(count[id(a)] for a in m.args)
    return count[id(n)]


def rebuild_all(roots: Sequence[Node], leaf=None, node=None) -> List[Node]:
    """The roots rebuilt bottom-up through the canonical constructors: ``leaf(n)`` may replace a
    leaf, ``node(n, args)`` an inner node given its rebuilt operands (None: keep as built)."""
    memo: Dict[int, Node] = {}
    for n in postorder(roots):
        if not n.args:
            r = leaf(n) if leaf is not None else None
            memo[id(n)] = n if r is None else r
            continue
        args = [memo[id(a)] for a in n.args]
        r = node(n, args) if node is not None else None
        if r is None:
            same = all(a is b for a, b in zip(args, n.args))
            r = n if same else make(n.kind, n.value, args)
        memo[id(n)] = r
    return [memo[id(r)] for r in roots]


def rebuild(n: Node, f) -> Node:
    """Rebuild ``n`` bottom-up, replacing each leaf by ``f(leaf)`` (None keeps it)."""
    return rebuild_all([n], leaf=f)[0]


#: the most terms of a sum a numeric coefficient is multiplied into by :func:`distribute` (a sum
#: shared under k coefficients would otherwise cost k times its size)
MAX_DISTRIBUTE = 64


def distribute(n: Node) -> Node:
    """Numeric coefficients multiplied into sums (of at most MAX_DISTRIBUTE terms):
    2*(x + 1) -> 2*x + 2, -(a - b) -> b - a."""
    def node(m, args):
        if (m.kind == MUL and len(args) == 2 and args[0].kind == NUM and args[1].kind == ADD
                and len(args[1].args) <= MAX_DISTRIBUTE):
            c = args[0].value
            if math.isfinite(c) and c != 0.0:  # inf*(x + 1) is not inf*x + inf at x = 0
                return add_list([mul_list((args[0], t)) for t in args[1].args])
        return None

    return rebuild_all([n], node=node)[0]


def split_product(n: Node) -> Tuple[float, List[Node], List[Node]]:
    """A product as (numeric coefficient, numerator factors, denominator factors): the factors
    with a negative finite numeric exponent go below the line with that exponent made positive."""
    factors = n.args if n.kind == MUL else (n,)
    coeff, numer, den = 1.0, [], []
    for f in factors:
        if f.kind == NUM:
            coeff *= f.value
        elif f.kind == POW and f.args[1].kind == NUM and f.args[1].value < 0 and math.isfinite(f.args[1].value):
            den.append(power(f.args[0], num(-f.args[1].value)))
        else:
            numer.append(f)
    return coeff, numer, den


def depends_on(n: Node, name: str) -> bool:
    """Whether the variable ``name`` occurs in n."""
    if n._vars is not None:
        return name in n._vars
    for m in postorder([n]):
        if m.kind == VAR and m.value == name:
            return True
    return False


def free_of(n: Node, name: Optional[str] = None) -> bool:
    """True when no variable (or not the variable ``name``) occurs in n."""
    if name is not None:
        return not depends_on(n, name)
    if n._vars is not None:
        return not n._vars
    return not any(m.kind == VAR for m in postorder([n]))


def variables_of(roots: Iterable[Node]) -> set:
    out = set()
    for m in postorder(roots):
        if m.kind == VAR:
            out.add(m.value)
    return out


# ---- pickles: the DAG as a table, rebuilt through the constructors ---------------------------

def encode(roots: Sequence[Node]) -> Tuple[List[tuple], List[int]]:
    """(table, root indices): a row (kind, value, operand indices) per distinct node, operands
    first."""
    index: Dict[int, int] = {}
    table: List[tuple] = []
    for n in postorder(roots):
        index[id(n)] = len(table)
        table.append((n.kind, n.value, tuple(index[id(a)] for a in n.args)))
    return table, [index[id(r)] for r in roots]


def decode(table, roots) -> List[Node]:
    """The nodes of :func:`encode`'s table; a malformed table raises ValueError."""
    built: List[Node] = []
    try:
        for row in table:
            kind, value, idx = row
            if kind not in _RANK:
                raise ValueError(f"unknown node kind {kind!r}")
            if kind == NUM and not isinstance(value, (int, float)):
                raise ValueError("a number node needs a number")
            if kind in (VAR, CONST, CALL) and not isinstance(value, str):
                raise ValueError(f"a {kind} node needs a name")
            args = []
            for i in idx:
                if not isinstance(i, int) or not 0 <= i < len(built):
                    raise ValueError("an operand index out of range")
                args.append(built[i])
            if kind in (ADD, MUL) and not args or kind == POW and len(args) != 2:
                raise ValueError(f"a {kind} node with {len(args)} operands")
            built.append(make(kind, value, args))
        return [built[i] for i in roots]
    except ExprError:
        raise
    except (TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"bad expression pickle: {exc}") from None


def _decode_one(table, roots):
    return decode(table, roots)[0]


def iter_vars_in(nodes: Iterable[Node]) -> Iterator[str]:
    for m in postorder(nodes):
        if m.kind == VAR:
            yield m.value
