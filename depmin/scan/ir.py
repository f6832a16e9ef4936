"""A parser-neutral form of the statements and expressions that decide imports.

Both parsers (the `ast` fast path and LibCST, the parser of record) translate into
these types, and one semantic core (depmin.scan.core) reads them, so every rule
exists once and a differential test can compare the two translations directly.

Expressions are plain tuples, tagged by their first item:
  ("name", id)  ("attr", value, attr)  ("not", x)  ("and", (x, ...))  ("or", (x, ...))
  ("compare", left, ((op, right), ...))  ("const", value)  ("int", v)  ("str", v)
  ("tuple", (x, ...))  ("list", (x, ...))  ("index", container, x)
  ("slice", container, lower | None, upper | None)  ("binop", op, left, right)
  ("call", function, (positional, ...), ((keyword, value), ...), line)
  ("lambda", body)  ("dict", ((key | None, value), ...))  ("set", (x, ...))
  ("fstr", (part, ...)): an f-string, each part ("str", text) or the field's expression
  ("comp", ((loop variable | None, iterable, (condition, ...)), ...), (element, ...)): a comprehension
  ("other", (child, ...))
"other" keeps the children in which a call may still hide; ("other", ()) is opaque.
Patterns of `match` cases are tuples too:
  ("value", expr)  ("or", (p, ...))  ("any",)  ("seq", (p, ...))  ("star",)  ("other",)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeAlias

Expr: TypeAlias = tuple  # the tagged tuples above
Pattern: TypeAlias = tuple
OPAQUE: Expr = ("other", ())

# Callees whose call ends the program: a handler that always calls one re-raises in effect.
# The adapters keep expression statements only when they call one of these (or the whole
# expression when the file can import by call), so that a fast scan never walks the rest.
TERMINATORS = frozenset({"exit", "quit", "_exit", "abort"})


class Import(NamedTuple):
    line: int
    names: tuple[tuple[str, str | None], ...]  # (dotted name, as-name)


class ImportFrom(NamedTuple):
    line: int
    module: str  # without leading dots; "" for `from . import x`
    level: int
    names: tuple[tuple[str, str | None], ...]  # ("*", None) for a star import


class If(NamedTuple):
    test: Expr
    body: Block
    orelse: Block


class While(NamedTuple):
    test: Expr
    body: Block
    orelse: Block


class Handler(NamedTuple):
    type: Expr | None  # None: a bare `except:`
    body: Block


class Try(NamedTuple):
    body: Block
    handlers: tuple[Handler, ...]
    orelse: Block
    finalbody: Block
    line: int = 0  # of `try:`: a `# depmin: ignore` there covers the whole statement


class With(NamedTuple):
    items: tuple[Expr, ...]  # the context expressions
    body: Block


class Case(NamedTuple):
    pattern: Pattern
    guard: Expr | None
    body: Block


class Match(NamedTuple):
    subject: Expr
    cases: tuple[Case, ...]


class Function(NamedTuple):
    """A def: `header` (decorators, defaults, annotations) runs at definition time, `body` when called."""

    header: tuple[Expr, ...]
    body: Block
    name: str = ""  # a module-level `def __getattr__` is PEP 562: its imports run when an attribute is asked for


class Class(NamedTuple):
    header: tuple[Expr, ...]  # decorators, bases, keywords
    body: Block


class Assign(NamedTuple):
    """`name = value`, `name += value`, `name: T = value`, with one plain name as the target."""

    line: int
    target: str
    augmented: bool
    value: Expr


class Raise(NamedTuple):
    exprs: tuple[Expr, ...]


class Loop(NamedTuple):
    """A for loop: its target bindings are counted by the adapter, its header may call."""

    header: tuple[Expr, ...]
    body: Block
    orelse: Block
    target: str | None = None  # the loop variable, when it is one plain name


class Statement(NamedTuple):
    """Any other statement, kept only for the expressions in it that may call something."""

    line: int
    exprs: tuple[Expr, ...]


Stmt: TypeAlias = (
    Import | ImportFrom | If | While | Try | With | Match | Function | Class | Assign | Raise | Loop | Statement
)
Block: TypeAlias = tuple  # tuple[Stmt, ...]


class Module:
    """A translated file: its statements, and (computed on first use) how often each name is
    bound anywhere in it (assignments at any depth, imports, defs, loop, with and except
    targets, `global`): a module constant counts only when it is bound exactly once."""

    __slots__ = ("_bindings", "_count", "body")

    def __init__(self, body: Block, count_bindings: Callable[[], dict[str, int]]) -> None:
        self.body = body
        self._count = count_bindings
        self._bindings: dict[str, int] | None = None

    def bindings(self) -> dict[str, int]:
        if self._bindings is None:
            self._bindings = self._count()
        return self._bindings


def append_text(parts: list[Expr], text: str) -> None:
    """Add an f-string's literal text, merged with the text before it (as `ast` merges it)."""
    if not text:
        return
    if parts and parts[-1][0] == "str":
        parts[-1] = ("str", parts[-1][1] + text)
    else:
        parts.append(("str", text))
