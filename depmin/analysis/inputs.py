"""What an analysis starts from: the request, the source roots, the entries' modules, the
finder that names distributions, and the target interpreter and platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from depmin.artifacts import chosen_artifacts, gather
from depmin.artifacts.facts import FACTS_VERSION, INDEX, STORE, UV_CACHE
from depmin.artifacts.network import network_for
from depmin.artifacts.uv_cache import uv_cache_directory
from depmin.cache import ScanCache
from depmin.errors import Code, ConfigError, Diagnostic, LockError, UsageError
from depmin.files.reading import NotRegularFile, read_regular, read_toml, resolves_inside
from depmin.imports.distributions import DistributionFinder, NameFacts, name_facts
from depmin.imports.stdlib import SUPPORTED_PYTHONS
from depmin.lock.model import LockedPackage, LockFile
from depmin.model import Target
from depmin.project.build_config import DeclaredRoot, declared_roots, escaping
from depmin.project.config import PYPROJECT, Project, TargetConfig, key_line, parse_platform, parse_python
from depmin.project.local_distributions import local_pyprojects
from depmin.project.module_index import ModuleIndex, SourceRoot, is_excluded


@dataclass(frozen=True)
class Request:
    entries: tuple[str, ...]
    target: Target
    lock_path: Path
    excludes: tuple[str, ...]
    data: tuple[str, ...] = ()
    hidden_imports: tuple[str, ...] = ()
    # (glob over import names, why): imports that match are not followed (ignore-imports, cut)
    ignore: tuple[tuple[str, str], ...] = ()
    ignore_codes: tuple[str, ...] = ()  # diagnostic codes the user silenced ([tool.depmin] ignore)
    include_optional: bool = False
    extras: tuple[str, ...] = ()  # the local projects' extras the target chooses (--extra, a target's extras)
    commands: tuple[str, ...] = ()  # what the image runs (smoke, --command): their executables are installed
    all_extras: bool = False
    optional_names: tuple[str, ...] = ()  # pin these optional distributions only (--optional NAME)
    hashes: bool = False
    package_data: bool = True  # carry the non-Python files of the closure's packages, as a wheel would
    use_uv_cache: bool = True  # read artifacts' file lists from uv's cache
    offline: bool = False  # read no artifact from its index (--offline, UV_OFFLINE, DEPMIN_OFFLINE)
    # Where the locked artifacts' facts are kept: depmin's cache even with --no-cache, which is about
    # the analysis of the code (scans, edges); facts describe artifacts, as uv's cache does.
    facts_cache: ScanCache | None = None

    def extra_choice(self, project: str, extra: str) -> bool:
        """Whether the target chooses a local project's extra (uv's --extra names one of any project)."""
        return self.all_extras or canonicalize_name(extra) in {canonicalize_name(e) for e in self.extras}

    cache: ScanCache | None = None
    on_scanned: Callable[[int], None] | None = None  # progress: called with the number of files just scanned


def source_roots(project: Project, lock: LockFile) -> tuple[SourceRoot, ...]:
    """Every source root, in sys.path order. Raises ConfigError where the build configuration
    of the project or of a member declares one that leaves the root."""
    declared = _checked_roots(project.root, declared_roots(project.pyproject), PYPROJECT)
    roots: list[SourceRoot] = [*project.config.source_roots, *declared]
    for member in lock.local_packages:  # workspace members and local directory dependencies
        path = (member.source_path or ".").strip("/")
        if path in ("", "."):
            continue
        if not resolves_inside(project.root, project.root / path) or ".." in path.split("/"):
            raise LockError(lock.path, 0, f"local package {member.name} at {path!r} lies outside the project root")
        member_pyproject = read_toml(project.root / path / "pyproject.toml")
        member_roots = _checked_roots(project.root, declared_roots(member_pyproject, path), f"{path}/{PYPROJECT}")
        if member_roots:
            roots.extend(member_roots)
        elif (project.root / path / "src").is_dir():
            roots.append(SourceRoot(f"{path}/src"))
        else:
            roots.append(SourceRoot(path))
    if (project.root / "src").is_dir():
        roots.append(SourceRoot("src"))
    roots.append(SourceRoot(""))
    return tuple(root for root in dict.fromkeys(roots) if (project.root / root.path).is_dir())


def _checked_roots(root: Path, declared: list[DeclaredRoot], pyproject: str) -> list[SourceRoot]:
    problems = [
        Diagnostic(pyproject, key_line(root / pyproject, item.key), f"{item.key}: {why}", code=Code.CONFIG)
        for item, why in escaping(root, declared)
    ]
    if problems:
        raise ConfigError(problems)
    return [item.root for item in declared]


def finder(project: Project, lock: LockFile, request: Request) -> DistributionFinder:
    """The finder of this project's lock for the request's target: its answers depend on the lock
    (which artifact each distribution installs on the target), module-map and depmin's table only."""
    locked = frozenset(name for name in lock.names() if not lock.is_local(name))
    chosen = chosen_artifacts(lock, request.target)
    overrides = project.config.module_map
    depends = {p.name: frozenset(d.name for d in p.dependencies) for p in lock.packages}
    fingerprint = repr(
        (
            FACTS_VERSION,
            sorted(locked),
            sorted(overrides.items()),
            sorted((name, sorted(names)) for name, names in depends.items()),
            sorted((name, item.artifact.hash) for name, item in chosen.items()),
            # what each local project names under its extras and groups (ambiguities by project)
            sorted((p.name, sorted(_extra_and_group_names(p))) for p in lock.local_packages),
        )
    )

    def facts() -> NameFacts:
        network = None if request.offline else network_for(local_pyprojects(project.root, lock, project.pyproject))
        gathered = gather(
            chosen,
            cache=request.facts_cache,
            uv_cache=uv_cache_directory() if request.use_uv_cache else None,
            lock_directory=request.lock_path.parent,
            root=project.root,
            network=network,
        )
        summary = (
            f"file lists of {len(gathered.facts)} locked artifacts: {gathered.count(STORE)} from depmin's cache, "
            f"{gathered.count(UV_CACHE)} from uv's cache, {gathered.count(INDEX)} read from the index"
            + (f"; not read: {', '.join(gathered.missing)}" if gathered.missing else "")
            + (" (offline)" if request.offline and gathered.missing else "")
            + (f" ({gathered.refused[0][0]}: {gathered.refused[0][1]})" if gathered.refused else "")
        )
        table = {name: (f.names, f.console_scripts) for name, f in gathered.facts.items()}
        return name_facts(table, locked, summary, gathered.missing)

    return DistributionFinder(locked, overrides, facts, depends=depends, fingerprint=fingerprint)


