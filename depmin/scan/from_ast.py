"""The fast path: CPython's own `ast` tree → depmin.scan.ir.

Without the words import_module / __import__ in a file (`calls=False`), no expression
can import anything, so only what conditions need is translated: tests, handler types,
with items, `match` subjects, module-level assignments, and calls that end the program.
"""

from __future__ import annotations

import ast
from collections import Counter

from depmin.scan import ir

_OPERATORS = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_BINARY = {ast.Add: "+", ast.Mod: "%"}
# Module-level values worth translating when no expression can import: what a condition,
# a constant or __all__ can be made of.
_CONDITION_NODES = (
    ast.Name,
    ast.Attribute,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Subscript,
    ast.Call,
    ast.Tuple,
    ast.List,
    ast.BinOp,
)
# What a statement holds when its expressions are not translated: something, unread.
_UNREAD: tuple[ir.Expr, ...] = (ir.OPAQUE,)


def translate(tree: ast.Module, *, calls: bool) -> ir.Module:
    return ir.Module(_Translator(calls).block(tree.body, top=True), lambda: count_bindings(tree))


class _Translator:
    def __init__(self, calls: bool) -> None:
        self.calls = calls

    def block(self, statements: list[ast.stmt], *, top: bool = False) -> ir.Block:
        found = []
        for statement in statements:
            translated = self.statement(statement, top)
            if translated is not None:
                found.append(translated)
        return tuple(found)

    def exprs(self, nodes: list[ast.expr | None] | tuple[ast.expr | None, ...]) -> tuple[ir.Expr, ...]:
        if not self.calls:
            return ()
        return tuple(expr(node) for node in nodes if node is not None)

    def statement(self, node: ast.stmt, top: bool) -> ir.Stmt | None:
        kind = type(node)
        if kind is ast.Import:
            return ir.Import(node.lineno, tuple((a.name, a.asname) for a in node.names))
        if kind is ast.ImportFrom:
            names = tuple((a.name, a.asname) for a in node.names)
            return ir.ImportFrom(node.lineno, node.module or "", node.level or 0, names)
        if kind is ast.If:
            return ir.If(expr(node.test), self.block(node.body), self.block(node.orelse))
        if kind is ast.While:
            return ir.While(expr(node.test), self.block(node.body), self.block(node.orelse))
        if kind is ast.Try or kind is getattr(ast, "TryStar", None):
            handlers = tuple(
                ir.Handler(expr(h.type) if h.type is not None else None, self.block(h.body)) for h in node.handlers
            )
            return ir.Try(
                self.block(node.body), handlers, self.block(node.orelse), self.block(node.finalbody), node.lineno
            )
        if kind is ast.With or kind is ast.AsyncWith:
            return ir.With(tuple(expr(item.context_expr) for item in node.items), self.block(node.body))
        if kind is ast.Match:
            cases = tuple(
                ir.Case(pattern(c.pattern), expr(c.guard) if c.guard is not None else None, self.block(c.body))
                for c in node.cases
            )
            return ir.Match(expr(node.subject), cases)
        if kind is ast.FunctionDef or kind is ast.AsyncFunctionDef:
            arguments = node.args
            annotations = [a.annotation for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)]
            for variadic in (arguments.vararg, arguments.kwarg):
                if variadic is not None:
                    annotations.append(variadic.annotation)
            header = self.exprs(
                [*node.decorator_list, *arguments.defaults, *arguments.kw_defaults, *annotations, node.returns]
            )
            return ir.Function(header, self.block(node.body), node.name)
        if kind is ast.ClassDef:
            header = self.exprs([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
            return ir.Class(header, self.block(node.body))
        if kind is ast.Assign or kind is ast.AugAssign or kind is ast.AnnAssign:
            return self.assignment(node, top)
        if kind is ast.Raise:
            return ir.Raise(tuple(expr(n) for n in (node.exc, node.cause) if n is not None))
        if kind is ast.For or kind is ast.AsyncFor:
            target = node.target.id if isinstance(node.target, ast.Name) else None
            return ir.Loop(self.exprs([node.iter]), self.block(node.body), self.block(node.orelse), target)
        if kind is ast.Expr:
            value = node.value
            if isinstance(value, ast.Constant):
                return None  # a docstring
            if self.calls or (
                isinstance(value, ast.Call) and (_ends_program(value.func) or (top and _is_all_method(value.func)))
            ):
                return ir.Statement(node.lineno, (expr(value),))
            return ir.Statement(node.lineno, _UNREAD)
        if kind is ast.Pass:
            return None
        if not self.calls:
            return ir.Statement(node.lineno, _UNREAD)
        return ir.Statement(
            node.lineno, tuple(expr(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))
        )

    def assignment(self, node: ast.Assign | ast.AugAssign | ast.AnnAssign, top: bool) -> ir.Stmt | None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:  # `x: int`
            return ir.Statement(node.lineno, self.exprs([node.annotation]) if self.calls else _UNREAD)
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            name = targets[0].id
            augmented = isinstance(node, ast.AugAssign)
            if augmented and not isinstance(node.op, ast.Add):
                return ir.Statement(node.lineno, self.exprs([value]) if self.calls else _UNREAD)
            if self.calls or (top and (name == "__all__" or isinstance(value, _CONDITION_NODES))) or _is_flag(value):
                return ir.Assign(node.lineno, name, augmented, expr(value))
            return ir.Statement(node.lineno, _UNREAD)
        if not self.calls:
            return ir.Statement(node.lineno, _UNREAD)
        return ir.Statement(node.lineno, self.exprs([*targets, value]))


def _is_flag(value: ast.expr) -> bool:
    """`HAS_X = True` / `False`: a feature flag a try/except may set, wherever it stands."""
    return isinstance(value, ast.Constant) and isinstance(value.value, bool)


def _ends_program(function: ast.expr) -> bool:
    name = (
        function.id if isinstance(function, ast.Name) else function.attr if isinstance(function, ast.Attribute) else ""
    )
    return name in ir.TERMINATORS


def _is_all_method(function: ast.expr) -> bool:
    return (
        isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name) and function.value.id == "__all__"
    )


def expr(node: ast.expr) -> ir.Expr:
    kind = type(node)
    if kind is ast.Name:
        return ("name", node.id)
    if kind is ast.Attribute:
        return ("attr", expr(node.value), node.attr)
    if kind is ast.Constant:
        value = node.value
        if value is None or isinstance(value, bool):
            return ("const", value)
        if isinstance(value, int):
            return ("int", value)
        if isinstance(value, str):
            return ("str", value)
        return ir.OPAQUE
    if kind is ast.Call:
        positional = tuple(("other", (expr(a.value),)) if isinstance(a, ast.Starred) else expr(a) for a in node.args)
        keywords = tuple((k.arg or "", expr(k.value)) for k in node.keywords)
        return ("call", expr(node.func), positional, keywords, node.lineno)
    if kind is ast.UnaryOp:
        if isinstance(node.op, ast.Not):
            return ("not", expr(node.operand))
        return ("other", (expr(node.operand),))
    if kind is ast.BoolOp:
        return ("and" if isinstance(node.op, ast.And) else "or", tuple(expr(v) for v in node.values))
    if kind is ast.Compare:
        comparisons = tuple(
            (_OPERATORS.get(type(op), "?"), expr(c)) for op, c in zip(node.ops, node.comparators, strict=True)
        )
        return ("compare", expr(node.left), comparisons)
    if kind is ast.Tuple or kind is ast.List:
        elements = tuple(("other", (expr(e.value),)) if isinstance(e, ast.Starred) else expr(e) for e in node.elts)
        return ("tuple" if kind is ast.Tuple else "list", elements)
    if kind is ast.Subscript:
        index = node.slice
        if isinstance(index, ast.Slice):
            if index.step is not None:
                return (
                    "other",
                    tuple(expr(n) for n in (node.value, index.lower, index.upper, index.step) if n is not None),
                )
            lower = expr(index.lower) if index.lower is not None else None
            upper = expr(index.upper) if index.upper is not None else None
            return ("slice", expr(node.value), lower, upper)
        if isinstance(index, ast.Tuple):  # x[a, b]: LibCST sees several slice elements
            return ("other", (expr(node.value), *(_slice_part(e) for e in index.elts)))
        return ("index", expr(node.value), expr(index))
    if kind is ast.BinOp:
        return ("binop", _BINARY.get(type(node.op), "?"), expr(node.left), expr(node.right))
    if kind is ast.JoinedStr:
        return ("fstr", _joined(node.values))
    if kind in (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp):
        produced = (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,)
        loops = tuple(
            (g.target.id if isinstance(g.target, ast.Name) else None, expr(g.iter), tuple(expr(i) for i in g.ifs))
            for g in node.generators
        )
        return ("comp", loops, tuple(expr(e) for e in produced))
    if kind is ast.Set:
        return ("set", tuple(("other", (expr(e.value),)) if isinstance(e, ast.Starred) else expr(e) for e in node.elts))
    if kind is ast.Lambda:
        defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
        body = ("lambda", expr(node.body))
        return ("other", (*(expr(d) for d in defaults), body)) if defaults else body
    if kind is ast.Dict:
        return (
            "dict",
            tuple((expr(k) if k is not None else None, expr(v)) for k, v in zip(node.keys, node.values, strict=True)),
        )
    return ("other", tuple(_descendants(node)))


def _joined(values: list[ast.expr]) -> tuple[ir.Expr, ...]:
    """An f-string's parts: ("str", text) between the replacement fields, a field as its
    expression, or ("other", (expression, spec)) when it has a conversion or a format spec."""
    parts: list[ir.Expr] = []
    for value in values:
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            ir.append_text(parts, value.value)
        elif isinstance(value, ast.FormattedValue):
            inner = expr(value.value)
            if value.format_spec is not None:
                spec = value.format_spec
                spec_parts = _joined(spec.values) if isinstance(spec, ast.JoinedStr) else (expr(spec),)
                parts.append(("other", (inner, ("fstr", spec_parts))))
            elif value.conversion != -1:
                parts.append(("other", (inner,)))
            else:
                parts.append(inner)
        else:
            parts.append(expr(value))
    return tuple(parts)


def _slice_part(node: ast.expr) -> ir.Expr:
    if isinstance(node, ast.Slice):
        return ("other", tuple(expr(n) for n in (node.lower, node.upper, node.step) if n is not None))
    if isinstance(node, ast.Starred):
        return ("other", (expr(node.value),))
    return expr(node)


def _descendants(node: ast.AST) -> list[ir.Expr]:
    """The expressions directly inside any other expression, in source order (where a call may hide)."""
    found: list[ir.Expr] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            found.append(expr(child))
        elif isinstance(child, ast.comprehension):
            found.extend(expr(n) for n in (child.target, child.iter, *child.ifs))
        elif isinstance(child, ast.keyword):
            found.append(expr(child.value))
    found.sort(key=_position)
    return found


def _position(expression: ir.Expr) -> int:
    return expression[4] if expression[0] == "call" else 0


def pattern(node: ast.pattern) -> ir.Pattern:
    if isinstance(node, ast.MatchValue):
        return ("value", expr(node.value))
    if isinstance(node, ast.MatchSingleton):
        return ("value", ("const", node.value))
    if isinstance(node, ast.MatchOr):
        return ("or", tuple(pattern(p) for p in node.patterns))
    if isinstance(node, ast.MatchAs):
        return ("any",) if node.pattern is None else pattern(node.pattern)
    if isinstance(node, ast.MatchSequence):
        return ("seq", tuple(pattern(p) for p in node.patterns))
    if isinstance(node, ast.MatchStar):
        return ("star",)
    return ("other",)


def count_bindings(tree: ast.AST) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.Name:
            if not isinstance(node.ctx, ast.Load):
                counts[node.id] += 1
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            counts[node.name] += 1
        elif kind is ast.alias:
            if node.name != "*":
                counts[node.asname or node.name.partition(".")[0]] += 1
        elif kind is ast.arg:
            counts[node.arg] += 1
        elif kind in (ast.Global, ast.Nonlocal):
            counts.update(node.names)
        elif kind in (ast.ExceptHandler, ast.MatchAs, ast.MatchStar):
            if node.name:
                counts[node.name] += 1
        elif kind is ast.MatchMapping and node.rest:
            counts[node.rest] += 1
    return dict(counts)
