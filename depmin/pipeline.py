"""discover → scan → graph → resolve → lock: one analysis, as data.

The only I/O here is reading the repository (sources, uv.lock, installed
metadata) and depmin's own scan cache; writing outputs and printing belong
to the CLI.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from depmin.copyplan import copy_paths, package_data
from depmin.files import display_path, read_toml, resolves_inside
from depmin.cache import ScanCache, scan_files
from depmin.config import Project
from depmin.features import IMPORTED_NAMES, METHODS
from depmin.discover import (
    ModuleIndex,
    SourceRoot,
    build_index,
    is_excluded,
    roots_from_build_config,
)
from depmin.graph import (
    DistributionNode,
    ImportGraph,
    Layers,
    UnresolvedNode,
    ViaFilter,
    any_via,
    is_required,
    is_runtime,
)
from depmin.local import image_path, local_distributions, project_entry_points
from depmin.lock import (
    LockError,
    LockFile,
    marker_holds,
    declared_extras,
    declared_names,
    lock_mismatches,
    pinned_closure,
    read_lock,
    select,
)
from depmin.model import Closure, Condition, Diagnostic, Ignored, ImportRecord, LocalDistribution, Kind, Pin, Requirement, Severity, Target, Via
from depmin.resolve import (
    Category,
    cached_modules,
    uv_cache_directory,
    DistributionFinder,
    RelativeImportError,
    Resolver,
    absolute_name,
    installed_modules,
    known_modules,
)
from depmin.scan import ScanResult, describe
from depmin.stdlib import is_stdlib

HIDDEN = "<hidden-imports>"


@dataclass(frozen=True)
class Request:
    entries: tuple[str, ...]
    target: Target
    lock_path: Path
    excludes: tuple[str, ...]
    data: tuple[str, ...] = ()
    hidden_imports: tuple[str, ...] = ()
    # (glob over import names, why): imports that match are not followed (ignore-imports, cut)
    ignore: tuple[tuple[str, str], ...] = ()
    include_optional: bool = False
    optional_names: tuple[str, ...] = ()  # pin these optional distributions only (--optional NAME)
    hashes: bool = False
    package_data: bool = True  # carry the non-Python files of the closure's packages, as a wheel would
    use_uv_cache: bool = True  # read import names from the wheels in uv's cache
    site_packages: Path | None = None
    cache: ScanCache | None = None
    on_scanned: Callable[[int], None] | None = None  # progress: called with the number of files just scanned


@dataclass(frozen=True)
class Analysis:
    """The closure plus what explanations need: the graph, the lock, the index, the finder."""

    closure: Closure
    graph: ImportGraph
    layers: Layers
    lock: LockFile
    index: ModuleIndex
    finder: DistributionFinder
    optional_pins: tuple[Pin, ...]  # the pinned closure with the optional distributions added


def source_roots(project: Project, lock: LockFile) -> tuple[SourceRoot, ...]:
    roots: list[SourceRoot] = [*project.config.source_roots, *roots_from_build_config(project.pyproject)]
    for member in lock.local_packages:  # workspace members and local directory dependencies
        path = (member.source_path or ".").strip("/")
        if path in ("", "."):
            continue
        if not resolves_inside(project.root, project.root / path):
            raise LockError(lock.path, 0, f"local package {member.name} at {path!r} lies outside the project root")
        member_pyproject = read_toml(project.root / path / "pyproject.toml")
        declared = roots_from_build_config(member_pyproject, path)
        if declared:
            roots.extend(declared)
        elif (project.root / path / "src").is_dir():
            roots.append(SourceRoot(f"{path}/src"))
        else:
            roots.append(SourceRoot(path))
    if (project.root / "src").is_dir():
        roots.append(SourceRoot("src"))
    roots.append(SourceRoot(""))
    return tuple(root for root in dict.fromkeys(roots) if (project.root / root.path).is_dir())


def analyse(project: Project, request: Request, lock: LockFile | None = None) -> Analysis:
    """Raises LockError when uv.lock is missing or malformed; everything else is a diagnostic."""
    if lock is None:
        lock = read_lock(request.lock_path, display_path(project.root, request.lock_path))
    roots = source_roots(project, lock)
    index = build_index(project.root, roots)
    scripts = _script_directories(project.root, index, request.entries)
    if scripts:  # `python examples/web/server.py`: the script's directory comes first on sys.path
        index = build_index(project.root, (*scripts, *roots))
    diagnostics: list[Diagnostic] = []
    if request.lock_path.resolve().parent == project.root.resolve():  # the project's own lock, as uv checks it
        diagnostics += [Diagnostic(lock.path, 0, m, Severity.WARNING) for m in lock_mismatches(lock, project.pyproject)]
    finder = _finder(project, lock, request)
    resolver = Resolver(index, finder, request.target.python)
    entry_modules, entry_directories = _entry_modules(project.root, index, request, diagnostics)

    graph = ImportGraph()
    problems: dict[str, list[Diagnostic]] = {}
    seen: set[str] = set(entry_modules)
    for module in entry_modules:
        graph.add_entry(module)
    frontier = list(entry_modules)
    if request.hidden_imports:
        graph.add_entry(HIDDEN)
        for name in request.hidden_imports:
            record = ImportRecord(target=name, names=(), line=0, kind=Kind.DYNAMIC, guarded=False)
            via = Via("pyproject.toml", 0, HIDDEN, Kind.DYNAMIC, False, f"hidden-imports: {name}")
            for node in _targets(resolver, name, record):
                graph.add(HIDDEN, node, via)
                if isinstance(node, str) and node not in seen:
                    seen.add(node)
                    frontier.append(node)

    scans: dict[str, ScanResult] = {}

    def facts(module: str) -> ScanResult | None:
        """A first-party module's scan, for what another module's imports depend on (its
        constants, its __all__): scanned now if the walk has not reached it yet."""
        info = index.modules.get(module)
        if info is None:
            return None
        if module not in scans:
            scans[module] = scan_files(project.root, [info.path], request.target, request.cache)[info.path]
        return scans[module]

    entry_set = frozenset(entry_modules)
    ignored: list[Ignored] = []
    named: list[str] = []
    groups = project_entry_points(project.root, lock, project.pyproject)
    # Breadth-first, one level at a time, so each level's files can be scanned together.
    while frontier:
        pending = [m for m in frontier if m not in scans]
        scanned = scan_files(
            project.root,
            [index.modules[m].path for m in pending],
            request.target,
            request.cache,
            on_scanned=request.on_scanned,
        )
        scans.update((m, scanned[index.modules[m].path]) for m in pending)
        following: list[str] = []
        for module in frontier:
            edges = _ModuleEdges(index, resolver, graph, module, module in entry_set, facts, request.ignore, ignored, named,
                                 groups)  # fmt: skip
            for node in edges.add(scans[module], problems):
                if node not in seen:
                    seen.add(node)
                    following.append(node)
        frontier = following

    layers = graph.layers()
    closure, optional_pins = _assemble(
        project, request, lock, index, finder, graph, layers, problems, diagnostics, entry_directories
    )
    named_imports = tuple(sorted({n for n in named if not is_stdlib(n, request.target.python)}))
    closure = replace(closure, ignored=tuple(sorted(set(ignored))), named_imports=named_imports)
    return Analysis(closure, graph, layers, lock, index, finder, optional_pins)


def _finder(project: Project, lock: LockFile, request: Request) -> DistributionFinder:
    site_packages = request.site_packages
    if site_packages is None:
        found = sorted((project.root / ".venv").glob("lib/python*/site-packages")) + sorted(
            (project.root / ".venv").glob("Lib/site-packages")
        )
        site_packages = found[0] if found else None
    installed = installed_modules(site_packages) if site_packages else {}
    installed_names = {d for dists in installed.values() for d in dists}
    locked = frozenset(name for name in lock.names() if not lock.is_local(name))
    # uv's cache answers for locked versions the .venv does not hold (a fresh clone has no .venv)
    wanted = {
        name: frozenset(p.version for p in lock.by_name[name]) for name in locked if name not in installed_names
    }
    return DistributionFinder(
        locked=locked,
        overrides=project.config.module_map,
        installed=installed,
        known=known_modules(),
        cached=lambda: cached_modules(uv_cache_directory(), wanted) if request.use_uv_cache else {},
        depends={p.name: frozenset(d.name for d in p.dependencies) for p in lock.packages},
    )


def _script_directories(root: Path, index: ModuleIndex, entries: Iterable[str]) -> tuple[SourceRoot, ...]:
    """Directories of entry files that are scripts (not inside a regular package): run as
    `python examples/web/server.py`, the script's own directory is sys.path[0]."""
    found = []
    real_root = root.resolve()
    for entry in entries:
        path = (root / entry).resolve()
        if path.suffix == ".py" and path.is_file() and real_root in path.parents and path.parent != real_root:
            if not (path.parent / "__init__.py").exists():
                found.append(SourceRoot(path.parent.relative_to(real_root).as_posix()))
    return tuple(dict.fromkeys(found))


