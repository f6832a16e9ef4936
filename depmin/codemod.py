"""Deferring one module-level import, source to source (LibCST keeps formatting and comments).

`judge` says from a module's source alone whether the import statement at a line can be
deferred, and how:
- "re-export": nothing in the module uses the names it binds; it only hands them on. It becomes
  a PEP 562 lazy attribute: the statement moves under `if TYPE_CHECKING:` (type checkers still
  see the names; `__all__` is left as it is) and the module's `__getattr__` imports each name on
  first use;
- "functions": only function bodies use the names: the import moves into those functions;
- "annotations": only annotations that are never evaluated use them (the module has
  `from __future__ import annotations`, or they are strings): it may move under TYPE_CHECKING
  (ranked, not rewritten).
Whether importers of the module ask it for those names is the caller's question (the graph's).

Nothing here reads or writes files: the use case does (depmin.usecases.trim).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import FunctionScope, MetadataWrapper, PositionProvider, ScopeProvider

MARKER = "# depmin trim: names imported on first use (PEP 562)"

# Libraries that evaluate annotations at run time (models, dependency injection, CLI signatures):
# a module importing one of them keeps its annotation-only imports.
_EVALUATES_ANNOTATIONS = frozenset(
    {
        "pydantic", "fastapi", "typer", "attrs", "attr", "dataclasses", "msgspec", "sqlmodel", "sqlalchemy",
        "strawberry", "cattrs", "beartype", "typeguard", "marshmallow_dataclass", "dataclasses_json",
        "typing_inspect", "litestar", "django", "ninja", "pydantic_settings", "cyclopts", "jsonargparse",
        "injector", "dependency_injector",
    }
)  # fmt: skip


class CannotRewrite(ValueError):
    """The statement cannot be deferred safely; `code` says why (a stable word)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Judgement:
    line: int
    shape: str  # "re-export", "functions", "annotations"; "" when it cannot be deferred
    names: tuple[str, ...]  # the names the statement binds
    reason: str = ""  # why not, as a code: conditional, star, side-effects, used-at-import, ...
    detail: str = ""


@dataclass
class _Found:
    module: cst.Module
    wrapper: MetadataWrapper
    index: int  # position of the statement line in module.body
    line: cst.SimpleStatementLine
    statement: cst.Import | cst.ImportFrom


def _locate(source: str, line: int) -> _Found:
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    for index, item in enumerate(module.body):
        start, end = positions[item].start.line, positions[item].end.line
        if not start <= line <= end:
            continue
        if isinstance(item, cst.SimpleStatementLine):
            imports = [s for s in item.body if isinstance(s, cst.Import | cst.ImportFrom)]
            if len(item.body) != 1 or len(imports) != 1:
                raise CannotRewrite("compound", f"line {line} holds more than the import")
            return _Found(module, wrapper, index, item, imports[0])
        raise CannotRewrite("conditional", f"the import at line {line} is inside a block (if, try, with, def)")
    raise CannotRewrite("no-statement", f"no module-level statement at line {line}")


def _bound(statement: cst.Import | cst.ImportFrom) -> list[tuple[str, cst.ImportAlias]]:
    """(local name, alias) for each name the statement binds."""
    if isinstance(statement.names, cst.ImportStar):
        raise CannotRewrite("star", "a star import binds names no one can list")
    found = []
    for alias in statement.names:
        if alias.asname is not None:
            local = cst.ensure_type(alias.asname.name, cst.Name).value
        elif isinstance(statement, cst.Import):
            local = _dotted(alias.name).partition(".")[0]
        else:
            local = _dotted(alias.name)
        found.append((local, alias))
    return found


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    raise CannotRewrite("unparsable", "an import name that is not dotted")


def _has_future_annotations(module: cst.Module) -> bool:
    for item in module.body:
        if isinstance(item, cst.SimpleStatementLine):
            for statement in item.body:
                if isinstance(statement, cst.ImportFrom) and isinstance(statement.module, cst.Name):
                    if statement.module.value == "__future__" and not isinstance(statement.names, cst.ImportStar):
                        if any(_dotted(a.name) == "annotations" for a in statement.names):
                            return True
    return False


def _imported_tops(module: cst.Module) -> set[str]:
    tops: set[str] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Import(self, node: cst.Import) -> None:
            tops.update(_dotted(a.name).partition(".")[0] for a in node.names)

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.module is not None and not node.relative:
                tops.add(_dotted(node.module).partition(".")[0])

    module.visit(Visitor())
    return tops


