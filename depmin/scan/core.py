"""The semantic core: a translated file (depmin.scan.ir) → ImportRecords, for the target.

Every rule about what an import commits lives here, once, for both parsers:
- function and lambda bodies are lazy; class bodies and decorators run at import time;
- branches are decided for the target (depmin.scan.evaluate): a dead branch contributes
  nothing, a branch only a type checker takes is type-only;
- a condition on a name that a first-party module defines (`from .compat import WIN`),
  and `if __name__ == "__main__":`, cannot be decided from one file: the records under
  them carry the condition (`when`) and the analysis decides it;
- try/except judges its handlers: the first one that catches ImportError guards the body
  (and the `else:` body) unless it always re-raises or exits; handlers that cannot run
  because the body only imports what the target's standard library has are dead;
- `contextlib.suppress(ImportError)` guards; so does `find_spec("x")` for imports of x;
- importlib.import_module / __import__ under any alias, with literal names, are imports.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from depmin.imports.stdlib import is_stdlib, stdlib_provides
from depmin.model import Condition, ImportRecord, Kind, Target
from depmin.scan import ir
from depmin.scan.evaluate import Scope, Unknown, decide, is_main_test, requires_loaded, spec_checks, value_over_patches

_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_IMPORT_MODULE = frozenset({"importlib.import_module"})
# Calls that import a module named by a string argument (see _Walker.named_by_string).
_NAMED_BY_STRING = frozenset(
    {"uvicorn.run", "uvicorn.Config", "pkgutil.resolve_name", "celery.Celery", "logging.config.dictConfig"}
)
# Method calls that make a framework import a distribution without an import statement
# (depmin.features maps them): `await request.form()` needs python-multipart.
_FEATURE_METHODS = frozenset({"form"})
# `entry_points(group="app.plugins")`: the analysis follows the modules the project itself
# registers in that group.
_ENTRY_POINTS = frozenset({"importlib.metadata.entry_points", "importlib_metadata.entry_points"})
_DUNDER_IMPORT = frozenset({"__import__", "builtins.__import__", "importlib.__import__"})
_IMPORT_ERROR_TYPES = frozenset({"ImportError", "ModuleNotFoundError"})
_PROPAGATES, _STOPS = "propagates", "stops"
_EXITS = frozenset({"sys.exit", "os._exit", "exit", "quit", "os.abort", "builtins.exit", "builtins.quit"})
# scientific Python's SPEC 1: `__getattr__, __dir__, __all__ = lazy.attach(__name__, submodules, submod_attrs)`
_LAZY_ATTACH = frozenset({"lazy_loader.attach"})
_LAZY_ATTACH_STUB = frozenset({"lazy_loader.attach_stub"})
# pkgutil over the package's own path: plugin discovery of every submodule (walk_packages: at any depth)
_DISCOVERY = {"pkgutil.iter_modules": "submodules", "pkgutil.walk_packages": "submodules:all"}
_EXEC = frozenset({"exec", "eval", "builtins.exec", "builtins.eval"})
_ENGINES = frozenset(
    {
        "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlalchemy.create_mock_engine",
        "sqlalchemy.ext.asyncio.create_async_engine", "sqlmodel.create_engine",
    }
)  # fmt: skip
# SQLAlchemy dialect[+driver] of a URL → the module SQLAlchemy imports for it (its documented
# default driver when the URL names none). sqlite's default is the standard library's.
_DRIVERS = {
    "postgresql": "psycopg2", "postgres": "psycopg2", "postgresql+psycopg2": "psycopg2",
    "postgresql+psycopg": "psycopg", "postgresql+asyncpg": "asyncpg", "postgresql+pg8000": "pg8000",
    "postgresql+psycopg2cffi": "psycopg2cffi", "postgresql+aiopg": "aiopg",
    "mysql": "MySQLdb", "mysql+mysqldb": "MySQLdb", "mysql+pymysql": "pymysql", "mysql+aiomysql": "aiomysql",
    "mysql+asyncmy": "asyncmy", "mysql+mysqlconnector": "mysql.connector", "mariadb": "MySQLdb",
    "mariadb+mariadbconnector": "mariadb", "mariadb+pymysql": "pymysql",
    "sqlite": "sqlite3", "sqlite+pysqlite": "sqlite3", "sqlite+aiosqlite": "aiosqlite",
    "oracle+oracledb": "oracledb", "oracle+cx_oracle": "cx_Oracle",
    "mssql": "pyodbc", "mssql+pyodbc": "pyodbc", "mssql+pymssql": "pymssql", "mssql+aioodbc": "aioodbc",
}  # fmt: skip
# How many names one computed import may stand for before depmin stops guessing.
_MAX_VALUES = 64
# Stand-ins for `__name__` / `__package__` inside a computed name (`f"{__name__}.{sub}"`).
_OWN_NAME, _OWN_PACKAGE = "\x00name", "\x00package"


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    message: str
    fatal: bool  # the file could not be scanned at all


@dataclass(frozen=True, slots=True)
class ScanResult:
    records: tuple[ImportRecord, ...]
    problems: tuple[Problem, ...] = ()
    # Module-level names bound once to a value decided for the target: what
    # `from this_module import NAME` / `if NAME:` elsewhere can rely on.
    constants: tuple[tuple[str, bool], ...] = ()
    # The literal names of `__all__`: `from this_module import *` imports those that are submodules.
    all_names: tuple[str, ...] = ()
    # Imports a `# depmin: ignore` comment takes out: never followed, listed as ignored.
    ignored: tuple[ImportRecord, ...] = ()
    # Framework features used without an import statement: (feature, line), see depmin.features.
    features: tuple[tuple[str, int], ...] = ()

    @property
    def failed(self) -> bool:
        return any(p.fatal for p in self.problems)


class _Context(NamedTuple):
    lazy: bool = False
    type_only: bool = False
    guarded: bool = False
    when: tuple[Condition, ...] = ()
    spec_guards: frozenset[str] = frozenset()  # modules a find_spec() test asked about
    ignored: bool = False  # inside a `try:` marked `# depmin: ignore`
    top: bool = False  # a statement of the module body itself
    attribute: bool = False  # inside the module's own `def __getattr__` (PEP 562)
    # A handler that re-raises only for some modules (`if error.name == "yaml": raise`): (the
    # names it tests, whether it re-raises for them or for every other, the guard outside the try).
    reraise: tuple[frozenset[str], bool, bool] | None = None


@dataclass
class _Walker:
    target: Target
    module: ir.Module
    calls: bool  # whether expressions can import (the file names import_module / __import__)
    pragma_lines: frozenset[int] = frozenset()  # lines carrying `# depmin: ignore`
    records: list[ImportRecord] = field(default_factory=list)
    ignored: list[ImportRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    all_names: list[str] = field(default_factory=list)
    features: list[tuple[str, int]] = field(default_factory=list)
    # Names imported from a module by `from M import n` or `import M as n`: (level, module, attribute | None).
    imported: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    # The strings a name can hold here: a loop over literals, `if name in LITERALS:`, a local
    # assignment of a decided value (see strings()).
    bound: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Names set True after an import in a `try` whose handler carries on and sets them False:
    # `if HAS_X:` bodies are guarded like that import.
    flags: set[str] = field(default_factory=set)
    discovering: bool = False  # inside a loop over pkgutil.iter_modules(__path__)
    scope: Scope = field(init=False)

    def __post_init__(self) -> None:
        self.scope = Scope(bindings=self.module.bindings)

    # -- records ---------------------------------------------------------------------

    def add(
        self,
        target: str,
        names: tuple[str, ...],
        line: int,
        context: _Context,
        level: int = 0,
        anchor: str | None = None,
        *,
        dynamic: bool = False,
    ) -> None:
        if context.type_only:
            kind = Kind.TYPE_CHECKING
        elif context.attribute and not dynamic:
            kind = Kind.ATTRIBUTE
        elif dynamic:
            kind = Kind.DYNAMIC
        elif context.lazy:
            kind = Kind.LAZY
        else:
            kind = Kind.MODULE
        guarded = context.guarded
        if context.reraise is not None and level == 0:
            tested, positive, outside = context.reraise
            if (target.partition(".")[0] in tested) is positive:
                guarded = outside  # the handler re-raises when this one is missing
        guarded = guarded or (
            level == 0 and any(target == name or target.startswith(f"{name}.") for name in context.spec_guards)
        )
        record = ImportRecord(target, names, line, kind, guarded, level, anchor, context.when)
        (self.ignored if context.ignored or line in self.pragma_lines else self.records).append(record)

    # -- statements ------------------------------------------------------------------

    def block(self, statements: ir.Block, context: _Context) -> None:
        for statement in statements:
            handler = _HANDLERS.get(type(statement))
            if handler is not None:
                handler(self, statement, context)

    def _import(self, node: ir.Import, context: _Context) -> None:
        for name, alias in node.names:
            if alias:
                self.scope.aliases[alias] = name
                self.imported[alias] = (0, name, None)
            else:
                top = name.partition(".")[0]
                self.scope.aliases.setdefault(top, top)
            self.add(name, (), node.line, context)

    def _import_from(self, node: ir.ImportFrom, context: _Context) -> None:
        if node.level == 0 and node.module == "__future__":
            return
        for name, alias in node.names:
            if name == "*":
                continue
            local = alias or name
            if node.level == 0:
                self.scope.aliases[local] = f"{node.module}.{name}"
            self.imported[local] = (node.level, node.module, name)
        self.add(node.module, tuple(name for name, _ in node.names), node.line, context, node.level)

    def _if(self, node: ir.If, context: _Context) -> None:
        self.expressions((node.test,), context)
        body, orelse = self.branches(node.test, context)
        flag = _flag_test(node.test, self.flags)
        if body is not None:
            if flag is True:
                body = body._replace(guarded=True)
            with self.narrowed(node.test):
                self.block(node.body, body)
        if orelse is not None:
            self.block(node.orelse, orelse._replace(guarded=True) if flag is False else orelse)

    @contextmanager
    def narrowed(self, test: ir.Expr) -> Iterator[None]:
        """Inside `if name in LITERALS:`, `name` is one of those strings."""
        values = None
        if test[0] == "compare" and test[1][0] == "name" and len(test[2]) == 1 and test[2][0][0] == "in":
            values = self.members(test[2][0][1])
        with self.binding(test[1][1] if values else None, values):
            yield

    @contextmanager
    def binding(self, name: str | None, values: tuple[str, ...] | None) -> Iterator[None]:
        if name is None or values is None:
            yield
            return
        previous = self.bound.get(name)
        self.bound[name] = values
        try:
            yield
        finally:
            if previous is None:
                self.bound.pop(name, None)
            else:
                self.bound[name] = previous

    def _while(self, node: ir.While, context: _Context) -> None:
        self.expressions((node.test,), context)
        body, _ = self.branches(node.test, context)
        if body is not None:
            self.block(node.body, body)
        self.block(node.orelse, context._replace(top=False))

    def branches(self, test: ir.Expr, context: _Context) -> tuple[_Context | None, _Context | None]:
        """The contexts of an `if`'s body and else (None: that branch cannot run on the target)."""
        inner = context._replace(top=False)
        spec = spec_checks(test, self.scope)
        if spec:
            inner = inner._replace(spec_guards=inner.spec_guards | spec)
        runtime, checking = decide(test, self.target, self.scope)
        if runtime is None and requires_loaded(test, self.scope):
            # `if "torch" in sys.modules:` runs only where something else already imported it
            body = _branch(inner, runtime, checking, True)
            return (body._replace(guarded=True) if body else None), _branch(inner, runtime, checking, False)
        if runtime is None:
            deferred = self.deferred(test)
            if deferred is not None:
                condition, polarity = deferred
                return (
                    inner._replace(when=(*inner.when, (*condition, polarity))),
                    inner._replace(when=(*inner.when, (*condition, not polarity))),
                )
        return _branch(inner, runtime, checking, True), _branch(inner, runtime, checking, False)

    def deferred(self, test: ir.Expr) -> tuple[tuple[object, ...], bool] | None:
        """A condition the analysis can decide: `__name__ == "__main__"`, or a name a
        (possibly first-party) module defines, as `if NAME:` / `if not module.NAME:`."""
        polarity = True
        while test[0] == "not":
            test, polarity = test[1], not polarity
        main = is_main_test(test)
        if main is not None:
            return ("main",), main == polarity
        bindings = self.module.bindings()
        if test[0] == "name" and test[1] in self.imported and bindings.get(test[1], 0) == 1:
            level, module, attribute = self.imported[test[1]]
            if attribute is not None and not (level == 0 and is_stdlib(module, self.target.python)):
                return ("name", level, module, attribute), polarity
        if test[0] == "attr" and test[1][0] == "name" and test[1][1] in self.imported:
            if bindings.get(test[1][1], 0) == 1:
                level, module, attribute = self.imported[test[1][1]]
                if attribute is not None:  # `from . import compat` → compat is the module .compat
                    module = f"{module}.{attribute}" if module else attribute
                if not (level == 0 and is_stdlib(module, self.target.python)):
                    return ("name", level, module, test[2]), polarity
        return None

    def _try(self, node: ir.Try, context: _Context) -> None:
        inner = context._replace(top=False, ignored=context.ignored or node.line in self.pragma_lines)
        if self.cannot_fail(node.body):
            self.block(node.body, inner)
            self.block(node.orelse, inner)  # the handlers are dead: the body cannot raise on the target
            self.block(node.finalbody, inner)
            return
        catcher = next((h for h in node.handlers if _catches_import_error(h.type)), None)
        ending = self.always_ends(catcher.body) if catcher is not None else _PROPAGATES
        # A handler that carries on guards the body. One that re-raises ImportError leaves the
        # error to an enclosing guard; one that exits or raises something else is no guard at all.
        guarded = ending is None or (ending is _PROPAGATES and inner.guarded)
        guard = inner._replace(guarded=guarded)
        conditional = self.conditional_reraise(catcher.body) if catcher is not None and ending is None else None
        if conditional is not None:
            guard = guard._replace(reraise=(*conditional, inner.guarded))
        if ending is None and catcher is not None:
            self.flags |= _set_to(True, (*node.body, *node.orelse)) & _set_to(False, catcher.body)
        fallback = (
            ending is None
            and catcher is not None
            and any(isinstance(s, (ir.Import, ir.ImportFrom)) for s in catcher.body)
            and any(isinstance(s, (ir.Import, ir.ImportFrom)) for s in node.body)
        )
        if fallback:
            # `try: import ddgs / except ImportError: import duckduckgo_search`: either one does;
            # the analysis needs the first it can install (see walk.Walk.choices)
            guard = guard._replace(when=(*guard.when, ("choice", node.line, 0, inner.guarded)))
        self.block(node.body, guard)
        for handler in node.handlers:
            if handler.type is not None:
                self.expressions((handler.type,), inner)
            alternative = inner
            if fallback and handler is catcher:
                alternative = inner._replace(when=(*inner.when, ("choice", node.line, 1, inner.guarded)))
            self.block(handler.body, alternative)
        self.block(node.orelse, guard)  # runs only when the body's imports worked
        self.block(node.finalbody, inner)

    def cannot_fail(self, body: ir.Block) -> bool:
        """The body only imports what the target's standard library surely has."""
        imports = False
        for statement in body:
            if isinstance(statement, ir.Import):
                if not all(stdlib_provides(name, (), self.target.python) for name, _ in statement.names):
                    return False
                imports = True
            elif isinstance(statement, ir.ImportFrom):
                names = tuple(name for name, _ in statement.names)
                if statement.level or "*" in names or not stdlib_provides(statement.module, names, self.target.python):
                    return False
                imports = True
            else:
                return False  # anything else might raise: the handlers stay live
        return imports

    def conditional_reraise(self, body: ir.Block) -> tuple[frozenset[str], bool] | None:
        """`if error.name == "yaml": raise` (also `"yaml" in str(error)`, `!=`, `not in`, a tuple):
        the modules whose absence the handler re-raises for, and whether it is those or the others."""
        for statement in body:
            if not isinstance(statement, ir.If) or statement.orelse:
                continue
            if decide(statement.test, self.target, self.scope)[0] is None and self.always_ends(statement.body):
                tested = _tested_names(statement.test)
                if tested is not None:
                    return tested
        return None

    def always_ends(self, body: ir.Block) -> str | None:
        """How running `body` always ends: _PROPAGATES (re-raises an ImportError), _STOPS (exits or
        raises something else), or None when it may carry on to the statement after the try."""
        for statement in body:
            if isinstance(statement, ir.Raise):
                raised = statement.exprs[0] if statement.exprs else None
                reraise = (
                    raised is None or _last_name(raised[1] if raised[0] == "call" else raised) in _IMPORT_ERROR_TYPES
                )
                return _PROPAGATES if reraise else _STOPS
            if isinstance(statement, ir.Statement) and any(self.is_exit(e) for e in statement.exprs):
                return _STOPS
            if isinstance(statement, ir.If):
                runtime, _ = decide(statement.test, self.target, self.scope)
                branches = [
                    b
                    for b, possible in ((statement.body, runtime is not False), (statement.orelse, runtime is not True))
                    if possible
                ]
                endings = {self.always_ends(b) for b in branches}
                if None not in endings:
                    return _PROPAGATES if endings == {_PROPAGATES} else _STOPS
            if isinstance(statement, ir.With):
                ending = self.always_ends(statement.body)
                if ending is not None:
                    return ending
        return None

    def is_exit(self, expr: ir.Expr) -> bool:
        return expr[0] == "call" and self.scope.path(expr[1]) in _EXITS

    def _with(self, node: ir.With, context: _Context) -> None:
        self.expressions(node.items, context)
        guarded = any(_is_import_error_suppressor(item) for item in node.items)
        inner = context._replace(top=False)
        self.block(node.body, inner._replace(guarded=inner.guarded or guarded))

    def _match(self, node: ir.Match, context: _Context) -> None:
        self.expressions((node.subject,), context)
        inner = context._replace(top=False)
        try:
            subjects = value_over_patches(node.subject, self.target, self.scope)
        except Unknown:
            subjects = None
        live = [False] * len(node.cases)
        for subject in subjects if subjects is not None else [None]:
            decided = False  # an earlier case surely matched: the rest cannot run
            for number, case in enumerate(node.cases):
                if decided:
                    break
                outcome = _matches(case.pattern, subject) if subjects is not None else None
                if outcome is False:
                    continue
                live[number] = True
                if outcome is True and case.guard is None:
                    decided = True
        for case, alive in zip(node.cases, live, strict=True):
            if case.guard is not None:
                self.expressions((case.guard,), inner)
            if alive:
                self.block(case.body, inner)

    def _function(self, node: ir.Function, context: _Context) -> None:
        self.expressions(node.header, context)
        outside = dict(self.bound)
        attribute = context.attribute or (context.top and node.name == "__getattr__")
        self.block(node.body, context._replace(lazy=True, top=False, attribute=attribute))
        self.bound = outside

    def _class(self, node: ir.Class, context: _Context) -> None:
        self.expressions(node.header, context)
        self.block(node.body, context._replace(top=False))

    def _assign(self, node: ir.Assign, context: _Context) -> None:
        self.expressions((node.value,), context)
        if not context.top:
            values = None if node.augmented else self.strings(node.value)
            if values:
                self.bound[node.target] = values  # `module = _LAZY[name]`: read where it is used
            else:
                self.bound.pop(node.target, None)
            return
        if node.target == "__all__":
            self.all_names.extend(_literal_strings(node.value))
        elif node.target == "wsgi_app" and node.value[0] == "str":
            self.named(node.value[1], node.line, context)  # a gunicorn setting: `wsgi_app = "pkg.app:app"`
        elif not node.augmented:
            self.scope.constants[node.target] = node.value

    def _raise(self, node: ir.Raise, context: _Context) -> None:
        self.expressions(node.exprs, context)

    def _loop(self, node: ir.Loop, context: _Context) -> None:
        self.expressions(node.header, context)
        inner = context._replace(top=False)
        values = self.members(node.header[0]) if node.target and node.header else None
        discovering = self.discovering
        self.discovering = discovering or any(self.discovers(e) for e in node.header)
        with self.binding(node.target, values):
            self.block(node.body, inner)
        self.discovering = discovering
        self.block(node.orelse, inner)

    def _statement(self, node: ir.Statement, context: _Context) -> None:
        if context.top:
            for expr in node.exprs:  # __all__.extend([...]) / __all__.append("x")
                if expr[0] == "call" and expr[1][0] == "attr" and expr[1][1] == ("name", "__all__"):
                    if expr[1][2] in ("extend", "append") and expr[2]:
                        self.all_names.extend(_literal_strings(expr[2][0]))
        self.expressions(node.exprs, context)

    # -- expressions: calls that import ------------------------------------------------

    def expressions(self, exprs: tuple[ir.Expr, ...], context: _Context) -> None:
        if not self.calls:
            return
        stack: list[tuple[ir.Expr, _Context]] = [(e, context) for e in reversed(exprs)]
        while stack:  # iterative: generated code nests expressions thousands deep
            expr, where = stack.pop()
            kind = expr[0]
            if kind == "call":
                self.call(expr, where)
                children = (expr[1], *expr[2], *(value for _, value in expr[3]))
            elif kind == "lambda":
                where = where._replace(lazy=True)
                children = (expr[1],)
            elif kind == "comp":
                self.comprehension(expr, where)
                continue
            else:
                children = _CHILDREN.get(kind, _no_children)(expr)
            stack.extend((child, where) for child in reversed(children) if child is not None)

    def comprehension(self, expr: ir.Expr, context: _Context) -> None:
        """`{n: __import__(n) for n in ("idna", "six")}`: the elements see each literal the loops give."""
        loops, elements = expr[1], expr[2]
        self.expressions(tuple(iterable for _, iterable, _ in loops), context)
        with ExitStack() as scopes:
            for variable, iterable, _ in loops:
                scopes.enter_context(self.binding(variable, self.members(iterable)))
            self.expressions(tuple(test for *_, tests in loops for test in tests), context)
            self.expressions(elements, context)

    def call(self, node: ir.Expr, context: _Context) -> None:
        _, function, positional, keywords, line = node
        path = self.scope.path(function)
        if path in _NAMED_BY_STRING or (function[0] == "attr" and function[2] == "autodiscover_tasks"):
            self.named_by_string(path or "", function, positional, keywords, line, context)
        elif function[0] == "attr" and function[2] in _FEATURE_METHODS and not positional and not keywords:
            self.features.append((function[2], line))
        elif path in _ENTRY_POINTS:
            group = _argument((), keywords, 0, "group")
            if group is not None and group[0] == "str":
                self.features.append((f"entry_points:{group[1]}", line))
        if path in _IMPORT_MODULE:
            self.dynamic(
                "import_module",
                _argument(positional, keywords, 0, "name"),
                _argument(positional, keywords, 1, "package"),
                (),
                line,
                context,
            )
        elif path in _DUNDER_IMPORT:
            fromlist = _argument(positional, keywords, 3, "fromlist")
            names = tuple(_literal_strings(fromlist)) if fromlist is not None else ()
            level = _argument(positional, keywords, 4, "level")
            relative = level[1] if level is not None and level[0] == "int" and level[1] > 0 else 0
            name = _argument(positional, keywords, 0, "name")
            if level is not None and not relative and level != ("int", 0):
                self.problems.append(Problem(line, "__import__() with a computed level cannot be followed", False))
            elif relative and name is not None and name[0] == "str":
                # `__import__("codec", globals(), locals(), ["encode"], 1)` is `from .codec import encode`
                self.dynamic(
                    "__import__", ("str", "." * relative + name[1]), ("name", "__package__"), names, line, context
                )
            else:
                self.dynamic("__import__", name, None, names, line, context)
        elif path in _LAZY_ATTACH:
            self.attach(positional, keywords, line, context)
        elif path in _LAZY_ATTACH_STUB:
            message = (
                "lazy_loader.attach_stub() imports what the .pyi beside this module names; depmin does not "
                "read stubs yet: list those submodules under [tool.depmin] hidden-imports"
            )
            self.problems.append(Problem(line, message, False))
        elif path in _DISCOVERY and self.discovers(node):
            self.features.append((_DISCOVERY[path], line))
        elif path in _EXEC:
            self.executed(_argument(positional, keywords, 0, "source"), path, line, context)
        elif path in _ENGINES:
            self.engine(_argument(positional, keywords, 0, "url"), line, context)

    def discovers(self, expr: ir.Expr) -> bool:
        """`pkgutil.iter_modules(__path__)` and friends, over this package's own directory."""
        if expr[0] != "call" or self.scope.path(expr[1]) not in _DISCOVERY:
            return False
        where = _argument(expr[2], expr[3], 0, "path")
        return where is not None and _mentions(where, {"__path__", "__file__"})

    def attach(
        self, positional: tuple[ir.Expr, ...], keywords: tuple[tuple[str, ir.Expr], ...], line: int, context: _Context
    ) -> None:
        """`lazy_loader.attach(__name__, submodules=[...], submod_attrs={...})`: an attribute access
        on the package can import each of those submodules."""
        if _argument(positional, keywords, 0, "package_name") != ("name", "__name__"):
            return
        submodules = _argument(positional, keywords, 1, "submodules")
        attributes = _argument(positional, keywords, 2, "submod_attrs")
        names = [*(self.members(submodules) or () if submodules else ())]
        names += self.members(attributes) or () if attributes else ()
        lazy = context._replace(lazy=True)
        for name in dict.fromkeys(names):
            if all(part.isidentifier() for part in name.split(".")):
                self.add(name, (), line, lazy, 1, "__name__")

    def executed(self, source: ir.Expr | None, function: str, line: int, context: _Context) -> None:
        """`exec("import x")`: the imports of a literal source; a computed one cannot be read."""
        if source is None:
            return
        if source[0] != "str":
            message = (
                f"{function}() of computed source cannot be followed statically; "
                "list what it imports under [tool.depmin] hidden-imports"
            )
            self.problems.append(Problem(line, message, False))
            return
        try:
            tree = ast.parse(source[1], mode="eval" if function.endswith("eval") else "exec")
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return  # it fails at run time too
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.add(alias.name, (), line, context, dynamic=True)
            elif isinstance(node, ast.ImportFrom) and not node.level:
                self.add(
                    node.module or "", tuple(a.name for a in node.names if a.name != "*"), line, context, dynamic=True
                )
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    self.named(node.args[0].value, line, context)

    def engine(self, url: ir.Expr | None, line: int, context: _Context) -> None:
        """`create_engine("postgresql+asyncpg://...")`: SQLAlchemy imports the dialect's driver."""
        for value in (self.strings(url) or ()) if url is not None else ():
            dialect = value.partition("://")[0].lower() if "://" in value else ""
            driver = _DRIVERS.get(dialect)
            if driver is not None and not is_stdlib(driver, self.target.python):
                self.add(driver, (), line, context, dynamic=True)

    def named_by_string(
        self,
        path: str,
        function: ir.Expr,
        positional: tuple[ir.Expr, ...],
        keywords: tuple[tuple[str, ir.Expr], ...],
        line: int,
        context: _Context,
    ) -> None:
        """Frameworks that import by string at run time: `uvicorn.run("pkg.app:app")` and friends."""
        if path in ("uvicorn.run", "uvicorn.Config", "pkgutil.resolve_name"):
            target = _argument(positional, keywords, 0, "app" if path != "pkgutil.resolve_name" else "name")
            if target is not None and target[0] == "str":
                self.named(target[1], line, context)
        elif path == "celery.Celery":
            for name in _literal_strings(_argument((), keywords, 0, "include") or ("list", ())):
                self.named(name, line, context)
        elif function[0] == "attr" and function[2] == "autodiscover_tasks":
            packages = _argument(positional, keywords, 0, "packages")
            for name in _literal_strings(packages) if packages is not None else []:
                self.named(f"{name}:tasks", line, context, submodule=True)
        elif path == "logging.config.dictConfig":
            config = _argument(positional, keywords, 0, "config")
            if config is not None and config[0] == "name":
                config = self.scope.constant(config[1]) or config
            for name in _dict_config_classes(config) if config is not None else []:
                self.named(name, line, context)

    def named(self, text: str, line: int, context: _Context, *, submodule: bool = False) -> None:
        """`a.b:attr` or `a.b.attr` (a module, then maybe an attribute) as a dynamic import."""
        module, _, attribute = text.partition(":")
        if not all(part.isidentifier() for part in module.split(".")) or (
            attribute and not submodule and not all(part.isidentifier() for part in attribute.split("."))
        ):
            return
        if submodule:
            self.add(module, (attribute,), line, context, dynamic=True)
        elif attribute or "." not in module:
            self.add(module, (), line, context, dynamic=True)
        else:  # resolve_name("a.b.C") / "class": "a.b.C": the module a.b, or the submodule a.b.C
            parent, _, last = module.rpartition(".")
            self.add(parent, (last,), line, context, dynamic=True)

    def dynamic(
        self,
        function: str,
        name_arg: ir.Expr | None,
        package_arg: ir.Expr | None,
        names: tuple[str, ...],
        line: int,
        context: _Context,
    ) -> None:
        if name_arg is None:
            return
        if name_arg[0] != "str" and (values := self.strings(name_arg)) is not None:
            for value in values:  # a name the source decides: a constant, a loop over literals, ...
                self.dynamic(function, *_own_name(value, package_arg), names, line, context)
            return
        if name_arg[0] != "str" and self.discovering:
            return  # a submodule pkgutil found: the discovery feature brings in every one
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
        if not all(part.isidentifier() for part in name[level:].split(".")) and name[level:]:
            self.problems.append(Problem(line, f"{function}({name!r}): not a module name; not followed", False))
            return
        anchor: str | None = None
        if level and (function == "import_module" or package_arg is not None):
            if package_arg is None:
                self.problems.append(
                    Problem(line, "relative import_module() without package= fails at run time", False)
                )
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
        self.add(name[level:], names, line, context, level, anchor, dynamic=True)

    # -- values the source decides ----------------------------------------------------

    def strings(self, expr: ir.Expr, depth: int = 0) -> tuple[str, ...] | None:
        """Every string `expr` can evaluate to here, when the source decides a few: literals,
        names bound once at module level or narrowed by a loop or an `in` test, `+`, f-strings,
        `%` and `.format` over those, and a literal dict indexed by any of its keys. None when
        any part is not decided (an environment variable, a call, another module)."""
        if depth > 16:
            return None
        kind = expr[0]
        if kind == "str":
            return (expr[1],)
        if kind == "name":
            name = expr[1]
            if name in self.bound:
                return self.bound[name]
            if name in ("__name__", "__package__"):
                return (_OWN_NAME if name == "__name__" else _OWN_PACKAGE,)
            constant = self.scope.constant(name)
            return self.strings(constant, depth + 1) if constant is not None else None
        if kind == "binop" and expr[1] == "+":
            return _product((self.strings(expr[2], depth + 1), self.strings(expr[3], depth + 1)), "".join)
        if kind == "binop" and expr[1] == "%":
            right = expr[3]
            operands = right[1] if right[0] == "tuple" else (right,)
            found = [self.strings(expr[2], depth + 1), *(self.formatted(o, depth + 1) for o in operands)]
            return _product(found, lambda parts: parts[0] % tuple(parts[1:]))
        if kind == "fstr":
            pieces = [(p[1],) if p[0] == "str" else self.formatted(p, depth + 1) for p in expr[1]]
            return _product(pieces, "".join)
        if kind == "call" and expr[1][0] == "attr" and expr[1][2] == "format" and not expr[3]:
            found = [self.strings(expr[1][1], depth + 1), *(self.formatted(a, depth + 1) for a in expr[2])]
            return _product(found, lambda parts: parts[0].format(*parts[1:]))
        if kind == "index":
            table = self.dictionary(expr[1], depth + 1)
            if table is None:
                return None
            keys = self.strings(expr[2], depth + 1)
            chosen = [table[k] for k in keys if k in table] if keys is not None else list(table.values())
            values = [self.strings(v, depth + 1) for v in chosen]
            if not values or any(v is None for v in values):
                return None
            return _distinct(value for group in values for value in group or ())
        return None

    def formatted(self, expr: ir.Expr, depth: int) -> tuple[str, ...] | None:
        """What a value looks like inside an f-string, `%s` or `{}`: a string, or an int's digits."""
        if expr[0] == "name" and expr[1] not in self.bound:
            constant = self.scope.constant(expr[1])
            if constant is not None and constant[0] == "int":
                return (str(constant[1]),)
        if expr[0] == "int":
            return (str(expr[1]),)
        return self.strings(expr, depth)

    def members(self, expr: ir.Expr, depth: int = 0) -> tuple[str, ...] | None:
        """The strings a loop over `expr` (or `in expr`) sees: a literal tuple, list or set of
        decided strings, a dict's keys (also `.keys()`, `.values()`), `__all__`, or a name bound
        once to one of those."""
        if depth > 16:
            return None
        kind = expr[0]
        if kind in ("tuple", "list", "set"):
            values = [self.strings(element, depth + 1) for element in expr[1]]
            return None if any(v is None for v in values) else _distinct(v for group in values for v in group or ())
        if kind == "dict":
            return self.members(("tuple", tuple(key for key, _ in expr[1] if key is not None)), depth + 1)
        if kind == "name" and expr[1] == "__all__" and self.all_names:
            return tuple(self.all_names)
        if kind == "name":
            constant = self.scope.constant(expr[1])
            return self.members(constant, depth + 1) if constant is not None else None
        if kind == "binop" and expr[1] == "+":
            left, right = self.members(expr[2], depth + 1), self.members(expr[3], depth + 1)
            return None if left is None or right is None else _distinct((*left, *right))
        if kind == "call" and expr[1][0] == "attr" and expr[1][2] in ("keys", "values") and not expr[2]:
            table = self.dictionary(expr[1][1], depth + 1)
            if table is None:
                return None
            if expr[1][2] == "keys":
                return tuple(table)
            return self.members(("tuple", tuple(table.values())), depth + 1)
        return None

    def dictionary(self, expr: ir.Expr, depth: int) -> dict[str, ir.Expr] | None:
        """A literal dict with string keys, or a name bound once to one."""
        if expr[0] == "name":
            constant = self.scope.constant(expr[1])
            expr = constant if constant is not None else expr
        if expr[0] != "dict" or any(key is None or key[0] != "str" for key, _ in expr[1]):
            return None
        return {key[1]: value for key, value in expr[1] if key is not None}

    # -- the result ------------------------------------------------------------------

    def constants(self) -> tuple[tuple[str, bool], ...]:
        found = []
        for name in sorted(self.scope.constants):
            runtime, _ = decide(("name", name), self.target, self.scope)  # None unless bound once
            if runtime is not None:
                found.append((name, runtime))
        return tuple(found)