def _entry_modules(
    root: Path, index: ModuleIndex, request: Request, diagnostics: list[Diagnostic]
) -> tuple[list[str], list[str]]:
    """The entries' module names, and the directories among them (root-relative, "" for the root)."""
    modules: list[str] = []
    directories: list[str] = []
    real_root = root.resolve()
    for entry in request.entries:
        if ":" in entry and not (root / entry).exists():
            entry = entry.partition(":")[0]  # `pkg.app:app`, as uvicorn and [project.scripts] name it
        path = (root / entry).resolve()
        inside = path == real_root or real_root in path.parents
        relative = path.relative_to(real_root).as_posix() if inside and path != real_root else ""
        if entry in index.modules:  # a dotted name wins: `ai` is the module, `ai/` the directory
            modules.append(entry)
        elif path.exists() and not inside:
            diagnostics.append(Diagnostic(entry, 0, "entry is outside the project root"))
        elif path.is_dir():
            directories.append(relative)
            found = [
                m for m in index.modules_under(relative) if not is_excluded(index.modules[m].path, request.excludes)
            ]
            if not found:
                diagnostics.append(Diagnostic(entry, 0, "entry directory holds no importable Python modules"))
            modules.extend(found)
        elif path.is_file():
            names = index.names_by_path.get(relative)
            if not names:
                diagnostics.append(
                    Diagnostic(entry, 0, "entry file is not an importable module under any source root")
                )
            else:
                modules.append(names[0])
        else:
            diagnostics.append(Diagnostic(entry, 0, "no such file, directory or first-party module"))
    return list(dict.fromkeys(modules)), directories


