"""What one locked artifact provides, read from its own files: the import names it ships, the
console scripts it installs, the distributions it requires.

Every source (depmin's cache, uv's cache, the index, a file in the repository) derives these the
same way from the same file list, so the answer never depends on where they came from.
"""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.parser import HeaderParser
from typing import Any

# How facts are derived from an artifact's files: part of every key they are kept under, so a
# change to the derivation never reuses facts derived the old way. Bump it with any such change.
FACTS_VERSION = 2

# Where facts came from (ArtifactFacts.source): not part of the facts, said with -v
STORE, UV_CACHE, REPOSITORY, INDEX = "depmin's cache", "uv's cache", "the file", "the index"

# Import names are kept to this many dotted parts, or down to a path's first regular package or
# module when that is deeper (opentelemetry.exporter.otlp.proto.http: four namespace portions,
# then that distribution's own code). Deeper names never decide which distribution an import
# belongs to, and torch keeps 400 names, not 7,000.
NAME_DEPTH = 4
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd", ".pyi")
_SDIST_SKIPPED = frozenset({"test", "tests", "testing", "doc", "docs", "example", "examples", "benchmarks", "bench"})
_SDIST_SKIPPED_FILES = frozenset({"setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py"})


@dataclass(frozen=True, slots=True)
class ArtifactFacts:
    names: tuple[str, ...]  # every import name it ships (modules, packages, namespace portions), sorted
    console_scripts: tuple[tuple[str, str], ...] = ()  # (command, "module:attr"), sorted
    requires_dist: tuple[str, ...] = ()  # METADATA's Requires-Dist, as written
    source: str = ""  # where these came from: not part of the facts (see same_facts)

    def data(self) -> list[object]:
        return [list(self.names), [list(pair) for pair in self.console_scripts], list(self.requires_dist)]

    @classmethod
    def from_data(cls, data: object, source: str) -> ArtifactFacts:
        """Raises ValueError / TypeError for data depmin did not write."""
        fields: list[Any] = list(data)  # type: ignore[call-overload]
        names, scripts, requires = fields
        return cls(
            tuple(str(n) for n in names),
            tuple((str(a), str(b)) for a, b in scripts),
            tuple(str(r) for r in requires),
            source,
        )


def names_from_paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The import names a wheel's (or an installed tree's) file paths provide: `a/b/__init__.py`,
    `a/b/c.py` and `a/_c.cpython-312-x86_64-linux-gnu.so` give a, a.b, a.b.c, a._c. Files under
    `*.data/purelib/` and `*.data/platlib/` install like the rest; the dist-info and other data do not."""
    modules = [module for module in map(_module_of, paths) if module]
    regular = {module for module, is_init in modules if is_init}  # packages with an __init__
    found: set[str] = set()
    for module, _ in modules:
        own = next((end for end in range(1, len(module)) if module[:end] in regular), len(module))
        for end in range(1, min(len(module), max(NAME_DEPTH, own)) + 1):
            found.add(".".join(module[:end]))
    return tuple(sorted(found))


def _module_of(path: str) -> tuple[tuple[str, ...], bool] | None:
    """(the dotted parts of the module a file installs, whether it is a package's __init__)."""
    parts = path.replace("\\", "/").split("/")
    if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in ("purelib", "platlib"):
        parts = parts[2:]
    elif parts[0].endswith((".dist-info", ".data", ".egg-info")):
        return None
    last = parts[-1]
    if not last.endswith(_MODULE_SUFFIXES):
        return None
    stem = last.split(".", 1)[0]
    is_init = stem == "__init__"
    module = tuple(parts[:-1] if is_init else [*parts[:-1], stem])
    if not module or not all(part.isidentifier() for part in module):
        return None
    return module, is_init


def names_from_sdist(paths: Iterable[str]) -> tuple[str, ...]:
    """The import names an sdist's source tree most likely installs: its `src/` when it has one,
    else its root; packages (directories with __init__.py) and top-level modules, without tests,
    docs and build scripts. A heuristic: an sdist does not say what it installs."""
    inner = []
    for path in paths:
        parts = path.replace("\\", "/").split("/")[1:]  # `name-version/` first
        if parts and parts[-1]:
            inner.append(parts)
    has_src = any(parts[0] == "src" and len(parts) > 2 for parts in inner)
    candidates = []
    for parts in inner:
        if has_src:
            if parts[0] != "src":
                continue
            parts = parts[1:]
        if len(parts) == 1 and (parts[0] in _SDIST_SKIPPED_FILES or parts[0].startswith("test")):
            continue
        if parts[0] in _SDIST_SKIPPED or parts[0].startswith("."):
            continue
        candidates.append(parts)
    packages = {tuple(parts[:-1]) for parts in candidates if parts[-1] == "__init__.py"}
    kept = []
    for parts in candidates:
        directory = tuple(parts[:-1])
        inside_package = all(directory[:end] in packages for end in range(1, len(directory) + 1))
        if (not directory or inside_package) and parts[-1].endswith((".py", ".pyx")):
            kept.append("/".join(parts).replace(".pyx", ".py"))
    return names_from_paths(kept)


def console_scripts(entry_points: str) -> tuple[tuple[str, str], ...]:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(entry_points)
    except configparser.Error:
        return ()
    if not parser.has_section("console_scripts"):
        return ()
    return tuple(sorted((name.strip(), value.strip()) for name, value in parser.items("console_scripts")))


def requires_dist(metadata: str) -> tuple[str, ...]:
    headers = HeaderParser().parsestr(metadata)
    return tuple(value.strip() for value in headers.get_all("Requires-Dist") or ())


def wheel_facts(paths: list[str], read: Callable[[str], bytes | None], source: str) -> ArtifactFacts:
    """Facts of a wheel from its file list; `read` gives a member's bytes (the dist-info's
    entry_points.txt and METADATA are all it is asked for)."""
    info = next((p.split("/")[0] for p in paths if p.split("/")[0].endswith(".dist-info")), "")
    scripts: tuple[tuple[str, str], ...] = ()
    requires: tuple[str, ...] = ()
    if info:
        entry_points = read(f"{info}/entry_points.txt") if f"{info}/entry_points.txt" in paths else None
        metadata = read(f"{info}/METADATA") if f"{info}/METADATA" in paths else None
        scripts = console_scripts(entry_points.decode("utf-8", "replace")) if entry_points else ()
        requires = requires_dist(metadata.decode("utf-8", "replace")) if metadata else ()
    return ArtifactFacts(names_from_paths(paths), scripts, requires, source)


def sdist_facts(paths: list[str], read: Callable[[str], bytes | None], source: str) -> ArtifactFacts:
    """Facts of an sdist: its probable names, and PKG-INFO's Requires-Dist."""
    pkg_info = next((p for p in paths if p.count("/") == 1 and p.endswith("/PKG-INFO")), None)
    metadata = read(pkg_info) if pkg_info else None
    requires = requires_dist(metadata.decode("utf-8", "replace")) if metadata else ()
    return ArtifactFacts(names_from_sdist(paths), (), requires, source)
