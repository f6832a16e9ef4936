"""depmin's own cache: scan results by content, per-project snapshots and edge stores, the parsed
uv.lock, facts about locked artifacts.

It lives in the user's cache directory (`$DEPMIN_CACHE_DIR`, else `$XDG_CACHE_HOME/depmin` or the
platform's cache folder), never in the analysed repository by default: a repository cannot plant
entries in it. Every key and file name carries a salt made of depmin's version, a hash of the
depmin's own source and data, the installed LibCST, and a secret created once per user (never in a
repository), so an entry written elsewhere is never found here, and entries of another depmin
are never reused. Files are written atomically (temp file + rename); one that does not decode is
ignored and rewritten. A per-project snapshot of stat stamp → key lets a warm run skip reading
unchanged files; it is never trusted for files changed within two seconds of it.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from depmin import SCANNER_VERSION, __version__
from depmin.files.reading import NotRegularFile, read_regular, read_regular_with_stat
from depmin.files.writing import write_atomic
from depmin.model import Target


def _libcst_stamp() -> str:
    """Which LibCST is installed, without importing it (half a second) or scanning every
    distribution's metadata: the location, size and mtime of its package file."""
    spec = importlib.util.find_spec("libcst")
    if spec is None or spec.origin is None:
        return "none"
    status = os.stat(spec.origin)
    return f"{spec.origin}:{status.st_size}:{status.st_mtime_ns}"


