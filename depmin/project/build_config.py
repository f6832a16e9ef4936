"""Source roots that the build configuration declares: setuptools `package-dir` and
`packages.find.where`, hatch `sources` and `packages`."""

from __future__ import annotations

from collections.abc import Mapping

from depmin.project.module_index import SourceRoot


def roots_from_build_config(pyproject: Mapping[str, object], base: str = "") -> list[SourceRoot]:
    """Source roots that setuptools `package-dir` / `packages.find.where` and hatch
    `sources` / `packages` declare, relative to the repository root."""
    tool = pyproject.get("tool", {})
    if not isinstance(tool, dict):
        return []
    roots: list[SourceRoot] = []
    setuptools = tool.get("setuptools", {}) if isinstance(tool.get("setuptools"), dict) else {}
    package_dir = setuptools.get("package-dir", {})
    if isinstance(package_dir, dict):
        for package, directory in package_dir.items():
            if isinstance(directory, str) and isinstance(package, str):
                roots.append(SourceRoot(_join(base, directory), package))
    packages = setuptools.get("packages", {})
    if isinstance(packages, dict) and isinstance(packages.get("find"), dict):
        where = packages["find"].get("where", [])
        for directory in where if isinstance(where, list) else []:
            if isinstance(directory, str):
                roots.append(SourceRoot(_join(base, directory)))
    hatch = tool.get("hatch", {}) if isinstance(tool.get("hatch"), dict) else {}
    build = hatch.get("build", {}) if isinstance(hatch.get("build"), dict) else {}
    wheel = build.get("targets", {}).get("wheel", {}) if isinstance(build.get("targets"), dict) else {}
    for table in (build, wheel if isinstance(wheel, dict) else {}):
        sources = table.get("sources")
        if isinstance(sources, list):
            roots.extend(SourceRoot(_join(base, s)) for s in sources if isinstance(s, str))
        elif isinstance(sources, dict):
            for directory, prefix in sources.items():
                if isinstance(prefix, str):
                    roots.append(SourceRoot(_join(base, directory), prefix.strip("/").replace("/", ".")))
        for package in table.get("packages", []) if isinstance(table.get("packages"), list) else []:
            if isinstance(package, str) and "/" in package.strip("/"):
                roots.append(SourceRoot(_join(base, package.strip("/").rsplit("/", 1)[0])))
    return roots


def _join(base: str, directory: str) -> str:
    cleaned = directory.strip().strip("/").removeprefix("./")
    cleaned = "" if cleaned == "." else cleaned
    return "/".join(part for part in (base, cleaned) if part)