def _targets(resolver: Resolver, name: str, record: ImportRecord) -> list[Hashable]:
    """Graph nodes an import reaches: first-party modules (parents first), distributions, unresolved."""
    resolutions = resolver.resolve_from(name, record.names) if record.names else [resolver.resolve(name)]
    nodes: dict[Hashable, None] = {}  # ordered, each node once: `from ai import tools` reaches ai twice
    for resolution in resolutions:
        if resolution.category is Category.FIRST_PARTY:
            nodes.update(dict.fromkeys(resolution.modules))
        elif resolution.category is Category.DISTRIBUTION:
            nodes[DistributionNode(resolution.distributions[0])] = None
        elif resolution.category is Category.AMBIGUOUS:
            nodes[UnresolvedNode(resolution.name, "", resolution.distributions)] = None
        elif resolution.category is Category.MISSING:
            nodes[UnresolvedNode(resolution.name, resolution.source)] = None
    return list(nodes)


@dataclass(frozen=True)
class _ModuleEdges:
    """One scanned module's edges: its records, with the conditions the scanner left open decided."""

    index: ModuleIndex
    resolver: Resolver
    graph: ImportGraph
    module: str
    is_entry: bool  # run as `python -m` / imported by the user: its `__main__` block may run
    facts: Callable[[str], ScanResult | None]
    ignore: tuple[tuple[str, str], ...]
    ignored: list[Ignored]
    named: list[str]  # third-party modules reached only by a string
    entry_points: Mapping[str, tuple[str, ...]]  # group → "module:attr" the project registers

    def skipped(self, name: str, line: int) -> bool:
        """Whether an ignore-imports / cut pattern takes this import out (and if so, list it)."""
        for pattern, reason in self.ignore:
            if name == pattern or name.startswith(f"{pattern}.") or fnmatch.fnmatchcase(name, pattern):
                self.ignored.append(Ignored(name, self.index.modules[self.module].path, line, reason))
                return True
        return False

    def without_skipped_names(self, name: str, record: ImportRecord) -> ImportRecord:
        """`from pkg import a, b` where a pattern names `pkg.a`: only `b` is followed."""
        kept = tuple(n for n in record.names if n == "*" or not self.skipped(f"{name}.{n}", record.line))
        return record if kept == record.names else record._replace(names=kept)

    def add(self, result: ScanResult, problems: dict[str, list[Diagnostic]]) -> list[str]:
        """Add the edges; return the first-party modules they reach."""
        module, info = self.module, self.index.modules[self.module]
        reached: list[str] = []
        parent = module.rpartition(".")[0]
        if parent and parent in self.index.modules:
            via = Via(info.path, 0, module, Kind.MODULE, False, f"(runs its parent package {parent} first)")
            self.graph.add(module, parent, via)
            reached.append(parent)
        found = problems.setdefault(module, [])
        for problem in result.problems:
            severity = Severity.ERROR if problem.fatal else Severity.WARNING
            found.append(Diagnostic(info.path, problem.line, problem.message, severity))
        for record in result.ignored:
            try:
                name = absolute_name(module, info.is_package, record.level, record.target, record.anchor)
            except RelativeImportError:
                name = "." * record.level + record.target
            self.ignored.append(Ignored(name, info.path, record.line, "pragma"))
        for record in result.records:
            try:
                name = absolute_name(module, info.is_package, record.level, record.target, record.anchor)
                if record.when and not all(self.holds(condition) for condition in record.when):
                    continue
            except RelativeImportError as exc:
                found.append(Diagnostic(info.path, record.line, str(exc)))
                continue
            if self.ignore:
                if self.skipped(name, record.line):
                    continue
                record = self.without_skipped_names(name, record)
            if record.names == ("*",):
                record = self.star(name, record)
            via = Via(info.path, record.line, module, record.kind, record.guarded, describe(record))
            for node in _targets(self.resolver, name, record):
                if node == module:
                    continue
                self.graph.add(module, node, via)
                if isinstance(node, str):
                    reached.append(node)
                elif isinstance(node, DistributionNode) and record.kind is Kind.DYNAMIC and not record.guarded:
                    self.named.append(name)
            if record.level == 0:
                for imported in record.names:
                    self.feature(IMPORTED_NAMES.get((name, imported)), f"{name}.{imported}", record, found)
        imported_tops = {r.target.partition(".")[0] for r in result.records if r.level == 0}
        for method, line in result.features:
            if method.startswith("entry_points:"):
                reached += self.entry_point_group(method.partition(":")[2], line)
                continue
            frameworks, distribution = METHODS[method]
            if imported_tops & set(frameworks):
                record = ImportRecord(method, (), line, Kind.DYNAMIC, False)
                self.feature(distribution, f".{method}()", record, found)
        return reached

    def entry_point_group(self, group: str, line: int) -> list[str]:
        """`entry_points(group=G)`: the modules the project's own distributions register in G."""
        reached = []
        path = self.index.modules[self.module].path
        for value in self.entry_points.get(group, ()):
            name = value.partition(":")[0].strip()
            record = ImportRecord(name, (), line, Kind.DYNAMIC, False)
            via = Via(path, line, self.module, Kind.DYNAMIC, False, f"entry_points(group={group!r}): {value}")
            for node in _targets(self.resolver, name, record):
                if node != self.module:
                    self.graph.add(self.module, node, via)
                    if isinstance(node, str):
                        reached.append(node)
        return reached

    def feature(self, distribution: str | None, what: str, record: ImportRecord, found: list[Diagnostic]) -> None:
        """A framework feature that imports `distribution` by itself (depmin.features)."""
        if distribution is None:
            return
        path = self.index.modules[self.module].path
        if distribution not in self.resolver.finder.locked:
            found.append(Diagnostic(path, record.line, f"{what} needs {distribution}, which uv.lock does not hold", Severity.WARNING))
            return
        statement = f"{what} (the framework imports {distribution} itself)"
        via = Via(path, record.line, self.module, Kind.DYNAMIC, record.guarded, statement)
        self.graph.add(self.module, DistributionNode(distribution), via)

    def holds(self, condition: Condition) -> bool:
        """Whether a condition may hold at run time (True when it cannot be decided)."""
        if condition[0] == "main":
            return self.is_entry or not condition[1]
        _, level, target, attribute, polarity = condition
        info = self.index.modules[self.module]
        exporter = absolute_name(self.module, info.is_package, level, target)
        scanned = self.facts(exporter)
        if scanned is None:
            return True
        value = dict(scanned.constants).get(attribute)
        return value is None or value == polarity

    def star(self, name: str, record: ImportRecord) -> ImportRecord:
        """`from pkg import *` imports the submodules that pkg's __all__ names."""
        scanned = self.facts(name) if name in self.index.modules else None
        if scanned is None or not scanned.all_names:
            return record
        submodules = tuple(n for n in scanned.all_names if f"{name}.{n}" in self.index.modules)
        return record._replace(names=("*", *submodules)) if submodules else record


