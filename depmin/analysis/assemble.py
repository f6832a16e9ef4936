"""The walked graph → the Closure: modules and files by layer, requirements with the places
that import them, pins from uv.lock, the COPY plan, and the local distributions."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.utils import canonicalize_name

from depmin.analysis import checks
from depmin.analysis.extras import TargetInstall, command_requirements, judge, labelled
from depmin.analysis.inputs import Entries, Request
from depmin.analysis.walk import Walk
from depmin.errors import Code, Diagnostic, Severity
from depmin.files.reading import display_path, resolves_inside
from depmin.files.safety import is_plain_path
from depmin.imports.copy_plan import copy_paths, package_data
from depmin.imports.distributions import DistributionFinder
from depmin.imports.graph import DistributionNode, ImportGraph, Layers, UnresolvedNode
from depmin.lock.closure import pinned_closure, select
from depmin.lock.declarations import declared_extras, declared_names
from depmin.lock.model import LockFile
from depmin.model import Closure, Pin, Reach, Requirement, Target, Via, via_order
from depmin.project.config import Project
from depmin.project.local_distributions import file_owner, image_path, local_distributions
from depmin.project.module_index import ModuleIndex, SourceRoot


@dataclass(frozen=True)
class Context:
    """Everything the assembly reads besides the walk."""

    project: Project
    request: Request
    lock: LockFile
    index: ModuleIndex
    finder: DistributionFinder
    entries: Entries
    install: TargetInstall  # what the target's own install requests: the extras it chooses


def assemble(
    context: Context, walked: Walk, layers: Layers, diagnostics: list[Diagnostic]
) -> tuple[Closure, tuple[Pin, ...]]:
    """The closure, and the pins with the optional distributions added (for explanations)."""
    project, request, lock, index = context.project, context.request, context.lock, context.index
    graph, target = walked.graph, request.target
    runtime_modules = sorted(n for n in layers.runtime if isinstance(n, str) and n in index.modules)
    declared = frozenset(declared_names(lock))

    choose = context.install.chooses
    # A distribution the target's own install brings in: with the extras its local projects request
    # of it (examples' mcp[cli] is not clai's); another one: with those any member requests.
    installed, own = (
        context.install.requested,
        declared_extras(lock, target, choose, context.install.local_projects(lock)),
    )
    extras = {n: e for n, e in declared_extras(lock, target, choose).items() if n not in installed} | own
    reference, owner = context.install.references, file_owner(lock, project.pyproject)
    required = requirements(graph, layers, Reach.REQUIRED, lock, target, extras)
    judged = judge(required, reference, owner, graph.at_start())
    direct = judged.required
    guarded = labelled(requirements(graph, layers, Reach.OPTIONAL, lock, target, extras), reference, owner)
    optional = _merged(guarded, judged.features)
    type_only = requirements(graph, layers, Reach.TYPE_ONLY, lock, target, extras)

    wanted = {r.name: r.extras for r in direct if r.version is not None}
    chosen = {canonicalize_name(n) for n in request.optional_names}
    for r in optional:
        if r.version is not None and (request.include_optional or r.name in chosen):
            wanted[r.name] = r.extras
    pinned = pinned_closure(lock, wanted, target, with_hashes=request.hashes)
    commanded, command_problems = command_requirements(
        request.commands, context.finder.console_script, {p.name for p in pinned.pins}, lock.versions
    )
    if commanded:  # the smoke command's executable comes from a distribution nothing imports
        direct = tuple(sorted((*direct, *commanded), key=lambda r: r.name))
        wanted.update((r.name, ()) for r in commanded)
        pinned = pinned_closure(lock, wanted, target, with_hashes=request.hashes)
    pins, file_problems = local_files(pinned.pins, project.root, request.lock_path.parent, lock.path)
    with_optional = {r.name: extras.get(r.name, ()) for r in (*direct, *optional) if r.version is not None}
    optional_pins = (
        pinned.pins if with_optional.keys() == wanted.keys() else pinned_closure(lock, with_optional, target).pins
    )

    files = sorted({index.modules[m].path for m in runtime_modules})
    data = package_data(project.root, index, runtime_modules, request.excludes) if request.package_data else []
    copy, copy_problems = copy_paths(project.root, index, [*files, *data], request.excludes, request.data)
    used_roots = [r for r in index.roots if _root_used(r, index, runtime_modules)]
    local, local_problems = local_distributions(project.root, lock, project.pyproject, files)
    used = {p.name for p in pinned.pins} | {r.name for r in (*optional, *type_only)}

    diagnostics = [
        *diagnostics,
        *context.entries.problems,
        *checks.index_problems(index, context.entries.directories, set(runtime_modules)),
        *checks.scan_problems(walked.problems, layers),
        *checks.shadowing(index, context.finder, runtime_modules, target.python),
        *checks.one_file_two_names(index, runtime_modules),
        *checks.unresolved(graph, layers, context.finder.without_facts()),
        *checks.unneeded_optional(chosen, optional),
        *checks.undeclared(direct, declared),
        *judged.diagnostics,
        *command_problems,
        *pinned.diagnostics,
        *file_problems,
        *copy_problems,
        *local_problems,
        *checks.declared_not_imported(lock, local, target, used),
    ]
    silenced = set(request.ignore_codes)
    kept = [d for d in diagnostics if d.code not in silenced]
    closure = Closure(
        entries=request.entries,
        target=target,
        modules=tuple(runtime_modules),
        files=tuple(files),
        package_data=tuple(data),
        copy=tuple(copy),
        direct=direct,
        optional=optional,
        type_only=type_only,
        pinned=pins,
        source_roots=tuple(r.path or "." for r in used_roots),
        image_path=image_path(used_roots),
        local_distributions=local,
        warnings=tuple(sorted({d for d in kept if d.severity is Severity.WARNING})),
        errors=tuple(sorted({d for d in kept if d.severity is Severity.ERROR})),
    )
    return closure, optional_pins


def local_files(
    pins: tuple[Pin, ...], root: Path, lock_directory: Path, lock_display: str
) -> tuple[tuple[Pin, ...], list[Diagnostic]]:
    """Pins of wheels or sdists the lock takes from the repository (`source = { path = ... }`),
    with their paths made relative to the project root; one outside the root, or one no output
    can carry, is an error: the image would install something else under that name."""
    found, problems = [], []
    for pin in pins:
        if not pin.local_file:
            found.append(pin)
            continue
        path = lock_directory / pin.local_file
        relative = display_path(root, path)
        if not resolves_inside(root, path) or relative.startswith("/") or not is_plain_path(relative):
            message = f"{pin.name} is locked from the file {pin.local_file!r}, which lies outside the project root"
            problems.append(Diagnostic(lock_display, 0, message, code=Code.UNSAFE_OUTPUT))
            continue
        found.append(replace(pin, local_file=relative))
    return tuple(found), problems


def _merged(optional: tuple[Requirement, ...], features: tuple[Requirement, ...]) -> tuple[Requirement, ...]:
    """Guarded imports and optional features as one list: a name in both keeps every place."""
    by_name = {r.name: r for r in optional}
    for feature in features:
        known = by_name.get(feature.name)
        if known is None:
            by_name[feature.name] = feature
        else:
            vias = tuple(sorted({*known.via, *feature.via}, key=via_order))
            by_name[feature.name] = replace(
                known, via=vias, features=tuple(sorted({*known.features, *feature.features}))
            )
    return tuple(by_name[name] for name in sorted(by_name))


def _root_used(root: SourceRoot, index: ModuleIndex, modules: Iterable[str]) -> bool:
    return any(index.modules[m].root == root for m in modules)


# Which layer's nodes a reach lists, and which importers of them count as its places.
def _layer(layers: Layers, reach: Reach) -> tuple[frozenset[Hashable], frozenset[Hashable]]:
    if reach is Reach.REQUIRED:
        return layers.required, layers.required
    if reach is Reach.OPTIONAL:
        return layers.optional, layers.runtime
    return layers.type_only, layers.runtime | layers.type_only


def requirements(
    graph: ImportGraph, layers: Layers, reach: Reach, lock: LockFile, target: Target, extras: dict[str, tuple[str, ...]]
) -> tuple[Requirement, ...]:
    """The distributions of one layer, each with every place (of the layer's importers) that imports it."""
    layer, importers = _layer(layers, reach)
    vias_by_name: dict[str, set[Via]] = {}
    versions: dict[str, str | None] = {}
    for node in layer:
        if isinstance(node, DistributionNode):
            name = node.name
            package = select(lock, name, None, target)
            versions[name] = package.version if package else None
        elif isinstance(node, UnresolvedNode) and reach is not Reach.REQUIRED:
            if node.candidates or node.reason or node.first_party:
                continue  # ambiguities and broken first-party imports are diagnostics
            name = canonicalize_name(node.name.partition(".")[0])  # not locked: reported, never pinned
            versions.setdefault(name, None)
        else:
            continue  # required-but-missing is a diagnostic
        places = vias_by_name.setdefault(name, set())
        for source in graph.predecessors(node):
            if source in importers:
                places.update(via for via in graph.vias(source, node) if reach.admits(via))
    return tuple(
        Requirement(
            name=name,
            version=versions[name],
            extras=extras.get(name, ()) if versions[name] is not None else (),
            via=tuple(sorted(vias_by_name[name], key=via_order)),
        )
        for name in sorted(vias_by_name)
    )
