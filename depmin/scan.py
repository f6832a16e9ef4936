"""Source text → ImportRecords. Pure: no file system, never imports or runs the code.

What a record's kind and guard mean is decided here, from the syntax around the
import: function bodies are lazy, `if TYPE_CHECKING:` bodies are type-only,
try/except ImportError and contextlib.suppress(ImportError) guard, and
`sys.version_info` / `sys.platform` tests are evaluated for the target so that
dead branches contribute nothing.

LibCST is the parser of record (`scan_source_cst`). The interpreter's own `ast`
parser reads the same files several times faster; `scan_source` uses it for
every file it can parse and falls back to LibCST for the rest (newer syntax
than the running interpreter knows, broken files). Both adapters feed the same
semantic core (`_Collector`, `_evaluate`), and a differential test proves they
return identical records on the fixtures, the standard library and generated
sources.
"""

from __future__ import annotations

import ast
import enum
from dataclasses import dataclass

from depmin.model import ImportRecord, Kind, Target

# Bump when the records produced for the same source could change: cache keys include it.
SCANNER_VERSION = "4"

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
# CPython refuses these outright; LibCST's native parser may overflow its stack on them.
_TOO_DEEP = ("too many nested parentheses", "too many statically nested blocks")


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str
    fatal: bool  # the file could not be scanned at all


@dataclass(frozen=True, slots=True)
class ScanResult:
    records: tuple[ImportRecord, ...]
    problems: tuple[Problem, ...] = ()

    @property
    def failed(self) -> bool:
        return any(p.fatal for p in self.problems)


def scan_source(source: bytes, target: Target) -> ScanResult:
    """Every import in `source`, as the target interpreter would see it."""
    if b"import" not in source:  # also covers __import__ and import_module
        return ScanResult(records=())
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if exc.msg in _TOO_DEEP:
            return ScanResult((), (Problem(exc.lineno or 1, f"syntax error: {exc.msg}", True),))
        return scan_source_cst(source, target)
    except (ValueError, UnicodeDecodeError, LookupError):
        return scan_source_cst(source, target)  # NUL bytes, bad encodings: LibCST words the error
    except (RecursionError, MemoryError):
        return ScanResult((), (Problem(1, "syntax error: too deeply nested to parse", True),))
    collector = _AstCollector(target, calls=b"import_module" in source or b"__import__" in source)
    collector.visit(tree)
    return collector.result()


def scan_source_cst(source: bytes, target: Target) -> ScanResult:
    """The parser of record: LibCST, whatever the running interpreter's grammar.

    Imported on first use: LibCST takes half a second to import, and the fast path
    reads most repositories without it.
    """
    from depmin.scan_cst import scan_with_libcst

    return scan_with_libcst(source, target)


def describe(record: ImportRecord) -> str:
    """The import as one canonical line of Python, for explanations."""
    dots = "." * record.level
    if record.kind is Kind.DYNAMIC:
        name = f"{dots}{record.target}"
        if record.anchor is not None:
            return f"importlib.import_module({name!r}, package={record.anchor!r})"
        return f"importlib.import_module({name!r})"
    if record.names:
        return f"from {dots}{record.target} import {', '.join(record.names)}"
    return f"import {record.target}"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


# -- the semantic core, shared by both parsers ------------------------------------------------


