"""The COPY plan: the fewest repository paths that carry exactly the closure's files."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from depmin.errors import Code, Diagnostic
from depmin.files.reading import resolves_inside
from depmin.model import Closure, CopyPath
from depmin.project.module_index import ModuleIndex, is_excluded


def copy_paths(
    root: Path, index: ModuleIndex, files: Iterable[str], excludes: Iterable[str], data: Iterable[str] = ()
) -> tuple[list[CopyPath], list[Diagnostic]]:
    """The fewest paths covering every closure file and no other Python file.

    A directory is copied whole when every Python file under it (minus excludes)
    is in the closure; its non-Python files travel with it as package data.
    """
    wanted = set(files)
    excludes = tuple(excludes)
    kept = index.derived(("python files kept", excludes), lambda: _Tree.of(
        p for p in index.names_by_path if not is_excluded(p, excludes)))  # fmt: skip
    sources = _cover(kept, _Tree.of(wanted - kept.all), wanted)
    copies = [CopyPath(source, _destination(index, source, wanted)) for source in sources]
    problems = []
    for item in data:
        cleaned = item.strip().removeprefix("./")
        data_path = root / cleaned
        if data_path.is_dir():
            copies.append(CopyPath(cleaned.rstrip("/") + "/", cleaned.rstrip("/") + "/"))
        elif data_path.is_file():
            copies.append(CopyPath(cleaned, cleaned))
        else:
            problems.append(Diagnostic(cleaned, 0, "data path does not exist", code=Code.DATA_PATH))
    unique = {c.source: c for c in copies}
    return [unique[s] for s in sorted(unique)], problems


_NOT_DATA = (".py", ".pyc", ".pyo")
_PROJECT_FILES = frozenset(
    {
        "__pycache__",
        "pyproject.toml",
        "uv.lock",
        "setup.py",
        "setup.cfg",
        "MANIFEST.in",
        "node_modules",
        "site-packages",
    }
)


def package_data(root: Path, index: ModuleIndex, modules: Iterable[str], excludes: Iterable[str]) -> list[str]:
    """The non-Python files a wheel of the closure's packages would carry: everything inside each
    package directory and its sub-directories that are not packages themselves, except caches,
    hidden files and what the excludes drop (tests)."""
    excludes = tuple(excludes)
    found: set[str] = set()
    base = os.fspath(root)
    for module in modules:
        info = index.modules[module]
        directory = info.path.rpartition("/")[0]
        if not info.is_package or not directory:
            continue  # the repository root as a package (package-dir "."): not a wheel's package data
        stack = [directory]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(os.path.join(base, folder)) as listing:
                    entries = list(listing)
            except OSError:
                continue
            if folder != directory and any(e.name == "__init__.py" for e in entries):
                continue  # a package of its own: its files are its own module's data
            for entry in entries:
                relative = f"{folder}/{entry.name}"
                if entry.name.startswith(".") or entry.name in _PROJECT_FILES or is_excluded(relative, excludes):
                    continue
                if entry.is_symlink() and not resolves_inside(root, Path(entry.path)):
                    continue  # never followed out of the root
                try:
                    if entry.is_dir():
                        stack.append(relative)
                    elif entry.is_file() and not entry.name.endswith(_NOT_DATA):
                        found.add(relative)
                except OSError:
                    continue
    return sorted(found)


@dataclass(frozen=True)
class _Tree:
    """Files by directory ("" is the root), and how many files each directory holds in all."""

    all: frozenset[str]
    totals: Mapping[str, int]
    subdirectories: Mapping[str, tuple[str, ...]]
    files: Mapping[str, tuple[str, ...]]

    @classmethod
    def of(cls, paths: Iterable[str]) -> _Tree:
        every = frozenset(paths)
        totals: dict[str, int] = {}
        subdirectories: dict[str, set[str]] = {}
        files: dict[str, list[str]] = {}
        for path in every:
            files.setdefault(path.rpartition("/")[0], []).append(path)
            for directory in _ancestors(path):
                totals[directory] = totals.get(directory, 0) + 1
                subdirectories.setdefault(directory.rpartition("/")[0], set()).add(directory)
        return cls(
            every,
            totals,
            {d: tuple(sorted(found)) for d, found in subdirectories.items()},
            {d: tuple(sorted(found)) for d, found in files.items()},
        )


def _ancestors(path: str) -> Iterator[str]:
    """`a/b/c.py` → `a/b`, `a` (never the root)."""
    directory = path.rpartition("/")[0]
    while directory:
        yield directory
        directory = directory.rpartition("/")[0]


def _cover(kept: _Tree, extra: _Tree, wanted: set[str]) -> list[str]:
    """The fewest paths covering the wanted files among kept | extra: a directory whose every
    file is wanted is one path, otherwise its wanted files and covered sub-directories. A
    directory with nothing wanted is never entered. Iterative: trees nest deeper than the stack."""
    wanted_under: dict[str, int] = {}
    for path in wanted:
        for directory in _ancestors(path):
            wanted_under[directory] = wanted_under.get(directory, 0) + 1
    found: list[str] = []
    stack = [""]
    while stack:
        directory = stack.pop()
        subdirectories = {*kept.subdirectories.get(directory, ()), *extra.subdirectories.get(directory, ())}
        for sub in subdirectories:
            count = wanted_under.get(sub, 0)
            if count and count == kept.totals.get(sub, 0) + extra.totals.get(sub, 0):
                found.append(sub + "/")
            elif count:
                stack.append(sub)
        found += [p for p in (*kept.files.get(directory, ()), *extra.files.get(directory, ())) if p in wanted]
    return sorted(found)


def _destination(index: ModuleIndex, source: str, wanted: set[str]) -> str:
    """Where a COPY source lands: its own path, unless its root is a mapped package (package-dir)."""
    sample = source if not source.endswith("/") else next(p for p in sorted(wanted) if p.startswith(source))
    if sample not in index.names_by_path:  # package data: placed as the package's modules are
        directory = sample.rpartition("/")[0]
        modules = [
            p for p in wanted if p in index.names_by_path and (directory + "/").startswith(p.rpartition("/")[0] + "/")
        ]
        sample = max(modules, key=lambda p: (p.count("/"), p), default=sample)
    names = index.names_by_path.get(sample)
    if not names:
        return source
    root = index.modules[names[0]].root
    if not root.package:
        return source
    relative = source[len(root.path) :].lstrip("/") if root.path else source
    return f"{root.package.replace('.', '/')}/{relative}"


def planned_files(root: Path, closure: Closure, excludes: tuple[str, ...]) -> list[tuple[Path, str]]:
    """(repository file, image-relative destination) for everything the COPY lines copy,
    with the same excludes the generated .dockerignore applies: never to a closure file
    (a runtime module named `ab_test.py` that the service imports travels with it)."""
    planned = []
    keep = frozenset(closure.files)
    for copy in closure.copy:
        source = root / copy.source
        if not resolves_inside(root, source):
            continue  # a COPY path through a symlink out of the root is never followed
        if copy.source.endswith("/"):
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(root).as_posix()
                if path.is_symlink() and not resolves_inside(root, path):
                    continue  # never read a file outside the root through a link inside it
                if path.is_file() and (relative in keep or not _ignored(relative, excludes)):
                    planned.append((path, f"{copy.destination}{path.relative_to(source).as_posix()}"))
        elif source.is_file():
            planned.append((source, copy.destination))
    return planned


def excluded_closure_files(closure: Closure, excludes: tuple[str, ...]) -> list[str]:
    """Closure files that an exclude pattern matches: the .dockerignore re-includes them."""
    return [path for path in closure.files if is_excluded(path, excludes)]


def _ignored(relative: str, excludes: tuple[str, ...]) -> bool:
    parts = relative.split("/")
    return "__pycache__" in parts or relative.endswith(".pyc") or is_excluded(relative, excludes)
