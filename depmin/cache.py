"""Content-addressed cache of scan results (and of the parsed uv.lock).

The key is a hash of the file's bytes, the scanner version, the LibCST version
and the target, so an upgrade or a different target never reuses a stale entry
and nothing ever needs clearing by hand. Entries are written atomically (temp
file + rename), so concurrent runs can only race to write the same bytes; an
entry that does not parse back is ignored and rewritten. A per-project snapshot
of stat stamp → key lets a warm run skip reading and hashing unchanged files; it
is only a shortcut to the same entries and is never trusted for files changed
within two seconds of it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from depmin import SCANNER_VERSION, __version__
from depmin.files.reading import read_regular_with_stat
from depmin.files.writing import write_atomic
from depmin.model import Target

if TYPE_CHECKING:
    pass


def _libcst_stamp() -> str:
    """Which LibCST is installed, without importing it (half a second) or scanning every
    distribution's metadata: the location, size and mtime of its package file."""
    spec = importlib.util.find_spec("libcst")
    if spec is None or spec.origin is None:
        return "none"
    status = os.stat(spec.origin)
    return f"{spec.origin}:{status.st_size}:{status.st_mtime_ns}"


K = TypeVar("K")


V = TypeVar("V")


_MARK = "# created by depmin"


@functools.cache
def salt() -> bytes:
    """What every key and file name carries (built once, on first use)."""
    return f"depmin {__version__} scanner {SCANNER_VERSION} libcst {_libcst_stamp()}".encode()


class ScanCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0
        self.refused: bool | None = None
        self._snapshots: dict[tuple[Path, Target], _Snapshot] = {}
        self._pack: _Pack | None = None

    def key(self, source: bytes, target: Target) -> str:
        digest = hashlib.sha256(salt())
        digest.update(f"{target.python_version} {target.platform.name}".encode())
        digest.update(source)
        return digest.hexdigest()

    def prepare(self) -> bool:
        """Create the directory, ignoring itself in git like .pytest_cache does. False (and the
        cache is not used) when the directory is a symlink or was not created by depmin: a
        repository could plant one pointing anywhere, and depmin writes only into its own."""
        if self.refused is None:
            self.refused = not self._own_directory()
        return not self.refused

    def _own_directory(self) -> bool:
        ignore = self.directory / ".gitignore"
        if self.directory.is_symlink():
            return False
        if self.directory.exists():
            try:
                return (
                    self.directory.is_dir() and not ignore.is_symlink() and ignore.read_text("utf-8").startswith(_MARK)
                )
            except (OSError, UnicodeDecodeError):
                return False
        try:
            self.directory.mkdir(parents=True)
            write_quietly(ignore, f"{_MARK}\n*\n")
        except OSError:
            return False
        return True

    def snapshot(self, root: Path, target: Target) -> _Snapshot:
        """One per project and target, loaded once however many analyses of this run ask."""
        key = (root, target)
        if key not in self._snapshots:
            self._snapshots[key] = _Snapshot(self.file_for("snapshot", root, target))
        return self._snapshots[key]

    def file_for(self, kind: str, root: Path, target: Target) -> Path:
        """One of depmin's own files for a project and target; its name carries the salt."""
        where = os.fsencode(root.resolve())  # a non-UTF-8 project path is bytes, not text
        name = hashlib.sha256(salt() + f" {kind} ".encode() + where + f" {target.python_version}".encode())
        name.update(f" {target.platform.name}".encode())
        return self.directory / f"{kind}-{name.hexdigest()[:16]}.marshal"

    def pack(self) -> _Pack:
        """Scan results by content key, every project and target in one file (loaded when the
        snapshot cannot answer: a cold run, another branch, a touched but unchanged file)."""
        if self._pack is None:
            self._pack = _Pack(self.shared_file("pack"))
        return self._pack

    def shared_file(self, kind: str) -> Path:
        """One of depmin's own files shared by every project and target; its name carries the salt."""
        return self.directory / f"{kind}-{hashlib.sha256(salt() + f' {kind}'.encode()).hexdigest()[:16]}.marshal"

    def save(self) -> None:
        """Write what this run added; a run that added nothing never even loads the pack."""
        if self._pack is not None:
            self._pack.save()
        for snapshot in self._snapshots.values():
            snapshot.save()

    def entry(self, key: str) -> Path:
        return Path(os.path.join(self.directory, key[:2], f"{key}.json"))


def remembered_table(
    cache: ScanCache | None, kind: str, inputs: str, build: Callable[[], Mapping[str, frozenset[str]]]
) -> Mapping[str, frozenset[str]]:
    """A module → distributions table (from the .venv's or uv cache's metadata) kept while
    `inputs`, the stamps it was built from, stay the same: one file per kind, replaced whole."""
    if cache is None or not cache.prepare():
        return build()
    file = cache.shared_file(kind)
    digest = hashlib.sha256(inputs.encode()).hexdigest()
    data = read_marshal(file)
    kept = data.get("table")
    if data.get("inputs") == digest and isinstance(kept, dict):
        try:
            return {str(name): frozenset(map(str, found)) for name, found in kept.items()}
        except TypeError:
            pass  # damaged: rebuilt
    table = build()
    write_quietly(file, marshal.dumps({"inputs": digest, "table": {k: tuple(sorted(v)) for k, v in table.items()}}))
    return table


