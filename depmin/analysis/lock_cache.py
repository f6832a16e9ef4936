"""uv.lock parsed once per content: the cache keeps it as JSON, keyed by its bytes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from depmin.cache import ScanCache, write_quietly
from depmin.files.reading import read_regular
from depmin.lock.model import LockFile
from depmin.lock.parse import lock_from_data, lock_to_data, parse_lock, read_lock


def read_lock_cached(path: Path, display: str, cache: ScanCache | None) -> LockFile:
    """uv.lock parsed once per content: the cache keeps it as JSON, keyed by its bytes."""
    if cache is None or not cache.prepare():
        return read_lock(path, display)
    try:
        content = read_regular(path)
    except OSError:
        return read_lock(path, display)  # words the error
    digest = hashlib.sha256(cache.salt + b"uv.lock" + content).hexdigest()
    entry = cache.entry("lock", digest)
    try:
        return lock_from_data(json.loads(read_regular(entry, follow_symlinks=False)), display)
    except (OSError, ValueError, TypeError, KeyError):
        lock = parse_lock(content, display)
        write_quietly(entry, json.dumps(lock_to_data(lock), separators=(",", ":")))
        return lock
