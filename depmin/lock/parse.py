"""uv.lock → LockFile. Every value that could reach an output is validated here, once."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depmin.errors import LockError
from depmin.files.reading import NotRegularFile, read_regular, toml_error
from depmin.files.safety import breaks_line, is_distribution_name, is_hash, is_version
from depmin.lock.model import MEMBER_SOURCES, Artifact, Declared, Dependency, LockedPackage, LockFile


def read_lock(path: Path, display: str) -> LockFile:
    try:
        content = read_regular(path)
    except FileNotFoundError:
        raise LockError(display, 0, "no uv.lock here; run `uv lock` first or pass --lock FILE") from None
    except NotRegularFile as exc:
        raise LockError(display, 0, f"cannot read uv.lock: {str(exc).split(': ', 1)[-1]}") from None
    except OSError as exc:
        raise LockError(display, 0, f"cannot read uv.lock: {exc.strerror or exc}") from None
    return parse_lock(content, display)


def parse_lock(content: bytes, display: str) -> LockFile:
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        line, message = toml_error(exc)
        raise LockError(display, line, f"malformed uv.lock: {message}") from None
    except UnicodeDecodeError as exc:
        raise LockError(display, 0, f"cannot read uv.lock: {exc}") from None
    text = content.decode("utf-8")
    if "lock-version" in data:
        raise LockError(display, 0, "a PEP 751 lock: name it pylock.toml or pylock.<name>.toml, as PEP 751 requires")
    if not isinstance(data.get("version"), int) or ("package" not in data and "manifest" not in data):
        message = "not a uv.lock (no `version` and `[[package]]`): depmin reads uv.lock, or a PEP 751 pylock.toml"
        raise LockError(display, 0, message)
    headers = [number for number, line in enumerate(text.splitlines(), 1) if line.strip() == "[[package]]"]
    raw_packages = data.get("package", [])
    if not isinstance(raw_packages, list):
        raise LockError(display, 0, "malformed uv.lock: `package` must be an array of tables")
    packages = []
    for number, raw in enumerate(raw_packages):
        line = headers[number] if number < len(headers) else 0
        try:
            packages.append(_package(raw))
        except _Invalid as exc:
            raise LockError(display, line, f"malformed uv.lock: {exc}") from None
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise LockError(display, line, f"malformed uv.lock: unexpected package entry ({exc})") from None
    manifest = data.get("manifest", {})
    raw_members = manifest.get("members", []) if isinstance(manifest, dict) else None
    if not isinstance(raw_members, list) or not all(
        isinstance(m, str) and is_distribution_name(m) for m in raw_members
    ):
        raise LockError(
            display, _line_of(text, "members"), "malformed uv.lock: manifest.members must be a list of names"
        )
    requires_python = data.get("requires-python", "")
    if not isinstance(requires_python, str) or breaks_line(requires_python):
        raise LockError(
            display, _line_of(text, "requires-python"), "malformed uv.lock: requires-python must be a string"
        )
    members = tuple(canonicalize_name(m) for m in raw_members)
    return lock_from_packages(display, requires_python, tuple(packages), members)


class _Invalid(ValueError):
    """A lock value that must never reach an output: the message names it."""


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith(f"{key} ="):
            return number
    return 0


def _checked_name(value: object, what: str) -> str:
    if not isinstance(value, str) or not is_distribution_name(value):
        raise _Invalid(f"invalid {what} {value!r} (not a PEP 508 name)")
    return canonicalize_name(value)


def _checked_text(value: object, what: str) -> str:
    """A string from the lock that may reach an output: one line, and no `$`, which pip and uv
    expand as an environment variable when they read a requirements file (`${GITHUB_TOKEN}`)."""
    if not isinstance(value, str) or breaks_line(value) or "$" in value:
        raise _Invalid(f"invalid {what} {value!r} (line breaks, control characters and $ are refused)")
    return value


def _checked_marker(value: object, what: str) -> str:
    if not isinstance(value, str) or breaks_line(value) or "$" in value:
        raise _Invalid(f"invalid marker {value!r} for {what}")
    try:
        Marker(value)
        return value
    except InvalidMarker:
        raise _Invalid(f"invalid marker {value!r} for {what}") from None


_DATA_FORMAT = 3  # bumped whenever lock_to_data's shape changes


def lock_to_data(lock: LockFile) -> dict[str, object]:
    """A JSON-ready form of a parsed lock, for the cache (tomllib takes 0.3 s on a 1 MB lock)."""
    return {
        "format": _DATA_FORMAT,
        "requires_python": lock.requires_python,
        "members": list(lock.members),
        "packages": [
            [
                p.name,
                p.version,
                p.source_kind,
                p.source_path,
                [_dependency_data(d) for d in p.dependencies],
                {extra: [_dependency_data(d) for d in deps] for extra, deps in p.optional_dependencies.items()},
                list(p.resolution_markers),
                [[a.filename, a.hash, a.size, a.url] for a in p.wheels],
                [p.sdist.filename, p.sdist.hash, p.sdist.size, p.sdist.url] if p.sdist else None,
                [[d.name, list(d.extras), d.specifier, d.marker] for d in p.requires_dist],
                p.source_url,
                {group: [_dependency_data(d) for d in deps] for group, deps in p.dependency_groups.items()},
            ]
            for p in lock.packages
        ],
    }


def lock_from_data(data: Mapping[str, Any], display: str) -> LockFile:
    """Raises ValueError for data of another format (the caller parses the lock again)."""
    if data.get("format") != _DATA_FORMAT:
        raise ValueError("cached lock of another format")
    packages = tuple(
        LockedPackage(
            name=name,
            version=version,
            source_kind=kind,
            source_path=path,
            dependencies=tuple(Dependency(n, v, tuple(e), m) for n, v, e, m in dependencies),
            optional_dependencies={
                x: tuple(Dependency(n, v, tuple(e), m) for n, v, e, m in d) for x, d in optional.items()
            },
            resolution_markers=tuple(markers),
            wheels=tuple(Artifact(*wheel) for wheel in wheels),
            sdist=Artifact(*sdist) if sdist else None,
            requires_dist=tuple(Declared(n, tuple(e), spec, m) for n, e, spec, m in requires),
            source_url=url,
            dependency_groups={g: tuple(Dependency(n, v, tuple(e), m) for n, v, e, m in d) for g, d in groups.items()},
        )
        for name, version, kind, path, dependencies, optional, markers, wheels, sdist, requires, url, groups in data[
            "packages"
        ]
    )
    return lock_from_packages(display, str(data["requires_python"]), packages, tuple(data["members"]))


def _dependency_data(dependency: Dependency) -> list[object]:
    return [dependency.name, dependency.version, list(dependency.extras), dependency.marker]


def lock_from_packages(
    display: str, requires_python: str, packages: tuple[LockedPackage, ...], members: tuple[str, ...]
) -> LockFile:
    by_name: dict[str, list[LockedPackage]] = {}
    for package in packages:
        by_name.setdefault(package.name, []).append(package)
    return LockFile(
        path=display,
        requires_python=requires_python,
        packages=packages,
        members=members or tuple(p.name for p in packages if p.source_kind in MEMBER_SOURCES),
        by_name={name: tuple(found) for name, found in by_name.items()},
    )


def _package(raw: Mapping[str, object]) -> LockedPackage:
    if not isinstance(raw, dict):
        raise _Invalid("a package entry must be a table")
    name = _checked_name(raw.get("name"), "package name")
    source = raw.get("source", {})
    if not isinstance(source, dict) or len(source) > 1 or not all(isinstance(v, str) for v in source.values()):
        raise _Invalid(f"package {name}: `source` must be a table with one location")
    kind, location = next(iter(source.items()), ("registry", None))
    if kind not in _SOURCE_KINDS:
        raise _Invalid(f"package {name}: unknown source {kind!r}")
    if location is not None:
        location = _checked_text(location, f"source of package {name}")
    version = raw.get("version", "")
    if not isinstance(version, str) or ((version or kind not in MEMBER_SOURCES) and not is_version(version)):
        raise _Invalid(f"package {name}: invalid version {version!r} (not PEP 440)")
    optional = raw.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise _Invalid(f"package {name}: `optional-dependencies` must be a table")
    groups = raw.get("dev-dependencies", {})
    if not isinstance(groups, dict):
        raise _Invalid(f"package {name}: `dev-dependencies` must be a table")
    sdist = raw.get("sdist")
    markers = raw.get("resolution-markers", [])
    if not isinstance(markers, list):
        raise _Invalid(f"package {name}: `resolution-markers` must be a list")
    metadata = raw.get("metadata", {})
    requires = metadata.get("requires-dist", []) if isinstance(metadata, dict) else []
    return LockedPackage(
        name=name,
        version=version,
        source_kind=kind,
        source_path=location if kind in {"editable", "virtual", "directory", "path"} else None,
        dependencies=tuple(_dependency(d, name) for d in _list(raw.get("dependencies", []), name)),
        optional_dependencies={
            _checked_name(extra, f"extra of {name}"): tuple(_dependency(d, name) for d in _list(deps, name))
            for extra, deps in optional.items()
        },
        resolution_markers=tuple(_checked_marker(m, name) for m in markers),
        wheels=tuple(_artifact(w, name) for w in _list(raw.get("wheels", []), name)),
        sdist=_artifact(sdist, name) if isinstance(sdist, dict) else None,
        requires_dist=tuple(sorted(_declared_from_lock(d, name) for d in _list(requires, name))),
        source_url=_checked_url(location, name) if kind in ("registry", "git", "url") and location else None,
        dependency_groups={
            _checked_name(group, f"dependency group of {name}"): tuple(_dependency(d, name) for d in _list(deps, name))
            for group, deps in groups.items()
        },
    )


def _checked_url(value: str, package: str) -> str:
    """A URL from the lock that a requirements file will carry: http(s) or file, nothing that
    could end the line, open an option or expand a variable."""
    if (
        not value.startswith(("https://", "http://", "file://"))
        or any(ch.isspace() or ch in "\"'\\$" for ch in value)
        or breaks_line(value)
    ):
        raise _Invalid(f"package {package}: invalid source URL {value!r}")
    return value


_SOURCE_KINDS = frozenset({"registry", "editable", "virtual", "directory", "path", "git", "url"})


def _list(value: object, name: str) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _Invalid(f"package {name}: expected a list of tables")
    return value


def normal_specifier(text: str) -> str:
    """A specifier set written one way: versions normalised (`1.0.0dev` is `1.0.0.dev0`, as uv
    writes it in uv.lock), clauses sorted, so equal specifiers compare equal."""
    try:
        specifiers = SpecifierSet(text)
    except InvalidSpecifier:
        return text
    clauses = []
    for specifier in specifiers:
        version = specifier.version
        if not version.endswith(".*"):
            try:
                version = str(Version(version))
            except InvalidVersion:
                pass
        clauses.append(f"{specifier.operator}{version}")
    return ",".join(sorted(clauses))


def _declared_from_lock(raw: Mapping[str, object], package: str) -> Declared:
    extras = raw.get("extras", [])
    if not isinstance(extras, list):
        raise _Invalid(f"package {package}: requires-dist extras must be a list")
    try:
        specifier = normal_specifier(str(SpecifierSet(str(raw.get("specifier", "")))))
    except InvalidSpecifier:
        raise _Invalid(f"package {package}: invalid specifier {raw.get('specifier')!r} in requires-dist") from None
    return Declared(
        name=_checked_name(raw.get("name"), f"requirement of {package}"),
        extras=tuple(sorted(_checked_name(e, f"extra in requires-dist of {package}") for e in extras)),
        specifier=specifier,
        marker=_checked_marker(raw["marker"], package) if raw.get("marker") else "",
    )


def _dependency(raw: Mapping[str, object], package: str) -> Dependency:
    extras = raw.get("extra", [])
    if not isinstance(extras, list):
        raise _Invalid(f"package {package}: dependency extras must be a list")
    version = raw.get("version")
    if version is not None and not (isinstance(version, str) and is_version(version)):
        raise _Invalid(f"package {package}: invalid dependency version {version!r}")
    return Dependency(
        name=_checked_name(raw.get("name"), f"dependency of {package}"),
        version=version,
        extras=tuple(sorted(_checked_name(e, f"extra of a dependency of {package}") for e in extras)),
        marker=_checked_marker(raw["marker"], package) if "marker" in raw else None,
    )


# No wheel is near this; a size above it is an error in the lock, not a measurement.
_LARGEST_ARTIFACT = 1 << 40


def _artifact(raw: Mapping[str, object], package: str) -> Artifact:
    location = _checked_text(raw.get("url") or raw.get("path") or raw.get("filename") or "", "artifact location")
    digest = raw.get("hash")
    if digest is not None and not (isinstance(digest, str) and is_hash(digest)):
        raise _Invalid(f"package {package}: invalid hash {digest!r} (expected algorithm:hex)")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < _LARGEST_ARTIFACT):
        raise _Invalid(f"package {package}: invalid artifact size {size!r} (a number of bytes)")
    return Artifact(filename=location.rsplit("/", 1)[-1], hash=digest, size=size, url=location)
