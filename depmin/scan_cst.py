"""The LibCST adapter of the scanner: the parser of record.

It turns LibCST nodes into the scanner's parser-neutral expressions and drives
the shared semantic core in depmin.scan, so both parsers apply the same rules.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from depmin.model import Target
from depmin.scan import (
    _OTHER,
    Expr,
    Problem,
    ScanResult,
    _catches_import_error,
    _Collector,
    _dynamic_function,
    _first_line,
    _is_import_error_suppressor,
)


def scan_with_libcst(source: bytes, target: Target) -> ScanResult:
    """Every import in `source`, read by LibCST."""
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        line, message = _syntax_error(source, exc)
        return ScanResult((), (Problem(line, f"syntax error: {message}", True),))
    except (UnicodeDecodeError, LookupError, SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        return ScanResult((), (Problem(line, f"cannot decode source: {_first_line(str(exc))}", True),))
    except (RecursionError, MemoryError):
        return ScanResult((), (Problem(1, "syntax error: too deeply nested to parse", True),))
    collector = _CstCollector(target)
    try:
        MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    except RecursionError:
        return ScanResult((), (Problem(1, "syntax error: too deeply nested to parse", True),))
    return collector.result()


def _syntax_error(source: bytes, exc: cst.ParserSyntaxError) -> tuple[int, str]:
    """CPython's wording and line where it agrees the file is broken; LibCST's otherwise.

    ast.parse only parses (nothing runs); it is asked because its messages say what is
    wrong ("'(' was never closed") where LibCST's say what it expected next.
    """
    try:
        ast.parse(source)
    except SyntaxError as python_error:
        if python_error.lineno:
            return python_error.lineno, python_error.msg
    except (ValueError, MemoryError, RecursionError):
        pass
    return exc.raw_line, _first_line(exc.message)


class _CstCollector(_Collector, cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, target: Target) -> None:
        _Collector.__init__(self, target)
        cst.CSTVisitor.__init__(self)

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        # Decorators, defaults and annotations run at definition time; only the body is lazy.
        for decorator in node.decorators:
            decorator.visit(self)
        node.params.visit(self)
        if node.returns is not None:
            node.returns.visit(self)
        self.function_depth += 1
        node.body.visit(self)
        self.function_depth -= 1
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        node.params.visit(self)
        self.function_depth += 1
        node.body.visit(self)
        self.function_depth -= 1
        return False

    def visit_If(self, node: cst.If) -> bool:
        node.test.visit(self)
        body_live, body_typed, else_live, else_typed = self.branch_flags(_cst_expr(node.test))
        if body_live:
            self._visit_in(node.body, typed=body_typed)
        if else_live and node.orelse is not None:
            self._visit_in(node.orelse, typed=else_typed)
        return False

    def visit_Try(self, node: cst.Try) -> bool:
        return self._visit_try(node)

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        return self._visit_try(node)

    def _visit_try(self, node: cst.Try | cst.TryStar) -> bool:
        guarded = any(_catches_import_error(_cst_expr(h.type) if h.type else None) for h in node.handlers)
        self._visit_in(node.body, guarded=guarded)
        for part in (*node.handlers, node.orelse, node.finalbody):
            if part is not None:
                part.visit(self)
        return False

    def visit_With(self, node: cst.With) -> bool:
        for item in node.items:
            item.visit(self)
        guarded = any(
            isinstance(item.item, cst.Call)
            and _is_import_error_suppressor(
                _cst_expr(item.item.func), [_cst_expr(a.value) for a in item.item.args if a.keyword is None and not a.star]
            )
            for item in node.items
        )
        self._visit_in(node.body, guarded=guarded)
        return False

    def _visit_in(self, node: cst.CSTNode, *, guarded: bool = False, typed: bool = False) -> None:
        self.guard_depth += guarded
        self.type_checking_depth += typed
        node.visit(self)
        self.guard_depth -= guarded
        self.type_checking_depth -= typed

    def visit_Import(self, node: cst.Import) -> bool:
        line = self._line(node)
        for alias in node.names:
            self.add(_cst_dotted(alias.name), (), line)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        module = _cst_dotted(node.module) if node.module is not None else ""
        if isinstance(node.names, cst.ImportStar):
            names: tuple[str, ...] = ("*",)
        else:
            names = tuple(_cst_dotted(alias.name) for alias in node.names)
        self.add_import_from(module, len(node.relative), names, self._line(node))
        return False

    def visit_Call(self, node: cst.Call) -> None:
        function = _dynamic_function(_cst_expr(node.func), self.bare_import_module)
        if function is not None:
            self.dynamic_call(
                function, _cst_argument(node.args, 0, "name"), _cst_argument(node.args, 1, "package"), self._line(node)
            )


def _cst_dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_cst_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {type(node).__name__}")


def _cst_argument(args: tuple[cst.Arg, ...] | list[cst.Arg], position: int, keyword: str) -> Expr | None:
    for arg in args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return _cst_expr(arg.value)
    positional = [arg for arg in args if arg.keyword is None and not arg.star]
    return _cst_expr(positional[position].value) if position < len(positional) else None


_CST_OPERATORS = {
    cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<",
    cst.LessThanEqual: "<=", cst.GreaterThan: ">", cst.GreaterThanEqual: ">=",
}  # fmt: skip


def _cst_expr(node: cst.BaseExpression) -> Expr:  # noqa: PLR0911 - one case per form
    if isinstance(node, cst.Name):
        return ("name", node.value)
    if isinstance(node, cst.Attribute):
        return ("attr", _cst_expr(node.value), node.attr.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        return ("not", _cst_expr(node.expression))
    if isinstance(node, cst.BooleanOperation):
        operator = "and" if isinstance(node.operator, cst.And) else "or"
        operands = []
        for side in (node.left, node.right):
            inner = _cst_expr(side)
            operands.extend(inner[1] if inner[0] == operator and not side.lpar else [inner])
        return (operator, operands)
    if isinstance(node, cst.Comparison):
        return (
            "compare",
            _cst_expr(node.left),
            [(_CST_OPERATORS.get(type(c.operator), "?"), _cst_expr(c.comparator)) for c in node.comparisons],
        )
    if isinstance(node, cst.Integer):
        return ("int", int(node.evaluated_value))
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return ("str", value) if isinstance(value, str) else _OTHER
    if isinstance(node, cst.Tuple):
        return ("tuple", [_cst_expr(e.value) if not isinstance(e, cst.StarredElement) else _OTHER for e in node.elements])
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and index.star is None:
            return ("index", _cst_expr(node.value), _cst_expr(index.value))
        if isinstance(index, cst.Slice) and index.step is None:
            lower = _cst_expr(index.lower) if index.lower is not None else None
            upper = _cst_expr(index.upper) if index.upper is not None else None
            return ("slice", _cst_expr(node.value), lower, upper)
        return _OTHER
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        if all(a.keyword is None and not a.star for a in node.args):
            return ("method", _cst_expr(node.func.value), node.func.attr.value, [_cst_expr(a.value) for a in node.args])
    return _OTHER
