"""Content-addressed cache of scan results.

The key is a hash of the file's bytes, the scanner version, the LibCST version
and the target, so an upgrade or a different target never reuses a stale entry
and nothing ever needs clearing by hand. Entries are written atomically (temp
file + rename), so concurrent runs can only race to write the same bytes; an
entry that does not parse back is ignored and rewritten.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from pathlib import Path

from depmin import __version__
from depmin.lock import LockFile, lock_from_data, lock_to_data, parse_lock, read_lock
from depmin.model import ImportRecord, Kind, Target
from depmin.scan import SCANNER_VERSION, Problem, ScanResult, scan_source

_SALT = f"depmin {__version__} scanner {SCANNER_VERSION} libcst {version('libcst')}".encode()


class ScanCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    def key(self, source: bytes, target: Target) -> str:
        digest = hashlib.sha256(_SALT)
        digest.update(f"{target.python_version} {target.platform.name}".encode())
        digest.update(source)
        return digest.hexdigest()

    def entry(self, key: str) -> Path:
        return Path(os.path.join(self.directory, key[:2], f"{key}.json"))

    def scan(self, source: bytes, target: Target) -> ScanResult:
        key = self.key(source, target)
        path = self.entry(key)
        cached = _load(path)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        result = scan_source(source, target)
        _store(path, result)
        return result


def read_lock_cached(path: Path, display: str, cache: ScanCache | None) -> LockFile:
    """uv.lock parsed once per content: the cache keeps it as JSON, keyed by its bytes."""
    if cache is None:
        return read_lock(path, display)
    try:
        content = path.read_bytes()
    except OSError:
        return read_lock(path, display)  # words the error
    digest = hashlib.sha256(_SALT + b"uv.lock" + content).hexdigest()
    entry = cache.entry(digest)
    try:
        return lock_from_data(json.loads(entry.read_text("utf-8")), display)
    except (OSError, ValueError, TypeError, KeyError):
        lock = parse_lock(content, display)
        _write(entry, json.dumps(lock_to_data(lock), separators=(",", ":")))
        return lock


def encode(result: ScanResult) -> str:
    return json.dumps(
        {
            "records": [
                [r.target, list(r.names), r.line, r.kind.value, r.guarded, r.level, r.anchor] for r in result.records
            ],
            "problems": [[p.line, p.message, p.fatal] for p in result.problems],
        },
        separators=(",", ":"),
    )


def decode(text: str) -> ScanResult:
    data = json.loads(text)
    records = tuple(
        ImportRecord(
            target=str(target),
            names=tuple(str(n) for n in names),
            line=int(line),
            kind=Kind(kind),
            guarded=bool(guarded),
            level=int(level),
            anchor=None if anchor is None else str(anchor),
        )
        for target, names, line, kind, guarded, level, anchor in data["records"]
    )
    problems = tuple(Problem(int(line), str(message), bool(fatal)) for line, message, fatal in data["problems"])
    return ScanResult(records, problems)


def _load(path: Path) -> ScanResult | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return decode(handle.read())
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, truncated or corrupt: rescan, never trust


def _store(path: Path, result: ScanResult) -> None:
    _write(path, encode(result))


def _write(path: Path, text: str) -> None:
    try:
        ignore = path.parent.parent / ".gitignore"
        if not ignore.exists():  # like .pytest_cache: the cache never shows up in `git status`
            path.parent.parent.mkdir(parents=True, exist_ok=True)
            ignore.write_text("# created by depmin\n*\n", "utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only or full cache directory slows depmin down, it never breaks it


# -- many files at once ---------------------------------------------------------------------

# Below this much uncached source a process pool costs more than it saves.
PARALLEL_MIN_BYTES = 4_000_000


def scan_files(
    root: Path,
    paths: list[str],
    target: Target,
    cache: ScanCache | None,
    *,
    workers: int | None = None,
    on_scanned: Callable[[int], None] | None = None,
) -> dict[str, ScanResult]:
    """Scan results for root-relative paths: from the cache where it has them, the rest scanned
    (in parallel over processes when there is enough work) and stored."""
    results: dict[str, ScanResult] = {}
    pending: list[tuple[str, bytes, str | None]] = []
    base = str(root)
    for path in paths:
        try:
            with open(os.path.join(base, path), "rb") as handle:
                source = handle.read()
        except OSError as exc:
            results[path] = ScanResult((), (Problem(0, f"cannot read: {exc.strerror or exc}", True),))
            continue
        if cache is None:
            pending.append((path, source, None))
            continue
        key = cache.key(source, target)
        cached = _load(cache.entry(key))
        if cached is not None:
            cache.hits += 1
            results[path] = cached
        else:
            cache.misses += 1
            pending.append((path, source, key))
    if on_scanned is not None and len(results):
        on_scanned(len(results))
    workers = workers if workers is not None else (os.cpu_count() or 1)
    sources = [source for _, source, _ in pending]
    if workers > 1 and len(pending) > 1 and sum(map(len, sources)) >= PARALLEL_MIN_BYTES:
        scanned = _scan_in_processes(sources, target, workers, on_scanned)
    else:
        scanned = []
        for source in sources:
            scanned.append(scan_source(source, target))
            if on_scanned is not None:
                on_scanned(1)
    for (path, _, key), result in zip(pending, scanned, strict=True):
        results[path] = result
        if cache is not None and key is not None:
            _store(cache.entry(key), result)
    return results


def _scan_in_processes(
    sources: list[bytes], target: Target, workers: int, on_scanned: Callable[[int], None] | None
) -> list[ScanResult]:
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    chunk = max(1, min(64, len(sources) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = []
        for result in pool.map(_scan_one, sources, [target] * len(sources), chunksize=chunk):
            results.append(result)
            if on_scanned is not None:
                on_scanned(1)
        return results


def _scan_one(source: bytes, target: Target) -> ScanResult:
    return scan_source(source, target)