# -- assembling the closure -------------------------------------------------------------


def _assemble(
    project: Project,
    request: Request,
    lock: LockFile,
    index: ModuleIndex,
    finder: DistributionFinder,
    graph: ImportGraph,
    layers: Layers,
    problems: dict[str, list[Diagnostic]],
    diagnostics: list[Diagnostic],
    entry_directories: list[str],
) -> tuple[Closure, tuple[Pin, ...]]:
    runtime_modules = sorted(n for n in layers.runtime if isinstance(n, str) and n in index.modules)
    diagnostics.extend(_relevant_index_problems(index, entry_directories, set(runtime_modules)))
    for module, found in problems.items():
        if module in layers.runtime:
            diagnostics.extend(found)
        else:  # type-only code never runs: its problems cannot break the image
            diagnostics.extend(Diagnostic(d.path, d.line, d.message, Severity.WARNING) for d in found)
    diagnostics.extend(_shadowing(index, finder, runtime_modules, request.target.python))
    diagnostics.extend(_one_file_two_names(index, runtime_modules))

    extras = declared_extras(lock, request.target)

    def requirements(layer: frozenset[Hashable], importers: frozenset[Hashable], follow: ViaFilter) -> tuple[Requirement, ...]:
        return _requirements(graph, layer, importers, follow, lock, request.target, extras)

    direct = requirements(layers.required, layers.required, is_required)
    optional = requirements(layers.optional, layers.runtime, is_runtime)
    type_checking = requirements(layers.type_only, layers.runtime | layers.type_only, any_via)
    diagnostics.extend(_unresolved(graph, layers, frozenset(declared_names(lock))))

    wanted = {r.name: r.extras for r in direct if r.version is not None}
    chosen = {canonicalize_name(n) for n in request.optional_names}
    if request.include_optional or chosen:
        wanted.update({r.name: r.extras for r in optional if r.version is not None and (request.include_optional or r.name in chosen)})
    for name in sorted(chosen - {r.name for r in optional}):
        diagnostics.append(Diagnostic("", 0, f"--optional {name}: no optional import of these entries needs it", Severity.WARNING))
    declared = declared_names(lock)
    for requirement in direct:
        if declared and requirement.name not in declared:
            first = requirement.via[0]
            diagnostics.append(
                Diagnostic(
                    first.file,
                    first.line,
                    f"imports {requirement.name}, which the project does not declare as a dependency "
                    "(it is only locked as a dependency of another package)",
                    Severity.WARNING,
                )
            )

    pinned = pinned_closure(lock, wanted, request.target, with_hashes=request.hashes)
    diagnostics.extend(pinned.diagnostics)
    with_optional = {r.name: extras.get(r.name, ()) for r in (*direct, *optional) if r.version is not None}
    optional_pins = pinned.pins if with_optional.keys() == wanted.keys() else pinned_closure(lock, with_optional, request.target).pins

    files = sorted({index.modules[m].path for m in runtime_modules})
    data = package_data(project.root, index, runtime_modules, request.excludes) if request.package_data else []
    copy, copy_problems = copy_paths(project.root, index, [*files, *data], request.excludes, request.data)
    diagnostics.extend(copy_problems)

    used_roots = [r for r in index.roots if _root_used(r, index, runtime_modules)]
    local, local_problems = local_distributions(project.root, lock, project.pyproject, files)
    diagnostics.extend(local_problems)
    diagnostics.extend(_declared_not_imported(lock, local, request, {p.name for p in pinned.pins} | {
        r.name for r in (*optional, *type_checking)}))
    errors = sorted({d for d in diagnostics if d.severity is Severity.ERROR})
    warnings = sorted({d for d in diagnostics if d.severity is Severity.WARNING})
    closure = Closure(
        entries=request.entries,
        target=request.target,
        modules=tuple(runtime_modules),
        files=tuple(files),
        package_data=tuple(data),
        copy=tuple(copy),
        direct=direct,
        optional=optional,
        type_checking=type_checking,
        pinned=pinned.pins,
        source_roots=tuple(r.path or "." for r in used_roots),
        image_path=image_path(used_roots),
        local_distributions=local,
        warnings=tuple(warnings),
        errors=tuple(errors),
    )
    return closure, optional_pins


