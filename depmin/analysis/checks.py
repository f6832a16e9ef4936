"""The diagnostic families: one function each, reading the walked graph and returning
diagnostics with their codes (depmin.errors.Code). None of them changes the closure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from depmin.errors import Code, Diagnostic, Severity
from depmin.imports.distributions import UNKNOWN, DistributionFinder, known_modules
from depmin.imports.graph import ImportGraph, Layers, UnresolvedNode
from depmin.imports.stdlib import SUPPORTED_PYTHONS, is_stdlib
from depmin.lock.markers import marker_holds
from depmin.lock.model import LockFile
from depmin.model import Kind, LocalDistribution, Reach, Requirement, Target, Via
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


def unresolved(graph: ImportGraph, layers: Layers, unknown: Iterable[str] = ()) -> list[Diagnostic]:
    """Imports nothing provides, where they are. The reference is the whole-lock image (`uv sync`):
    one that stops the program from starting there too (an unguarded import at import time) is
    an error; one inside a function, under a guard or through importlib is a warning, since the
    program starts and only that path fails, as it does in the whole-lock image. A first-party
    name that resolves to nothing, and a name several distributions provide, are errors where
    they are required and warnings where they are optional. A name that cannot be told without
    the file lists of the `unknown` distributions is an error wherever it is required, lazily
    too: the answer offline is the networked one, or none."""
    unknown_names = sorted(unknown)
    at_start = graph.at_start()
    found = []
    for layer, strict in ((layers.required, True), (layers.optional, False)):
        for node in sorted((n for n in layer if isinstance(n, UnresolvedNode)), key=str):
            for source in graph.predecessors(node):
                if source not in layers.runtime:
                    continue
                for via in graph.vias(source, node):
                    if not Reach.OPTIONAL.admits(via):
                        continue
                    required = strict and source in layers.required and Reach.REQUIRED.admits(via)
                    # at import time, unguarded, in a module importing the entries imports
                    starts = required and via.kind is Kind.MODULE and source in at_start
                    if node.first_party or node.candidates:
                        severity = Severity.ERROR if required else Severity.WARNING
                    elif not required and _newer_stdlib(node.name):
                        continue  # `try: import tomllib / except ImportError: import tomli` on 3.10
                    elif node.reason == UNKNOWN:
                        # a name the file lists would tell: where it is required (lazily too), a
                        # networked run pins its distribution, so offline may not answer without it
                        severity = Severity.ERROR if required else Severity.WARNING
                    else:
                        severity = Severity.ERROR if starts else Severity.WARNING
                    message = unresolved_message(node, via, unknown_names)
                    found.append(Diagnostic(via.file, via.line, message, severity, unresolved_code(node)))
    return found


def _newer_stdlib(name: str) -> bool:
    return any(is_stdlib(name, python) for python in SUPPORTED_PYTHONS)


def unresolved_code(node: UnresolvedNode) -> Code:
    if node.candidates:
        return Code.AMBIGUOUS
    if node.first_party:
        return Code.BROKEN_FIRST_PARTY
    return Code.UNNAMED if node.reason == UNKNOWN else Code.UNRESOLVED


def unresolved_message(node: UnresolvedNode, via: Via, unknown: Sequence[str] = ()) -> str:
    if node.candidates:
        return (
            f"`{via.statement}`: {node.name} is provided by several locked distributions "
            f"({', '.join(node.candidates)}); choose one in [tool.depmin.module-map]"
        )
    if node.first_party:
        return f"`{via.statement}`: {node.reason}"
    if node.reason == UNKNOWN:
        shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        return (
            f"`{via.statement}`: cannot tell which locked distribution provides {node.name!r}: the file lists "
            f"of {len(unknown)} locked distributions are not known ({shown}: offline, a git source, or the index "
            "could not be read; -v says which); map the name in [tool.depmin.module-map], or run depmin again "
            "with access to the index (it reads the file lists by byte range and keeps them)"
        )
    considered = _considered(node.name)
    if considered:
        return (
            f"`{via.statement}`: no locked distribution provides {node.name!r}; it comes from "
            f"{' or '.join(considered)}, which uv.lock does not hold: add it to the project's dependencies (uv add)"
        )
    return (
        f"`{via.statement}`: no distribution in uv.lock provides {node.name!r} (checked against the file list of "
        "every locked artifact); add the one that does to the project's dependencies (uv add), or map the name "
        "in [tool.depmin.module-map]"
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
