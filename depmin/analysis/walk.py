"""The walk: breadth-first from the entries, one level of files scanned at a time, each
scanned module's records turned into graph edges with the conditions the scanner left open
decided (constants of other modules, `__main__` blocks, star imports, ignore patterns).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from depmin.analysis.features import IMPORTED_NAMES, METHODS
from depmin.analysis.remembered import EdgeKey, Edges, EdgeStore, node_from_data
from depmin.analysis.scanning import scan_files
from depmin.cache import ScanCache
from depmin.errors import Code, Diagnostic, Severity
from depmin.imports.graph import DistributionNode, ImportGraph, UnresolvedNode
from depmin.imports.resolve import Category, RelativeImportError, Resolver, absolute_name
from depmin.model import Condition, Ignored, ImportRecord, Kind, Target, Via
from depmin.project.module_index import ModuleIndex

if TYPE_CHECKING:
    from depmin.scan import ScanResult

HIDDEN = "<hidden-imports>"


@dataclass
class Walk:
    """What the walk found: the graph, and per module the problems its scan and edges raised."""

    graph: ImportGraph = field(default_factory=ImportGraph)
    problems: dict[str, list[Diagnostic]] = field(default_factory=dict)
    ignored: list[Ignored] = field(default_factory=list)
    named: list[str] = field(default_factory=list)  # third-party modules reached only by a string


@dataclass
class Memo:
    """Scans and edges remembered across the walks of one run (one per resolver and target)."""

    scans: dict[str, ScanResult] = field(default_factory=dict)
    edges: dict[EdgeKey, Edges] = field(default_factory=dict)


class _Recorder:
    """Collects a module's edges in the order ModuleEdges adds them."""

    def __init__(self) -> None:
        self.edges: list[tuple[Hashable, Via]] = []

    def add(self, source: Hashable, target: Hashable, via: Via) -> None:
        self.edges.append((target, via))


@dataclass(frozen=True)
class WalkSettings:
    """What a walk reads besides the index and the resolver: the same for every module."""

    root: Path
    target: Target
    cache: ScanCache | None = None
    hidden_imports: tuple[str, ...] = ()
    ignore: tuple[tuple[str, str], ...] = ()  # (glob over import names, why): ignore-imports, cut
    entry_points: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # group → "module:attr"
    # file → the distributions its own project names (any dependency, extra or group): where several
    # locked distributions ship an imported module, the one the importing project declares wins
    declared_for: Callable[[str], frozenset[str]] = lambda path: frozenset()
    # (file, distribution) → whether the target's install gives it to the file's project (not only
    # an unchosen extra or a group): an alternative that needs one it does not give is not preferred
    provided: Callable[[str, str], bool] = lambda path, distribution: True
    on_scanned: Callable[[int], None] | None = None


def walk(
    index: ModuleIndex,
    resolver: Resolver,
    entries: tuple[str, ...],
    settings: WalkSettings,
    *,
    memo: Memo | None = None,
    store: EdgeStore | None = None,
) -> Walk:
    """Breadth-first from the entries, one level at a time, so each level's files are scanned
    together; every module's edges come from this run, an earlier run (the store), or its scan."""
    return _Walker(index, resolver, frozenset(entries), settings, memo or Memo(), store).run(entries)


