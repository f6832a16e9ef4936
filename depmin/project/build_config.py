"""Source roots that the build configuration declares: setuptools `package-dir` and
`packages.find.where`, hatch `sources` and `packages`.

Each comes with the key that declared it, so a root that leaves the repository (`"" =
"../outside"`) is an error at that key: depmin never reads code outside the root, and never
writes a `../` path into a COPY line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from depmin.files.reading import resolves_inside
from depmin.files.safety import is_plain_path
from depmin.project.module_index import SourceRoot


@dataclass(frozen=True, slots=True)
class DeclaredRoot:
    root: SourceRoot
    key: str  # the dotted key that declares it (tool.setuptools.package-dir)
    value: str  # the directory as written there


def declared_roots(pyproject: Mapping[str, object], base: str = "") -> list[DeclaredRoot]:
    """Every source root the build configuration declares, relative to the repository root."""
    tool = pyproject.get("tool", {})
    if not isinstance(tool, dict):
        return []
    found: list[DeclaredRoot] = []

    def add(directory: str, key: str, package: str = "") -> None:
        found.append(DeclaredRoot(SourceRoot(_join(base, directory), package), key, directory))

    setuptools = tool.get("setuptools", {}) if isinstance(tool.get("setuptools"), dict) else {}
    package_dir = setuptools.get("package-dir", {})
    if isinstance(package_dir, dict):
        for package, directory in package_dir.items():
            if isinstance(directory, str) and isinstance(package, str):
                add(
                    directory,
                    f"tool.setuptools.package-dir.{package}" if package else "tool.setuptools.package-dir",
                    package,
                )
    packages = setuptools.get("packages", {})
    if isinstance(packages, dict) and isinstance(packages.get("find"), dict):
        where = packages["find"].get("where", [])
        for directory in where if isinstance(where, list) else []:
            if isinstance(directory, str):
                add(directory, "tool.setuptools.packages.find.where")
    hatch = tool.get("hatch", {}) if isinstance(tool.get("hatch"), dict) else {}
    build = hatch.get("build", {}) if isinstance(hatch.get("build"), dict) else {}
    wheel = build.get("targets", {}).get("wheel", {}) if isinstance(build.get("targets"), dict) else {}
    for table, key in (
        (build, "tool.hatch.build"),
        (wheel if isinstance(wheel, dict) else {}, "tool.hatch.build.targets.wheel"),
    ):
        sources = table.get("sources")
        if isinstance(sources, list):
            for directory in sources:
                if isinstance(directory, str):
                    add(directory, f"{key}.sources")
        elif isinstance(sources, dict):
            for directory, prefix in sources.items():
                if isinstance(prefix, str):
                    add(directory, f"{key}.sources", prefix.strip("/").replace("/", "."))
        for package in table.get("packages", []) if isinstance(table.get("packages"), list) else []:
            if isinstance(package, str) and "/" in package.strip("/"):
                add(package.strip("/").rsplit("/", 1)[0], f"{key}.packages")
    return found


def roots_from_build_config(pyproject: Mapping[str, object], base: str = "") -> list[SourceRoot]:
    return [declared.root for declared in declared_roots(pyproject, base)]


def escaping(repository: Path, roots: Iterable[DeclaredRoot]) -> list[tuple[DeclaredRoot, str]]:
    """The declared roots depmin must refuse, each with why: an absolute path, one that resolves
    (symlinks followed) outside the repository, a directory or package name no output can carry."""
    problems = []
    for declared in roots:
        value, root = declared.value.strip(), declared.root
        if value.startswith(("/", "\\")) or (len(value) > 1 and value[1] == ":"):
            problems.append((declared, f"{declared.value!r} must be relative to the project"))
        elif not resolves_inside(repository, repository / root.path) or ".." in root.path.split("/"):
            problems.append((declared, f"{declared.value!r} resolves outside the project root"))
        elif root.path and not is_plain_path(root.path):
            problems.append((declared, f"{declared.value!r} holds characters depmin cannot write safely"))
        elif root.package and not all(part.isidentifier() for part in root.package.split(".")):
            problems.append((declared, f"package {root.package!r} is not a dotted module name"))
    return problems


def _join(base: str, directory: str) -> str:
    cleaned = directory.strip().strip("/").removeprefix("./")
    cleaned = "" if cleaned == "." else cleaned
    return "/".join(part for part in (base, cleaned) if part)
