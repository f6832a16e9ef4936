"""The diagnostic families: one function each, reading the walked graph and returning
diagnostics with their codes (depmin.errors.Code). None of them changes the closure.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from packaging.utils import canonicalize_name

from depmin.errors import Code, Diagnostic, Severity
from depmin.imports.distributions import DistributionFinder, known_modules
from depmin.imports.graph import ImportGraph, Layers, UnresolvedNode
from depmin.imports.stdlib import is_stdlib
from depmin.lock.markers import marker_holds
from depmin.lock.model import LockFile
from depmin.model import LocalDistribution, Reach, Requirement, Target, Via
from depmin.project.module_index import ModuleIndex


def index_problems(index: ModuleIndex, directories: Iterable[str], modules: set[str]) -> list[Diagnostic]:
    """Problems found while indexing, where they touch this analysis: inside an entry directory
    ("" is the whole repository), or a shadowed file whose module name the closure imports."""
    relevant = []
    for diagnostic in index.diagnostics:
        if diagnostic.path in index.shadowed:
            if index.shadowed[diagnostic.path] in modules:
                relevant.append(diagnostic)
        elif any(not d or diagnostic.path.startswith(f"{d}/") for d in directories):
            relevant.append(diagnostic)
    return relevant


def scan_problems(problems: Mapping[str, list[Diagnostic]], layers: Layers) -> list[Diagnostic]:
    """Each module's scan and edge problems; type-only code never runs, so its problems
    cannot break the image and are warnings."""
    found: list[Diagnostic] = []
    for module, diagnostics in problems.items():
        if module in layers.runtime:
            found.extend(diagnostics)
        else:
            found.extend(d.as_warning() for d in diagnostics)
    return found


def shadowing(
    index: ModuleIndex, finder: DistributionFinder, modules: Iterable[str], python: tuple[int, int]
) -> list[Diagnostic]:
    """Top-level first-party names that hide a stdlib module or a locked distribution's module."""
    found = []
    for name in sorted({m.partition(".")[0] for m in modules}):
        info = index.modules.get(name)
        if info is None:
            continue
        if is_stdlib(name, python):
            hidden = "the standard-library module"
        else:
            distributions, _ = finder.find(name)
            if not distributions:
                continue
            hidden = f"the locked distribution {', '.join(distributions)}"
        message = f"first-party module {name} shadows {hidden}"
        found.append(Diagnostic(info.path, 0, message, Severity.WARNING, Code.SHADOWING))
    return found


def one_file_two_names(index: ModuleIndex, modules: Iterable[str]) -> list[Diagnostic]:
    """A file the closure reaches under two module names (a package-dir root and a plain root)."""
    names_by_path: dict[str, list[str]] = {}
    for module in modules:
        names_by_path.setdefault(index.modules[module].path, []).append(module)
    return [
        Diagnostic(
            path,
            0,
            f"imported as both {' and '.join(sorted(names))}; in the image only one of these names resolves "
            "(depmin verify shows which)",
            Severity.WARNING,
            Code.TWO_NAMES,
        )
        for path, names in sorted(names_by_path.items())
        if len(names) > 1
    ]


def unresolved(graph: ImportGraph, layers: Layers, declared: frozenset[str] = frozenset()) -> list[Diagnostic]:
    """Required imports nothing provides (errors), and optional ones several distributions
    provide (warnings: the user must choose before --include-optional can pin them)."""
    found = []
    for node in layers.required:
        if not isinstance(node, UnresolvedNode):
            continue
        for source in graph.predecessors(node):
            if source not in layers.required:
                continue
            for via in graph.vias(source, node):
                if Reach.REQUIRED.admits(via):
                    found.append(
                        Diagnostic(
                            via.file, via.line, unresolved_message(node, via, declared), code=unresolved_code(node)
                        )
                    )
    for node in layers.optional:
        if isinstance(node, UnresolvedNode) and node.candidates:
            for source in graph.predecessors(node):
                for via in graph.vias(source, node):
                    message = unresolved_message(node, via)
                    found.append(Diagnostic(via.file, via.line, message, Severity.WARNING, Code.AMBIGUOUS))
    return found


