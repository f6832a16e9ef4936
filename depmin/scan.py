"""Source text → ImportRecords, with LibCST. Pure: no file system, no imports of the code.

What a record's kind and guard mean is decided here, from the syntax around
the import: function bodies are lazy, `if TYPE_CHECKING:` bodies are type-only,
try/except ImportError and contextlib.suppress(ImportError) guard, and
`sys.version_info` / `sys.platform` tests are evaluated for the target so that
dead branches contribute nothing.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from depmin.model import ImportRecord, Kind, Target

# Bump when the records produced for the same source could change: cache keys include it.
SCANNER_VERSION = "1"

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_DYNAMIC_FUNCTIONS = frozenset({"import_module", "__import__"})


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
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        line, message = _syntax_error(source, exc)
        return ScanResult((), (Problem(line, f"syntax error: {message}", True),))
    except (UnicodeDecodeError, LookupError, SyntaxError, ValueError) as exc:
        return ScanResult((), (Problem(_error_line(exc), f"cannot decode source: {_first_line(str(exc))}", True),))
    collector = _ImportCollector(target)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(collector)
    return ScanResult(tuple(collector.records), tuple(collector.problems))


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


def _syntax_error(source: bytes, exc: cst.ParserSyntaxError) -> tuple[int, str]:
    """CPython's own wording and line where it agrees the file is broken; LibCST's otherwise.

    ast.parse only parses (nothing runs); it is asked because its messages say what is wrong
    ("'(' was never closed") where LibCST's say what it expected next.
    """
    try:
        ast.parse(source)
    except SyntaxError as python_error:
        if python_error.lineno:
            return python_error.lineno, python_error.msg
    except (ValueError, MemoryError, RecursionError):
        pass
    return exc.raw_line, _first_line(exc.message)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def _error_line(exc: Exception) -> int:
    return getattr(exc, "lineno", None) or 1


class _Verdict(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"
    TYPE_CHECKING = "type_checking"  # true for type checkers only
    NOT_TYPE_CHECKING = "not_type_checking"


class _ImportCollector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target
        self.records: list[ImportRecord] = []
        self.problems: list[Problem] = []
        self._function_depth = 0
        self._type_checking_depth = 0
        self._guard_depth = 0

    # -- context -------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        # Decorators and defaults run at definition time; only the body is lazy.
        for decorator in node.decorators:
            decorator.visit(self)
        node.params.visit(self)
        self._function_depth += 1
        node.body.visit(self)
        self._function_depth -= 1
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        node.params.visit(self)
        self._function_depth += 1
        node.body.visit(self)
        self._function_depth -= 1
        return False

    def visit_If(self, node: cst.If) -> bool:
        node.test.visit(self)
        verdict = _evaluate(node.test, self.target)
        body_live = verdict is not _Verdict.FALSE
        else_live = verdict is not _Verdict.TRUE
        if body_live:
            self._visit_typed(node.body, verdict is _Verdict.TYPE_CHECKING)
        if else_live and node.orelse is not None:
            self._visit_typed(node.orelse, verdict is _Verdict.NOT_TYPE_CHECKING)
        return False

    def visit_Try(self, node: cst.Try) -> bool:
        self._visit_try(node.body, node.handlers, node.orelse, node.finalbody)
        return False

    def visit_TryStar(self, node: cst.TryStar) -> bool:
        self._visit_try(node.body, node.handlers, node.orelse, node.finalbody)
        return False

    def visit_With(self, node: cst.With) -> bool:
        for item in node.items:
            item.visit(self)
        guarded = any(_is_import_error_suppressor(item.item) for item in node.items)
        self._visit_guarded(node.body, guarded)
        return False

    def _visit_try(
        self,
        body: cst.BaseSuite,
        handlers: Sequence[cst.ExceptHandler | cst.ExceptStarHandler],
        orelse: cst.Else | None,
        finalbody: cst.Finally | None,
    ) -> None:
        self._visit_guarded(body, any(_catches_import_error(h.type) for h in handlers))
        for part in (*handlers, orelse, finalbody):
            if part is not None:
                part.visit(self)

    def _visit_guarded(self, node: cst.CSTNode, guarded: bool) -> None:
        self._guard_depth += guarded
        node.visit(self)
        self._guard_depth -= guarded

    def _visit_typed(self, node: cst.CSTNode, type_only: bool) -> None:
        self._type_checking_depth += type_only
        node.visit(self)
        self._type_checking_depth -= type_only

    # -- imports -------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> bool:
        line = self._line(node)
        for alias in node.names:
            self._add(target=_dotted(alias.name), names=(), line=line)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        target = _dotted(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level == 0 and target == "__future__":
            return False
        if isinstance(node.names, cst.ImportStar):
            names: tuple[str, ...] = ("*",)
        else:
            names = tuple(_dotted(alias.name) for alias in node.names)
        self._add(target=target, names=names, line=self._line(node), level=level)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        function = _dynamic_import_function(node.func)
        if function is None:
            return
        name_arg = _argument(node.args, 0, "name")
        if name_arg is None:
            return
        name = _literal_string(name_arg)
        if name is None:
            self.problems.append(
                Problem(
                    self._line(node),
                    f"{function}() of a computed name cannot be followed statically; "
                    "list what it can import under [tool.depmin] hidden-imports",
                    False,
                )
            )
            return
        level = len(name) - len(name.lstrip("."))
        anchor: str | None = None
        if level and function == "import_module":
            package_arg = _argument(node.args, 1, "package")
            anchor_or_problem = _anchor(package_arg)
            if isinstance(anchor_or_problem, Problem):
                self.problems.append(Problem(self._line(node), anchor_or_problem.message, False))
                return
            anchor = anchor_or_problem
        elif level:
            self.problems.append(
                Problem(self._line(node), f"{function}({name!r}) with a relative name is not followed", False)
            )
            return
        self._add(target=name[level:], names=(), line=self._line(node), level=level, anchor=anchor, dynamic=True)

    # -- helpers -------------------------------------------------------------

    def _add(
        self,
        *,
        target: str,
        names: tuple[str, ...],
        line: int,
        level: int = 0,
        anchor: str | None = None,
        dynamic: bool = False,
    ) -> None:
        if self._type_checking_depth:
            kind = Kind.TYPE_CHECKING
        elif dynamic:
            kind = Kind.DYNAMIC
        elif self._function_depth:
            kind = Kind.LAZY
        else:
            kind = Kind.MODULE
        self.records.append(
            ImportRecord(
                target=target,
                names=names,
                line=line,
                kind=kind,
                guarded=self._guard_depth > 0,
                level=level,
                anchor=anchor,
            )
        )

    def _line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line


# -- syntax matchers ------------------------------------------------------------


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise TypeError(f"not a dotted name: {type(node).__name__}")


def _name_of(node: cst.BaseExpression | None) -> str | None:
    """The last component of a Name or Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def _catches_import_error(handler_type: cst.BaseExpression | None) -> bool:
    if handler_type is None:  # bare `except:`
        return True
    if isinstance(handler_type, cst.Tuple):
        return any(_catches_import_error(element.value) for element in handler_type.elements)
    return _name_of(handler_type) in _IMPORT_ERRORS