def _branch(context: _Context, runtime: bool | None, checking: bool | None, body: bool) -> _Context | None:
    """The context of one branch: live when the target may take it, type-only when only a
    type checker does, None when neither does."""
    if runtime is None or runtime is body:
        return context
    if checking is None or checking is body:
        return context._replace(type_only=True)
    return None


_HANDLERS: dict[type, Callable[[_Walker, Any, _Context], None]] = {
    ir.Import: _Walker._import,
    ir.ImportFrom: _Walker._import_from,
    ir.If: _Walker._if,
    ir.While: _Walker._while,
    ir.Try: _Walker._try,
    ir.With: _Walker._with,
    ir.Match: _Walker._match,
    ir.Function: _Walker._function,
    ir.Class: _Walker._class,
    ir.Assign: _Walker._assign,
    ir.Raise: _Walker._raise,
    ir.Loop: _Walker._loop,
    ir.Statement: _Walker._statement,
}


def _no_children(expr: ir.Expr) -> tuple[ir.Expr, ...]:
    return ()


_CHILDREN = {
    "attr": lambda e: (e[1],),
    "not": lambda e: (e[1],),
    "and": lambda e: e[1],
    "or": lambda e: e[1],
    "compare": lambda e: (e[1], *(right for _, right in e[2])),
    "tuple": lambda e: e[1],
    "list": lambda e: e[1],
    "index": lambda e: (e[1], e[2]),
    "slice": lambda e: (e[1], e[2], e[3]),
    "binop": lambda e: (e[2], e[3]),
    "dict": lambda e: tuple(x for pair in e[1] for x in pair),
    "set": lambda e: e[1],
    "fstr": lambda e: e[1],
    "comp": lambda e: (*(x for _, iterable, tests in e[1] for x in (iterable, *tests)), *e[2]),
    "other": lambda e: e[1],
}


