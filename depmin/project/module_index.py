"""Files ↔ module names: source roots, the module index, entries and excludes.

A source root is a directory on the image's sys.path (the repository root, `src/`,
a workspace member's `src/`), or a directory that *is* a package whose name its
path does not say (setuptools `package-dir = {caramba = "."}`).
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Generator, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from depmin.errors import Code, Diagnostic, Severity

DEFAULT_EXCLUDES: tuple[str, ...] = ("tests/", "test_*.py", "*_test.py", "conftest.py")


T = TypeVar("T")


_NEVER_WALKED = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True, slots=True, order=True)
class SourceRoot:
    path: str  # root-relative directory, "" for the repository root
    package: str = ""  # the package this directory is; "" for a plain sys.path entry

    def display(self) -> str:
        shown = self.path or "."
        return f"{shown} (as {self.package})" if self.package else shown


@dataclass(frozen=True, slots=True)
class ModuleFile:
    name: str
    path: str  # root-relative, '/'-separated
    is_package: bool
    root: SourceRoot


@dataclass(frozen=True)
class ModuleIndex:
    roots: tuple[SourceRoot, ...]
    modules: Mapping[str, ModuleFile]
    namespaces: Mapping[str, tuple[str, ...]]  # namespace package → its directories
    names_by_path: Mapping[str, tuple[str, ...]]  # file → every module name it has
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    shadowed: Mapping[str, str] = field(default_factory=dict)  # file hidden by an earlier root → its module
    # what later stages compute from the index alone, once per index (see `derived`)
    _derived: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, remembered under `key` for this index: many targets share one index."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def modules_under(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/" if directory.strip("/") else ""
        return sorted(
            module.name
            for module in self.modules.values()
            if module.path.startswith(prefix) and self.names_by_path[module.path][0] == module.name
        )

    def python_files_under(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/" if directory.strip("/") else ""
        return sorted(path for path in self.names_by_path if path.startswith(prefix))


def build_index(
    repository: Path, roots: Iterable[SourceRoot], scripts: Iterable[str] = (), script_dirs: Iterable[str] = ()
) -> ModuleIndex:
    """Walk every source root once; the first root to provide a module name wins, as on sys.path.
    `scripts` are files run as `python path/01-demo.py`: one whose name is no module name is still
    in the index, under its path (nothing can import it, but it runs). `script_dirs` are roots only
    because a script runs from them: another root still walks into them, so a script inside a
    workspace member's namespace package (`examples/pkg/app.py`) is also `pkg.app`."""
    roots = tuple(dict.fromkeys(roots))
    root_dirs = {root.path for root in roots} - set(script_dirs)
    modules: dict[str, ModuleFile] = {}
    namespaces: dict[str, list[str]] = {}
    names_by_path: dict[str, list[str]] = {}
    diagnostics: list[Diagnostic] = []
    shadowed: dict[str, str] = {}
    for root in roots:
        walker = _Walker(repository, root_dirs - {root.path}, diagnostics)
        for path, is_dir in walker.walk(root.path):
            name = module_name(root, path, is_dir)
            if not name:
                continue
            if is_dir:
                if f"{path}/__init__.py" not in walker.seen_files:
                    namespaces.setdefault(name, []).append(path)
                continue
            is_package = path.endswith("/__init__.py") or path == "__init__.py"
            existing = modules.get(name)
            if existing is not None and existing.path != path:
                diagnostics.append(
                    Diagnostic(
                        path,
                        0,
                        f"module {name} is also provided by {existing.path} (source root "
                        f"{existing.root.display()}), which comes first on sys.path; this file is shadowed",
                        Severity.WARNING,
                        Code.SOURCE_TREE,
                    )
                )
                shadowed[path] = name
                continue
            if existing is None:
                modules[name] = ModuleFile(name, path, is_package, root)
                names_by_path.setdefault(path, []).append(name)
    for name in [n for n in namespaces if n in modules]:
        del namespaces[name]  # a regular package always beats a namespace portion
    for path in scripts:
        if path not in names_by_path:
            modules[path] = ModuleFile(path, path, False, SourceRoot(path.rpartition("/")[0]))
            names_by_path[path] = [path]
    return ModuleIndex(
        roots=roots,
        modules=modules,
        namespaces={name: tuple(dirs) for name, dirs in namespaces.items()},
        names_by_path={path: tuple(names) for path, names in names_by_path.items()},
        diagnostics=tuple(diagnostics),
        shadowed=shadowed,
    )


def module_name(root: SourceRoot, path: str, is_dir: bool) -> str:
    """The dotted name of a file or directory under a root ("" when it is not importable)."""
    relative = path[len(root.path) :].lstrip("/") if root.path else path
    parts = relative.split("/") if relative else []
    if not is_dir:
        stem = parts.pop()[: -len(".py")]
        if stem != "__init__":
            parts.append(stem)
    if not all(part.isidentifier() for part in parts):
        return ""
    return ".".join(([root.package] if root.package else []) + parts)


