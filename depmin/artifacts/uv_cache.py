"""Facts of a locked wheel from uv's cache, when uv has unpacked that very wheel: an entry counts
only when uv's record of it carries the artifact's sha256, so a cache filled by another project,
another version or another build never answers for the lock."""

from __future__ import annotations

import os
from pathlib import Path

from depmin.artifacts.facts import UV_CACHE, ArtifactFacts, wheel_facts
from depmin.files.reading import read_regular

_LARGEST_RECORD = 1024 * 1024  # uv's record of one wheel is a few hundred bytes
_LARGEST_TREE = 200_000  # files of one unpacked wheel


def uv_cache_directory() -> Path | None:
    """uv's cache, as uv finds it (UV_NO_CACHE, UV_CACHE_DIR, then the platform's cache folder)."""
    if os.environ.get("UV_NO_CACHE"):
        return None
    if os.environ.get("UV_CACHE_DIR"):
        return Path(os.environ["UV_CACHE_DIR"])
    if os.name == "nt":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "uv" / "cache" if base else None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uv"


def wheel_from_uv_cache(cache: Path, name: str, sha256: str) -> ArtifactFacts | None:
    """The facts of the wheel of distribution `name` whose sha256 is `sha256`, when uv holds it."""
    digest = sha256.encode()
    try:
        generations = sorted((e for e in os.scandir(cache) if e.name.startswith("wheels-v")), key=lambda e: e.name)
    except OSError:
        return None
    for generation in reversed(generations):  # the newest layout first
        for folder in _name_folders(Path(generation.path), name):
            try:
                records = [e for e in os.scandir(folder) if e.name.endswith((".http", ".msgpack"))]
            except OSError:
                continue
            for record in records:
                try:
                    if digest not in read_regular(record.path, _LARGEST_RECORD, follow_symlinks=False):
                        continue
                except OSError:
                    continue
                unpacked = Path(record.path[: -len(Path(record.path).suffix)])
                facts = _unpacked(unpacked)
                if facts is not None:
                    return facts
    return None


def _name_folders(generation: Path, name: str) -> list[Path]:
    folders = [generation / "pypi" / name]
    try:
        folders += [Path(e.path) / name for e in os.scandir(generation / "index")]
    except OSError:
        pass
    return [f for f in folders if f.is_dir()]


def _unpacked(directory: Path) -> ArtifactFacts | None:
    """A wheel as uv unpacked it (its archive directory, usually reached through a symlink)."""
    try:
        real = Path(os.path.realpath(directory))
        if not real.is_dir():
            return None
    except OSError:
        return None
    paths: list[str] = []
    for folder, directories, files in os.walk(real):
        relative = os.path.relpath(folder, real)
        for file in files:
            paths.append(file if relative == "." else f"{relative}/{file}".replace(os.sep, "/"))
            if len(paths) > _LARGEST_TREE:
                return None
        directories[:] = [d for d in directories if d != "__pycache__"]

    def read(member: str) -> bytes | None:
        try:
            return read_regular(real / member, 4 * 1024 * 1024)
        except OSError:
            return None

    return wheel_facts(sorted(paths), read, UV_CACHE)