def _is_import_error_suppressor(expression: cst.BaseExpression) -> bool:
    if not isinstance(expression, cst.Call) or _name_of(expression.func) != "suppress":
        return False
    return any(_catches_import_error(arg.value) for arg in expression.args if arg.keyword is None)


def _dynamic_import_function(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name) and func.value in _DYNAMIC_FUNCTIONS:
        return func.value
    if (
        isinstance(func, cst.Attribute)
        and func.attr.value == "import_module"
        and isinstance(func.value, cst.Name)
        and func.value.value == "importlib"
    ):
        return "import_module"
    return None


def _argument(args: Sequence[cst.Arg], position: int, keyword: str) -> cst.BaseExpression | None:
    positional = [arg for arg in args if arg.keyword is None and not arg.star]
    for arg in args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    if position < len(positional):
        return positional[position].value
    return None


def _literal_string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _anchor(package_arg: cst.BaseExpression | None) -> str | None | Problem:
    """The package a relative dynamic import resolves against."""
    if package_arg is None:
        return Problem(0, "relative import_module() without package= fails at run time", False)
    if isinstance(package_arg, cst.Name) and package_arg.value == "__package__":
        return None
    if isinstance(package_arg, cst.Name) and package_arg.value == "__name__":
        return "__name__"
    literal = _literal_string(package_arg)
    if literal is None:
        return Problem(0, "import_module() relative to a computed package cannot be followed statically", False)
    return literal


# -- condition evaluation -----------------------------------------------------------

_VERSION_PATCHES = (0, 99)  # a test is decided only if it holds for every patch release


