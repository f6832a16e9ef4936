"""What `uv sync --no-dev` installs for each local project (the project, workspace members, path
dependencies), with the extras a target chooses: the reference that depmin's pins never exceed.

- `installed`: its main dependencies and the chosen extras', walked through uv.lock (a member it
  depends on brings that member's main dependencies too);
- `features`: what only one of its extras would install, with that extra (`project[extra]`);
- `groups`: what only a dependency group (`dev`) holds: never installed, never in an image.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from depmin.lock.closure import select
from depmin.lock.markers import in_scope
from depmin.lock.model import Dependency, LockedPackage, LockFile
from depmin.model import Target

# (project, extra) → whether the target chooses it (--extra NAME, --all-extras, a target's extras)
ExtraChoice = Callable[[str, str], bool]


@dataclass(frozen=True)
class ProjectReference:
    installed: frozenset[str]
    features: Mapping[str, tuple[str, ...]]  # distribution → the extras that would install it
    groups: Mapping[str, tuple[str, ...]]  # distribution → the dependency groups that hold it

    def installs(self, name: str) -> bool:
        return name in self.installed


def references(lock: LockFile, target: Target, chosen: ExtraChoice) -> dict[str, ProjectReference]:
    """Every local project's reference, by its (normalised) name."""
    found = {}
    for project in lock.local_packages:
        roots = list(project.dependencies)
        for extra, dependencies in sorted(project.optional_dependencies.items()):
            if chosen(project.name, extra):
                roots += dependencies
        installed = _walk(lock, target, roots)
        features: dict[str, set[str]] = {}
        for extra, dependencies in sorted(project.optional_dependencies.items()):
            if not chosen(project.name, extra):
                for name in _walk(lock, target, dependencies) - installed:
                    features.setdefault(name, set()).add(f"{project.name}[{extra}]")
        groups: dict[str, set[str]] = {}
        for group, dependencies in sorted(project.dependency_groups.items()):
            for name in _walk(lock, target, dependencies) - installed:
                groups.setdefault(name, set()).add(f"{project.name}:{group}")
        found[project.name] = ProjectReference(
            installed,
            {name: tuple(sorted(labels)) for name, labels in features.items()},
            {name: tuple(sorted(labels)) for name, labels in groups.items()},
        )
    return found


def whole(found: Mapping[str, ProjectReference]) -> ProjectReference:
    """The reference of code that no local project owns: what syncing every project installs."""
    installed = frozenset().union(*(r.installed for r in found.values()))
    features: dict[str, set[str]] = {}
    groups: dict[str, set[str]] = {}
    for reference in found.values():
        for name, labels in reference.features.items():
            if name not in installed:
                features.setdefault(name, set()).update(labels)
        for name, labels in reference.groups.items():
            if name not in installed:
                groups.setdefault(name, set()).update(labels)
    return ProjectReference(
        installed,
        {n: tuple(sorted(v)) for n, v in features.items()},
        {n: tuple(sorted(v)) for n, v in groups.items() if n not in features},
    )


def requested_extras(
    lock: LockFile, target: Target, projects: Iterable[LockedPackage], chosen: ExtraChoice
) -> dict[str, frozenset[str]]:
    """Every package that installing `projects` (with the extras the target chooses of them)
    brings in through uv.lock, with the extras requested of it, however deep: `web` requiring
    `core[fast]`, or `tool` requiring `mid` requiring `core[dates]`, as `uv sync --package` has it."""
    roots: list[Dependency] = []
    for project in projects:
        roots += project.dependencies
        for extra, dependencies in sorted(project.optional_dependencies.items()):
            if chosen(project.name, extra):
                roots += dependencies
    reached = _reached(lock, target, roots)
    return {name: frozenset(canonicalize_name(e) for e in extras if e) for name, extras in reached.items()}


def _walk(lock: LockFile, target: Target, roots: Iterable[Dependency]) -> frozenset[str]:
    """Every distribution `roots` bring in for the target, local projects' main dependencies included."""
    return frozenset(_reached(lock, target, roots))


def _reached(lock: LockFile, target: Target, roots: Iterable[Dependency]) -> dict[str, set[str]]:
    """What `roots` bring in for the target: name → the extras requested of it ("" for itself)."""
    seen: dict[str, set[str]] = {}  # name → extras already followed ("" for the package itself)
    queue: deque[tuple[LockedPackage, tuple[str, ...]]] = deque()

    def reach(dependency: Dependency) -> None:
        if not in_scope(dependency.marker, target):
            return
        package = select(lock, dependency.name, dependency.version, target)
        if package is None:
            return
        wanted = {"", *dependency.extras}
        done = seen.setdefault(package.name, set())
        if not wanted <= done:
            done.update(wanted)
            queue.append((package, tuple(sorted(wanted))))

    for dependency in roots:
        reach(dependency)
    while queue:
        package, extras = queue.popleft()
        for dependency in package.dependencies:
            reach(dependency)
        for extra in extras:
            for dependency in package.optional_dependencies.get(extra, ()):
                reach(dependency)
    return seen