class _Verdict(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"
    TYPE_CHECKING = "type_checking"  # true for type checkers only
    NOT_TYPE_CHECKING = "not_type_checking"


# A parser-neutral form of the expressions that matter (conditions and call arguments):
#   ("name", id) ("attr", value, attr) ("not", x) ("and", [x...]) ("or", [x...])
#   ("compare", left, [(op, right)...]) ("int", v) ("str", v) ("tuple", [x...])
#   ("index", container, x) ("slice", container, lower, upper) ("method", subject, name, [x...])
#   ("other",)
Expr = tuple
_OTHER: Expr = ("other",)


class _Collector:
    """Context (lazy / type-only / guarded) and record creation, whatever the syntax tree."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.records: list[ImportRecord] = []
        self.problems: list[Problem] = []
        self.function_depth = 0
        self.type_checking_depth = 0
        self.guard_depth = 0
        # A bare `import_module(...)` counts only after `from importlib import import_module`:
        # sympy and others define helpers of that name that are not imports at all.
        self.bare_import_module = False

    def result(self) -> ScanResult:
        # Source order by line: the two parsers walk some children (decorators, defaults) differently.
        records = sorted(self.records, key=lambda r: r.line)
        problems = sorted(self.problems, key=lambda p: p.line)
        return ScanResult(tuple(records), tuple(problems))

    def add(self, target: str, names: tuple[str, ...], line: int, level: int = 0, anchor: str | None = None, *, dynamic: bool = False) -> None:
        if self.type_checking_depth:
            kind = Kind.TYPE_CHECKING
        elif dynamic:
            kind = Kind.DYNAMIC
        elif self.function_depth:
            kind = Kind.LAZY
        else:
            kind = Kind.MODULE
        self.records.append(ImportRecord(target, names, line, kind, self.guard_depth > 0, level, anchor))

    def add_import_from(self, module: str, level: int, names: tuple[str, ...], line: int) -> None:
        if level == 0 and module == "__future__":
            return
        if level == 0 and module == "importlib" and "import_module" in names:
            self.bare_import_module = True
        self.add(module, names, line, level)

    def dynamic_call(self, function: str, name_arg: Expr | None, package_arg: Expr | None, line: int) -> None:
        if name_arg is None:
            return
        if name_arg[0] != "str":
            self.problems.append(
                Problem(
                    line,
                    f"{function}() of a computed name cannot be followed statically; "
                    "list what it can import under [tool.depmin] hidden-imports",
                    False,
                )
            )
            return
        name = name_arg[1]
        level = len(name) - len(name.lstrip("."))
        anchor: str | None = None
        if level and function == "import_module":
            if package_arg is None:
                self.problems.append(Problem(line, "relative import_module() without package= fails at run time", False))
                return
            if package_arg == ("name", "__package__"):
                anchor = None
            elif package_arg == ("name", "__name__"):
                anchor = "__name__"
            elif package_arg[0] == "str":
                anchor = package_arg[1]
            else:
                self.problems.append(
                    Problem(line, "import_module() relative to a computed package cannot be followed statically", False)
                )
                return
        elif level:
            self.problems.append(Problem(line, f"{function}({name!r}) with a relative name is not followed", False))
            return
        self.add(name[level:], (), line, level, anchor, dynamic=True)

    def branch_flags(self, test: Expr) -> tuple[bool, bool, bool, bool]:
        """(body live, body type-only, else live, else type-only) for an `if`."""
        verdict = _evaluate(test, self.target)
        return (
            verdict is not _Verdict.FALSE,
            verdict is _Verdict.TYPE_CHECKING,
            verdict is not _Verdict.TRUE,
            verdict is _Verdict.NOT_TYPE_CHECKING,
        )


def _last_name(expression: Expr) -> str | None:
    if expression[0] == "name":
        return expression[1]
    if expression[0] == "attr":
        return expression[2]
    return None


def _catches_import_error(handler_type: Expr | None) -> bool:
    if handler_type is None:  # bare `except:`
        return True
    if handler_type[0] == "tuple":
        return any(_catches_import_error(element) for element in handler_type[1])
    return _last_name(handler_type) in _IMPORT_ERRORS


def _is_import_error_suppressor(function: Expr, positional: list[Expr]) -> bool:
    return _last_name(function) == "suppress" and any(_catches_import_error(arg) for arg in positional)


def _dynamic_function(function: Expr, bare_import_module: bool) -> str | None:
    if function == ("name", "__import__") or (function == ("name", "import_module") and bare_import_module):
        return function[1]
    if function[0] == "attr" and function[2] == "import_module" and function[1] == ("name", "importlib"):
        return "import_module"
    return None


_VERSION_PATCHES = (0, 99)  # a test is decided only if it holds for every patch release


def _evaluate(test: Expr, target: Target) -> _Verdict:
    if _last_name(test) == "TYPE_CHECKING":
        return _Verdict.TYPE_CHECKING
    if test[0] == "not":
        inner = _evaluate(test[1], target)
        return {
            _Verdict.TRUE: _Verdict.FALSE,
            _Verdict.FALSE: _Verdict.TRUE,
            _Verdict.TYPE_CHECKING: _Verdict.NOT_TYPE_CHECKING,
            _Verdict.NOT_TYPE_CHECKING: _Verdict.TYPE_CHECKING,
        }.get(inner, _Verdict.UNKNOWN)
    if test[0] in ("and", "or"):
        verdicts = [_evaluate(operand, target) for operand in test[1]]
        if test[0] == "and":
            if _Verdict.FALSE in verdicts:
                return _Verdict.FALSE
            if _Verdict.TYPE_CHECKING in verdicts:
                return _Verdict.TYPE_CHECKING
            return _Verdict.TRUE if all(v is _Verdict.TRUE for v in verdicts) else _Verdict.UNKNOWN
        if _Verdict.TRUE in verdicts:
            return _Verdict.TRUE
        return _Verdict.FALSE if all(v is _Verdict.FALSE for v in verdicts) else _Verdict.UNKNOWN
    outcomes = {_static_value(test, target, patch) for patch in _VERSION_PATCHES}
    if outcomes == {True}:
        return _Verdict.TRUE
    if outcomes == {False}:
        return _Verdict.FALSE
    return _Verdict.UNKNOWN


class _Unknown(Exception):
    pass


def _static_value(test: Expr, target: Target, patch: int) -> bool | None:
    try:
        return bool(_value(test, target, patch))
    except _Unknown:
        return None


_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _value(node: Expr, target: Target, patch: int) -> object:  # noqa: PLR0911 - one case per form
    """The value of a small expression over sys.version_info / sys.platform and literals."""
    version_info = (*target.python, patch, "final", 0)
    kind = node[0]
    if kind == "compare":
        left = _value(node[1], target, patch)
        for operator, comparator in node[2]:
            if operator not in _COMPARE:
                raise _Unknown
            right = _value(comparator, target, patch)
            try:
                if not _COMPARE[operator](left, right):
                    return False
            except TypeError:
                raise _Unknown from None
            left = right
        return True
    if _is_sys_attribute(node, "version_info"):
        return version_info
    if _is_sys_attribute(node, "platform"):
        return target.platform.sys_platform
    if kind == "attr" and _is_sys_attribute(node[1], "version_info"):
        fields = {"major": 0, "minor": 1, "micro": 2}
        if node[2] in fields:
            return version_info[fields[node[2]]]
        raise _Unknown
    if kind == "index":
        return _index(_value(node[1], target, patch), _value(node[2], target, patch))
    if kind == "slice":
        lower = _value(node[2], target, patch) if node[2] is not None else None
        upper = _value(node[3], target, patch) if node[3] is not None else None
        return _index(_value(node[1], target, patch), slice(lower, upper))
    if kind == "method" and node[2] == "startswith" and len(node[3]) == 1:
        subject = _value(node[1], target, patch)
        prefix = _value(node[3][0], target, patch)
        if isinstance(subject, str) and isinstance(prefix, (str, tuple)):
            return subject.startswith(prefix)
        raise _Unknown
    if kind in ("int", "str"):
        return node[1]
    if kind == "tuple":
        return tuple(_value(element, target, patch) for element in node[1])
    raise _Unknown


def _index(container: object, index: object) -> object:
    try:
        return container[index]  # type: ignore[index]
    except (TypeError, IndexError, ValueError):
        raise _Unknown from None


def _is_sys_attribute(node: Expr, attribute: str) -> bool:
    """`sys.<attribute>`, or bare `version_info` after `from sys import version_info`."""
    if node[0] == "attr":
        return node[2] == attribute and node[1] == ("name", "sys")
    return attribute == "version_info" and node == ("name", "version_info")


# -- ast adapter (the fast path) -------------------------------------------------------------------


# Where statements nest, per node type: the only places an import statement can hide.
_NESTED_STATEMENTS: dict[type, tuple[str, ...]] = {
    ast.Module: ("body",),
    ast.ClassDef: ("body",),
    ast.For: ("body", "orelse"),
    ast.AsyncFor: ("body", "orelse"),
    ast.While: ("body", "orelse"),
    ast.ExceptHandler: ("body",),
    ast.Match: ("cases",),
    ast.match_case: ("body",),
}
# The statements worth visiting at all when no expression can import (see _AstCollector.calls).
_STRUCTURAL = frozenset(
    {*_NESTED_STATEMENTS, ast.Import, ast.ImportFrom, ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith,
     ast.FunctionDef, ast.AsyncFunctionDef}
)  # fmt: skip


class _AstCollector(_Collector, ast.NodeVisitor):
    def __init__(self, target: Target, *, calls: bool = True) -> None:
        super().__init__(target)
        # Without the words import_module / __import__ in the file, no expression can import
        # anything: walking statements alone gives the same records, several times faster.
        self.calls = calls

    def visit(self, node: ast.AST) -> None:
        if self.calls or type(node) in _STRUCTURAL:
            super().visit(node)

    def generic_visit(self, node: ast.AST) -> None:
        if self.calls:
            super().generic_visit(node)
            return
        for name in _NESTED_STATEMENTS.get(type(node), ()):
            for child in getattr(node, name):
                self.visit(child)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self.calls:
            for decorator in node.decorator_list:
                self.visit(decorator)
            self.visit(node.args)
            if node.returns is not None:
                self.visit(node.returns)
        self.function_depth += 1
        for statement in node.body:
            self.visit(statement)
        self.function_depth -= 1

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit(node.args)
        self.function_depth += 1
        self.visit(node.body)
        self.function_depth -= 1

    def visit_If(self, node: ast.If) -> None:
        if self.calls:
            self.visit(node.test)
        body_live, body_typed, else_live, else_typed = self.branch_flags(_ast_expr(node.test))
        if body_live:
            self._visit_in(node.body, typed=body_typed)
        if else_live:
            self._visit_in(node.orelse, typed=else_typed)

    def _visit_try(self, node: ast.Try) -> None:
        guarded = any(_catches_import_error(_ast_expr(h.type) if h.type else None) for h in node.handlers)
        self._visit_in(node.body, guarded=guarded)
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)  # handlers: generic_visit walks their bodies either way

    visit_Try = _visit_try
    visit_TryStar = _visit_try

    def _visit_with(self, node: ast.With | ast.AsyncWith) -> None:
        if self.calls:
            for item in node.items:
                self.visit(item)
        guarded = any(
            isinstance(item.context_expr, ast.Call)
            and _is_import_error_suppressor(
                _ast_expr(item.context_expr.func),
                [_ast_expr(a) for a in item.context_expr.args if not isinstance(a, ast.Starred)],
            )
            for item in node.items
        )
        self._visit_in(node.body, guarded=guarded)

    visit_With = _visit_with
    visit_AsyncWith = _visit_with

    def _visit_in(self, statements: list[ast.stmt], *, guarded: bool = False, typed: bool = False) -> None:
        self.guard_depth += guarded
        self.type_checking_depth += typed
        for statement in statements:
            self.visit(statement)
        self.guard_depth -= guarded
        self.type_checking_depth -= typed

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.name, (), node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = tuple(alias.name for alias in node.names)
        self.add_import_from(node.module or "", node.level or 0, names, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        function = _dynamic_function(_ast_expr(node.func), self.bare_import_module)
        if function is not None:
            self.dynamic_call(
                function, _ast_argument(node, 0, "name"), _ast_argument(node, 1, "package"), node.lineno
            )
        self.generic_visit(node)


def _ast_argument(node: ast.Call, position: int, keyword: str) -> Expr | None:
    for item in node.keywords:
        if item.arg == keyword:
            return _ast_expr(item.value)
    positional = [arg for arg in node.args if not isinstance(arg, ast.Starred)]
    return _ast_expr(positional[position]) if position < len(positional) else None


_AST_OPERATORS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _ast_expr(node: ast.expr) -> Expr:  # noqa: PLR0911 - one case per form
    if isinstance(node, ast.Name):
        return ("name", node.id)
    if isinstance(node, ast.Attribute):
        return ("attr", _ast_expr(node.value), node.attr)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return ("not", _ast_expr(node.operand))
    if isinstance(node, ast.BoolOp):
        return ("and" if isinstance(node.op, ast.And) else "or", [_ast_expr(v) for v in node.values])
    if isinstance(node, ast.Compare):
        return (
            "compare",
            _ast_expr(node.left),
            [(_AST_OPERATORS.get(type(op), "?"), _ast_expr(c)) for op, c in zip(node.ops, node.comparators, strict=True)],
        )
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int) and not isinstance(node.value, bool):
            return ("int", node.value)
        if isinstance(node.value, str):
            return ("str", node.value)
        return _OTHER
    if isinstance(node, ast.Tuple):
        return ("tuple", [_ast_expr(e) if not isinstance(e, ast.Starred) else _OTHER for e in node.elts])
    if isinstance(node, ast.Subscript):
        index = node.slice
        if isinstance(index, ast.Slice):
            if index.step is not None:
                return _OTHER
            lower = _ast_expr(index.lower) if index.lower is not None else None
            upper = _ast_expr(index.upper) if index.upper is not None else None
            return ("slice", _ast_expr(node.value), lower, upper)
        if isinstance(index, ast.Tuple):
            return _OTHER  # x[a, b]: LibCST sees two slice elements
        return ("index", _ast_expr(node.value), _ast_expr(index))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and not node.keywords:
        if not any(isinstance(a, ast.Starred) for a in node.args):
            return ("method", _ast_expr(node.func.value), node.func.attr, [_ast_expr(a) for a in node.args])
    return _OTHER