def _evaluate(test: cst.BaseExpression, target: Target) -> _Verdict:
    if _name_of(test) == "TYPE_CHECKING":
        return _Verdict.TYPE_CHECKING
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _evaluate(test.expression, target)
        return {
            _Verdict.TRUE: _Verdict.FALSE,
            _Verdict.FALSE: _Verdict.TRUE,
            _Verdict.TYPE_CHECKING: _Verdict.NOT_TYPE_CHECKING,
            _Verdict.NOT_TYPE_CHECKING: _Verdict.TYPE_CHECKING,
        }.get(inner, _Verdict.UNKNOWN)
    if isinstance(test, cst.BooleanOperation):
        left, right = _evaluate(test.left, target), _evaluate(test.right, target)
        if isinstance(test.operator, cst.And):
            if _Verdict.FALSE in (left, right):
                return _Verdict.FALSE
            if _Verdict.TYPE_CHECKING in (left, right):
                return _Verdict.TYPE_CHECKING
            return _Verdict.TRUE if left is right is _Verdict.TRUE else _Verdict.UNKNOWN
        if _Verdict.TRUE in (left, right):
            return _Verdict.TRUE
        return _Verdict.FALSE if left is right is _Verdict.FALSE else _Verdict.UNKNOWN
    outcomes = {_static_value(test, target, patch) for patch in _VERSION_PATCHES}
    if outcomes == {True}:
        return _Verdict.TRUE
    if outcomes == {False}:
        return _Verdict.FALSE
    return _Verdict.UNKNOWN


class _Unknown(Exception):
    pass


def _static_value(test: cst.BaseExpression, target: Target, patch: int) -> bool | None:
    try:
        return bool(_value(test, target, patch))
    except _Unknown:
        return None


_COMPARE = {
    cst.Equal: lambda a, b: a == b,
    cst.NotEqual: lambda a, b: a != b,
    cst.LessThan: lambda a, b: a < b,
    cst.LessThanEqual: lambda a, b: a <= b,
    cst.GreaterThan: lambda a, b: a > b,
    cst.GreaterThanEqual: lambda a, b: a >= b,
}


def _value(node: cst.BaseExpression, target: Target, patch: int) -> object:
    """The value of a small expression over sys.version_info / sys.platform and literals."""
    version_info = (*target.python, patch, "final", 0)
    if isinstance(node, cst.Comparison):
        left = _value(node.left, target, patch)
        for comparison in node.comparisons:
            compare = _COMPARE.get(type(comparison.operator))
            if compare is None:
                raise _Unknown
            right = _value(comparison.comparator, target, patch)
            try:
                if not compare(left, right):
                    return False
            except TypeError:
                raise _Unknown from None
            left = right
        return True
    if _is_sys_attribute(node, "version_info"):
        return version_info
    if _is_sys_attribute(node, "platform"):
        return target.platform.sys_platform
    if isinstance(node, cst.Attribute) and _is_sys_attribute(node.value, "version_info"):
        fields = {"major": 0, "minor": 1, "micro": 2}
        if node.attr.value in fields:
            return version_info[fields[node.attr.value]]
        raise _Unknown
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        container = _value(node.value, target, patch)
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            return _index(container, _value(index.value, target, patch))
        if isinstance(index, cst.Slice) and index.step is None:
            lower = _value(index.lower, target, patch) if index.lower is not None else None
            upper = _value(index.upper, target, patch) if index.upper is not None else None
            return _index(container, slice(lower, upper))
        raise _Unknown
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        method = node.func.attr.value
        if method == "startswith" and len(node.args) == 1:
            subject = _value(node.func.value, target, patch)
            prefix = _value(node.args[0].value, target, patch)
            if isinstance(subject, str) and isinstance(prefix, (str, tuple)):
                return subject.startswith(prefix)
        raise _Unknown
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        if isinstance(value, str):
            return value
        raise _Unknown
    if isinstance(node, cst.Tuple):
        return tuple(_value(element.value, target, patch) for element in node.elements)
    raise _Unknown


def _index(container: object, index: object) -> object:
    try:
        return container[index]  # type: ignore[index]
    except (TypeError, IndexError):
        raise _Unknown from None


def _is_sys_attribute(node: cst.BaseExpression, attribute: str) -> bool:
    """`sys.<attribute>`, or bare `version_info` after `from sys import version_info`."""
    if isinstance(node, cst.Attribute):
        return node.attr.value == attribute and isinstance(node.value, cst.Name) and node.value.value == "sys"
    return attribute == "version_info" and isinstance(node, cst.Name) and node.value == attribute