@dataclass
class _Walker:
    index: ModuleIndex
    resolver: Resolver
    entries: frozenset[str]
    settings: WalkSettings
    memo: Memo
    store: EdgeStore | None
    found: Walk = field(default_factory=Walk)
    seen: set[str] = field(default_factory=set)

    def run(self, entries: tuple[str, ...]) -> Walk:
        frontier = self.start(entries)
        while frontier:
            self.scan_level(frontier)
            frontier = [module for module in frontier for module in self.add_edges(module)]
        if self.settings.cache is not None and self.settings.cache.prepare():
            self.settings.cache.save()
        if self.store is not None:
            self.store.save()
        return self.found

    def start(self, entries: tuple[str, ...]) -> list[str]:
        """The entries, and what hidden-imports name, as the first level."""
        graph, frontier = self.found.graph, list(entries)
        self.seen.update(entries)
        for module in entries:
            graph.add_entry(module)
        if self.settings.hidden_imports:
            graph.add_entry(HIDDEN)
        for name in self.settings.hidden_imports:
            record = ImportRecord(target=name, names=(), line=0, kind=Kind.DYNAMIC, guarded=False)
            via = Via("pyproject.toml", 0, HIDDEN, Kind.DYNAMIC, False, f"hidden-imports: {name}")
            for node in targets(self.resolver, name, record):
                graph.add(HIDDEN, node, via)
                frontier += self.newly_seen([node] if isinstance(node, str) else [])
        return frontier

    def newly_seen(self, modules: list[str]) -> list[str]:
        fresh = [m for m in dict.fromkeys(modules) if m not in self.seen]
        self.seen.update(fresh)
        return fresh

    def scan_level(self, frontier: list[str]) -> None:
        """Scan together every module of the level whose edges are not known yet."""
        scans = self.memo.scans
        pending = [m for m in frontier if m not in scans and self.remembered(m) is None]
        if pending:
            paths = [self.index.modules[m].path for m in pending]
            settings = self.settings
            scanned = scan_files(settings.root, paths, settings.target, settings.cache, on_scanned=settings.on_scanned,
                                 save=False)  # fmt: skip
            scans.update((m, scanned[self.index.modules[m].path]) for m in pending)

    def add_edges(self, module: str) -> list[str]:
        """Put a module's edges on the graph; return the first-party modules seen for the first time."""
        edges = self.edges_of(module)
        if edges.rows:
            self.found.graph.add_rows(module, edges.file, edges.rows, node_from_data)
        else:
            self.found.graph.add_all(module, edges.edges)
        self.found.problems[module] = list(edges.problems)
        self.found.ignored.extend(edges.ignored)
        self.found.named.extend(edges.named)
        return self.newly_seen(list(edges.reached))

    def key(self, module: str) -> EdgeKey:
        return module, module in self.entries, self.settings.ignore

    def remembered(self, module: str) -> Edges | None:
        """This run's edges of a module, else the ones an earlier run kept (see remembered.py),
        as long as the target's install gives the alternatives' distributions as it did then."""
        key = self.key(module)
        path = self.index.modules[module].path
        known = self.memo.edges.get(key)
        if known is None and self.store is not None:
            known = self.store.get(key, path)
            if known is not None:
                self.memo.edges[key] = known
        if known is not None and any(self.settings.provided(path, name) != given for name, given in known.asked):
            return None
        return known

    def facts(self, module: str) -> ScanResult | None:
        """A first-party module's scan, for what another module's imports depend on (its
        constants, its __all__): scanned now if the walk has not reached it yet."""
        info = self.index.modules.get(module)
        if info is None:
            return None
        scans = self.memo.scans
        if module not in scans:
            settings = self.settings
            scans[module] = scan_files(settings.root, [info.path], settings.target, settings.cache, save=False)[
                info.path
            ]
        return scans[module]

    def edges_of(self, module: str) -> Edges:
        known = self.remembered(module)
        if known is not None:
            return known
        reads: dict[str, None] = {}

        def read(exporter: str) -> ScanResult | None:
            found = self.facts(exporter)
            if found is not None:
                reads[exporter] = None
            return found

        path = self.index.modules[module].path
        edges = ModuleEdges(
            self.index,
            self.resolver,
            module,
            module in self.entries,
            read,
            self.settings,
            self.settings.declared_for(path),
        )
        reached = edges.add(self.memo.scans[module])
        known = self.memo.edges[self.key(module)] = Edges(
            tuple(edges.graph.edges),
            tuple(reached),
            tuple(edges.problems),
            tuple(edges.ignored),
            tuple(edges.named),
            asked=tuple(sorted(edges.asked.items())),
        )
        if self.store is not None and self.resolver.finder.settled:  # not what an offline gap concluded
            self.store.remember(self.key(module), edges.touched, tuple(reads), known, path)
        return known


def _as_chosen(record: ImportRecord, chosen: Mapping[int, int]) -> ImportRecord:
    """An alternative's import: as needed as the try itself when it is the one chosen, guarded
    (optional) when it is the one not taken."""
    for condition in record.when:
        if condition[0] == "choice" and condition[1] in chosen:
            _, line, index, outside = condition
            return record._replace(guarded=bool(outside) if chosen[line] == index else True)
    return record


def _declared_one(node: Hashable, declared: frozenset[str]) -> Hashable:
    if isinstance(node, UnresolvedNode) and node.candidates:
        chosen = [c for c in node.candidates if c in declared]
        if len(chosen) == 1:
            return DistributionNode(chosen[0])
    return node


