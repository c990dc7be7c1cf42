"""Rewrite the OpenQASM 3 constructs Qiskit's importer cannot read into ones it can.

``qiskit_qasm3_import`` (behind ``qiskit.qasm3.loads``) refuses three things common in
hand-written OpenQASM 3: ``const`` declarations, subroutines (``def``), and ``for`` loops whose
variable indexes a qubit (``cx q[i], q[i + 1]``: it keeps the loop as a Qiskit ``for_loop``,
whose variable can only be a gate angle).  :func:`expand_program` rewrites the parsed program
(the AST of the ``openqasm3`` package) before conversion:

* a ``const`` of a constant numeric expression is substituted wherever it is read, and its
  declaration dropped;
* a ``for`` loop over a literal range or set whose variable appears in an index is unrolled,
  the variable replaced by each value in turn, and integer arithmetic on the values folded
  (the importer does not evaluate ``(i + 1) % n``);
* a subroutine without a return value is inlined at every call statement, its qubit
  arguments replaced by the qubits passed and its classical ones by the values passed.

Everything else is left as written, so the importer reports what it still refuses.  The
copies keep the source spans of the statements they come from, so errors point at the line
written.  Expansion is capped (:data:`MAX_EXPANDED` statements).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import fields, is_dataclass

from openqasm3 import ast

NEEDS_EXPANSION = re.compile(r"\b(const|def|for)\b")
"""Programs without these words are passed to the importer untouched."""

MAX_EXPANDED = 1_000_000
"""Statements the rewrite may produce.  Each costs about 40 us here and 25 us more in the
importer (100,000: 7 s in all), so a million is already a minute; a loop whose variable is
only an angle stays a loop and is unrolled by araqne's own converter, far more cheaply."""


class ExpansionError(Exception):
    """A construct this rewrite takes on but cannot express (message, line, column)."""

    def __init__(self, message: str, node=None):
        span = getattr(node, "span", None)
        self.line = getattr(span, "start_line", None)
        self.column = getattr(span, "start_column", None)
        super().__init__(message)


_ARITH = {
    ast.BinaryOperator["+"]: lambda a, b: a + b,
    ast.BinaryOperator["-"]: lambda a, b: a - b,
    ast.BinaryOperator["*"]: lambda a, b: a * b,
    ast.BinaryOperator["/"]: lambda a, b: a // b if isinstance(a, int) and isinstance(b, int)
    else a / b,
    ast.BinaryOperator["%"]: lambda a, b: a % b,
    ast.BinaryOperator["**"]: lambda a, b: a ** b,
}
_NAMED = {"pi": math.pi, "π": math.pi, "tau": 2 * math.pi, "τ": 2 * math.pi, "euler": math.e,
          "ℇ": math.e}


def _value(node, env: dict):
    """The number a constant expression stands for, or None when it is not one."""
    if isinstance(node, ast.IntegerLiteral):
        return int(node.value)
    if isinstance(node, ast.FloatLiteral):
        return float(node.value)
    if isinstance(node, ast.BooleanLiteral):
        return bool(node.value)
    if isinstance(node, ast.Identifier):
        if node.name in env:
            return _value(env[node.name], {})
        return _NAMED.get(node.name)
    if isinstance(node, ast.UnaryExpression) and node.op == ast.UnaryOperator["-"]:
        v = _value(node.expression, env)
        return None if v is None else -v
    if isinstance(node, ast.BinaryExpression) and node.op in _ARITH:
        a, b = _value(node.lhs, env), _value(node.rhs, env)
        if a is None or b is None:
            return None
        try:
            return _ARITH[node.op](a, b)
        except (ZeroDivisionError, OverflowError, ValueError):
            return None
    return None


def _node(cls, span, **values):
    """An AST node located at ``span`` (the span is not an argument of the constructors)."""
    node = cls(**values)
    node.span = span
    return node


def _literal(v, span):
    if isinstance(v, bool):
        return _node(ast.BooleanLiteral, span, value=v)
    if isinstance(v, int):
        return _node(ast.IntegerLiteral, span, value=v)
    return _node(ast.FloatLiteral, span, value=float(v))


_FIELDS: dict = {}


def _field_names(cls) -> tuple:
    """The fields of an AST node class but its span (empty for anything else); cached, since
    :func:`dataclasses.fields` is slow next to the work per node."""
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name != "span") \
            if is_dataclass(cls) and cls is not ast.Span else ()
        _FIELDS[cls] = names
    return names


