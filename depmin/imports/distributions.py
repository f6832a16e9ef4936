"""Import name → the locked distributions that provide it.

Asked in order: the user's module-map, the .venv's metadata, uv's cache, the bundled table,
the lock's own names; the lock's structure breaks a tie.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from packaging.utils import canonicalize_name


@cache
def known_modules() -> Mapping[str, tuple[str, ...]]:
    """The bundled table of import names whose distribution name differs."""
    text = resources.files("depmin.data").joinpath("known-modules.txt").read_text("utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2:
            table[fields[0]] = tuple(canonicalize_name(f) for f in fields[1:])
    return table


class LazyTable(Mapping[str, frozenset[str]]):
    """A module → distributions table built on first use: a warm run whose edges all come from
    depmin's cache never reads a RECORD nor lists uv's cache."""

    def __init__(self, build: Callable[[], Mapping[str, frozenset[str]]]) -> None:
        self._build = build
        self._table: Mapping[str, frozenset[str]] | None = None

    def _get(self) -> Mapping[str, frozenset[str]]:
        if self._table is None:
            self._table = self._build()
        return self._table

    def __getitem__(self, name: str) -> frozenset[str]:
        return self._get()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def installed_distributions(site_packages: Path) -> dict[str, str]:
    """{distribution: stamp} of the *.dist-info directories, from one listing (no RECORD read):
    what the installed table depends on, and which distributions it holds."""
    found: dict[str, str] = {}
    try:
        entries = sorted(os.scandir(site_packages), key=lambda e: e.name)
    except OSError:
        return found
    for entry in entries:
        if entry.name.endswith(".dist-info"):
            try:
                status = entry.stat()
            except OSError:
                continue
            distribution = canonicalize_name(entry.name[: -len(".dist-info")].rsplit("-", 1)[0])
            found[distribution] = f"{entry.name}:{status.st_ino}:{status.st_mtime_ns}"
    return found


def uv_cache_stamp(cache: Path | None) -> str:
    """What `cached_modules` depends on: uv unpacks each wheel into a new archive entry and never
    changes one in place, so the archive directory's own stamp changes with its contents."""
    try:
        status = os.stat(cache / "archive-v0") if cache is not None else None
    except OSError:
        status = None
    return f"{cache}:{status.st_ino}:{status.st_mtime_ns}" if status else "none"