def judge(
    source: str, line: int, *, is_submodule: Callable[[str], bool] = lambda name: False, package: bool = True
) -> Judgement:
    """How the import statement at `line` can be deferred, from this module's source alone.
    `is_submodule(name)` says whether `from <statement's module> import name` names a module;
    `package`: the source is a package's __init__ (where an unused import is a re-export)."""
    try:
        found = _locate(source, line)
        names = _bound(found.statement)
    except CannotRewrite as cannot:
        return Judgement(line, "", (), cannot.code, str(cannot))
    except cst.ParserSyntaxError as error:
        return Judgement(line, "", (), "syntax", str(error).splitlines()[0])
    locals_ = tuple(name for name, _ in names)
    if isinstance(found.statement, cst.ImportFrom) and _dotted_module(found.statement) == "__future__":
        return Judgement(line, "", locals_, "future", "a __future__ import is a compiler directive")
    scopes = found.wrapper.resolve(ScopeProvider)
    scope = scopes[found.line.body[0]]
    assert scope is not None
    at_import, in_functions, annotations, lambdas, globals_ = [], [], [], [], []
    for name in locals_:
        assignments = list(scope.assignments[name])
        if len(assignments) != 1:
            return Judgement(line, "", locals_, "rebound", f"{name} is bound more than once at module level")
        for access in assignments[0].references:
            where = access.scope
            if isinstance(where, FunctionScope):
                outermost = where
                while isinstance(outermost.parent, FunctionScope):
                    outermost = outermost.parent
                if isinstance(outermost.node, cst.Lambda):
                    lambdas.append(name)
                in_functions.append(name)
            elif access.is_annotation:
                annotations.append((name, access.node))
            else:
                at_import.append(name)
        if _declared_global(found.module, name):
            globals_.append(name)
    if globals_:
        return Judgement(line, "", locals_, "global", f"a function declares `global {globals_[0]}`")
    if at_import:
        return Judgement(line, "", locals_, "used-at-import", f"{at_import[0]} is used when the module runs")
    if annotations:
        evaluated = [n for n, node in annotations if not isinstance(node, cst.SimpleString)]
        if evaluated and not _has_future_annotations(found.module):
            return Judgement(line, "", locals_, "used-at-import", f"the annotation {evaluated[0]} is evaluated")
        if _imported_tops(found.module) & _EVALUATES_ANNOTATIONS:
            which = sorted(_imported_tops(found.module) & _EVALUATES_ANNOTATIONS)[0]
            return Judgement(line, "", locals_, "annotations-evaluated", f"{which} may evaluate annotations")
        if in_functions:
            return Judgement(line, "", locals_, "mixed", "used in annotations and in functions")
        return Judgement(line, "annotations", locals_)
    if in_functions:
        if lambdas:
            return Judgement(line, "", locals_, "lambda", f"{lambdas[0]} is used in a lambda")
        return Judgement(line, "functions", locals_)
    # not used here at all: handed on, or imported for what importing it does
    if isinstance(found.statement, cst.Import):
        return Judgement(line, "", locals_, "side-effects", "`import x` that nothing uses may be there for its effects")
    modules = [alias for _, alias in names if is_submodule(_dotted(alias.name))]
    if modules:
        return Judgement(line, "", locals_, "side-effects", "a submodule imported for its effects, perhaps")
    if not package:
        return Judgement(line, "", locals_, "unused", "an unused import outside a package __init__ (for its effects?)")
    if _own_getattr(found.module) == "foreign":
        return Judgement(line, "", locals_, "has-getattr", "the module has its own __getattr__")
    return Judgement(line, "re-export", locals_)


def _dotted_module(statement: cst.ImportFrom) -> str:
    return _dotted(statement.module) if statement.module is not None else ""


