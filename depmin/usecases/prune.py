"""An Analysis → a pruned repository (`turbo prune` for uv): the kept projects' pyproject files,
uv.lock cut to what they reach, and the closure's files, so that `uv lock --check` passes there
and `uv sync --frozen --no-dev` installs exactly the pins, the first-party projects built by uv."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import tomli_w
from packaging.utils import canonicalize_name

from depmin.errors import Code, Diagnostic
from depmin.files.reading import read_regular, resolves_inside
from depmin.imports.copy_plan import planned_files
from depmin.lock.closure import pinned_closure
from depmin.lock.markers import in_scope
from depmin.lock.model import LockedPackage, LockFile
from depmin.lock.prune import ProjectCut, pruned_lock_text
from depmin.model import Target
from depmin.project.config import key_line
from depmin.project.prune import pruned_pyproject

if TYPE_CHECKING:
    from depmin.analysis import Analysis

# The two trees of `depmin prune --docker` (as turbo names them), relative to the build context.
MANIFEST_TREE = "json"  # pyproject files and uv.lock only: the cached `uv sync --no-install-workspace` layer
SOURCE_TREE = "full"  # everything
PYPROJECT = "pyproject.toml"
LOCK = "uv.lock"
# Files of the root that uv reads when it syncs: the interpreter request and uv's own settings.
_ROOT_SETTINGS = (".python-version", "uv.toml")


@dataclass(frozen=True)
class PrunedTree:
    """The pruned repository: path (relative to it) → bytes, and what uv installs there."""

    files: Mapping[str, bytes]
    manifests: tuple[str, ...]  # the pyproject files, uv.lock and uv's settings: the `json/` layer
    projects: tuple[str, ...]  # the kept local projects, built and installed by uv
    extras: tuple[str, ...]  # the chosen extras: `uv sync --extra` for each
    installs: tuple[tuple[str, str], ...]  # (name, version) that uv installs for the target besides the projects
    problems: tuple[Diagnostic, ...]


def prune(analysis: Analysis, root: Path, lock_path: Path, chosen_extras: frozenset[str],
          excludes: tuple[str, ...]) -> PrunedTree:  # fmt: skip
    closure, lock = analysis.closure, analysis.lock
    problems: list[Diagnostic] = []
    text = read_regular(lock_path, limit=1 << 30).decode("utf-8")
    projects = _kept_projects(lock, {d.name for d in closure.local_distributions})
    pinned = {pin.name: pin.version for pin in closure.pinned}
    extras = _requested_extras(projects, chosen_extras)
    cuts = {p.name: _cut(p, lock, pinned, projects, extras[p.name], closure.target) for p in projects.values()}
    installs = _installs(lock, cuts, closure.target)
    missing = sorted(set(pinned) - {name for name, _ in installs})
    if missing:  # imported, but declared by nothing kept (it came with a dependency that is not)
        first = _root_project(projects)
        cuts[first] = _with_added(cuts[first], [(name, pinned[name]) for name in missing])
        installs = _installs(lock, cuts, closure.target)
    for name, version in sorted(set(installs) - set(pinned.items())):
        problems.append(Diagnostic(lock.path, 0, f"the pruned lock also installs {name} {version}, which "
                                   "depmin does not pin", code=Code.LOCK_PLATFORM))  # fmt: skip
    files: dict[str, bytes] = {}
    manifests: list[str] = []
    for source, _ in planned_files(root, closure, excludes):
        files[source.relative_to(root).as_posix()] = read_regular(source, limit=1 << 30)
    for pin in closure.pinned:  # a wheel or sdist the lock takes from the repository itself
        if pin.local_file and resolves_inside(root, root / pin.local_file):
            files[pin.local_file] = read_regular(root / pin.local_file, limit=1 << 30)
            manifests.append(pin.local_file)
    present = _Presence(files)
    members = tuple(sorted(d for d in (_directory(p) for p in projects.values()) if d != "."))
    for package in projects.values():
        directory = _directory(package)
        source = root / directory / PYPROJECT
        pyproject = tomllib.loads(read_regular(source).decode("utf-8"))
        result = pruned_pyproject(
            pyproject, cuts[package.name], members if directory == "." else None, present.under(directory)
        )
        shown = _join(directory, PYPROJECT)
        problems += [
            Diagnostic(shown, key_line(source, key), f"{key}: {why}", code=Code.CONFIG) for key, why in result.problems
        ]
        files[shown] = _header(package.name) + tomli_w.dumps(result.data).encode("utf-8")
        manifests.append(shown)
        for name in result.files:
            path = _join(directory, name)
            if (root / path).is_file() and resolves_inside(root, root / path):
                files[path] = read_regular(root / path, limit=1 << 30)
    if "." not in {_directory(p) for p in projects.values()}:
        problems.append(Diagnostic(PYPROJECT, 0, "the workspace root has no [project]: not pruned", code=Code.CONFIG))
    files[LOCK] = pruned_lock_text(text, lock, cuts).encode("utf-8")
    manifests.append(LOCK)
    for name in _ROOT_SETTINGS:
        if (root / name).is_file():
            files[name] = read_regular(root / name)
            manifests.append(name)
    return PrunedTree(
        files=dict(sorted(files.items())),
        manifests=tuple(sorted(manifests)),
        projects=tuple(sorted(projects)),
        extras=tuple(sorted(chosen_extras)),
        installs=tuple(sorted(installs)),
        problems=tuple(problems),
    )


def _header(name: str) -> bytes:
    return f"# Pruned by depmin from {name}'s pyproject.toml: only what the target needs.\n".encode()


def _join(directory: str, path: str) -> str:
    return str(PurePosixPath(directory, path)) if directory not in ("", ".") else str(PurePosixPath(path))


class _Presence:
    """Whether a root-relative file or directory is part of the pruned tree."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.paths = set(files)
        self.directories = {str(parent) for path in files for parent in PurePosixPath(path).parents}

    def __call__(self, path: str) -> bool:
        normal = os.path.normpath(path).replace(os.sep, "/")
        return normal in self.paths or normal in self.directories

    def under(self, directory: str) -> Callable[[str], bool]:
        """The same question for paths relative to a project's directory."""
        return lambda path: self(_join(directory, path))


