"""The parser of record: a LibCST tree → depmin.scan.ir, exactly as from_ast translates.

Used for files the running interpreter cannot parse (newer syntax than it knows) and
as the reference the fast path is tested against. Imported on first use: LibCST takes
half a second to import, and most repositories never need it.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterable, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from depmin.scan import ir

_OPERATORS = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.In: "in",
    cst.NotIn: "not in",
    cst.Is: "is",
    cst.IsNot: "is not",
}
_CONDITION_NODES = (
    cst.Name,
    cst.Attribute,
    cst.Comparison,
    cst.BooleanOperation,
    cst.UnaryOperation,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.Ellipsis,
    cst.Subscript,
    cst.Call,
    cst.Tuple,
    cst.List,
    cst.BinaryOperation,
)
_UNREAD: tuple[ir.Expr, ...] = (ir.OPAQUE,)
_CONSTANTS = {"True": True, "False": False, "None": None}


def parse(source: bytes) -> MetadataWrapper:
    return MetadataWrapper(cst.parse_module(source), unsafe_skip_copy=True)


def translate(wrapper: MetadataWrapper, *, calls: bool) -> ir.Module:
    positions = wrapper.resolve(PositionProvider)
    module = wrapper.module
    translator = _Translator(calls, positions)
    return ir.Module(translator.block(module.body, top=True), lambda: count_bindings(module))


class _Translator:
    def __init__(self, calls: bool, positions: object) -> None:
        self.calls = calls
        self.positions = positions

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line  # type: ignore[index]

    # -- statements ------------------------------------------------------------------

    def block(self, statements: Sequence[cst.CSTNode], *, top: bool = False) -> ir.Block:
        found: list[ir.Stmt] = []
        for statement in statements:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    translated = self.small(small, top)
                    if translated is not None:
                        found.append(translated)
            else:
                translated = self.compound(statement)
                if translated is not None:
                    found.append(translated)
        return tuple(found)

    def suite(self, node: cst.BaseSuite | None) -> ir.Block:
        if node is None:
            return ()
        if isinstance(node, cst.SimpleStatementSuite):
            return tuple(t for t in (self.small(s, False) for s in node.body) if t is not None)
        return self.block(node.body)

    def orelse(self, node: cst.If | cst.Else | None) -> ir.Block:
        if node is None:
            return ()
        if isinstance(node, cst.If):  # elif
            translated = self.compound(node)
            return (translated,) if translated is not None else ()
        return self.suite(node.body)

    def exprs(self, nodes: Iterable[cst.BaseExpression | None]) -> tuple[ir.Expr, ...]:
        if not self.calls:
            return ()
        return tuple(self.expr(node) for node in nodes if node is not None)

    def compound(self, node: cst.CSTNode) -> ir.Stmt | None:
        if isinstance(node, cst.If):
            return ir.If(self.expr(node.test), self.suite(node.body), self.orelse(node.orelse))
        if isinstance(node, cst.While):
            return ir.While(self.expr(node.test), self.suite(node.body), self.orelse(node.orelse))
        if isinstance(node, (cst.Try, cst.TryStar)):
            handlers = tuple(
                ir.Handler(self.expr(h.type) if h.type is not None else None, self.suite(h.body)) for h in node.handlers
            )
            final = self.suite(node.finalbody.body) if node.finalbody is not None else ()
            return ir.Try(self.suite(node.body), handlers, self.orelse(node.orelse), final, self.line(node))
        if isinstance(node, cst.With):
            return ir.With(tuple(self.expr(item.item) for item in node.items), self.suite(node.body))
        if isinstance(node, cst.Match):
            cases = tuple(
                ir.Case(
                    self.pattern(c.pattern), self.expr(c.guard) if c.guard is not None else None, self.suite(c.body)
                )
                for c in node.cases
            )
            return ir.Match(self.expr(node.subject), cases)
        if isinstance(node, cst.FunctionDef):
            parameters = node.params
            params = [*parameters.posonly_params, *parameters.params, *parameters.kwonly_params]
            defaults = [p.default for p in (*parameters.posonly_params, *parameters.params)]
            kw_defaults = [p.default for p in parameters.kwonly_params]
            variadic = [p for p in (parameters.star_arg, parameters.star_kwarg) if isinstance(p, cst.Param)]
            annotations = [p.annotation.annotation if p.annotation is not None else None for p in (*params, *variadic)]
            returns = node.returns.annotation if node.returns is not None else None
            header = self.exprs(
                [*(d.decorator for d in node.decorators), *defaults, *kw_defaults, *annotations, returns]
            )
            return ir.Function(header, self.suite(node.body), node.name.value)
        if isinstance(node, cst.ClassDef):
            header = self.exprs(
                [
                    *(d.decorator for d in node.decorators),
                    *(a.value for a in node.bases),
                    *(a.value for a in node.keywords),
                ]
            )
            return ir.Class(header, self.suite(node.body))
        if isinstance(node, cst.For):
            target = node.target.value if isinstance(node.target, cst.Name) else None
            return ir.Loop(self.exprs([node.iter]), self.suite(node.body), self.orelse(node.orelse), target)
        return None

    def small(self, node: cst.BaseSmallStatement, top: bool) -> ir.Stmt | None:
        if isinstance(node, cst.Import):
            names = tuple((_dotted(a.name), _as_name(a)) for a in node.names)
            return ir.Import(self.line(node), names)
        if isinstance(node, cst.ImportFrom):
            module = _dotted(node.module) if node.module is not None else ""
            if isinstance(node.names, cst.ImportStar):
                imported: tuple[tuple[str, str | None], ...] = (("*", None),)
            else:
                imported = tuple((_dotted(a.name), _as_name(a)) for a in node.names)
            return ir.ImportFrom(self.line(node), module, len(node.relative), imported)
        if isinstance(node, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            return self.assignment(node, top)
        if isinstance(node, cst.Raise):
            cause = node.cause.item if node.cause is not None else None
            return ir.Raise(tuple(self.expr(n) for n in (node.exc, cause) if n is not None))
        if isinstance(node, cst.Expr):
            value = node.value
            if _is_constant(value):
                return None  # a docstring
            if self.calls or (
                isinstance(value, cst.Call) and (_ends_program(value.func) or (top and _is_all_method(value.func)))
            ):
                return ir.Statement(self.line(node), (self.expr(value),))
            return ir.Statement(self.line(node), _UNREAD)
        if isinstance(node, cst.Pass):
            return None
        if not self.calls:
            return ir.Statement(self.line(node), _UNREAD)
        return ir.Statement(self.line(node), tuple(self.expr(e) for e in _expression_children(node)))

    def assignment(self, node: cst.Assign | cst.AugAssign | cst.AnnAssign, top: bool) -> ir.Stmt | None:
        line = self.line(node)
        targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        value = node.value
        if value is None:  # `x: int`
            annotation = node.annotation.annotation if isinstance(node, cst.AnnAssign) else None
            return ir.Statement(line, self.exprs([annotation]) if self.calls else _UNREAD)
        if len(targets) == 1 and isinstance(targets[0], cst.Name):
            name = targets[0].value
            augmented = isinstance(node, cst.AugAssign)
            if isinstance(node, cst.AugAssign) and not isinstance(node.operator, cst.AddAssign):
                return ir.Statement(line, self.exprs([value]) if self.calls else _UNREAD)
            if self.calls or (top and (name == "__all__" or isinstance(value, _CONDITION_NODES))) or _is_flag(value):
                return ir.Assign(line, name, augmented, self.expr(value))
            return ir.Statement(line, _UNREAD)
        if not self.calls:
            return ir.Statement(line, _UNREAD)
        return ir.Statement(line, self.exprs([*targets, value]))

    # -- expressions -----------------------------------------------------------------

    def expr(self, node: cst.BaseExpression) -> ir.Expr:
        if isinstance(node, cst.Name):
            if node.value in _CONSTANTS:
                return ("const", _CONSTANTS[node.value])
            return ("name", node.value)
        if isinstance(node, cst.Attribute):
            return ("attr", self.expr(node.value), node.attr.value)
        if isinstance(node, cst.Integer):
            return ("int", int(node.evaluated_value))
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            value = node.evaluated_value
            if isinstance(value, str):
                return ("str", value)
            if value is None and isinstance(node, cst.ConcatenatedString):  # with an f-string: ast's JoinedStr
                parts: list[ir.Expr] = []
                for piece in _concatenated(node):
                    if isinstance(piece, cst.BaseString):
                        self.joined(piece, parts)
                return ("fstr", tuple(parts))
            return ir.OPAQUE
        if isinstance(node, cst.FormattedString):
            found: list[ir.Expr] = []
            self.joined(node, found)
            return ("fstr", tuple(found))
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)):
            produced = (node.key, node.value) if isinstance(node, cst.DictComp) else (node.elt,)
            loops: list[tuple[str | None, ir.Expr, tuple[ir.Expr, ...]]] = []
            clause: cst.CompFor | None = node.for_in
            while clause is not None:
                target = clause.target.value if isinstance(clause.target, cst.Name) else None
                loops.append((target, self.expr(clause.iter), tuple(self.expr(i.test) for i in clause.ifs)))
                clause = clause.inner_for_in
            return ("comp", tuple(loops), tuple(self.expr(e) for e in produced))
        if isinstance(node, cst.Set):
            return (
                "set",
                tuple(
                    ("other", (self.expr(e.value),)) if isinstance(e, cst.StarredElement) else self.expr(e.value)
                    for e in node.elements
                ),
            )
        if isinstance(node, (cst.Float, cst.Imaginary, cst.Ellipsis)):
            return ir.OPAQUE
        if isinstance(node, cst.Call):
            positional: list[ir.Expr] = []
            keywords: list[tuple[str, ir.Expr]] = []
            for arg in node.args:
                if arg.star == "*":
                    positional.append(("other", (self.expr(arg.value),)))
                elif arg.star == "**":
                    keywords.append(("", self.expr(arg.value)))
                elif arg.keyword is not None:
                    keywords.append((arg.keyword.value, self.expr(arg.value)))
                else:
                    positional.append(self.expr(arg.value))
            return ("call", self.expr(node.func), tuple(positional), tuple(keywords), self.line(node))
        if isinstance(node, cst.UnaryOperation):
            if isinstance(node.operator, cst.Not):
                return ("not", self.expr(node.expression))
            return ("other", (self.expr(node.expression),))
        if isinstance(node, cst.BooleanOperation):
            operator = "and" if isinstance(node.operator, cst.And) else "or"
            operands: list[ir.Expr] = []
            for side in (node.left, node.right):
                inner = self.expr(side)
                flat = inner[0] == operator and not side.lpar  # `a and b and c` is one BoolOp in ast
                operands.extend(inner[1] if flat else [inner])
            return (operator, tuple(operands))
        if isinstance(node, cst.Comparison):
            comparisons = tuple(
                (_OPERATORS.get(type(c.operator), "?"), self.expr(c.comparator)) for c in node.comparisons
            )
            return ("compare", self.expr(node.left), comparisons)
        if isinstance(node, (cst.Tuple, cst.List)):
            elements = tuple(
                ("other", (self.expr(e.value),)) if isinstance(e, cst.StarredElement) else self.expr(e.value)
                for e in node.elements
            )
            return ("tuple" if isinstance(node, cst.Tuple) else "list", elements)
        if isinstance(node, cst.Subscript):
            return self.subscript(node)
        if isinstance(node, cst.BinaryOperation):
            operator = (
                "+" if isinstance(node.operator, cst.Add) else "%" if isinstance(node.operator, cst.Modulo) else "?"
            )
            return ("binop", operator, self.expr(node.left), self.expr(node.right))
        if isinstance(node, cst.Lambda):
            parameters = node.params
            defaults = [
                p.default
                for p in (*parameters.posonly_params, *parameters.params, *parameters.kwonly_params)
                if p.default is not None
            ]
            body = ("lambda", self.expr(node.body))
            return ("other", (*(self.expr(d) for d in defaults), body)) if defaults else body
        if isinstance(node, cst.Dict):
            pairs = tuple(
                (self.expr(e.key), self.expr(e.value)) if isinstance(e, cst.DictElement) else (None, self.expr(e.value))
                for e in node.elements
            )
            return ("dict", pairs)
        children = [self.expr(e) for e in _expression_children(node)]
        children.sort(key=lambda e: e[4] if e[0] == "call" else 0)
        return ("other", tuple(children))

    def joined(self, node: cst.BaseString, parts: list[ir.Expr]) -> None:
        """The parts of one piece of a string (see from_ast._joined), appended to `parts`."""
        if not isinstance(node, cst.FormattedString):
            value = node.evaluated_value if isinstance(node, cst.SimpleString) else None
            if isinstance(value, str):
                ir.append_text(parts, value)
            return
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                ir.append_text(parts, _text_value(node, part.value))
                continue
            if not isinstance(part, cst.FormattedStringExpression):
                continue
            inner = self.expr(part.expression)
            if part.equal is not None:  # f"{x=}": the source text, then repr
                code = cst.Module([]).code_for_node
                pieces = (part.whitespace_before_expression, part.expression, part.whitespace_after_expression)
                ir.append_text(parts, "".join(code(piece) for piece in pieces) + code(part.equal))
            if part.format_spec is not None:
                spec: list[ir.Expr] = []
                for piece in part.format_spec:
                    if isinstance(piece, cst.FormattedStringText):
                        ir.append_text(spec, _text_value(node, piece.value))
                    elif isinstance(piece, cst.FormattedStringExpression):
                        spec.append(
                            self.expr(piece.expression)
                            if piece.conversion is None and piece.format_spec is None
                            else ("other", (self.expr(piece.expression),))
                        )
                parts.append(("other", (inner, ("fstr", tuple(spec)))))
            elif part.conversion is not None or part.equal is not None:
                parts.append(("other", (inner,)))
            else:
                parts.append(inner)

    def subscript(self, node: cst.Subscript) -> ir.Expr:
        elements = node.slice
        single = len(elements) == 1 and not isinstance(elements[0].comma, cst.Comma)
        if single:
            index = elements[0].slice
            if isinstance(index, cst.Index) and index.star is None:
                return ("index", self.expr(node.value), self.expr(index.value))
            if isinstance(index, cst.Slice):
                if index.step is not None:
                    pieces = (node.value, index.lower, index.upper, index.step)
                    return ("other", tuple(self.expr(p) for p in pieces if p is not None))
                lower = self.expr(index.lower) if index.lower is not None else None
                upper = self.expr(index.upper) if index.upper is not None else None
                return ("slice", self.expr(node.value), lower, upper)
        parts: list[ir.Expr] = [self.expr(node.value)]
        for element in elements:
            index = element.slice
            if isinstance(index, cst.Slice):
                bounds = (index.lower, index.upper, index.step)
                parts.append(("other", tuple(self.expr(b) for b in bounds if b is not None)))
            elif isinstance(index, cst.Index) and index.star is not None:
                parts.append(("other", (self.expr(index.value),)))
            elif isinstance(index, cst.Index):
                parts.append(self.expr(index.value))
        return ("other", tuple(parts))

    def pattern(self, node: cst.MatchPattern) -> ir.Pattern:
        if isinstance(node, cst.MatchSingleton):
            return ("value", ("const", _CONSTANTS[node.value.value]))
        if isinstance(node, cst.MatchValue):
            return ("value", self.expr(node.value))
        if isinstance(node, cst.MatchOr):
            return ("or", tuple(self.pattern(p.pattern) for p in node.patterns))
        if isinstance(node, cst.MatchAs):
            return ("any",) if node.pattern is None else self.pattern(node.pattern)
        if isinstance(node, (cst.MatchList, cst.MatchTuple)):
            return (
                "seq",
                tuple(("star",) if isinstance(p, cst.MatchStar) else self.pattern(p.value) for p in node.patterns),
            )
        if isinstance(node, cst.MatchStar):
            return ("star",)
        return ("other",)


def _expression_children(node: cst.CSTNode) -> list[cst.BaseExpression]:
    """The outermost expressions inside `node` (through arguments, comprehensions, f-string parts)."""
    found: list[cst.BaseExpression] = []
    stack = list(reversed(node.children))
    while stack:
        child = stack.pop()
        if isinstance(child, cst.BaseExpression) and not isinstance(child, cst.FormattedStringText):
            found.append(child)
        else:
            stack.extend(reversed(child.children))
    return found


def _concatenated(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The pieces of `"a" f"b" "c"`, left to right."""
    if isinstance(node, cst.ConcatenatedString):
        return [*_concatenated(node.left), *_concatenated(node.right)]
    return [node]


