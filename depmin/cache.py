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
import json
import marshal
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from depmin import SCANNER_VERSION, __version__
from depmin.files import NotRegularFile, read_regular, read_regular_with_stat, write_atomic
from depmin.lock import LockFile, lock_from_data, lock_to_data, parse_lock, read_lock
from depmin.model import ImportRecord, Kind, Target

if TYPE_CHECKING:
    from depmin.scan import ScanResult


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
def _salt() -> bytes:
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
        digest = hashlib.sha256(_salt())
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
        name = hashlib.sha256(_salt() + f" {kind} ".encode() + where + f" {target.python_version}".encode())
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
        return self.directory / f"{kind}-{hashlib.sha256(_salt() + f' {kind}'.encode()).hexdigest()[:16]}.marshal"

    def save(self) -> None:
        """Write what this run added; a run that added nothing never even loads the pack."""
        if self._pack is not None:
            self._pack.save()
        for snapshot in self._snapshots.values():
            snapshot.save()

    def entry(self, key: str) -> Path:
        return Path(os.path.join(self.directory, key[:2], f"{key}.json"))


def read_lock_cached(path: Path, display: str, cache: ScanCache | None) -> LockFile:
    """uv.lock parsed once per content: the cache keeps it as JSON, keyed by its bytes."""
    if cache is None or not cache.prepare():
        return read_lock(path, display)
    try:
        content = read_regular(path)
    except OSError:
        return read_lock(path, display)  # words the error
    digest = hashlib.sha256(_salt() + b"uv.lock" + content).hexdigest()
    entry = cache.entry(digest)
    try:
        return lock_from_data(json.loads(entry.read_text("utf-8")), display)
    except (OSError, ValueError, TypeError, KeyError):
        lock = parse_lock(content, display)
        write_quietly(entry, json.dumps(lock_to_data(lock), separators=(",", ":")))
        return lock


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


def _records_data(records: tuple[ImportRecord, ...]) -> list[list[object]]:
    return [
        [r.target, list(r.names), r.line, r.kind.value, r.guarded, r.level, r.anchor, [list(c) for c in r.when]]
        for r in records
    ]


_KINDS = {kind.value: kind for kind in Kind}


def _records(rows: list[list[Any]]) -> tuple[ImportRecord, ...]:
    kinds = _KINDS
    return tuple(
        ImportRecord(
            str(target),
            tuple(map(str, names)),
            int(line),
            kinds[kind],
            bool(guarded),
            int(level),
            None if anchor is None else str(anchor),
            tuple(tuple(c) for c in when) if when else (),
        )
        for target, names, line, kind, guarded, level, anchor, when in rows
    )


def _to_data(result: ScanResult) -> dict[str, list[list[object]]]:
    return {
        "records": _records_data(result.records),
        "ignored": _records_data(result.ignored),
        "problems": [[p.line, p.message, p.fatal] for p in result.problems],
        "constants": [[name, value] for name, value in result.constants],
        "all": [list(result.all_names)],
        "features": [[name, line] for name, line in result.features],
    }


def _from_data(data: dict[str, list[list[Any]]]) -> ScanResult:
    from depmin.scan import Problem, ScanResult

    records = _records(data["records"])
    problems = tuple(Problem(int(line), str(message), bool(fatal)) for line, message, fatal in data["problems"])
    constants = tuple((str(name), bool(value)) for name, value in data["constants"])
    features = tuple((str(name), int(line)) for name, line in data["features"])
    return ScanResult(
        records, problems, constants, tuple(map(str, data["all"][0])), _records(data["ignored"]), features
    )


def write_quietly(path: Path, text: str | bytes) -> None:
    try:
        write_atomic(path, text, durable=False)
    except OSError:
        pass  # a read-only or full cache directory slows depmin down, it never breaks it


# -- many files at once ---------------------------------------------------------------------

# Below this much uncached source a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 4_000_000
# A file whose mtime is this close to the snapshot's own time may have changed within the
# same clock tick without changing size: it is read and hashed, never trusted by its stat.
_RACY_NANOSECONDS = 2_000_000_000