def _directory(package: LockedPackage) -> str:
    return os.path.normpath(package.source_path or ".").replace(os.sep, "/")


def _kept_projects(lock: LockFile, needed: set[str]) -> dict[str, LockedPackage]:
    """The local projects whose code the closure copies, and the workspace root."""
    kept = {}
    for package in lock.local_packages:
        if package.name in needed or _directory(package) == ".":
            kept[package.name] = package
    return dict(sorted(kept.items()))


def _root_project(projects: Mapping[str, LockedPackage]) -> str:
    return next((name for name, p in projects.items() if _directory(p) == "."), next(iter(projects)))


def _requested_extras(projects: Mapping[str, LockedPackage], chosen: frozenset[str]) -> dict[str, frozenset[str]]:
    """Each kept project's extras that the install chooses: those the user chose, and those a kept
    project's requirement of it asks for (`app` requiring `lib[postgres]`), as uv installs them."""
    extras: dict[str, frozenset[str]] = {
        name: frozenset(str(canonicalize_name(e)) for e in p.optional_dependencies) & chosen
        for name, p in projects.items()
    }
    changed = True
    while changed:
        changed = False
        for package in projects.values():
            edges = [*package.dependencies,
                     *(d for e in extras[package.name] for d in package.optional_dependencies.get(e, ()))]  # fmt: skip
            for edge in edges:
                if edge.name in projects and edge.name != package.name:
                    wanted = extras[edge.name] | (set(edge.extras) & set(projects[edge.name].optional_dependencies))
                    if wanted != extras[edge.name]:
                        extras[edge.name], changed = frozenset(wanted), True
    return extras


def _cut(package: LockedPackage, lock: LockFile, pinned: Mapping[str, str], projects: Mapping[str, LockedPackage],
         extras: frozenset[str], target: Target) -> ProjectCut:  # fmt: skip
    """What a kept project still declares: its dependencies that are pinned or kept, each with the
    extras whose target dependencies are all pinned."""
    declared = [*package.dependencies, *(d for e in package.optional_dependencies.values() for d in e)]
    keep = frozenset(d.name for d in declared if d.name in pinned or d.name in projects)
    narrowed: dict[str, tuple[str, ...]] = {}
    for requirement in package.requires_dist:
        if requirement.name not in keep or requirement.name in projects or not requirement.extras:
            continue
        wanted = tuple(e for e in requirement.extras if _extra_pinned(lock, requirement.name, e, pinned, target))
        if wanted != requirement.extras:
            narrowed[requirement.name] = wanted
    return ProjectCut(package.name, keep, extras, narrowed)


def _extra_pinned(lock: LockFile, name: str, extra: str, pinned: Mapping[str, str], target: Target) -> bool:
    for package in lock.by_name.get(name, ()):
        if package.version == pinned.get(name):
            return all(
                d.name in pinned or not in_scope(d.marker, target) for d in package.optional_dependencies.get(extra, ())
            )
    return False


def _with_added(cut: ProjectCut, added: list[tuple[str, str]]) -> ProjectCut:
    from dataclasses import replace

    return replace(cut, keep=cut.keep | {name for name, _ in added}, added=(*cut.added, *added))


def _installs(lock: LockFile, cuts: Mapping[str, ProjectCut], target: Target) -> tuple[tuple[str, str], ...]:
    """What `uv sync --frozen --no-dev` of the pruned tree installs for the target, besides the projects."""
    direct: dict[str, tuple[str, ...]] = {}
    for cut in cuts.values():
        package = next(p for p in lock.by_name[cut.name] if lock.is_local(p.name))
        edges = [*package.dependencies, *(d for e in cut.extras for d in package.optional_dependencies.get(e, ()))]
        for edge in edges:
            if edge.name in cut.keep and in_scope(edge.marker, target) and not lock.is_local(edge.name):
                extras = cut.narrowed.get(edge.name, edge.extras)
                direct[edge.name] = tuple(sorted({*direct.get(edge.name, ()), *extras}))
        for name, _ in cut.added:
            direct.setdefault(name, ())
    pins = pinned_closure(lock, direct, target).pins
    return tuple(sorted((pin.name, pin.version) for pin in pins))