def _extra_and_group_names(package: LockedPackage) -> set[str]:
    groups = (*package.optional_dependencies.values(), *package.dependency_groups.values())
    return {dependency.name for dependencies in groups for dependency in dependencies}


def script_files(root: Path, entries: Iterable[str]) -> tuple[str, ...]:
    """Entry files whose names are no module names (`examples/01-voice-agent.py`): scripts only."""
    found = []
    real_root = root.resolve()
    for entry in entries:
        path = (root / entry).resolve()
        if path.suffix == ".py" and path.is_file() and real_root in path.parents and not path.stem.isidentifier():
            found.append(path.relative_to(real_root).as_posix())
    return tuple(dict.fromkeys(found))


def script_directories(root: Path, entries: Iterable[str]) -> tuple[SourceRoot, ...]:
    """Directories of entry files that are scripts (not inside a regular package): run as
    `python examples/web/server.py`, the script's own directory is sys.path[0]."""
    found = []
    real_root = root.resolve()
    for entry in entries:
        path = (root / entry).resolve()
        if path.suffix == ".py" and path.is_file() and real_root in path.parents and path.parent != real_root:
            if not (path.parent / "__init__.py").exists():
                found.append(SourceRoot(path.parent.relative_to(real_root).as_posix()))
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Entries:
    modules: tuple[str, ...]
    directories: tuple[str, ...]  # root-relative, "" for the root itself
    problems: tuple[Diagnostic, ...]
    # where a program starts: the modules and files named, and of a directory its package (or,
    # for a directory that is no package, the modules directly in it), not every module under it
    starts: tuple[str, ...] = ()


def entry_modules(root: Path, index: ModuleIndex, entries: Iterable[str], excludes: tuple[str, ...]) -> Entries:
    """The entries' module names, and the directories among them."""
    modules: list[str] = []
    directories: list[str] = []
    problems: list[Diagnostic] = []
    starts: list[str] = []
    real_root = root.resolve()
    for entry in entries:
        if ":" in entry and not (root / entry).exists():
            entry = entry.partition(":")[0]  # `pkg.app:app`, as uvicorn and [project.scripts] name it
        path = (root / entry).resolve()
        inside = path == real_root or real_root in path.parents
        relative = path.relative_to(real_root).as_posix() if inside and path != real_root else ""
        if entry in index.modules:  # a dotted name wins: `ai` is the module, `ai/` the directory
            modules.append(entry)
            starts.append(entry)
        elif path.exists() and not inside:
            problems.append(Diagnostic(entry, 0, "entry is outside the project root", code=Code.ENTRY))
        elif path.is_dir():
            directories.append(relative)
            found = [m for m in index.modules_under(relative) if not is_excluded(index.modules[m].path, excludes)]
            if not found:
                problems.append(
                    Diagnostic(entry, 0, "entry directory holds no importable Python modules", code=Code.ENTRY)
                )
            modules.extend(found)
            starts.extend(directory_starts(index, relative, found))
        elif path.is_file():
            names = index.names_by_path.get(relative)
            if not names:
                message = "entry file is not an importable module under any source root"
                problems.append(Diagnostic(entry, 0, message, code=Code.ENTRY))
            else:
                modules.append(names[0])
                starts.append(names[0])
        else:
            problems.append(Diagnostic(entry, 0, "no such file, directory or first-party module", code=Code.ENTRY))
    return Entries(tuple(dict.fromkeys(modules)), tuple(directories), tuple(problems), tuple(dict.fromkeys(starts)))


