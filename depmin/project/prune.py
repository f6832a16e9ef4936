"""A kept project's pyproject.toml in a pruned repository: the dependencies, extras and
workspace cut to what the target needs, and the build configuration cut to the code that is
there, so uv builds the project from the pruned tree with its real metadata.

What cannot be rewritten safely (a version from git, a build hook that may read any file, a
backend whose file selection depmin does not know) is a diagnostic naming the key."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depmin.lock.prune import ProjectCut

_KNOWN_BACKENDS = {
    "hatchling.build": "hatch",
    "setuptools.build_meta": "setuptools",
    "setuptools.build_meta:__legacy__": "setuptools",
    "uv_build": "uv",
    "flit_core.buildapi": "flit",
}


@dataclass(frozen=True)
class PrunedPyproject:
    data: dict[str, Any]
    files: tuple[str, ...]  # project-relative files its build reads (readme, licence, version file)
    problems: tuple[tuple[str, str], ...]  # (dotted key, why it cannot be pruned)


def pruned_pyproject(
    pyproject: Mapping[str, Any],
    cut: ProjectCut,
    members: tuple[str, ...] | None,
    present: Callable[[str], bool],
) -> PrunedPyproject:
    """`members`: the kept workspace members' directories, for the workspace root (None for a
    member); `present(path)`: whether a project-relative path is in the pruned tree."""
    data: dict[str, Any] = copy.deepcopy(dict(pyproject))
    problems: list[tuple[str, str]] = []
    project = data.get("project")
    if isinstance(project, dict):
        project["dependencies"] = _cut_requirements(project.get("dependencies", []), cut)
        project["dependencies"] += [f"{name}=={version}" for name, version in cut.added]
        optional = project.get("optional-dependencies", {})
        if isinstance(optional, dict):
            kept = {e: _cut_requirements(r, cut) for e, r in optional.items() if canonicalize_name(e) in cut.extras}
            project["optional-dependencies"] = kept
            if not kept:
                del project["optional-dependencies"]
    data.pop("dependency-groups", None)  # `uv sync --no-dev`: never in an image
    tool = data.get("tool", {})
    if isinstance(tool, dict):
        tool.pop("depmin", None)
        _cut_uv(tool, cut, members)
        if not tool:
            data.pop("tool", None)
    files = _project_files(data)
    if isinstance(project, dict) and "build-system" in data:
        problems += _cut_build(data, project, present)
    return PrunedPyproject(data, tuple(sorted(files)), tuple(problems))


def _cut_requirements(texts: object, cut: ProjectCut) -> list[str]:
    kept = []
    for text in texts if isinstance(texts, list) else []:
        try:
            requirement = Requirement(str(text))
        except InvalidRequirement:
            continue  # uv refused it already: the lock could not have been made
        name = canonicalize_name(requirement.name)
        if name not in cut.keep:
            continue
        if name in cut.narrowed:
            requirement.extras = set(cut.narrowed[name])
            text = str(requirement)
        kept.append(str(text))
    return kept


def _cut_uv(tool: dict[str, Any], cut: ProjectCut, members: tuple[str, ...] | None) -> None:
    uv = tool.get("uv")
    if not isinstance(uv, dict):
        return
    for key in ("dev-dependencies", "default-groups"):
        uv.pop(key, None)
    sources = uv.get("sources")
    if isinstance(sources, dict):
        uv["sources"] = {name: value for name, value in sources.items() if canonicalize_name(name) in cut.keep}
        if not uv["sources"]:
            del uv["sources"]
    workspace = uv.get("workspace")
    if isinstance(workspace, dict):
        workspace.pop("exclude", None)
        if members is not None:
            workspace["members"] = list(members)
        if not members:  # a lone project: uv records no workspace for it
            del uv["workspace"]
    if not uv:
        del tool["uv"]


def _project_files(data: Mapping[str, Any]) -> set[str]:
    """Files the build reads besides the code: the readme, licence files, a version file."""
    found: set[str] = set()
    project = data.get("project", {})
    if not isinstance(project, dict):
        return found
    readme = project.get("readme")
    found |= {readme} if isinstance(readme, str) else set()
    for table in (readme, project.get("license")):
        if isinstance(table, dict) and isinstance(table.get("file"), str):
            found.add(table["file"])
    hatch_version = _get(data, "tool", "hatch", "version")
    if isinstance(hatch_version, dict) and isinstance(hatch_version.get("path"), str):
        found.add(hatch_version["path"])
    dynamic = _get(data, "tool", "setuptools", "dynamic")
    for value in dynamic.values() if isinstance(dynamic, dict) else ():
        files = value.get("file", []) if isinstance(value, dict) else []
        found |= {files} if isinstance(files, str) else {f for f in files if isinstance(f, str)}
    return {str(PurePosixPath(f)) for f in found}


def _get(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)  # type: ignore[assignment]
    return data


def _cut_build(data: dict[str, Any], project: dict[str, Any], present: Callable[[str], bool]) -> list[tuple[str, str]]:
    backend = str(_get(data, "build-system", "build-backend") or "setuptools.build_meta:__legacy__")
    kind = _KNOWN_BACKENDS.get(backend)
    name = str(project.get("name", ""))
    problems: list[tuple[str, str]] = []
    dynamic = project.get("dynamic", [])
    requires = " ".join(str(r) for r in _get(data, "build-system", "requires") or [])
    if "version" in (dynamic if isinstance(dynamic, list) else []) and ("vcs" in requires or "scm" in requires):
        problems.append(("build-system.requires", "the version comes from git, which a pruned tree does not carry"))
    if kind == "hatch":
        problems += _cut_hatch(data, name, present)
    elif kind == "setuptools":
        problems += _cut_setuptools(data, present)
    elif kind == "uv":
        module = _get(data, "tool", "uv", "build-backend", "module-name") or name.replace("-", "_")
        root = _get(data, "tool", "uv", "build-backend", "module-root")
        root = "src" if root is None else str(root)
        if not isinstance(module, str) or not present(f"{root}/{module.replace('.', '/')}".strip("/")):
            problems.append(("tool.uv.build-backend.module-name", f"{module} is not part of the pruned tree"))
    elif kind == "flit":
        module = name.replace("-", "_")
        if not (present(module) or present(f"src/{module}") or present(f"{module}.py")):
            problems.append(("build-system.build-backend", f"flit builds {module}, which the pruned tree lacks"))
    else:
        problems.append(("build-system.build-backend", f"{backend}: depmin cannot cut its file selection"))
    return problems


def _cut_hatch(data: dict[str, Any], name: str, present: Callable[[str], bool]) -> list[tuple[str, str]]:
    problems = []
    build = _get(data, "tool", "hatch", "build")
    if isinstance(_get(data, "tool", "hatch", "version"), dict) and _get(data, "tool", "hatch", "version", "source"):
        problems.append(("tool.hatch.version.source", "a version source plugin may read files a pruned tree lacks"))
    if not isinstance(build, dict):
        build = {}
    wheel = _get(build, "targets", "wheel")
    wheel = wheel if isinstance(wheel, dict) else {}
    for table, key in ((build, "tool.hatch.build"), (wheel, "tool.hatch.build.targets.wheel")):
        if table.get("hooks"):
            problems.append((f"{key}.hooks", "a build hook may read files a pruned tree lacks"))
        for listed in ("packages", "only-include"):
            if isinstance(table.get(listed), list):
                table[listed] = [p for p in table[listed] if isinstance(p, str) and present(p)]
        forced = table.get("force-include")
        if isinstance(forced, dict):
            table["force-include"] = {s: d for s, d in forced.items() if present(s)}
    selected = [table.get(key) for table in (build, wheel) for key in ("packages", "only-include")]
    module = canonicalize_name(name).replace("-", "_")
    default = any(present(p) for p in (module, f"src/{module}", f"{module}.py"))
    if any(s == [] for s in selected) or (all(s is None for s in selected) and not default):
        # Nothing of this project's code is needed: hatch builds an empty wheel with its metadata.
        for table in (build, wheel):
            table.pop("packages", None)
            table.pop("only-include", None)
        wheels = data.setdefault("tool", {}).setdefault("hatch", {}).setdefault("build", {})
        wheels.setdefault("targets", {}).setdefault("wheel", {})["bypass-selection"] = True
    return problems


def _cut_setuptools(data: dict[str, Any], present: Callable[[str], bool]) -> list[tuple[str, str]]:
    setuptools = _get(data, "tool", "setuptools")
    if not isinstance(setuptools, dict):
        return []
    package_dir = setuptools.get("package-dir", {})
    package_dir = package_dir if isinstance(package_dir, dict) else {}

    def where(package: str) -> str:
        parts = package.split(".")
        for cut in range(len(parts), -1, -1):
            prefix = ".".join(parts[:cut])
            if prefix in package_dir:
                base = str(package_dir[prefix]).strip("/")
                rest = "/".join(parts[cut:])
                return f"{base}/{rest}".strip("/") if base not in ("", ".") else rest or "."
        return "/".join(parts)

    if isinstance(setuptools.get("packages"), list):
        setuptools["packages"] = [p for p in setuptools["packages"] if isinstance(p, str) and present(where(p))]
    if isinstance(setuptools.get("py-modules"), list):
        setuptools["py-modules"] = [
            m for m in setuptools["py-modules"] if isinstance(m, str) and present(f"{where(m)}.py")
        ]
    return []