def targets(resolver: Resolver, name: str, record: ImportRecord) -> list[Hashable]:
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
        elif resolution.category is Category.BROKEN:
            nodes[UnresolvedNode(resolution.name, resolution.source, first_party=True)] = None
    return list(nodes)


@dataclass
class ModuleEdges:
    """One scanned module's edges: its records, with the conditions the scanner left open decided."""

    index: ModuleIndex
    resolver: Resolver
    module: str
    is_entry: bool  # run as `python -m` / imported by the user: its `__main__` block may run
    facts: Callable[[str], ScanResult | None]
    settings: WalkSettings
    declared: frozenset[str]  # what the module's own project names (see WalkSettings.declared_for)
    graph: _Recorder = field(default_factory=lambda: _Recorder())  # replayed onto the real graph (see Memo)
    problems: list[Diagnostic] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    named: list[str] = field(default_factory=list)  # third-party modules reached only by a string
    touched: set[str] = field(default_factory=set)  # top-level names it resolved: its edges depend on them
    asked: dict[str, bool] = field(default_factory=dict)  # distribution → settings.provided: they depend on it

    @property
    def ignore(self) -> tuple[tuple[str, str], ...]:
        return self.settings.ignore

    @property
    def entry_points(self) -> Mapping[str, tuple[str, ...]]:
        return self.settings.entry_points

    def targets(self, name: str, record: ImportRecord) -> list[Hashable]:
        """The nodes an import reaches; several locked distributions for one name are one where
        this module's own project declares exactly one of them."""
        self.touched.add(name.partition(".")[0])
        found = targets(self.resolver, name, record)
        return [_declared_one(node, self.declared) for node in found]

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

    def add(self, result: ScanResult) -> list[str]:
        """Add the edges; return the first-party modules they reach."""
        from depmin.scan import describe  # a warm run whose edges are all remembered never parses

        module, info = self.module, self.index.modules[self.module]
        self.touched.add(module.partition(".")[0])
        reached: list[str] = []
        parent = module.rpartition(".")[0]
        if parent and parent in self.index.modules:
            via = Via(info.path, 0, module, Kind.MODULE, False, f"(runs its parent package {parent} first)")
            self.graph.add(module, parent, via)
            reached.append(parent)
        found = self.problems
        for problem in result.problems:
            severity, code = (Severity.ERROR, Code.SYNTAX) if problem.fatal else (Severity.WARNING, Code.DYNAMIC)
            found.append(Diagnostic(info.path, problem.line, problem.message, severity, code))
        for record in result.ignored:
            try:
                name = absolute_name(module, info.is_package, record.level, record.target, record.anchor)
            except RelativeImportError:
                name = "." * record.level + record.target
            self.ignored.append(Ignored(name, info.path, record.line, "pragma"))
        chosen = self.choices(result.records)
        for record in result.records:
            try:
                name = absolute_name(module, info.is_package, record.level, record.target, record.anchor)
                if record.when and not all(self.holds(condition) for condition in record.when):
                    continue
                record = _as_chosen(record, chosen)
            except RelativeImportError as exc:
                # `try: from .agent import x / except ImportError: from agent import x` in a script: the
                # guard catches the failure where it is run as a script, so it is only a warning there;
                # under `if TYPE_CHECKING:` it never runs at all
                never_fails = record.guarded or record.kind is Kind.TYPE_CHECKING
                severity = Severity.WARNING if never_fails else Severity.ERROR
                found.append(Diagnostic(info.path, record.line, str(exc), severity, Code.BROKEN_FIRST_PARTY))
                continue
            if self.ignore:
                if self.skipped(name, record.line):
                    continue
                record = self.without_skipped_names(name, record)
            if record.names == ("*",):
                record = self.star(name, record)
            via = Via(info.path, record.line, module, record.kind, record.guarded, describe(record))
            for node in self.targets(name, record):
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
            if method in ("submodules", "submodules:all"):
                reached += self.discovered(line, every_depth=method == "submodules:all")
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
            for node in self.targets(name, record):
                if node != self.module:
                    self.graph.add(self.module, node, via)
                    if isinstance(node, str):
                        reached.append(node)
        return reached

    def discovered(self, line: int, *, every_depth: bool) -> list[str]:
        """`pkgutil.iter_modules(__path__)` (walk_packages: at any depth): every submodule of this
        package, as the plugin loop that follows imports them."""
        info = self.index.modules[self.module]
        package = self.module if info.is_package else self.module.rpartition(".")[0]
        if not package:
            return []
        prefix = f"{package}."
        function = "walk_packages" if every_depth else "iter_modules"
        reached = []
        for name in sorted(self.index.modules):
            rest = name[len(prefix) :] if name.startswith(prefix) else ""
            if not rest or name == self.module or (not every_depth and "." in rest):
                continue
            via = Via(info.path, line, self.module, Kind.DYNAMIC, False, f"pkgutil.{function}(__path__): {name}")
            self.graph.add(self.module, name, via)
            reached.append(name)
        return reached

    def feature(self, distribution: str | None, what: str, record: ImportRecord, found: list[Diagnostic]) -> None:
        """A framework feature that imports `distribution` by itself (depmin.features)."""
        if distribution is None:
            return
        path = self.index.modules[self.module].path
        if distribution not in self.resolver.finder.locked:
            message = f"{what} needs {distribution}, which uv.lock does not hold"
            found.append(Diagnostic(path, record.line, message, Severity.WARNING, Code.FEATURE_UNLOCKED))
            return
        statement = f"{what} (the framework imports {distribution} itself)"
        via = Via(path, record.line, self.module, Kind.DYNAMIC, record.guarded, statement)
        self.graph.add(self.module, DistributionNode(distribution), via)

    def choices(self, records: tuple[ImportRecord, ...]) -> dict[int, int]:
        """For each `try: import a / except ImportError: import b`, the first alternative whose
        every import the target's install provides (first-party, standard library, a locked
        distribution that no unchosen extra or group alone installs); failing that, the first
        whose every import the lock can satisfy. That one is needed, the others are a fallback (or
        a preference) it never uses: `from langfuse import observe` that only an unchosen extra
        installs gives way to a first-party fallback that always imports."""
        alternatives: dict[int, dict[int, list[ImportRecord]]] = {}
        for record in records:
            for condition in record.when:
                if condition[0] == "choice":
                    alternatives.setdefault(condition[1], {}).setdefault(condition[2], []).append(record)
        info = self.index.modules[self.module]
        chosen: dict[int, int] = {}
        for line, options in alternatives.items():
            available: list[tuple[int, list[str]]] = []
            for index in sorted(options):
                try:
                    names = [
                        absolute_name(self.module, info.is_package, r.level, r.target, r.anchor) for r in options[index]
                    ]
                except RelativeImportError:
                    continue
                if all(self.available(name) for name in names):
                    available.append((index, names))
            if len(available) > 1:
                given = [index for index, names in available if all(self.provided(name) for name in names)]
                chosen[line] = given[0] if given else available[0][0]
            elif available:
                chosen[line] = available[0][0]
        return chosen

    def available(self, name: str) -> bool:
        self.touched.add(name.partition(".")[0])
        resolution = self.resolver.resolve(name)
        if resolution.category is Category.FIRST_PARTY:
            return bool(resolution.modules) or name in self.index.namespaces
        return resolution.category in (Category.STDLIB, Category.DISTRIBUTION)

    def provided(self, name: str) -> bool:
        """Of an available import: whether the target's install gives it (asked and remembered)."""
        resolution = self.resolver.resolve(name)
        if resolution.category is not Category.DISTRIBUTION:
            return True
        distribution = resolution.distributions[0]
        if distribution not in self.asked:
            self.asked[distribution] = self.settings.provided(self.index.modules[self.module].path, distribution)
        return self.asked[distribution]

    def holds(self, condition: Condition) -> bool:
        """Whether a condition may hold at run time (True when it cannot be decided)."""
        if condition[0] == "main":
            return self.is_entry or not condition[1]
        if condition[0] == "choice":
            return True  # an alternative always may run: choices() says which one is needed
        _, level, target, attribute, polarity = condition
        info = self.index.modules[self.module]
        exporter = absolute_name(self.module, info.is_package, level, target)
        self.touched.add(exporter.partition(".")[0])
        scanned = self.facts(exporter)
        if scanned is None:
            return True
        value = dict(scanned.constants).get(attribute)
        return value is None or value == polarity

    def star(self, name: str, record: ImportRecord) -> ImportRecord:
        """`from pkg import *` imports the submodules that pkg's __all__ names."""
        self.touched.add(name.partition(".")[0])
        scanned = self.facts(name) if name in self.index.modules else None
        if scanned is None or not scanned.all_names:
            return record
        submodules = tuple(n for n in scanned.all_names if f"{name}.{n}" in self.index.modules)
        return record._replace(names=("*", *submodules)) if submodules else record