def _declared_not_imported(lock: LockFile, local: Iterable[LocalDistribution], request: Request,
                           used: set[str]) -> list[Diagnostic]:  # fmt: skip
    """Runtime dependencies that the copied distributions declare but no import of these entries
    reaches: kept out, and said so once (a plugin loaded by name needs hidden-imports)."""
    declared: set[str] = set()
    for distribution in local:
        for package in lock.by_name.get(distribution.name, ()):
            declared.update(d.name for d in package.dependencies if marker_holds(d.marker, request.target))
    unused = sorted(name for name in declared - used if not lock.is_local(name))
    if not unused:
        return []
    return [
        Diagnostic(
            lock.path,
            0,
            f"declared but not imported by these entries, kept out: {', '.join(unused)} "
            "(add to hidden-imports what is loaded by name)",
            Severity.WARNING,
        )
    ]


def _one_file_two_names(index: ModuleIndex, modules: list[str]) -> list[Diagnostic]:
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
        )
        for path, names in sorted(names_by_path.items())
        if len(names) > 1
    ]


def _relevant_index_problems(index: ModuleIndex, directories: list[str], modules: set[str]) -> list[Diagnostic]:
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


def _root_used(root: SourceRoot, index: ModuleIndex, modules: Iterable[str]) -> bool:
    return any(index.modules[m].root == root for m in modules)


