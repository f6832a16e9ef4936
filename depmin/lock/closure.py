"""The pinned closure: uv.lock walked from the direct distributions for one target.

Pins, extras, markers and hashes come from uv.lock only; depmin never resolves.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from depmin.errors import Code, Diagnostic, Severity
from depmin.lock.declarations import all_dependencies
from depmin.lock.markers import in_scope, marker_matters
from depmin.lock.model import Dependency, LockedPackage, LockFile
from depmin.model import PYPI, Pin, Target


def select(lock: LockFile, name: str, version: str | None, target: Target) -> LockedPackage | None:
    """The lock entry for `name` that the target installs, where the lock forks."""
    candidates = lock.by_name.get(name, ())
    if version is not None:
        candidates = tuple(p for p in candidates if p.version == version)
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for package in candidates:
        if any(in_scope(m, target) for m in package.resolution_markers):
            return package
    return candidates[0]


@dataclass(frozen=True)
class PinnedClosure:
    pins: tuple[Pin, ...]
    diagnostics: tuple[Diagnostic, ...]


def pinned_closure(
    lock: LockFile, direct: Mapping[str, tuple[str, ...]], target: Target, *, with_hashes: bool = False
) -> PinnedClosure:
    """Walk uv.lock from the direct distributions (name → extras) for one target environment."""
    diagnostics: list[Diagnostic] = []
    parents: dict[tuple[str, str], set[str]] = {}
    conditional: dict[tuple[str, str], str | None] = {}
    chosen: dict[tuple[str, str], LockedPackage] = {}
    done: dict[tuple[str, str], set[str]] = {}
    queue: deque[tuple[LockedPackage, tuple[str, ...]]] = deque()

    def reach(dependency: Dependency, parent: str) -> None:
        if not in_scope(dependency.marker, target):
            return
        package = select(lock, dependency.name, dependency.version, target)
        if package is None:
            diagnostics.append(
                Diagnostic(
                    lock.path,
                    0,
                    f"{parent or 'the project'} depends on {dependency.name}, which uv.lock does not hold",
                    code=Code.LOCK_PLATFORM,
                )
            )
            return
        if lock.is_local(package.name):
            return  # first-party: its code is copied, not installed
        key = (package.name, package.version)
        chosen[key] = package
        parents.setdefault(key, set()).add(parent)
        marker = dependency.marker if marker_matters(dependency.marker, target) else None
        conditional[key] = None if key in conditional and conditional[key] is None else marker
        seen = done.setdefault(key, set())
        wanted = set(dependency.extras) | {""}
        if not wanted <= seen:
            seen.update(wanted)
            queue.append((package, tuple(sorted(wanted))))

    elsewhere: dict[str, str] = {}  # imported, but declared only for other platforms or Pythons
    for name in sorted(direct):
        declarations = [d for m in lock.member_packages for d in all_dependencies(m) if d.name == name]
        if declarations and not any(in_scope(d.marker, target) for d in declarations):
            elsewhere[name] = " or ".join(sorted({d.marker or "" for d in declarations}))
            continue
        reach(Dependency(name, _member_pinned_version(lock, name, target), direct[name], None), "")
    while queue:
        package, extras = queue.popleft()
        for dependency in package.dependencies:
            reach(dependency, package.name)
        for extra in extras:
            if extra and extra not in package.optional_dependencies:
                diagnostics.append(
                    Diagnostic(
                        lock.path,
                        0,
                        f"{package.name} {package.version} has no extra [{extra}] in uv.lock",
                        Severity.WARNING,
                        Code.LOCK_PLATFORM,
                    )
                )
            for dependency in package.optional_dependencies.get(extra, ()):
                reach(dependency, package.name)

    pinned_names = {package.name for package in chosen.values()}
    for name, markers in sorted(elsewhere.items()):
        if name not in pinned_names:  # another pinned distribution may bring it in after all
            diagnostics.append(
                Diagnostic(
                    lock.path,
                    0,
                    f"{name} is imported, but the project installs it only where {markers}; "
                    f"not pinned for {target.platform.name}, Python {target.python_version}",
                    Severity.WARNING,
                    Code.LOCK_PLATFORM,
                )
            )
    pins = tuple(
        Pin(
            name=package.name,
            version=package.version,
            marker=conditional[key],
            parents=tuple(sorted(parents[key])),
            hashes=package.hashes if with_hashes else (),
            source=_requirement_source(package),
            index=without_credentials(package.source_url)
            if package.source_kind == "registry" and package.source_url
            else PYPI,
            local_file=package.source_path or "" if package.source_kind == "path" else "",
        )
        for key, package in sorted(chosen.items())
    )
    return PinnedClosure(pins, tuple(diagnostics))


def _requirement_source(package: LockedPackage) -> str:
    """What goes after `name @` for a package that does not come from an index ("" when it does),
    the way `uv export` writes it: git at the locked commit, a URL as locked."""
    if package.source_kind == "git" and package.source_url:
        base, _, commit = package.source_url.partition("#")
        base = without_credentials(base)
        return f"git+{base.partition('?')[0]}@{commit}" if commit else f"git+{base}"
    if package.source_kind == "url" and package.source_url:
        return without_credentials(package.source_url)
    return ""


def without_credentials(url: str) -> str:
    """The URL without a `user:password@` part: as `uv export` writes it, credentials come from
    the environment or a netrc at install time, never from a generated file."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _member_pinned_version(lock: LockFile, name: str, target: Target) -> str | None:
    """Where the lock forks, the members' dependency entries say which version applies."""
    if len(lock.by_name.get(name, ())) <= 1:
        return None
    for member in lock.member_packages:
        for dependency in all_dependencies(member):
            if dependency.name == name and dependency.version and in_scope(dependency.marker, target):
                return dependency.version
    return None
