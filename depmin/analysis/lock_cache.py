"""uv.lock parsed once per content: the cache keeps it as JSON, keyed by its bytes."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from depmin.analysis.inputs import lowest_python
from depmin.artifacts import chosen_for_each_version, gather
from depmin.artifacts.network import network_for
from depmin.artifacts.uv_cache import uv_cache_directory
from depmin.cache import ScanCache, write_quietly
from depmin.errors import LockError
from depmin.files.reading import read_regular, read_toml, resolves_inside
from depmin.files.safety import is_pylock_name
from depmin.lock.model import LockFile
from depmin.lock.parse import lock_from_data, lock_from_packages, lock_to_data, parse_lock, read_lock
from depmin.lock.pylock import parse_pylock, project_package, pylock_lock
from depmin.model import PLATFORMS, Target


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


def read_any_lock(
    path: Path,
    display: str,
    cache: ScanCache | None,
    *,
    root: Path,
    pyproject: Mapping[str, object],
    facts_cache: ScanCache | None,
    offline: bool,
) -> LockFile:
    """uv.lock, or a PEP 751 lock when the file is named as one (pylock.toml, pylock.<name>.toml)."""
    if not is_pylock_name(path.name):
        return read_lock_cached(path, display, cache)
    return read_pylock(path, display, root, pyproject, facts_cache, offline)


def read_pylock(path: Path, display: str, root: Path, pyproject: Mapping[str, object],
                facts_cache: ScanCache | None, offline: bool) -> LockFile:  # fmt: skip
    """A pylock with the dependency graph its packages' own metadata gives (their Requires-Dist,
    read from the artifact the lowest Python on linux-x86_64 installs, as names are)."""
    try:
        pylock = parse_pylock(read_regular(path, limit=1 << 30), display)
    except FileNotFoundError:
        raise LockError(
            display, 0, "no such lock file; pass --lock FILE (a uv.lock or a PEP 751 pylock.toml)"
        ) from None
    except OSError as exc:
        raise LockError(display, 0, f"cannot read: {exc.strerror or exc}") from None
    base = path.parent
    projects = []
    for directory in dict.fromkeys((".", *pylock.directories)):
        here = (base / directory).resolve()
        if not resolves_inside(root, here):
            raise LockError(display, 0, f"local project {directory!r} lies outside the project root")
        data = pyproject if here == root.resolve() else read_toml(here / "pyproject.toml")
        relative = os.path.relpath(here, root.resolve()).replace(os.sep, "/")
        found = project_package(data, relative)
        if found is not None:
            projects.append(found)
    skeleton = lock_from_packages(display, pylock.requires_python, (*projects, *(p.package for p in pylock.packages)),
                                  tuple(p.name for p in projects))  # fmt: skip
    target = Target(lowest_python(skeleton), PLATFORMS["linux-x86_64"])
    chosen = chosen_for_each_version((p.package for p in pylock.packages if p.dependencies is None), target)
    wanted = {f"{p.package.name}=={p.package.version}" for p in pylock.packages if p.dependencies is None}
    network = None if offline else network_for([pyproject])
    gathered = gather(chosen, cache=facts_cache, uv_cache=uv_cache_directory(), lock_directory=base, root=root,
                      network=network)  # fmt: skip
    unread = sorted(wanted - set(gathered.facts))
    if unread:
        line = next(p.line for p in pylock.packages if f"{p.package.name}=={p.package.version}" == unread[0])
        how = "offline" if offline else (gathered.refused[0][1] if gathered.refused else "no artifact with a sha256")
        raise LockError(display, line, f"the dependencies of {', '.join(unread[:5])}"
                        f"{f' and {len(unread) - 5} more' if len(unread) > 5 else ''} are not in the pylock, and "
                        f"their metadata could not be read ({how}); run without --offline once")  # fmt: skip
    requires = {(chosen[key].name, chosen[key].version): facts.requires_dist for key, facts in gathered.facts.items()}
    return pylock_lock(pylock, requires, tuple(projects))