def scan_files(
    root: Path,
    paths: list[str],
    target: Target,
    cache: ScanCache | None,
    *,
    workers: int | None = None,
    on_scanned: Callable[[int], None] | None = None,
    save: bool = True,
) -> dict[str, ScanResult]:
    """Scan results for root-relative paths: from the cache where it has them, the rest scanned
    (in parallel over processes when there is enough work) and stored.

    Two levels of cache: a per-target snapshot {path: (stamp, key)} names a warm file's key
    from one stat, without reading it; the pack of results keyed by content answers for that
    key and for everything else (another branch, another checkout, a touched but unchanged file).
    With save=False the caller saves the cache (ScanCache.save) once it is done with it: a walk
    that scans one module at a time for its facts must not rewrite the pack each time.
    """
    from depmin.scan import Problem, ScanResult, scan_source

    results: dict[str, ScanResult] = {}
    pending: list[tuple[str, bytes, str | None, os.stat_result]] = []
    base = str(root)
    snapshot = None
    if cache is not None and not cache.prepare():
        cache = None
    if cache is not None:
        snapshot = cache.snapshot(root, target)
    for path in paths:
        absolute = os.path.join(base, path)
        if snapshot is not None:
            vouched = snapshot.key(path, absolute)
            known = cache.pack().get(vouched) if vouched is not None else None  # type: ignore[union-attr]
            if known is not None:
                cache.hits += 1  # type: ignore[union-attr]
                results[path] = known
                continue
        try:
            source, status = read_regular_with_stat(absolute, None)
        except OSError as exc:
            reason = str(exc).split(": ", 1)[-1] if isinstance(exc, NotRegularFile) else exc.strerror or exc
            results[path] = ScanResult((), (Problem(0, f"cannot read: {reason}", True),))
            continue
        if cache is None:
            pending.append((path, source, None, status))
            continue
        key = cache.key(source, target)
        cached = cache.pack().get(key)
        if cached is not None:
            cache.hits += 1
            results[path] = cached
            snapshot.remember(path, status, key)  # type: ignore[union-attr]
        else:
            cache.misses += 1
            pending.append((path, source, key, status))
    if on_scanned is not None and results:
        on_scanned(len(results))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    sources = [source for _, source, _, _ in pending]
    scanned: list[ScanResult] = []
    if workers > 1 and len(sources) > 1 and sum(len(source) for source in sources) >= PARALLEL_MIN_BYTES:
        scanned = _scan_in_processes(sources, target, workers, on_scanned)
    else:
        for source in sources:
            scanned.append(scan_source(source, target))
            if on_scanned is not None:
                on_scanned(1)
    for (path, _, stored, status), result in zip(pending, scanned, strict=True):
        results[path] = result
        if cache is not None and stored is not None:
            cache.pack().put(stored, result)
            snapshot.remember(path, status, stored)  # type: ignore[union-attr]
    if cache is not None and save:
        cache.save()
    return results


def _scan_in_processes(
    sources: list[bytes], target: Target, workers: int, on_scanned: Callable[[int], None] | None
) -> list[ScanResult]:
    import multiprocessing  # only cold runs with much to scan pay for these imports
    from concurrent.futures import ProcessPoolExecutor

    from depmin.scan import scan_source

    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    chunk = max(1, min(64, len(sources) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = []
        for result in pool.map(scan_source, sources, [target] * len(sources), chunksize=chunk):
            results.append(result)
            if on_scanned is not None:
                on_scanned(1)
        return results


class _Pack:
    """{content key: result} in one file, so a cold run writes one file and not one per module.
    Saved by merging with what another run saved meanwhile (a lost entry only costs a rescan),
    the oldest dropped past _PACK_LIMIT."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.stamp = file_stamp(file)  # taken before the read: a later change shows at save
        self.entries: dict[str, object] = read_marshal(file)
        self.added: dict[str, object] = {}

    def get(self, key: str) -> ScanResult | None:
        data = self.entries.get(key)
        if data is None:
            return None
        try:
            return _from_data(data)  # type: ignore[arg-type]
        except (ValueError, TypeError, KeyError, IndexError):
            return None  # damaged: rescan, never trust

    def put(self, key: str, result: ScanResult) -> None:
        self.entries[key] = self.added[key] = _to_data(result)

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
    cache's salt, which a file planted in a repository cannot know (see _salt)."""
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
