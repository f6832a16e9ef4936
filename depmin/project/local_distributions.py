"""The first-party side of the image: which local distributions the closure's files belong to
(their metadata travels with the code), and the image's sys.path.

Pure functions over the module index, the lock and the projects' pyproject data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from depmin.errors import Code, Diagnostic, Severity
from depmin.files.reading import read_toml
from depmin.files.safety import is_version
from depmin.lock.model import LockedPackage, LockFile
from depmin.model import LocalDistribution
from depmin.project.module_index import SourceRoot

_ENTRY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ENTRY_VALUE = re.compile(r"^[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*)?$")
# the legacy extras of an entry point (`mcp = "mcp.cli:app [cli]"`): not part of what runs
_ENTRY_EXTRAS = re.compile(r"\s*\[[A-Za-z0-9_,\s.-]*\]\s*$")
_GROUP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def image_path(roots: Iterable[SourceRoot]) -> tuple[str, ...]:
    """sys.path entries inside the image (relative to /app, "." for /app) for the roots in use.

    A package root (setuptools `package-dir caramba = "."`) lands at caramba/ in the image, so
    its own entry is the image root; a plain root lying inside it (the same files imported by
    bare names, `from ai.agent import ...`) is found under caramba/ there.
    """
    roots = list(dict.fromkeys(roots))
    packages = [r for r in roots if r.package]
    found: list[str] = []
    for root in roots:
        if root.package:
            found.append(".")
            continue
        directory = root.path
        for package in packages:
            if directory == package.path or directory.startswith(f"{package.path}/") or not package.path:
                inside = directory[len(package.path) :].strip("/") if package.path else directory
                directory = "/".join(p for p in (package.package.replace(".", "/"), inside) if p)
                break
        found.append(directory or ".")
    return tuple(dict.fromkeys(found)) or (".",)


def file_owner(
    lock: LockFile, root_pyproject: Mapping[str, object], *, with_virtual: bool = True
) -> Callable[[str], tuple[str, LockedPackage] | None]:
    """file → (its directory, the local package that owns it): the deepest local path holding it.
    The lock's root package owns the root only if its name is this project's (a borrowed lock's
    does not)."""
    root_table = root_pyproject.get("project", {})
    root_name = canonicalize_name(str(root_table.get("name", ""))) if isinstance(root_table, dict) else ""
    owners = sorted(
        (path, package)
        for package in lock.local_packages
        if with_virtual or package.source_kind != "virtual"
        for path in [(package.source_path or ".").strip("/").removeprefix("./")]
        if path not in ("", ".") or package.name == root_name
    )

    def owner(file: str) -> tuple[str, LockedPackage] | None:
        best = None
        for path, package in owners:
            if path in ("", ".") or file.startswith(f"{path}/"):
                if best is None or len(path) > len(best[0]) or best[0] in ("", "."):
                    best = (path, package)
        return best

    return owner


def local_distributions(
    repository: Path, lock: LockFile, root_pyproject: Mapping[str, object], files: Iterable[str]
) -> tuple[tuple[LocalDistribution, ...], list[Diagnostic]]:
    """The local distributions (project, workspace members, directory dependencies) that own a
    closure file: the deepest local path holding it. Virtual members are left out: uv installs
    no metadata for them either."""
    owner = file_owner(lock, root_pyproject, with_virtual=False)
    owned: dict[str, tuple[str, LockedPackage]] = {}
    for file in files:
        best = owner(file)
        if best is not None:
            owned[best[1].name] = best
    found, problems = [], []
    for name in sorted(owned):
        path, package = owned[name]
        pyproject = root_pyproject if path in ("", ".") else read_toml(repository / path / "pyproject.toml")
        table = pyproject.get("project")
        project: dict[str, Any] = table if isinstance(table, dict) else {}
        version = package.version or str(project.get("version") or "0")
        if not is_version(version):
            problems.append(
                Diagnostic(
                    "pyproject.toml",
                    0,
                    f"{name}: version {version!r} is not PEP 440; its metadata says 0",
                    Severity.WARNING,
                    Code.LOCAL_METADATA,
                )
            )
            version = "0"
        points, bad = _entry_points(project)
        problems += [
            Diagnostic(
                f"{path}/pyproject.toml".lstrip("./") if path not in ("", ".") else "pyproject.toml",
                0,
                f"entry point {entry!r} cannot be written into the image's metadata; left out",
                Severity.WARNING,
                Code.LOCAL_METADATA,
            )
            for entry in bad
        ]
        found.append(LocalDistribution(package.name, version, points))
    return tuple(found), problems


def _entry_points(project: Mapping[str, object]) -> tuple[tuple[tuple[str, str, str], ...], list[str]]:
    groups: dict[str, object] = {
        "console_scripts": project.get("scripts", {}),
        "gui_scripts": project.get("gui-scripts", {}),
    }
    extra = project.get("entry-points", {})
    if isinstance(extra, dict):
        groups.update(extra)
    points, bad = [], []
    for group, table in groups.items():
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            value = _ENTRY_EXTRAS.sub("", value) if isinstance(value, str) else value
            if (
                isinstance(value, str)
                and _GROUP.fullmatch(group)
                and _ENTRY_NAME.fullmatch(name)
                and _ENTRY_VALUE.fullmatch(value.strip())
            ):
                points.append((group, name, value.strip()))
            else:
                bad.append(f"{group}.{name}")
    return tuple(sorted(points)), bad


def local_pyprojects(
    repository: Path, lock: LockFile, root_pyproject: Mapping[str, object]
) -> list[Mapping[str, object]]:
    """The project's pyproject.toml and those of its workspace members and directory dependencies."""
    pyprojects = [root_pyproject]
    for package in lock.local_packages:
        path = (package.source_path or ".").strip("/").removeprefix("./")
        if path not in ("", "."):
            pyprojects.append(read_toml(repository / path / "pyproject.toml"))
    return pyprojects


def project_entry_points(
    repository: Path, lock: LockFile, root_pyproject: Mapping[str, object]
) -> dict[str, tuple[str, ...]]:
    """Entry-point group → the "module:attr" values the project and its local packages register."""
    groups: dict[str, list[str]] = {}
    for pyproject in local_pyprojects(repository, lock, root_pyproject):
        project = pyproject.get("project", {})
        if isinstance(project, dict):
            points, _ = _entry_points(project)
            for group, _name, value in points:
                groups.setdefault(group, []).append(value)
    return {group: tuple(sorted(set(values))) for group, values in groups.items()}