def installed_modules(site_packages: Path) -> dict[str, frozenset[str]]:
    """Module name (and each dotted prefix) → distributions, from *.dist-info RECORD / top_level.txt."""
    found: dict[str, set[str]] = {}
    for info in sorted(site_packages.glob("*.dist-info")):
        distribution = canonicalize_name(info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        for module in _modules_of(info):
            parts = module.split(".")
            for end in range(1, len(parts) + 1):
                found.setdefault(".".join(parts[:end]), set()).add(distribution)
    return {name: frozenset(dists) for name, dists in found.items()}


def _modules_of(info: Path) -> Iterable[str]:
    record = info / "RECORD"
    if record.is_file():
        for row in record.read_text("utf-8", errors="replace").splitlines():
            path = row.split(",", 1)[0]
            if path.endswith((".py", ".so", ".pyd")) and not path.startswith(("..", "/")) and ".dist-info/" not in path:
                parts = path.split("/")
                stem = parts[-1].split(".", 1)[0]
                parts = parts[:-1] if stem == "__init__" else [*parts[:-1], stem]
                if parts and all(p.isidentifier() for p in parts):
                    yield ".".join(parts)
        return
    top_level = info / "top_level.txt"
    if top_level.is_file():
        text = top_level.read_text("utf-8", errors="replace")
        yield from (line.strip() for line in text.splitlines() if line.strip().isidentifier())


def uv_cache_directory() -> Path | None:
    """uv's cache, as uv finds it (UV_CACHE_DIR, then the platform's cache folder)."""
    if os.environ.get("UV_NO_CACHE"):
        return None
    if os.environ.get("UV_CACHE_DIR"):
        return Path(os.environ["UV_CACHE_DIR"])
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "uv" / "cache" if base else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv"


def cached_modules(cache: Path | None, wanted: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Module name (and each dotted prefix) → distributions, from the unpacked wheels in uv's cache
    (their dist-info RECORD), for the locked (name → versions) in `wanted` only: the wheels of
    every environment the user ever synced answer without a .venv."""
    found: dict[str, set[str]] = {}
    archive = cache / "archive-v0" if cache is not None else None
    if archive is None or not archive.is_dir():
        return {}
    try:
        entries = list(os.scandir(archive))
    except OSError:
        return {}
    for entry in entries:
        try:
            inner = [e for e in os.scandir(entry.path) if e.name.endswith(".dist-info")]
        except OSError:
            continue
        for info in inner:
            name, _, version = info.name[: -len(".dist-info")].rpartition("-")
            distribution = canonicalize_name(name)
            if version not in wanted.get(distribution, ()):
                continue
            for module in _modules_of(Path(info.path)):
                parts = module.split(".")
                for end in range(1, len(parts) + 1):
                    found.setdefault(".".join(parts[:end]), set()).add(distribution)
    return {name: frozenset(dists) for name, dists in found.items()}


@dataclass(frozen=True)
class DistributionFinder:
    """Import name → locked distributions, asking in order: module-map, the .venv's metadata (for
    what is installed there), uv's cache (for locked versions not installed), the bundled table,
    the lock's own names; the lock's structure breaks a tie."""

    locked: frozenset[str]
    overrides: Mapping[str, tuple[str, ...]]
    installed: Mapping[str, frozenset[str]]
    known: Mapping[str, tuple[str, ...]]
    # module → distributions from the wheels in uv's cache (a LazyTable: it lists uv's cache)
    cached: Mapping[str, frozenset[str]] = field(default_factory=dict)
    depends: Mapping[str, frozenset[str]] = field(default_factory=dict)  # lock: name → its dependencies
    # What the answers depend on beyond the fields (the .venv's and uv cache's stamps): equal
    # fingerprints, equal answers. Empty: not known, so nothing derived from it is kept.
    fingerprint: str = ""

    def find(self, name: str) -> tuple[tuple[str, ...], str]:
        """(distributions, how found) for a dotted import name; longest dotted prefix wins.

        An empty tuple means nothing in the lock provides it; the second item then
        names unlocked distributions that would have, if any were named anywhere.
        """
        longest_first = prefixes(name)
        for prefix in longest_first:
            if prefix in self.overrides:
                mapped = self.overrides[prefix]
                locked = tuple(d for d in mapped if d in self.locked)
                return (locked, "module-map") if locked else ((), ", ".join(mapped))
        # Longest prefix first, every source at each length: a partial .venv that holds only the
        # namespace `google` (protobuf) must not hide the locked but uninstalled google-genai.
        for prefix in longest_first:
            if prefix in self.installed:
                locked = self._untie(d for d in self.installed[prefix] if d in self.locked)
                if locked:
                    return locked, "installed metadata"
            cached = self.cached.get(prefix)
            if cached:
                locked = self._untie(d for d in cached if d in self.locked)
                if locked:
                    return locked, "uv's cache"
            candidates = {canonicalize_name(prefix), *self.known.get(prefix, ())}
            locked = self._untie(d for d in candidates if d in self.locked)
            if locked:
                return locked, ("known module names" if prefix in self.known else "distribution name")
        return (), ""

    def _untie(self, candidates: Iterable[str]) -> tuple[str, ...]:
        """Several distributions for one name: one that only depends on another candidate (the
        `bs4` shim on beautifulsoup4) gives way to the one that ships the modules."""
        found = set(candidates)
        if len(found) > 1:
            shims = {d for d in found if self.depends.get(d, frozenset()) & (found - {d})}
            if found - shims:
                found -= shims
        return tuple(sorted(found))


def prefixes(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:end]) for end in range(len(parts), 0, -1)]