def _product(
    choices: list[tuple[str, ...] | None] | tuple[tuple[str, ...] | None, ...], join: Callable[[Any], str]
) -> tuple[str, ...] | None:
    """Every combination of the choices, joined; None when one is unknown or there are too many."""
    combinations: list[tuple[str, ...]] = [()]
    for choice in choices:
        if choice is None:
            return None
        combinations = [(*done, value) for done in combinations for value in choice]
        if len(combinations) > _MAX_VALUES:
            return None
    try:
        return _distinct(join(parts) for parts in combinations)
    except (TypeError, ValueError, KeyError, IndexError):
        return None  # `"%s.%s" % ("a",)`: fails at run time too


def _distinct(values: Iterable[str]) -> tuple[str, ...] | None:
    found = tuple(dict.fromkeys(values))
    return found if len(found) <= _MAX_VALUES else None


def _own_name(value: str, package: ir.Expr | None) -> tuple[ir.Expr, ir.Expr | None]:
    """A computed name that starts with the module's own `__name__` / `__package__` is relative."""
    for own, anchor in ((_OWN_NAME, ("name", "__name__")), (_OWN_PACKAGE, ("name", "__package__"))):
        if value.startswith(own + "."):
            return ("str", "." + value[len(own) + 1 :]), anchor
        if own in value:
            return ("other", ()), package  # the module's name in the middle: not a module name
    return ("str", value), package


