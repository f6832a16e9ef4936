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
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

from depmin import __version__
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

    def scan(self, source: bytes, target: Target) -> ScanResult:
        key = self.key(source, target)
        path = self.directory / key[:2] / f"{key}.json"
        cached = _load(path)
        if cached is not None:
            self.hits += 1
            return cached
        self.misses += 1
        result = scan_source(source, target)
        _store(path, result)
        return result


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
        return decode(path.read_text("utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # missing, truncated or corrupt: rescan, never trust


def _store(path: Path, result: ScanResult) -> None:
    try:
        ignore = path.parent.parent / ".gitignore"
        if not ignore.exists():  # like .pytest_cache: the cache never shows up in `git status`
            path.parent.parent.mkdir(parents=True, exist_ok=True)
            ignore.write_text("# created by depmin\n*\n", "utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(encode(result))
        os.replace(temporary, path)
    except OSError:
        pass  # a read-only or full cache directory slows depmin down, it never breaks it
