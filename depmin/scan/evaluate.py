"""Conditions decided for the target interpreter, in three values: True, False, None (unknown).

A condition is evaluated twice: as the target runs it (TYPE_CHECKING is False) and as a
type checker reads it (TYPE_CHECKING is True), which is how a branch is found to be
type-only. `sys.version_info` tests hold for every patch release of the target or are
unknown. `and` / `or` / `not` follow Kleene's logic, so `False and <anything>` is False
while `<unknown> or False` stays unknown. Nothing here knows any syntax tree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from depmin.model import Target
from depmin.scan.ir import Expr

# A test is decided only when it holds for the lowest and the highest patch release.
_PATCHES = (0, 99)
_MAX_DEPTH = 200  # constant → constant → ... chains deeper than this stay unknown

_TYPE_CHECKING_PATHS = frozenset({"typing.TYPE_CHECKING", "typing_extensions.TYPE_CHECKING", "TYPE_CHECKING"})
_SPEC_FUNCTIONS = frozenset({"importlib.util.find_spec", "importlib.find_loader", "pkgutil.find_loader"})


class Unknown(Exception):
    """The expression's value cannot be known from the source and the target alone."""


@dataclass
class Scope:
    """What the names of one file mean, as far as conditions need them."""

    aliases: dict[str, str] = field(default_factory=dict)  # local name → dotted path it was imported as
    constants: dict[str, Expr] = field(default_factory=dict)  # module-level name → its only value
    bindings: Callable[[], Mapping[str, int]] = dict  # how often each name is bound in the file

    def path(self, expr: Expr) -> str | None:
        """The dotted path a name or attribute chain stands for (`t.TYPE_CHECKING` → typing.TYPE_CHECKING)."""
        if expr[0] == "name":
            return self.aliases.get(expr[1], expr[1])
        if expr[0] == "attr":
            base = self.path(expr[1])
            return None if base is None else f"{base}.{expr[2]}"
        return None

    def constant(self, name: str) -> Expr | None:
        value = self.constants.get(name)
        if value is None or self.bindings().get(name, 0) != 1:
            return None
        return value


@dataclass(frozen=True, slots=True)
class _Context:
    target: Target
    scope: Scope
    patch: int
    checking: bool  # True: as a type checker reads the code


def decide(test: Expr, target: Target, scope: Scope) -> tuple[bool | None, bool | None]:
    """(value at run time, value for a type checker) of an `if` / `while` test."""
    return _over_patches(test, target, scope, checking=False), _over_patches(test, target, scope, checking=True)


def value_over_patches(expr: Expr, target: Target, scope: Scope) -> list[Any]:
    """The run-time value for each patch release, or raises Unknown (for `match` subjects)."""
    return [_value(expr, _Context(target, scope, patch, False), 0) for patch in _PATCHES]


def _over_patches(test: Expr, target: Target, scope: Scope, *, checking: bool) -> bool | None:
    outcomes = {truth(test, _Context(target, scope, patch, checking)) for patch in _PATCHES}
    return outcomes.pop() if len(outcomes) == 1 else None


def truth(test: Expr, context: _Context, depth: int = 0) -> bool | None:
    if depth > _MAX_DEPTH:
        return None
    kind = test[0]
    if kind == "not":
        inner = truth(test[1], context, depth + 1)
        return None if inner is None else not inner
    if kind in ("and", "or"):
        decisive = kind == "or"  # the operand value that settles the whole expression
        values = [truth(operand, context, depth + 1) for operand in test[1]]
        if decisive in values:
            return decisive
        return (not decisive) if all(v is (not decisive) for v in values) else None
    try:
        return bool(_value(test, context, depth))
    except Unknown:
        return None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
    "is": lambda a, b: a is b,
    "is not": lambda a, b: a is not b,
}


def _value(node: Expr, context: _Context, depth: int) -> Any:
    """The value of a small expression over literals and what the target fixes."""
    if depth > _MAX_DEPTH:
        raise Unknown
    kind = node[0]
    if kind in ("int", "str", "const"):
        return node[1]
    if kind in ("tuple", "list"):
        return tuple(_value(element, context, depth + 1) for element in node[1])
    if kind == "compare":
        left = _value(node[1], context, depth + 1)
        for operator, comparator in node[2]:
            function = _COMPARE.get(operator)
            if function is None:
                raise Unknown
            right = _value(comparator, context, depth + 1)
            if operator in ("is", "is not") and not (right is None or isinstance(right, bool)):
                raise Unknown  # identity of anything but None / True / False is not a fact of the source
            try:
                if not function(left, right):
                    return False
            except TypeError:
                raise Unknown from None
            left = right
        return True
    if kind in ("not", "and", "or"):
        decided = truth(node, context, depth + 1)
        if decided is None:
            raise Unknown
        return decided
    if kind in ("name", "attr"):
        path = context.scope.path(node)
        if path in _TYPE_CHECKING_PATHS or (path or "").endswith(".TYPE_CHECKING"):
            return context.checking
        if kind == "name" and (constant := context.scope.constant(node[1])) is not None:
            if node[1] == "MYPY" and constant == ("const", False):
                return context.checking  # the pre-TYPE_CHECKING idiom: `MYPY = False` / `if MYPY:`
            return _value(constant, context, depth + 1)
        return _known_path(path, context)
    if kind == "index":
        return _index(_value(node[1], context, depth + 1), _value(node[2], context, depth + 1))
    if kind == "slice":
        lower = _value(node[2], context, depth + 1) if node[2] is not None else None
        upper = _value(node[3], context, depth + 1) if node[3] is not None else None
        return _index(_value(node[1], context, depth + 1), slice(lower, upper))
    if kind == "call":
        return _call(node, context, depth)
    raise Unknown