_NAME_FIELDS = {"name", "identifier", "target"}
"""Fields holding names (of gates, declared variables, called subroutines), never values."""


def _substitute(node, env: dict):
    """A copy of ``node`` with every identifier read as a value replaced from ``env``
    (name -> expression node); a qubit operand named in ``env`` is replaced too."""
    if isinstance(node, list):
        return [_substitute(x, env) for x in node]
    if isinstance(node, ast.Identifier):
        # shared, not copied: no step of the rewrite or of the importer modifies a node
        return env.get(node.name, node)
    if isinstance(node, ast.IndexedIdentifier) and node.name.name in env:
        return _index_into(env[node.name.name], _substitute(node.indices, env), node)
    names = _field_names(type(node))
    if not names:
        return node
    changes = {}
    for name in names:
        old = getattr(node, name)
        if old is None or isinstance(old, (str, int, float, bool)):
            continue
        if name in _NAME_FIELDS and isinstance(old, ast.Identifier):
            continue
        if isinstance(node, ast.QuantumMeasurementStatement) and name == "target":
            new = _substitute(old, env) if isinstance(old, ast.IndexedIdentifier) else old
        else:
            new = _substitute(old, env)
        if new is not old:
            changes[name] = new
    if not changes:
        return node
    out = object.__new__(type(node))  # a shallow copy, faster than copy.copy
    out.__dict__.update(node.__dict__)
    out.__dict__.update(changes)
    if isinstance(out, (ast.BinaryExpression, ast.UnaryExpression)):
        # integer arithmetic on substituted values (index expressions such as (i + 1) % n,
        # which the importer does not evaluate) becomes its value; angles stay as written
        v = _value(out, {})
        if isinstance(v, int) and not isinstance(v, bool):
            return _literal(v, out.span)
    return out


def _index_into(base, indices, where):
    """``base[indices]`` for a subroutine's register argument read with an index."""
    if isinstance(base, ast.Identifier):
        return _node(ast.IndexedIdentifier, where.span, name=base, indices=indices)
    raise ExpansionError("a subroutine indexes an argument that is already an indexed qubit; "
                         "pass the whole register", where)


def _qubit_operand(arg):
    """A call argument as a qubit operand (``q`` or ``q[i]``)."""
    if isinstance(arg, ast.IndexExpression) and isinstance(arg.collection, ast.Identifier):
        index = arg.index if isinstance(arg.index, list) else [arg.index]
        return _node(ast.IndexedIdentifier, arg.span, name=arg.collection, indices=[index])
    if isinstance(arg, (ast.Identifier, ast.IndexedIdentifier)):
        return arg
    raise ExpansionError("a qubit argument of a subroutine must be a qubit or a register", arg)


def _mentions(node, name: str, in_index: bool = False) -> bool:
    """Whether ``name`` is read inside an index anywhere in ``node``."""
    if isinstance(node, list):
        return any(_mentions(x, name, in_index) for x in node)
    if isinstance(node, ast.Identifier):
        return in_index and node.name == name
    if isinstance(node, ast.IndexedIdentifier):
        return _mentions(node.indices, name, True)
    if isinstance(node, ast.IndexExpression):
        return _mentions(node.collection, name, in_index) or _mentions(node.index, name, True)
    return any(_mentions(getattr(node, f), name, in_index) for f in _field_names(type(node)))


def _loop_values(loop: ast.ForInLoop, env: dict):
    """The values of a loop over a literal range or set, or None."""
    s = loop.set_declaration
    if isinstance(s, ast.RangeDefinition):
        start = _value(s.start, env) if s.start is not None else None
        end = _value(s.end, env) if s.end is not None else None
        step = _value(s.step, env) if s.step is not None else 1
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end, step)) \
                or step == 0:
            return None
        return range(start, end + (1 if step > 0 else -1), step)
    if isinstance(s, ast.DiscreteSet):
        vals = [_value(v, env) for v in s.values]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
            return vals
    return None