class _Walker:
    """Directory walk that stays inside the repository and never loops on symlinks."""

    def __init__(self, repository: Path, other_roots: set[str], diagnostics: list[Diagnostic]) -> None:
        self.repository = repository
        self.real_repository = repository.resolve()
        self.other_roots = other_roots
        self.diagnostics = diagnostics
        self.seen_files: set[str] = set()
        self._seen_dirs: set[str] = set()  # real paths

    def walk(self, top: str) -> Iterator[tuple[str, bool]]:
        """(path, is_dir) for every importable file and sub-directory, parents first, depth first in
        name order. An explicit stack: generated trees nest deeper than Python's recursion limit."""
        stack = [(top, os.path.realpath(self.repository / top if top else self.repository))]
        while stack:
            directory, real = stack.pop()
            subdirectories = yield from self._walk_one(directory, real, directory == top)
            stack.extend(reversed(subdirectories))

    def _walk_one(
        self, directory: str, real: str, is_top: bool
    ) -> Generator[tuple[str, bool], None, list[tuple[str, str]]]:
        """One directory; `real` is its path with symlinks resolved (only links are resolved
        again: a plain sub-directory's real path is its parent's plus its name)."""
        if real in self._seen_dirs:
            return []  # reached twice through symlinks: walked once is enough
        self._seen_dirs.add(real)
        absolute = os.path.join(self.repository, directory) if directory else os.fspath(self.repository)
        try:
            with os.scandir(absolute) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            self.diagnostics.append(
                Diagnostic(directory, 0, f"cannot read directory: {exc.strerror}", Severity.WARNING, Code.SOURCE_TREE)
            )
            return []
        if not is_top and any(e.name in ("pyvenv.cfg", "pyproject.toml") for e in entries):
            return []  # a virtual environment, or a separate project (a workspace member is its own root)
        if directory:
            yield directory, True
        files = [e for e in entries if e.name.endswith(".py") and self._is_file(e, directory)]
        for entry in files:
            path = f"{directory}/{entry.name}" if directory else entry.name
            self.seen_files.add(path)
        for entry in files:
            yield (f"{directory}/{entry.name}" if directory else entry.name), False
        subdirectories: list[tuple[str, str]] = []
        for entry in entries:
            path = f"{directory}/{entry.name}" if directory else entry.name
            if entry.name.startswith(".") or entry.name in _NEVER_WALKED or not entry.name.isidentifier():
                continue
            if path in self.other_roots or not self._is_dir(entry, path):
                continue
            if entry.is_symlink():
                target = os.path.realpath(entry.path)
                if target in self._seen_dirs:
                    self.diagnostics.append(
                        Diagnostic(path, 0, "symlink loop; not followed", Severity.WARNING, Code.SOURCE_TREE)
                    )
                    continue
            else:
                target = os.path.join(real, entry.name)
            subdirectories.append((path, target))
        return subdirectories

    def _is_file(self, entry: os.DirEntry[str], directory: str) -> bool:
        try:
            if not entry.is_file():
                return False
        except OSError:
            return False
        return not entry.is_symlink() or self._inside(entry, directory)

    def _is_dir(self, entry: os.DirEntry[str], path: str) -> bool:
        try:
            if not entry.is_dir():
                return False
        except OSError:
            return False
        return not entry.is_symlink() or self._inside(entry, path)

    def _inside(self, entry: os.DirEntry[str], path: str) -> bool:
        target = Path(entry.path).resolve()
        if target == self.real_repository or self.real_repository in target.parents:
            return True
        self.diagnostics.append(
            Diagnostic(
                path if path.endswith(entry.name) else f"{path}/{entry.name}".lstrip("/"),
                0,
                "symlink points outside the repository; not followed",
                Severity.WARNING,
                Code.SOURCE_TREE,
            )
        )
        return False


def is_excluded(path: str, patterns: Iterable[str]) -> bool:
    """gitignore-like matching: `name/` matches a directory anywhere, `name` a file or
    directory anywhere, `a/b*` a path from the repository root."""
    return _exclusion_matcher(tuple(patterns))(path)


@lru_cache(maxsize=64)
def _exclusion_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """One compiled regular expression per kind of pattern, built once per pattern set."""
    anywhere_dirs: list[str] = []
    anywhere: list[str] = []
    anchored_dirs: list[str] = []
    anchored: list[str] = []
    for pattern in patterns:
        directory_only = pattern.endswith("/")
        bare = pattern.rstrip("/")
        if "/" in bare:
            (anchored_dirs if directory_only else anchored).append(fnmatch.translate(bare.lstrip("/")))
        else:
            (anywhere_dirs if directory_only else anywhere).append(fnmatch.translate(bare))
    directory_tests = []  # what depends on a path's directory only: answered once per directory
    file_tests = []
    if anywhere_dirs:
        directory = re.compile("|".join(anywhere_dirs))
        directory_tests.append(lambda parts: any(directory.match(name) for name in parts))
    if anywhere:
        name_pattern = re.compile("|".join(anywhere))
        directory_tests.append(lambda parts: any(name_pattern.match(name) for name in parts))
        file_tests.append(lambda parts, path: name_pattern.match(parts[-1]) is not None)
    if anchored_dirs:
        prefix = re.compile("|".join(anchored_dirs))
        directory_tests.append(lambda parts: any(prefix.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)))
    if anchored:
        whole = re.compile("|".join(anchored))
        directory_tests.append(lambda parts: any(whole.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)))
        file_tests.append(lambda parts, path: whole.match(path) is not None)
    directories: dict[str, bool] = {"": False}

    def directory_matches(folder: str) -> bool:
        found = directories.get(folder)
        if found is None:
            parts = folder.split("/")
            found = directories[folder] = any(test(parts) for test in directory_tests)
        return found

    def matches(path: str) -> bool:
        folder, _, name = path.rpartition("/")
        if directory_matches(folder):
            return True
        return any(test([name], path) for test in file_tests)

    return matches