def _known_path(path: str | None, context: _Context) -> Any:
    if path is None:
        raise Unknown
    target = context.target
    if path == "__debug__":
        return True
    if path == "sys.version_info":
        return _version_info(target, context.patch)
    if path.startswith("sys.version_info."):
        fields = {"major": 0, "minor": 1, "micro": 2, "releaselevel": 3, "serial": 4}
        field_name = path.rpartition(".")[2]
        if field_name in fields:
            return _version_info(target, context.patch)[fields[field_name]]
        raise Unknown
    if path == "sys.hexversion":
        major, minor = target.python
        return (major << 24) | (minor << 16) | (context.patch << 8) | 0xF0
    if path == "sys.platform":
        return target.platform.sys_platform
    if path == "os.name":
        return target.platform.os_name
    if path == "sys.implementation.name":
        return "cpython"
    raise Unknown


def _version_info(target: Target, patch: int) -> tuple[int, int, int, str, int]:
    return (*target.python, patch, "final", 0)


_CASE_METHODS = frozenset({"lower", "upper", "casefold"})


def _call(node: Expr, context: _Context, depth: int) -> Any:
    _, function, positional, keywords, _line = node
    if function[0] == "attr" and function[2] in ("startswith", "endswith") and len(positional) == 1 and not keywords:
        subject = _value(function[1], context, depth + 1)
        affix = _value(positional[0], context, depth + 1)
        if isinstance(subject, str) and isinstance(affix, (str, tuple)) and all(isinstance(a, str) for a in affix):
            return subject.startswith(affix) if function[2] == "startswith" else subject.endswith(affix)
        raise Unknown
    if function[0] == "attr" and function[2] in _CASE_METHODS and not positional and not keywords:
        subject = _value(function[1], context, depth + 1)  # `platform.system().lower() == "darwin"`
        if isinstance(subject, str):
            return getattr(subject, function[2])()
        raise Unknown
    if positional or keywords:
        raise Unknown
    path = context.scope.path(function)
    target = context.target
    major, minor = target.python
    known = {
        "platform.system": target.platform.platform_system,
        "platform.machine": target.platform.platform_machine,
        "platform.python_implementation": "CPython",
        "platform.python_version_tuple": (str(major), str(minor), str(context.patch)),
        "platform.python_version": f"{major}.{minor}.{context.patch}",
    }
    if path in known:
        return known[path]
    raise Unknown


def _index(container: Any, index: Any) -> Any:
    try:
        return container[index]
    except (TypeError, IndexError, ValueError, KeyError):
        raise Unknown from None


def spec_checks(test: Expr, scope: Scope, depth: int = 0) -> frozenset[str]:
    """Modules whose presence the test asks about: `find_spec("x")`, also through a constant
    (`HAS_X = find_spec("x") is not None`). Imports of those modules in either branch are guarded."""
    found: set[str] = set()
    stack = [(test, depth)]
    while stack:
        node, level = stack.pop()
        if level > _MAX_DEPTH or not isinstance(node, tuple) or not node:
            continue
        kind = node[0]
        if kind == "call":
            if scope.path(node[1]) in _SPEC_FUNCTIONS and node[2] and node[2][0][0] == "str":
                found.add(node[2][0][1])
            stack.extend((child, level + 1) for child in node[2])
        elif kind == "name":
            constant = scope.constant(node[1])
            if constant is not None:
                stack.append((constant, level + 1))
        elif kind in ("not",):
            stack.append((node[1], level + 1))
        elif kind in ("and", "or"):
            stack.extend((child, level + 1) for child in node[1])
        elif kind == "compare":
            stack.append((node[1], level + 1))
            stack.extend((right, level + 1) for _, right in node[2])
    return frozenset(found)


def requires_loaded(test: Expr, scope: Scope) -> bool:
    """Whether the test holds only when some module is already imported: `"x" in sys.modules`,
    `sys.modules.get("x")` (also `is not None`), alone or as one operand of an `and`."""
    if test[0] == "and":
        return any(requires_loaded(operand, scope) for operand in test[1])
    if test[0] == "compare" and len(test[2]) == 1:
        operator, right = test[2][0]
        if operator == "in" and test[1][0] == "str" and scope.path(right) == "sys.modules":
            return True
        if operator == "is not" and right == ("const", None):
            return requires_loaded(test[1], scope)
    if test[0] == "call":
        function = test[1]
        return function[0] == "attr" and function[2] == "get" and scope.path(function[1]) == "sys.modules"
    return False


def is_main_test(test: Expr) -> bool | None:
    """True for `__name__ == "__main__"`, False for `!=`, None for anything else."""
    if test[0] != "compare" or len(test[2]) != 1:
        return None
    operator, right = test[2][0]
    sides = {test[1], right}
    if sides != {("name", "__name__"), ("str", "__main__")} or operator not in ("==", "!="):
        return None
    return operator == "=="
