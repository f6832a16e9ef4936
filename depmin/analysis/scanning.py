"""Scanning many files at once: from the cache where it has them, the rest scanned (in parallel
processes when there is enough work) and stored. Scan results are kept in the cache as plain data."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depmin.cache import ScanCache
from depmin.files.reading import NotRegularFile, read_regular_with_stat
from depmin.model import ImportRecord, Kind, Target

if TYPE_CHECKING:
    from depmin.scan import ScanResult


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


def decoded_scan(data: object | None) -> ScanResult | None:
    """A scan result as the pack keeps it, or None when missing or damaged (rescan, never trust)."""
    if data is None:
        return None
    try:
        return _from_data(data)  # type: ignore[arg-type]
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _from_data(data: dict[str, list[list[Any]]]) -> ScanResult:
    from depmin.scan import Problem, ScanResult

    records = _records(data["records"])
    problems = tuple(Problem(int(line), str(message), bool(fatal)) for line, message, fatal in data["problems"])
    constants = tuple((str(name), bool(value)) for name, value in data["constants"])
    features = tuple((str(name), int(line)) for name, line in data["features"])
    return ScanResult(
        records, problems, constants, tuple(map(str, data["all"][0])), _records(data["ignored"]), features
    )


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
            known = decoded_scan(cache.pack().get(vouched)) if vouched is not None else None  # type: ignore[union-attr]
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
        cached = decoded_scan(cache.pack().get(key))
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
            cache.pack().put(stored, _to_data(result))
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