def unresolved_code(node: UnresolvedNode) -> Code:
    if node.candidates:
        return Code.AMBIGUOUS
    return Code.BROKEN_FIRST_PARTY if node.first_party else Code.UNRESOLVED


_ASKED = "asked: module-map, the .venv's metadata, uv's cache, the bundled table, the lock's names"


def unresolved_message(node: UnresolvedNode, via: Via, declared: frozenset[str] = frozenset()) -> str:
    if node.candidates:
        return (
            f"`{via.statement}`: {node.name} is provided by several locked distributions "
            f"({', '.join(node.candidates)}); choose one in [tool.depmin.module-map]"
        )
    if node.first_party:
        return f"`{via.statement}`: {node.reason}"
    top = node.name.partition(".")[0]
    considered = _considered(node.name)
    asked = f"{_ASKED}; considered {', '.join(considered)}, none of them locked" if considered else _ASKED
    alike = _resembling(top, declared)
    if alike:
        return (
            f"`{via.statement}`: no locked distribution provides {node.name!r} ({asked}); it looks like the "
            f'declared {alike}: map it in [tool.depmin.module-map] ({top} = "{alike}"), or `uv sync` once so '
            "uv's cache holds its wheel"
        )
    return (
        f"`{via.statement}`: no distribution in uv.lock provides {node.name!r} ({asked}); "
        "add it to the project's dependencies (uv add), or map it in [tool.depmin.module-map] "
        "if a locked distribution provides it under another name"
    )


def _considered(name: str) -> list[str]:
    """The distributions the bundled table names for the import (its longest known prefix)."""
    table = known_modules()
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        found = table.get(".".join(parts[:end]))
        if found:
            return sorted(found)
    return []


def _resembling(module: str, declared: frozenset[str]) -> str:
    """A declared distribution whose name contains the import name or the other way round
    (`key_value` ~ py-key-value-aio, `docket` ~ pydocket), or is close to it."""
    wanted = canonicalize_name(module)
    close = [d for d in sorted(declared) if wanted in d or (len(d) > 3 and d in wanted)]
    if not close:
        close = difflib.get_close_matches(wanted, sorted(declared), n=1, cutoff=0.8)
    return close[0] if close else ""


def undeclared(direct: Iterable[Requirement], declared: frozenset[str]) -> list[Diagnostic]:
    """Distributions the code imports that the project only has as someone else's dependency."""
    if not declared:
        return []
    found = []
    for requirement in direct:
        if requirement.name not in declared:
            first = requirement.via[0]
            message = (
                f"imports {requirement.name}, which the project does not declare as a dependency "
                "(it is only locked as a dependency of another package)"
            )
            found.append(Diagnostic(first.file, first.line, message, Severity.WARNING, Code.UNDECLARED))
    return found


def unneeded_optional(chosen: Iterable[str], optional: Iterable[Requirement]) -> list[Diagnostic]:
    """--optional NAME where no optional import of these entries needs NAME."""
    needed = {r.name for r in optional}
    return [
        Diagnostic(
            "",
            0,
            f"--optional {name}: no optional import of these entries needs it",
            Severity.WARNING,
            Code.OPTIONAL_UNNEEDED,
        )
        for name in sorted(set(chosen) - needed)
    ]


def declared_not_imported(
    lock: LockFile, local: Iterable[LocalDistribution], target: Target, used: set[str]
) -> list[Diagnostic]:
    """Runtime dependencies that the copied distributions declare but no import of these entries
    reaches: kept out, and said so once (a plugin loaded by name needs hidden-imports)."""
    declared: set[str] = set()
    for distribution in local:
        for package in lock.by_name.get(distribution.name, ()):
            declared.update(d.name for d in package.dependencies if marker_holds(d.marker, target))
    unused = sorted(name for name in declared - used if not lock.is_local(name))
    if not unused:
        return []
    message = (
        f"declared but not imported by these entries, kept out: {', '.join(unused)} "
        "(add to hidden-imports what is loaded by name)"
    )
    return [Diagnostic(lock.path, 0, message, Severity.WARNING, Code.DECLARED_UNUSED)]