def _declared_global(module: cst.Module, name: str) -> bool:
    found: list[str] = []

    class Visitor(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            found.extend(n.name.value for n in node.names)

    module.visit(Visitor())
    return name in found


def _own_getattr(module: cst.Module) -> str:
    """ "ours" (made by this codemod), "foreign", or "" (none)."""
    for item in module.body:
        if isinstance(item, cst.FunctionDef) and item.name.value == "__getattr__":
            comments = [line.comment.value for line in item.leading_lines if line.comment is not None]
            return "ours" if MARKER in comments else "foreign"
        if isinstance(item, cst.SimpleStatementLine):
            for statement in item.body:
                targets = []
                if isinstance(statement, cst.Assign):
                    targets = [t.target for t in statement.targets]
                elif isinstance(statement, cst.AnnAssign | cst.AugAssign):
                    targets = [statement.target]
                for target in targets:
                    names = [e.value for e in _flatten(target) if isinstance(e, cst.Name)]
                    if "__getattr__" in names:
                        return "foreign"
    return ""


def _flatten(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, cst.Tuple | cst.List):
        return [x for element in node.elements for x in _flatten(element.value)]
    return [node]


# -- re-export → PEP 562 lazy attribute ------------------------------------------------------


def defer_reexport(source: str, line: int) -> str:
    """The module with the re-export at `line` turned into a lazy attribute. Raises CannotRewrite."""
    judgement = judge(source, line)
    if judgement.shape != "re-export":
        raise CannotRewrite(judgement.reason or "not-a-re-export", judgement.detail or "not a re-export")
    found = _locate(source, line)
    statement = cst.ensure_type(found.statement, cst.ImportFrom)
    body = list(found.module.body)
    checking = cst.If(
        test=cst.Name("TYPE_CHECKING"),
        body=cst.IndentedBlock(body=[found.line.with_changes(leading_lines=())]),
        leading_lines=found.line.leading_lines,
    )
    body[found.index] = checking
    branches = [_branch(local, alias, statement) for local, alias in _bound(statement)]
    owner = _own_getattr(found.module)
    if owner == "ours":
        position = next(
            i for i, item in enumerate(body) if isinstance(item, cst.FunctionDef) and item.name.value == "__getattr__"
        )
        function = cst.ensure_type(body[position], cst.FunctionDef)
        inner = list(cst.ensure_type(function.body, cst.IndentedBlock).body)
        body[position] = function.with_deep_changes(
            cst.ensure_type(function.body, cst.IndentedBlock), body=[*inner[:-1], *branches, inner[-1]]
        )
    else:
        body.append(_getattr(branches))
    module = found.module.with_changes(body=_with_type_checking(body))
    return module.code


def _branch(local: str, alias: cst.ImportAlias, statement: cst.ImportFrom) -> cst.If:
    single = statement.with_changes(names=[alias.with_changes(comma=cst.MaybeSentinel.DEFAULT)], lpar=None, rpar=None)
    test = cst.Comparison(
        left=cst.Name("name"),
        comparisons=[cst.ComparisonTarget(operator=cst.Equal(), comparator=cst.SimpleString(f'"{local}"'))],
    )
    return cst.If(
        test=test,
        body=cst.IndentedBlock(
            body=[
                cst.SimpleStatementLine(body=[single]),
                cst.SimpleStatementLine(
                    body=[cst.Return(value=cst.Name(local))], leading_lines=[cst.EmptyLine(indent=False)]
                ),
            ]
        ),
    )


def _getattr(branches: Sequence[cst.BaseStatement]) -> cst.FunctionDef:
    raise_line = cst.parse_statement('raise AttributeError(f"module {__name__!r} has no attribute {name!r}")\n')
    function = cst.parse_statement("def __getattr__(name: str) -> object:\n    pass\n")
    function = cst.ensure_type(function, cst.FunctionDef)
    return function.with_changes(
        body=function.body.with_changes(body=[*branches, raise_line]),
        leading_lines=[
            cst.EmptyLine(indent=False),
            cst.EmptyLine(indent=False),
            cst.EmptyLine(comment=cst.Comment(MARKER)),
        ],
    )


def _binds_type_checking(body: Sequence[cst.BaseStatement]) -> bool:
    for item in body:
        if isinstance(item, cst.SimpleStatementLine):
            for statement in item.body:
                if isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar):
                    if statement.module is not None and _dotted(statement.module) in ("typing", "typing_extensions"):
                        for alias in statement.names:
                            if _dotted(alias.name) == "TYPE_CHECKING" and alias.asname is None:
                                return True
    return False