class _Expander:
    def __init__(self, limit: int):
        self.limit = limit
        self.emitted = 0
        self.subroutines: dict[str, ast.SubroutineDefinition] = {}
        self.depth = 0

    def count(self, n: int, node) -> None:
        self.emitted += n
        if self.emitted > self.limit:
            raise ExpansionError(f"'for' loops and subroutine calls expand to more than "
                                 f"{self.limit} statements", node)

    def block(self, statements, env: dict) -> list:
        out: list = []
        for st in statements:
            out.extend(self.statement(st, env))
        return out

    def statement(self, st, env: dict) -> list:
        if isinstance(st, ast.ConstantDeclaration):
            v = _value(st.init_expression, env)
            if v is not None:
                env[st.identifier.name] = _literal(v, st.init_expression.span)
                return []
            return [_substitute(st, env)]
        if isinstance(st, ast.SubroutineDefinition):
            if st.return_type is None and _find(st.body, ast.ReturnStatement) is None:
                self.subroutines[st.name.name] = st
                return []
            return [st]
        if isinstance(st, ast.ExpressionStatement) and isinstance(st.expression,
                                                                  ast.FunctionCall):
            sub = self.subroutines.get(st.expression.name.name)
            if sub is not None:
                return self.call(sub, st.expression, env)
        if isinstance(st, ast.ForInLoop):
            values = _loop_values(st, env)
            var = st.identifier.name
            if values is not None and _mentions(st.block, var):
                jump = _find(st.block, (ast.BreakStatement, ast.ContinueStatement))
                if jump is not None:
                    raise ExpansionError("'break' and 'continue' are not supported", jump)
                self.count(len(values) * _size(st.block), st)
                out = []
                for v in values:
                    inner = dict(env)
                    inner[var] = _node(ast.IntegerLiteral, st.identifier.span, value=v)
                    out.extend(self.block(st.block, inner))
                return out
            inner = {k: v for k, v in env.items() if k != var}
            body = self.block(st.block, inner)
            out = copy.copy(st)
            out.set_declaration = _substitute(st.set_declaration, env)
            out.block = body
            return [out]
        if isinstance(st, ast.QuantumGateDefinition):
            # its parameters and qubits are its own names, whatever the program's constants
            local = {a.name for a in st.arguments} | {q.name for q in st.qubits}
            out = copy.copy(st)
            out.body = _substitute(st.body, {k: v for k, v in env.items() if k not in local})
            return [out]
        if isinstance(st, ast.BranchingStatement):
            out = copy.copy(st)
            out.condition = _substitute(st.condition, env)
            out.if_block = self.block(st.if_block, dict(env))
            out.else_block = self.block(st.else_block, dict(env))
            return [out]
        if isinstance(st, ast.Box):
            out = copy.copy(st)
            out.body = self.block(st.body, dict(env))
            return [out]
        return [_substitute(st, env)]

    def call(self, sub: ast.SubroutineDefinition, call: ast.FunctionCall, env: dict) -> list:
        if len(call.arguments) != len(sub.arguments):
            raise ExpansionError(f"subroutine '{sub.name.name}' takes {len(sub.arguments)} "
                                 f"arguments, {len(call.arguments)} given", call)
        if self.depth > 64:
            raise ExpansionError(f"subroutine '{sub.name.name}' calls nest too deeply "
                                 "(recursive?)", call)
        inner: dict = {}
        for param, arg in zip(sub.arguments, call.arguments):
            arg = _substitute(arg, env)
            if isinstance(param, ast.QuantumArgument):
                inner[param.name.name] = _qubit_operand(arg)
            elif isinstance(param, ast.ClassicalArgument):
                inner[param.name.name] = arg
            else:
                raise ExpansionError(f"subroutine '{sub.name.name}': argument kind "
                                     f"{type(param).__name__} is not supported", call)
        # the body sees the program's constants and its own arguments, nothing else
        scope = {k: v for k, v in env.items() if isinstance(v, (ast.IntegerLiteral,
                                                                ast.FloatLiteral,
                                                                ast.BooleanLiteral))}
        scope.update(inner)
        self.count(_size(sub.body), call)
        self.depth += 1
        try:
            return self.block(sub.body, scope)
        finally:
            self.depth -= 1


def _find(node, kinds):
    """The first node of one of ``kinds`` inside ``node`` (blocks, branches), or None."""
    if isinstance(node, kinds):
        return node
    items = node if isinstance(node, list) else \
        [getattr(node, f) for f in _field_names(type(node))]
    for item in items:
        found = _find(item, kinds)
        if found is not None:
            return found
    return None


def _size(block) -> int:
    return max(1, len(block))


def expand_program(program: ast.Program, limit: int) -> ast.Program:
    """Rewrite ``program`` (see the module docstring); the input is not modified.

    Raises
    ------
    ExpansionError
        When expansion would exceed ``limit`` statements, or a subroutine call cannot be
        inlined (wrong argument count, recursion, an indexed register argument indexed again).
    """
    out = copy.copy(program)
    out.statements = _Expander(limit).block(program.statements, {})
    return out
