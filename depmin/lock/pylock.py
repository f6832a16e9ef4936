"""A PEP 751 lock (pylock.toml, as `uv export --format pylock.toml`, pdm or pip write one) →
LockFile, so projects not locked by uv can use depmin.

A pylock names the packages and their artifacts, and each package's `marker`, but PEP 751 makes
its dependency graph optional (uv leaves it out). The graph comes from each package's own
metadata instead: its Requires-Dist, read from the locked artifact by the caller (depmin's cache
of artifact facts, uv's cache, the index) and given to `pylock_lock`. The local projects
(`directory` packages, and the root) are described by their pyproject.toml, as uv.lock's members
are by what they declared."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depmin.errors import LockError
from depmin.files.reading import toml_error
from depmin.files.safety import breaks_line, is_distribution_name, is_hash, is_version
from depmin.lock.declarations import declared_in_pyproject
from depmin.lock.model import Artifact, Dependency, LockedPackage, LockFile
from depmin.lock.parse import lock_from_packages

_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class PylockPackage:
    package: LockedPackage  # without dependencies: they come from its metadata
    line: int
    dependencies: tuple[str, ...] | None  # `dependencies` where the pylock records them (names)


@dataclass(frozen=True)
class Pylock:
    path: str
    requires_python: str
    packages: tuple[PylockPackage, ...]
    directories: tuple[str, ...]  # the local projects' directories, relative to the pylock


def parse_pylock(content: bytes, display: str) -> Pylock:
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line, message = toml_error(exc)
        raise LockError(display, line, f"malformed pylock.toml: {message}") from None
    except UnicodeDecodeError as exc:
        raise LockError(display, 0, f"cannot read pylock.toml: {exc}") from None
    version = data.get("lock-version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise LockError(display, _line_of(content, "lock-version"), "not a PEP 751 lock of version 1.x (lock-version)")
    headers = [n for n, line in enumerate(content.decode("utf-8").splitlines(), 1) if line.strip() == "[[packages]]"]
    raw_packages = data.get("packages", [])
    if not isinstance(raw_packages, list):
        raise LockError(display, 0, "malformed pylock.toml: `packages` must be an array of tables")
    packages, directories = [], []
    for number, raw in enumerate(raw_packages):
        line = headers[number] if number < len(headers) else 0
        try:
            found = _package(raw)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise LockError(display, line, f"malformed pylock.toml: {exc}") from None
        if isinstance(found, str):
            directories.append(found)
        else:
            dependencies = raw.get("dependencies")
            names = tuple(_name(d.get("name")) for d in dependencies) if isinstance(dependencies, list) else None
            packages.append(PylockPackage(found, line, names))
    requires_python = data.get("requires-python", "")
    if not isinstance(requires_python, str) or breaks_line(requires_python):
        raise LockError(display, _line_of(content, "requires-python"), "malformed pylock.toml: requires-python")
    return Pylock(display, requires_python, tuple(packages), tuple(directories))


def _line_of(content: bytes, key: str) -> int:
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
        if line.startswith(f"{key} ="):
            return number
    return 0


def _name(value: object) -> str:
    if not isinstance(value, str) or not is_distribution_name(value):
        raise ValueError(f"invalid package name {value!r}")
    return canonicalize_name(value)


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or breaks_line(value) or "$" in value:
        raise ValueError(f"invalid {what} {value!r}")
    return value


def _package(raw: Mapping[str, Any]) -> LockedPackage | str:
    """The package, or the directory of a local project (`directory = { path = ... }`)."""
    name = _name(raw.get("name"))
    directory = raw.get("directory")
    if isinstance(directory, dict):
        return _text(directory.get("path"), f"directory of {name}")
    version = raw.get("version")
    if not isinstance(version, str) or not is_version(version):
        raise ValueError(f"package {name}: invalid or missing version {version!r}")
    marker = raw.get("marker")
    if marker is not None:
        try:
            Marker(_text(marker, f"marker of {name}"))
        except InvalidMarker:
            raise ValueError(f"package {name}: invalid marker {marker!r}") from None
    vcs, archive = raw.get("vcs"), raw.get("archive")
    kind, location = "registry", raw.get("index")
    if isinstance(vcs, dict):
        kind, location = "git", f"{_text(vcs.get('url'), 'vcs url')}#{_text(vcs.get('commit-id'), 'commit-id')}"
    elif isinstance(archive, dict):
        kind, location = "url", archive.get("url")
    wheels = tuple(_artifact(w, name) for w in raw.get("wheels", []) or [])
    sdist = _artifact(raw["sdist"], name) if isinstance(raw.get("sdist"), dict) else None
    if isinstance(archive, dict) and not wheels and sdist is None:
        sdist = _artifact(archive, name)
    return LockedPackage(
        name=name,
        version=version,
        source_kind=kind,
        source_path=None,
        dependencies=(),
        optional_dependencies={},
        resolution_markers=(marker,) if marker else (),
        wheels=wheels,
        sdist=sdist,
        source_url=_text(location, f"source of {name}") if location else None,
    )


def _artifact(raw: Mapping[str, Any], package: str) -> Artifact:
    location = _text(raw.get("url") or raw.get("path") or raw.get("name") or "", f"artifact of {package}")
    hashes = raw.get("hashes", {})
    digest = f"sha256:{hashes['sha256']}" if isinstance(hashes, dict) and "sha256" in hashes else None
    if digest is not None and not is_hash(digest):
        raise ValueError(f"package {package}: invalid sha256 {digest!r}")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ValueError(f"package {package}: invalid size {size!r}")
    return Artifact(location.rsplit("/", 1)[-1], digest, size, location)


def requirement_dependencies(
    requires_dist: tuple[str, ...],
) -> tuple[tuple[Dependency, ...], dict[str, tuple[Dependency, ...]]]:
    """Requires-Dist → (dependencies, extra → its dependencies), as uv.lock records a package's.
    An extra's dependency keeps the rest of its marker; `extra == "x"` becomes `extra == ""`,
    which holds wherever the extra is asked for (markers are evaluated with no extra set)."""
    plain: list[Dependency] = []
    optional: dict[str, list[Dependency]] = {}
    for text in requires_dist:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        marker = str(requirement.marker) if requirement.marker else None
        extras_named = {canonicalize_name(e) for e in _EXTRA.findall(marker or "")}
        extras = tuple(sorted(canonicalize_name(e) for e in requirement.extras))
        name = canonicalize_name(requirement.name)
        if not extras_named:
            plain.append(Dependency(name, None, extras, marker))
            continue
        for extra in sorted(extras_named):
            opened = _EXTRA.sub('extra == ""', marker or "")
            optional.setdefault(extra, []).append(Dependency(name, None, extras, opened))
    return tuple(plain), {extra: tuple(found) for extra, found in optional.items()}


def project_package(pyproject: Mapping[str, Any], directory: str) -> LockedPackage | None:
    """A local project as uv.lock would record it, from its pyproject.toml."""
    project = pyproject.get("project")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        return None
    declared = declared_in_pyproject(pyproject)
    dependencies: list[Dependency] = []
    optional: dict[str, list[Dependency]] = {}
    for item in declared:
        found = _EXTRA.findall(item.marker)
        rest = _EXTRA.sub('extra == ""', item.marker) if found else item.marker
        dependency = Dependency(item.name, None, item.extras, rest or None)
        if found:
            optional.setdefault(canonicalize_name(found[0]), []).append(dependency)
        else:
            dependencies.append(dependency)
    groups = pyproject.get("dependency-groups", {})
    dependency_groups: dict[str, tuple[Dependency, ...]] = {}
    for group, texts in groups.items() if isinstance(groups, dict) else ():
        named = []
        for text in texts if isinstance(texts, list) else []:
            if isinstance(text, str):
                try:
                    named.append(Dependency(canonicalize_name(Requirement(text).name), None, (), None))
                except InvalidRequirement:
                    continue
        dependency_groups[canonicalize_name(group)] = tuple(named)
    version = project.get("version")
    return LockedPackage(
        name=canonicalize_name(project["name"]),
        version=version if isinstance(version, str) and is_version(version) else "",
        source_kind="editable" if "build-system" in pyproject else "virtual",
        source_path=directory,
        dependencies=tuple(dependencies),
        optional_dependencies={extra: tuple(found) for extra, found in optional.items()},
        resolution_markers=(),
        wheels=(),
        sdist=None,
        requires_dist=declared,
        dependency_groups=dependency_groups,
    )


def pylock_lock(pylock: Pylock, requires: Mapping[tuple[str, str], tuple[str, ...]],
                projects: tuple[LockedPackage, ...]) -> LockFile:  # fmt: skip
    """The LockFile of a pylock: each package's dependencies from `requires` ((name, version) →
    its Requires-Dist), or from the pylock's own `dependencies` where it records them."""
    packages = []
    for item in pylock.packages:
        package = item.package
        key = (package.name, package.version)
        if key in requires:
            plain, optional = requirement_dependencies(requires[key])
        elif item.dependencies is not None:
            plain, optional = tuple(Dependency(name, None, (), None) for name in item.dependencies), {}
        else:
            raise LockError(pylock.path, item.line, f"{package.name} {package.version}: no dependencies known")
        packages.append(LockedPackage(**{**_fields(package), "dependencies": plain, "optional_dependencies": optional}))
    members = tuple(p.name for p in projects)
    return lock_from_packages(pylock.path, pylock.requires_python, (*projects, *packages), members)


def _fields(package: LockedPackage) -> dict[str, Any]:
    return {name: getattr(package, name) for name in package.__dataclass_fields__}