def _text_value(node: cst.FormattedString, raw: str) -> str:
    """The value of an f-string's literal text as Python reads it: escapes, and `{{` / `}}`."""
    prefix = node.prefix.lower().replace("f", "")
    try:
        value = ast.literal_eval(f"{prefix}{node.quote}{raw}{node.quote}")
    except (SyntaxError, ValueError):
        return raw
    return value.replace("{{", "{").replace("}}", "}") if isinstance(value, str) else raw


def _is_constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return node.evaluated_value is not None
    return isinstance(node, cst.Name) and node.value in _CONSTANTS


def _last_name(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return ""


def _is_flag(value: cst.BaseExpression) -> bool:
    """`HAS_X = True` / `False`: a feature flag a try/except may set, wherever it stands."""
    return isinstance(value, cst.Name) and value.value in ("True", "False")


def _ends_program(function: cst.BaseExpression) -> bool:
    return _last_name(function) in ir.TERMINATORS


def _is_all_method(function: cst.BaseExpression) -> bool:
    return (
        isinstance(function, cst.Attribute)
        and isinstance(function.value, cst.Name)
        and function.value.value == "__all__"
    )


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {type(node).__name__}")


def _as_name(alias: cst.ImportAlias) -> str | None:
    if alias.asname is None:
        return None
    name = alias.asname.name
    return name.value if isinstance(name, cst.Name) else None


class _BindingCounter(cst.CSTVisitor):
    """How often each name is bound: the same sites `ast` marks as Store/Del, args, defs, aliases."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def _targets(self, node: cst.CSTNode | None) -> None:
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, cst.Name):
                self.counts[item.value] += 1
            elif isinstance(item, (cst.Tuple, cst.List)):
                stack.extend(e.value for e in item.elements)
            elif isinstance(item, cst.StarredElement):
                stack.append(item.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._targets(node.target)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._targets(node.target)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._targets(node.target)

    def visit_For(self, node: cst.For) -> None:
        self._targets(node.target)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._targets(node.target)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._targets(node.asname.name)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._targets(node.target)

    def visit_Del(self, node: cst.Del) -> None:
        self._targets(node.target)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.counts[node.name.value] += 1

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.counts[node.name.value] += 1

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        alias = _as_name(node)
        self.counts[alias or _dotted(node.name).partition(".")[0]] += 1

    def visit_Param(self, node: cst.Param) -> None:
        self.counts[node.name.value] += 1

    def visit_Global(self, node: cst.Global) -> None:
        self.counts.update(item.name.value for item in node.names)

    def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
        self.counts.update(item.name.value for item in node.names)

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.name is not None:
            self._targets(node.name.name)

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if node.name is not None:
            self._targets(node.name.name)

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        if node.name is not None:
            self.counts[node.name.value] += 1

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        if node.name is not None:
            self.counts[node.name.value] += 1

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        if node.rest is not None:
            self.counts[node.rest.value] += 1

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        self.counts[node.name.value] += 1


def count_bindings(module: cst.Module) -> dict[str, int]:
    counter = _BindingCounter()
    module.visit(counter)
    return dict(counter.counts)