@functools.cache
def code_digest() -> str:
    """A hash of depmin's own source and data files: scans and remembered edges are decided by the
    scanner, the resolver and the walk, so a change to any of them (installed from a commit,
    without a new version) never reuses what the old code concluded (read, not imported)."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted((*package.rglob("*.py"), *(package / "data").glob("*.txt"))):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


K = TypeVar("K")
V = TypeVar("V")
_MARK = "# created by depmin"
_SECRET_FILE = ".secret"
_SECRET_BYTES = 32


def default_directory() -> Path | None:
    """Where depmin keeps what it learns: $DEPMIN_CACHE_DIR, else the user's cache folder."""
    chosen = os.environ.get("DEPMIN_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return Path(base) / "depmin" / "Cache" if base else None
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "depmin"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "depmin"


class CacheRefused(Exception):
    """Why a cache directory is not used (said with -v); depmin then runs without it."""


class ScanCache:
    def __init__(self, directory: Path, secret_home: Path | None = None) -> None:
        self.directory = directory
        # The secret lives in the default cache directory whatever --cache-dir says: a cache
        # directory inside a repository never holds the secret that makes its entries valid.
        self.secret_home = secret_home or default_directory() or directory
        self.hits = 0
        self.misses = 0
        self.refused: bool | None = None
        self.reason = ""  # why the cache is not used, when it is not
        self._salt = b""
        self._snapshots: dict[tuple[Path, Target], _Snapshot] = {}
        self._pack: _Pack | None = None

    @property
    def salt(self) -> bytes:
        """What every key and file name carries (see the module's docstring)."""
        if not self._salt:
            secret = _secret(self.secret_home)
            self._salt = (
                f"depmin {__version__} scanner {SCANNER_VERSION} {code_digest()} libcst {_libcst_stamp()} ".encode()
                + secret
            )
        return self._salt

    def key(self, source: bytes, target: Target) -> str:
        digest = hashlib.sha256(self.salt)
        digest.update(f"{target.python_version} {target.platform.name}".encode())
        digest.update(source)
        return digest.hexdigest()

    def prepare(self) -> bool:
        """Whether the cache can be used: its directory is depmin's own (created by depmin, a real
        directory of this user, not a symlink) and the user's secret is readable. The first run
        creates both; a directory left empty by an interrupted first run is adopted."""
        if self.refused is None:
            try:
                _own_directory(self.directory)
                self.salt  # noqa: B018 - reads (or creates) the secret now, so a failure refuses the cache
                self.refused = False
            except CacheRefused as exc:
                self.refused, self.reason = True, str(exc)
        return not self.refused

    def snapshot(self, root: Path, target: Target) -> _Snapshot:
        """One per project and target, loaded once however many analyses of this run ask."""
        key = (root, target)
        if key not in self._snapshots:
            self._snapshots[key] = _Snapshot(self.file_for("snapshot", root, target))
        return self._snapshots[key]

    def file_for(self, kind: str, root: Path, target: Target) -> Path:
        """One of depmin's own files for a project and target; its name carries the salt."""
        where = os.fsencode(root.resolve())  # a non-UTF-8 project path is bytes, not text
        name = hashlib.sha256(self.salt + f" {kind} ".encode() + where + f" {target.python_version}".encode())
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
        return self.directory / f"{kind}-{hashlib.sha256(self.salt + f' {kind}'.encode()).hexdigest()[:16]}.marshal"

    def save(self) -> None:
        """Write what this run added; a run that added nothing never even loads the pack."""
        if self._pack is not None:
            self._pack.save()
        for snapshot in self._snapshots.values():
            snapshot.save()

    def entry(self, kind: str, key: str) -> Path:
        """A file of its own for one entry, named by its key (no sub-directories: the cache's
        one directory is the only one depmin has checked)."""
        return self.directory / f"{kind}-{key}.json"


def _own_directory(directory: Path) -> None:
    """Raise CacheRefused unless `directory` is depmin's; create it (and its mark) when missing."""
    try:
        status = os.lstat(directory)
    except FileNotFoundError:
        try:
            os.makedirs(directory, mode=0o700)
        except OSError as exc:
            raise CacheRefused(f"{directory}: cannot create it: {exc.strerror or exc}") from None
        _mark(directory)
        return
    except OSError as exc:
        raise CacheRefused(f"{directory}: {exc.strerror or exc}") from None
    if stat.S_ISLNK(status.st_mode) or not stat.S_ISDIR(status.st_mode):
        raise CacheRefused(f"{directory}: a symlink or not a directory; depmin writes only into its own")
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        raise CacheRefused(f"{directory}: owned by another user")
    mark = directory / ".gitignore"
    try:
        text = read_regular(mark, 1024, follow_symlinks=False).decode("utf-8", errors="replace")
    except FileNotFoundError:
        if any(entry.name != mark.name and not entry.name.endswith(".tmp") for entry in os.scandir(directory)):
            raise CacheRefused(f"{directory}: not created by depmin (no mark); not used") from None
        _mark(directory)  # empty, or only our own temporary files: an interrupted first run
        return
    except OSError as exc:
        raise CacheRefused(f"{mark}: {exc}") from None
    if not text.startswith(_MARK):
        raise CacheRefused(f"{directory}: not created by depmin (its .gitignore has no mark); not used")


def _mark(directory: Path) -> None:
    try:
        write_atomic(directory / ".gitignore", f"{_MARK}\n*\n", durable=False)
    except OSError as exc:
        raise CacheRefused(f"{directory}: cannot write its mark: {exc.strerror or exc}") from None


def _secret(home: Path) -> bytes:
    """The user's secret: random bytes created once (O_EXCL, mode 0600), read without following
    a symlink. Raises CacheRefused when it can be neither read nor made."""
    path = home / _SECRET_FILE
    for _ in range(2):
        try:
            data = read_regular(path, _SECRET_BYTES, follow_symlinks=False)
            if len(data) == _SECRET_BYTES:
                return data
            raise CacheRefused(f"{path}: damaged ({len(data)} bytes); remove it and run again")
        except FileNotFoundError:
            pass
        except (NotRegularFile, OSError) as exc:
            raise CacheRefused(f"{path}: {exc}") from None
        try:
            os.makedirs(home, mode=0o700, exist_ok=True)
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            descriptor = os.open(path, flags, 0o600)
        except FileExistsError:
            continue  # another run made it first: read theirs
        except OSError as exc:
            raise CacheRefused(f"{path}: cannot create the cache's secret: {exc.strerror or exc}") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(os.urandom(_SECRET_BYTES))
    raise CacheRefused(f"{path}: cannot read the cache's secret")


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
        data = marshal.loads(read_regular_with_stat(file, None, follow_symlinks=False)[0])
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