def directory_starts(index: ModuleIndex, directory: str, modules: Iterable[str]) -> list[str]:
    """Of a directory entry's modules, those a program starts from: the directory's own package
    (`src/crewai/` → crewai), else the modules directly in it (`examples/` → each script)."""
    prefix = f"{directory}/" if directory else ""
    own = [m for m in modules if index.modules[m].path == f"{prefix}__init__.py"]
    if own:
        return own
    return [m for m in modules if "/" not in index.modules[m].path[len(prefix) :].removesuffix("/__init__.py")]


# -- what the command line names ---------------------------------------------------------


def member_entry(project: Project, lock: LockFile, name: str) -> str:
    """The source directory of a workspace member or path dependency, as a directory entry."""
    wanted = canonicalize_name(name)
    member = next((p for p in lock.local_packages if p.name == wanted), None)
    if member is None:
        known = ", ".join(sorted(p.name for p in lock.local_packages)) or "none"
        raise UsageError(f"no workspace member or path dependency named {name!r} in uv.lock (known: {known})")
    path = (member.source_path or ".").strip("/").removeprefix("./")
    if path in ("", "."):
        # the root project is its own code, not the whole repository (examples/, docs/, tests/)
        declared = [r.root.path for r in declared_roots(project.pyproject) if r.root.path]
        if declared:
            return f"{declared[0]}/"
        return "src/" if (project.root / "src").is_dir() else "./"
    roots = [r.path for r in source_roots(project, lock) if r.path == path or r.path.startswith(f"{path}/")]
    return f"{roots[0] if roots else path}/"


def script_entry(project: Project, lock: LockFile, name: str) -> str:
    """The module a [project.scripts] / [project.gui-scripts] name runs (`fastmcp.cli:app` → fastmcp.cli)."""
    for pyproject in local_pyprojects(project.root, lock, project.pyproject):
        table = pyproject.get("project", {})
        for key in ("scripts", "gui-scripts"):
            scripts = table.get(key) if isinstance(table, dict) else None
            found = scripts.get(name) if isinstance(scripts, dict) else None
            if isinstance(found, str):
                return found.partition(":")[0].strip()
    raise UsageError(f"no [project.scripts] entry named {name!r} in the project or its workspace members")


def choose_target(
    project: Project, lock: LockFile, target_config: TargetConfig | None, python: str | None, platform: str | None
) -> Target:
    """The option, else the target's, else [tool.depmin]'s, else .python-version, else the lowest
    Python the lock allows; the platform defaults to linux-x86_64."""
    config = project.config
    chosen_python = python or (target_config.python if target_config else None) or config.python
    chosen_python = chosen_python or python_version_file(project.root)
    chosen_platform = platform or (target_config.platform if target_config else None) or config.platform
    try:
        target = Target(
            python=parse_python(chosen_python) if chosen_python else lowest_python(lock),
            platform=parse_platform(chosen_platform or "linux-x86_64"),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if target.python not in SUPPORTED_PYTHONS:
        supported = ", ".join(f"{a}.{b}" for a, b in SUPPORTED_PYTHONS)
        raise UsageError(f"no standard-library table for Python {target.python_version} (supported: {supported})")
    return target


_PYTHON_VERSION_LIMIT = 4096  # a version or a few, one per line


def python_version_file(root: Path) -> str | None:
    """`.python-version` (as uv and pyenv read it): its first X.Y, when there is one. A device,
    a FIFO or a huge file in its place is an error, never read."""
    try:
        text = read_regular(root / ".python-version", _PYTHON_VERSION_LIMIT).decode("utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        reason = str(exc).split(": ", 1)[-1] if isinstance(exc, NotRegularFile) else exc.strerror or str(exc)
        raise ConfigError([Diagnostic(".python-version", 0, f"cannot read: {reason}", code=Code.CONFIG)]) from None
    match = re.search(r"(?m)^\s*(?:cpython-|python)?(\d+\.\d+)", text)
    return match.group(1) if match else None


def lowest_python(lock: LockFile) -> tuple[int, int]:
    try:
        allowed = SpecifierSet(lock.requires_python or ">=3.10")
    except InvalidSpecifier:
        raise UsageError(f"uv.lock has an invalid requires-python {lock.requires_python!r}", lock.path) from None
    for major, minor in SUPPORTED_PYTHONS:
        if any(allowed.contains(f"{major}.{minor}.{patch}") for patch in range(0, 30)):
            return major, minor
    raise UsageError(
        f"requires-python {lock.requires_python!r} allows none of the supported Pythons; pass --python", lock.path
    )
