"""PEP 562 lazy attributes: an import inside a module's own `def __getattr__` runs only when an
importer asks that module for a name it does not bind itself.

The walk follows every such import (Kind.ATTRIBUTE); this pass takes them off the graph again
unless a module that is reachable at run time may ask for such a name:
- `from P import N` where N is neither a submodule of P nor a name P binds at its top level;
- anything that hands over the module object itself: `import P` (or `import P.sub`, which binds
  P), `from Q import P` where P is a submodule, importlib.import_module, `from P import *`.
An entry is asked (`[project.scripts]` and `uvicorn pkg.app:app` read an attribute of it). An
importer that only imports a submodule (`from P.sub import f`), or only runs P as the parent
package of one, asks P for nothing. When unsure, the imports stay: the image keeps them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

from depmin.files.reading import SOURCE_SIZE_LIMIT, read_regular
from depmin.imports.graph import ROOT, ImportGraph
from depmin.imports.resolve import RelativeImportError, absolute_name
from depmin.model import Kind, Reach, Via
from depmin.project.module_index import ModuleIndex

_FROM = re.compile(r"from (\.*)([\w.]*) import (.+)")
_IMPORT = re.compile(r"import ([\w.]+)")


@dataclass(frozen=True, slots=True)
class Request:
    """What one import asks of a module: a name (`from P import N`), or the module object (name None)."""

    module: str
    name: str | None
    via: Via


def requests(via: Via, index: ModuleIndex) -> list[Request]:
    """What an import asks of first-party modules, read back from its canonical statement
    (depmin.scan.describe). Type-only imports, entries and parent packages ask for nothing."""
    if via.kind is Kind.TYPE_CHECKING or via.line == 0 or via.module == ROOT:
        return []
    info = index.modules.get(via.module)
    statement = via.statement
    matched = _FROM.fullmatch(statement) if via.kind is not Kind.DYNAMIC else None
    if matched is not None and info is not None:
        dots, target, names = matched.groups()
        try:
            base = absolute_name(via.module, info.is_package, len(dots), target)
        except RelativeImportError:
            return []
        found = []
        for name in (n.strip() for n in names.split(",")):
            if name == "*":
                found.append(Request(base, None, via))
            elif f"{base}.{name}" in index.modules:
                found.append(Request(f"{base}.{name}", None, via))
            else:
                found.append(Request(base, name, via))
        return found
    matched = _IMPORT.fullmatch(statement) if via.kind is not Kind.DYNAMIC else None
    if matched is not None:
        # `import a.b.c` binds a; `import a.b.c as x` binds a.b.c: the statement does not say which
        parts = matched.group(1).split(".")
        return [Request(".".join(parts[:n]), None, via) for n in range(1, len(parts) + 1)]
    return [Request(m, None, via) for m in _named_modules(statement, index)]


def _named_modules(statement: str, index: ModuleIndex) -> list[str]:
    """A dynamic import hands over a module object: every first-party module its statement names."""
    return [m for m in re.findall(r"[\w.]+", statement) if m in index.modules]


def eager_names(path: Path) -> frozenset[str] | None:
    """The names a module's top-level statements certainly bind (None: unreadable). Names bound
    under a condition, a `try` or `if TYPE_CHECKING:` are not certain, so they are left out."""
    try:
        tree = ast.parse(read_regular(path, SOURCE_SIZE_LIMIT))
    except (OSError, SyntaxError, ValueError):
        return None
    names: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Import):
            names.update(a.asname or a.name.partition(".")[0] for a in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            names.update(a.asname or a.name for a in statement.names if a.name != "*")
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(statement, ast.AnnAssign | ast.AugAssign) and isinstance(statement.target, ast.Name):
            if not isinstance(statement, ast.AnnAssign) or statement.value is not None:
                names.add(statement.target.id)
    return frozenset(names)


def asks(request: Request, index: ModuleIndex, root: Path, eager: dict[str, frozenset[str] | None]) -> bool:
    """Whether a request may reach the module's `__getattr__`."""
    if request.name is None:
        return True
    if request.module not in eager:
        info = index.modules.get(request.module)
        eager[request.module] = eager_names(root / info.path) if info is not None else None
    known = eager[request.module]
    return known is None or request.name not in known


def defer_lazy_attributes(graph: ImportGraph, index: ModuleIndex, root: Path) -> None:
    """Take every `__getattr__` import off the graph that no reachable importer can set off."""
    lazy: dict[Hashable, list[Hashable]] = {}
    for source, target in graph.attribute_edges():
        lazy.setdefault(source, []).append(target)
    if not lazy:
        return
    eager: dict[str, frozenset[str] | None] = {}
    asked: set[Hashable] = set()
    while True:
        reached = graph.reachable_without(Reach.OPTIONAL, _lazy_only(graph, lazy, asked))
        newly = {
            source
            for source in lazy
            if source not in asked and source in reached and _is_asked(graph, source, reached, index, root, eager)
        }
        if not newly:
            break
        asked |= newly
    for source, targets in lazy.items():
        if source in asked:
            continue
        for target in targets:
            graph.drop_vias(source, target, lambda via: via.kind is Kind.ATTRIBUTE)


def _lazy_only(
    graph: ImportGraph, lazy: dict[Hashable, list[Hashable]], asked: set[Hashable]
) -> Callable[[Hashable, Hashable], bool]:
    """The edges a run never takes while their modules are not asked: only `__getattr__` (and
    type-only) imports make them."""
    cut = {
        (source, target)
        for source, targets in lazy.items()
        if source not in asked
        for target in targets
        if all(v.kind is Kind.ATTRIBUTE or v.kind is Kind.TYPE_CHECKING for v in graph.vias(source, target))
    }
    return lambda source, target: (source, target) in cut


def _is_asked(
    graph: ImportGraph,
    module: Hashable,
    reached: set[Hashable],
    index: ModuleIndex,
    root: Path,
    eager: dict[str, frozenset[str] | None],
) -> bool:
    """Whether a reachable importer may ask `module` for an attribute it does not bind. An entry
    may always be: a console script or `uvicorn pkg.app:app` reads an attribute of it."""
    for importer in graph.predecessors(module):
        if importer == ROOT:
            return True
        if importer not in reached:
            continue
        for via in graph.vias(importer, module):
            if any(r.module == module and asks(r, index, root, eager) for r in requests(via, index)):
                return True
    return False