def _requirements(
    graph: ImportGraph,
    layer: Iterable[Hashable],
    importers: frozenset[Hashable],
    follow: ViaFilter,
    lock: LockFile,
    target: Target,
    extras: dict[str, tuple[str, ...]],
) -> tuple[Requirement, ...]:
    """The distributions of one layer, each with every place (of `importers`) that imports it."""
    vias_by_name: dict[str, set[Via]] = {}
    versions: dict[str, str | None] = {}
    for node in layer:
        if isinstance(node, DistributionNode):
            name = node.name
            package = select(lock, name, None, target)
            versions[name] = package.version if package else None
        elif isinstance(node, UnresolvedNode) and not (node.candidates or node.reason or follow is is_required):
            name = canonicalize_name(node.name.partition(".")[0])  # not locked: reported, never pinned
            versions.setdefault(name, None)
        else:
            continue  # required-but-missing, ambiguities and broken first-party imports are diagnostics
        places = vias_by_name.setdefault(name, set())
        for source in graph.predecessors(node):
            if source in importers:
                places.update(via for via in graph.vias(source, node) if follow(via))
    return tuple(
        Requirement(
            name=name,
            version=versions[name],
            extras=extras.get(name, ()) if versions[name] is not None else (),
            via=tuple(sorted(vias_by_name[name], key=lambda v: (v.file, v.line, v.kind))),
        )
        for name in sorted(vias_by_name)
    )