def _mentions(expr: ir.Expr, names: set[str]) -> bool:
    stack = [expr]
    while stack:
        node = stack.pop()
        if not isinstance(node, tuple) or not node:
            continue
        if node[0] == "name" and node[1] in names:
            return True
        stack.extend(child for child in node[1:] if isinstance(child, tuple))
    return False


def _set_to(value: bool, block: ir.Block) -> set[str]:
    return {s.target for s in block if isinstance(s, ir.Assign) and s.value == ("const", value) and not s.augmented}


def _tested_names(test: ir.Expr) -> tuple[frozenset[str], bool] | None:
    """The top-level module names a handler's test compares the error with, and its polarity."""
    positive = True
    while test[0] == "not":
        test, positive = test[1], not positive
    if test[0] != "compare" or len(test[2]) != 1:
        return None
    operator, right = test[2][0]
    left = test[1]
    if operator in ("!=", "not in"):
        positive, operator = not positive, "==" if operator == "!=" else "in"
    literals: list[str] = []
    if operator == "==":
        literals = [side[1] for side in (left, right) if side[0] == "str"]
    elif operator == "in" and left[0] == "str":
        literals = [left[1]]  # `"yaml" in str(error)`
    elif operator == "in" and right[0] in ("tuple", "list", "set"):
        literals = [element[1] for element in right[1] if element[0] == "str"]
    names = frozenset(name.partition(".")[0] for name in literals if name)
    return (names, positive) if names else None