def write_quietly(path: Path, text: str | bytes) -> None:
    try:
        write_atomic(path, text, durable=False)
    except OSError:
        pass  # a read-only or full cache directory slows depmin down, it never breaks it


# A file whose mtime is this close to the snapshot's own time may have changed within the
# same clock tick without changing size: it is read and hashed, never trusted by its stat.
_RACY_NANOSECONDS = 2_000_000_000


class _Pack:
    """{content key: data} in one file, so a cold run writes one file and not one per module.
    Saved by merging with what another run saved meanwhile (a lost entry only costs a rescan),
    the oldest dropped past _PACK_LIMIT."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.stamp = file_stamp(file)  # taken before the read: a later change shows at save
        self.entries: dict[str, object] = read_marshal(file)
        self.added: dict[str, object] = {}

    def get(self, key: str) -> object | None:
        """The data kept under `key` (whoever reads it decodes it, and never trusts a damaged one)."""
        return self.entries.get(key)

    def put(self, key: str, data: object) -> None:
        self.entries[key] = self.added[key] = data

    def save(self) -> None:
        if not self.added:
            return
        merged = merged_for_save(self.file, self.stamp, self.entries, self.added, read_marshal)
        if len(merged) > _PACK_LIMIT:
            merged = dict(list(merged.items())[-_PACK_LIMIT:])
        write_quietly(self.file, marshal.dumps(merged))
        self.entries, self.added, self.stamp = merged, {}, file_stamp(self.file)


_PACK_LIMIT = 200_000


def merged_for_save(
    file: Path, stamp: tuple[int, int, int] | None, entries: dict[K, V], added: dict[K, V],
    read: Callable[[Path], dict[K, V]],
) -> dict[K, V]:  # fmt: skip
    """What a run that read `file` (with this `stamp`) should write back: its `entries` when nobody
    replaced the file since, else what is there now with this run's `added` on top (another run's
    additions are kept; a lost one only costs recomputing it)."""
    if file_stamp(file) == stamp:
        return entries
    return {**read(file), **added}


def file_stamp(file: Path) -> tuple[int, int, int] | None:
    """What changes when another run replaces one of depmin's files (they are written by rename)."""
    try:
        status = os.stat(file)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def read_marshal(file: Path) -> dict[str, object]:
    """A marshal file depmin wrote, or {} when it is missing or damaged. Its name carries the
    cache's salt, which a file planted in a repository cannot know (see salt)."""
    try:
        data = marshal.loads(read_regular_with_stat(file, None)[0])
    except (OSError, ValueError, TypeError, EOFError):
        return {}
    return data if isinstance(data, dict) else {}


class _Snapshot:
    """{path: [stamp, content key]} for one project and target, loaded and saved whole: a file
    whose stat still matches is known by its key without being read (its scan is in the pack,
    its edges in the edge store)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.changed = False
        self.entries: dict[str, list[object]] = {}
        self.taken = 0
        # marshal, not JSON: a warm run loads this one file, and marshal reads 10,000 entries
        # several times faster; a damaged one is read as empty (see read_marshal).
        data = read_marshal(file)
        try:
            self.taken = int(data["taken"])  # type: ignore[call-overload]
            self.entries = dict(data["entries"])  # type: ignore[call-overload]
        except (ValueError, TypeError, KeyError):
            self.entries = {}  # missing or damaged: start afresh, never trust it

    def key(self, path: str, absolute: str) -> str | None:
        """The content key of the file as it is now, when its stat still vouches for it."""
        entry = self.entries.get(path)
        if entry is None:
            return None
        try:
            stamp, key = entry
            if list(_stamp(os.stat(absolute))) != stamp or stamp[0] >= self.taken - _RACY_NANOSECONDS:
                return None
        except (OSError, ValueError, TypeError):
            return None
        return key if isinstance(key, str) else None

    def remembered_key(self, path: str) -> str | None:
        """The content key of what this run scanned (or last trusted) for `path`."""
        entry = self.entries.get(path)
        key = entry[1] if isinstance(entry, list) and len(entry) == 2 else None
        return key if isinstance(key, str) else None

    def remember(self, path: str, status: os.stat_result, key: str) -> None:
        """`status` is the open handle's, taken when the bytes were read: an edit during the scan
        changes the file's stamp, so the next run reads it again."""
        self.entries[path] = [list(_stamp(status)), key]
        self.changed = True

    def save(self) -> None:
        if self.changed:
            write_quietly(self.file, marshal.dumps({"taken": time.time_ns(), "entries": self.entries}))
            self.changed = False


def _stamp(status: os.stat_result) -> tuple[int, int, int, int]:
    """What a file must keep for the snapshot to trust it: a same-size, same-mtime replacement
    still changes the inode or the ctime."""
    return status.st_mtime_ns, status.st_size, status.st_ino, status.st_ctime_ns