def _unresolved(graph: ImportGraph, layers: Layers, declared: frozenset[str] = frozenset()) -> list[Diagnostic]:
    found = []
    for node in layers.required:
        if not isinstance(node, UnresolvedNode):
            continue
        for source in graph.predecessors(node):
            if source not in layers.required:
                continue
            for via in graph.vias(source, node):
                if is_required(via):
                    found.append(Diagnostic(via.file, via.line, _unresolved_message(node, via, declared)))
    for node in layers.optional:
        if isinstance(node, UnresolvedNode) and node.candidates:
            for source in graph.predecessors(node):
                for via in graph.vias(source, node):
                    found.append(Diagnostic(via.file, via.line, _unresolved_message(node, via), Severity.WARNING))
    return found


_ASKED = "asked: module-map, the .venv's metadata, uv's cache, the bundled table, the lock's names"


def _unresolved_message(node: UnresolvedNode, via: Via, declared: frozenset[str] = frozenset()) -> str:
    if node.candidates:
        return (
            f"`{via.statement}`: {node.name} is provided by several locked distributions "
            f"({', '.join(node.candidates)}); choose one in [tool.depmin.module-map]"
        )
    if node.reason.startswith(("no first-party", "first-party")):
        return f"`{via.statement}`: {node.reason}"
    top = node.name.partition(".")[0]
    considered = _considered(node.name)
    asked = f"{_ASKED}; considered {', '.join(considered)}, none of them locked" if considered else _ASKED
    alike = _resembling(top, declared)
    if alike:
        return (
            f"`{via.statement}`: no locked distribution provides {node.name!r} ({asked}); it looks like the "
            f"declared {alike}: map it in [tool.depmin.module-map] ({top} = \"{alike}\"), or `uv sync` once so "
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
    import difflib

    wanted = canonicalize_name(module)
    close = [d for d in sorted(declared) if wanted in d or (len(d) > 3 and d in wanted)]
    if not close:
        close = difflib.get_close_matches(wanted, sorted(declared), n=1, cutoff=0.8)
    return close[0] if close else ""


def _shadowing(
    index: ModuleIndex, finder: DistributionFinder, modules: list[str], python: tuple[int, int]
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
        found.append(Diagnostic(info.path, 0, f"first-party module {name} shadows {hidden}", Severity.WARNING))
    return found