def _flag_test(test: ir.Expr, flags: set[str]) -> bool | None:
    """True when an `if` body runs only with a flag set (`if HAS_X:`, `if HAS_X and y:`), False
    when its else does (`if not HAS_X:`), None otherwise."""
    if test[0] == "name" and test[1] in flags:
        return True
    if test[0] == "not" and test[1][0] == "name" and test[1][1] in flags:
        return False
    if test[0] == "and" and any(_flag_test(operand, flags) is True for operand in test[1]):
        return True
    return None


def _argument(
    positional: tuple[ir.Expr, ...], keywords: tuple[tuple[str, ir.Expr], ...], position: int, keyword: str
) -> ir.Expr | None:
    for name, value in keywords:
        if name == keyword:
            return value
    return positional[position] if position < len(positional) else None


def _dict_config_classes(config: ir.Expr) -> list[str]:
    """The literal `()` and `class` entries of a logging dictConfig, at any depth."""
    found, stack = [], [config]
    while stack:
        node = stack.pop()
        if node[0] != "dict":
            continue
        for key, value in node[1]:
            if key is not None and key[0] == "str" and key[1] in ("()", "class") and value[0] == "str":
                found.append(value[1])
            stack.append(value)
    return sorted(found)


def _literal_strings(expr: ir.Expr) -> list[str]:
    """The string literals of a list / tuple (also joined with +), or of one string."""
    if expr[0] == "str":
        return [expr[1]]
    if expr[0] in ("list", "tuple"):
        return [element[1] for element in expr[1] if element[0] == "str"]
    if expr[0] == "binop" and expr[1] == "+":
        return _literal_strings(expr[2]) + _literal_strings(expr[3])
    return []