def _with_type_checking(body: list[Any]) -> list[Any]:
    """`from typing import TYPE_CHECKING` after the docstring and __future__ imports, unless bound."""
    if _binds_type_checking(body):
        return body
    position = 0
    for index, item in enumerate(body):
        if not isinstance(item, cst.SimpleStatementLine):
            break
        only = item.body[0] if len(item.body) == 1 else None
        docstring = index == 0 and isinstance(only, cst.Expr) and isinstance(only.value, cst.SimpleString)
        future = isinstance(only, cst.ImportFrom) and _dotted_module(only) == "__future__"
        if not (docstring or future):
            break
        position = index + 1
    line = cst.parse_statement("from typing import TYPE_CHECKING\n")
    if position < len(body):  # the blank lines above the next statement go above the new import
        following: Any = body[position]  # a simple or compound statement: both have leading lines
        blank = 0
        while blank < len(following.leading_lines) and following.leading_lines[blank].comment is None:
            blank += 1
        line = line.with_changes(leading_lines=following.leading_lines[:blank])
        rest = following.with_changes(leading_lines=following.leading_lines[blank:])
        body = [*body[:position], rest, *body[position + 1 :]]
    return [*body[:position], line, *body[position:]]


# -- module-level import → the functions that use it --------------------------------------------


def move_into_functions(source: str, line: int) -> str:
    """The module with the import at `line` moved into each outermost function that uses it."""
    judgement = judge(source, line)
    if judgement.shape != "functions":
        raise CannotRewrite(judgement.reason or "not-function-only", judgement.detail or "not used only in functions")
    found = _locate(source, line)
    scopes = found.wrapper.resolve(ScopeProvider)
    scope = scopes[found.line.body[0]]
    assert scope is not None
    users: dict[cst.CSTNode, set[str]] = {}
    for local, _ in _bound(found.statement):
        for access in next(iter(scope.assignments[local])).references:
            where = access.scope
            assert isinstance(where, FunctionScope)
            while isinstance(where.parent, FunctionScope):
                where = where.parent
            users.setdefault(where.node, set()).add(local)
    statement = found.statement
    pairs = _bound(statement)

    class Mover(cst.CSTTransformer):
        def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
            wanted = users.get(original)
            if not wanted:
                return updated
            kept = [alias.with_changes(comma=cst.MaybeSentinel.DEFAULT) for local, alias in pairs if local in wanted]
            copy = statement.with_changes(names=kept)
            if isinstance(copy, cst.ImportFrom):
                copy = copy.with_changes(lpar=None, rpar=None)
            block = updated.body
            if not isinstance(block, cst.IndentedBlock):
                raise CannotRewrite("one-line-def", "a function written on one line")
            inner = list(block.body)
            at = 1 if inner and _is_docstring(inner[0]) else 0
            inner.insert(at, cst.SimpleStatementLine(body=[copy]))
            return updated.with_changes(body=block.with_changes(body=inner))

    moved = cst.ensure_type(found.module.visit(Mover()), cst.Module)  # before any node is replaced
    body = list(moved.body)
    removed = body.pop(found.index)
    if found.index < len(body):
        following = body[found.index]
        body[found.index] = following.with_changes(leading_lines=[*removed.leading_lines, *following.leading_lines])
    return moved.with_changes(body=body).code


def _is_docstring(item: cst.BaseStatement) -> bool:
    return (
        isinstance(item, cst.SimpleStatementLine)
        and len(item.body) == 1
        and isinstance(item.body[0], cst.Expr)
        and isinstance(item.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


# -- an import used only in annotations → under TYPE_CHECKING --------------------------------------


def move_under_type_checking(source: str, line: int) -> str:
    """The module with the import at `line` under `if TYPE_CHECKING:` (its annotations are never evaluated)."""
    judgement = judge(source, line)
    if judgement.shape != "annotations":
        raise CannotRewrite(
            judgement.reason or "not-annotation-only", judgement.detail or "not used only in annotations"
        )
    found = _locate(source, line)
    body: list[Any] = list(found.module.body)
    body[found.index] = cst.If(
        test=cst.Name("TYPE_CHECKING"),
        body=cst.IndentedBlock(body=[found.line.with_changes(leading_lines=())]),
        leading_lines=found.line.leading_lines,
    )
    return found.module.with_changes(body=_with_type_checking(body)).code


def rewrite(source: str, line: int, *, package: bool = True) -> str:
    """The one rewrite the statement at `line` allows. Raises CannotRewrite."""
    shape = judge(source, line, package=package).shape
    if shape == "functions":
        return move_into_functions(source, line)
    if shape == "annotations":
        return move_under_type_checking(source, line)
    return defer_reexport(source, line)
