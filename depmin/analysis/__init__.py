"""discover → scan → graph → resolve → lock: one analysis, as data.

The only I/O here is reading the repository (sources, uv.lock, installed metadata) and
depmin's own scan cache. Writing outputs and printing belong to the commands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from depmin.analysis.assemble import Context, assemble
from depmin.analysis.extras import provided_by, target_install, target_projects
from depmin.analysis.inputs import Request, entry_modules, script_directories, script_files
from depmin.analysis.lazy_attributes import defer_lazy_attributes
from depmin.analysis.walk import WalkSettings, walk
from depmin.analysis.workspace import Workspace
from depmin.errors import Code, Diagnostic, Severity
from depmin.files.reading import display_path
from depmin.imports.distributions import DistributionFinder
from depmin.imports.graph import ImportGraph, Layers
from depmin.imports.stdlib import is_stdlib
from depmin.lock.declarations import lock_mismatches
from depmin.lock.model import LockFile
from depmin.lock.parse import read_lock
from depmin.model import Closure, Pin
from depmin.project.config import Project
from depmin.project.local_distributions import file_owner
from depmin.project.module_index import ModuleIndex

__all__ = ["Analysis", "Request", "Workspace", "analyse"]


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
    # the entry modules a program starts from (Entries.starts), and the console scripts' modules
    # among the entries: what verify imports alone, each in a fresh interpreter
    starts: tuple[str, ...] = ()


def analyse(project: Project, request: Request, lock: LockFile | None = None,
            workspace: Workspace | None = None) -> Analysis:  # fmt: skip
    """Raises LockError when uv.lock is missing or malformed; everything else is a diagnostic.
    Analyses that share a `workspace` share what does not depend on their entries."""
    if lock is None:
        lock = (
            workspace.lock if workspace else read_lock(request.lock_path, display_path(project.root, request.lock_path))
        )
    if workspace is None or workspace.lock is not lock or workspace.project is not project:
        workspace = Workspace(project, lock)
    scripts = script_directories(project.root, request.entries)
    # `python examples/web/server.py`: the script's directory comes first on sys.path
    roots = workspace.roots()
    index = workspace.index(
        (*scripts, *roots),
        script_files(project.root, request.entries),
        tuple(s.path for s in scripts if s not in roots),
    )
    diagnostics: list[Diagnostic] = []
    if request.lock_path.resolve().parent == project.root.resolve():  # the project's own lock, as uv checks it
        diagnostics += [
            Diagnostic(lock.path, 0, m, Severity.WARNING, Code.LOCK_STALE)
            for m in lock_mismatches(lock, project.pyproject)
        ]
    names = workspace.finder(request)
    resolver = workspace.resolver(index, names, request.target.python)
    entries = entry_modules(project.root, index, request.entries, request.excludes)
    owner = file_owner(lock, project.pyproject)
    projects = target_projects(lock, owner, (index.modules[m].path for m in entries.modules))
    install = target_install(lock, request.target, request.extra_choice, projects)
    settings = WalkSettings(
        root=project.root,
        target=request.target,
        cache=request.cache,
        hidden_imports=request.hidden_imports,
        ignore=request.ignore,
        entry_points=workspace.entry_points(),
        declared_for=workspace.declared_for,
        provided=provided_by(install.references, owner),
        on_scanned=request.on_scanned,
    )
    walked = walk(
        index,
        resolver,
        entries.modules,
        settings,
        memo=workspace.memo(resolver, request.target),
        store=workspace.store(resolver, request.target, request.cache),
    )
    defer_lazy_attributes(walked.graph, index, project.root)
    layers = walked.graph.layers()
    context = Context(project, request, lock, index, names, entries, install)
    closure, optional_pins = assemble(context, walked, layers, diagnostics)
    named_imports = tuple(sorted({n for n in walked.named if not is_stdlib(n, request.target.python)}))
    closure = replace(closure, ignored=tuple(sorted(set(walked.ignored))), named_imports=named_imports)
    starts = (*entries.starts, *script_modules(workspace.entry_points(), entries.modules))
    return Analysis(closure, walked.graph, layers, lock, index, names, optional_pins, tuple(dict.fromkeys(starts)))


def script_modules(entry_points: dict[str, tuple[str, ...]], modules: tuple[str, ...]) -> tuple[str, ...]:
    """The modules of the console and GUI scripts that are among `modules`."""
    wanted = set(modules)
    values = (*entry_points.get("console_scripts", ()), *entry_points.get("gui_scripts", ()))
    found = (value.partition(":")[0].strip() for value in values)
    return tuple(sorted({module for module in found if module in wanted}))