def _last_name(expr: ir.Expr) -> str | None:
    if expr[0] == "name":
        return expr[1]
    if expr[0] == "attr":
        return expr[2]
    return None


def _catches_import_error(handler_type: ir.Expr | None) -> bool:
    if handler_type is None:  # bare `except:`
        return True
    if handler_type[0] == "tuple":
        return any(_catches_import_error(element) for element in handler_type[1])
    return _last_name(handler_type) in _IMPORT_ERRORS


def _is_import_error_suppressor(item: ir.Expr) -> bool:
    return (
        item[0] == "call"
        and _last_name(item[1]) == "suppress"
        and any(_catches_import_error(argument) for argument in item[2])
    )


def _matches(pattern: ir.Pattern, subject: object) -> bool | None:
    """Whether a literal `case` pattern matches a known subject (None: cannot tell)."""
    kind = pattern[0]
    if kind == "any":
        return True
    if kind == "value":
        literal = pattern[1]
        if literal[0] in ("int", "str", "const"):
            return subject == literal[1]
        return None
    if kind == "or":
        outcomes = [_matches(p, subject) for p in pattern[1]]
        if True in outcomes:
            return True
        return False if all(o is False for o in outcomes) else None
    if kind == "seq":
        if not isinstance(subject, tuple):
            return None
        elements = pattern[1]
        stars = [i for i, p in enumerate(elements) if p[0] == "star"]
        if len(stars) > 1:
            return None
        if stars:
            head, tail = elements[: stars[0]], elements[stars[0] + 1 :]
            if len(subject) < len(head) + len(tail):
                return False
            pairs = list(zip(head, subject, strict=False)) + list(
                zip(tail, subject[len(subject) - len(tail) :], strict=True)
            )
        else:
            if len(subject) != len(elements):
                return False
            pairs = list(zip(elements, subject, strict=True))
        outcomes = [_matches(p, s) for p, s in pairs]
        if False in outcomes:
            return False
        return True if all(o is True for o in outcomes) else None
    return None


def collect(
    module: ir.Module, target: Target, *, calls: bool, pragma_lines: frozenset[int] = frozenset()
) -> ScanResult:
    walker = _Walker(target, module, calls, pragma_lines)
    walker.block(module.body, _Context(top=True))
    # Source order by line: the two parsers order some children (decorators, defaults) differently.
    records = tuple(sorted(walker.records, key=lambda r: r.line))
    problems = tuple(sorted((p for p in walker.problems if p.line not in pragma_lines), key=lambda p: p.line))
    ignored = tuple(sorted(walker.ignored, key=lambda r: r.line))
    features = tuple(sorted(set(walker.features)))
    return ScanResult(records, problems, walker.constants(), tuple(dict.fromkeys(walker.all_names)), ignored, features)
