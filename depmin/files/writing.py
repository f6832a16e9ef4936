"""Writing outputs: atomically, so a crash leaves the previous file intact, and only over a
regular file or a new path (never a device, a FIFO, `/dev/stdout` or a directory)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

# A temporary file of ours this old was left by a run that was killed while writing.
_STALE_SECONDS = 60


class NotReplaceable(OSError):
    """An existing path depmin does not replace: a device, a FIFO, a directory, a symlink it
    does not follow, or one that leaves the project root."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.filename, self.strerror = str(path), reason


def replaceable(path: Path) -> Path:
    """`path`, when a write may replace it: a regular file, or a path that does not exist yet.
    A symlink is refused (`-o /dev/stdout` must not replace the file behind /proc/self/fd/1,
    nor the link itself: standard output is `-o -`), and so is a device, a FIFO, a directory."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return path
    if stat.S_ISLNK(status.st_mode):
        raise NotReplaceable(path, "a symlink; depmin replaces only regular files (standard output is -o -)")
    if not stat.S_ISREG(status.st_mode):
        raise NotReplaceable(path, "not a regular file (a device, FIFO or directory); not replaced")
    return path


def output_path(path: Path, root: Path) -> Path:
    """What a command line names as an output (-o, --copy-list): a path the user chose outside
    the project is theirs; one inside the project must stay inside it once symlinks are followed
    (a committed symlinked directory must not carry the write out of the repository)."""
    return replaceable(output_directory(path, root))


def output_directory(path: Path, root: Path) -> Path:
    """`path` as output_path checks it, for a directory that write_tree replaces whole."""
    lexical = Path(os.path.abspath(path))
    real_root = root.resolve()
    inside = lexical == root.absolute() or root.absolute() in lexical.parents
    if inside:
        resolved = Path(os.path.realpath(lexical))
        if resolved != real_root and real_root not in resolved.parents:
            raise NotReplaceable(path, "resolves outside the project root (a symlink on the way); not written")
    return path


def write_atomic(path: Path, text: str | bytes, *, durable: bool = True) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    `durable` flushes the file to disk first (user outputs); cache entries skip that cost,
    since losing one on a crash only means scanning a file again.
    """
    path = replaceable(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        data = text if isinstance(text, bytes) else text.encode("utf-8")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temporary, _mode(path))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return 0o644


def remove_stale_temporaries(path: Path) -> None:
    """Temporary files of a write to `path` that a killed run left behind (`.name.XXXX.tmp`,
    older than a minute: a run writing now is never disturbed)."""
    prefix = f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            try:
                status = entry.stat(follow_symlinks=False)
                if stat.S_ISREG(status.st_mode) and now - status.st_mtime > _STALE_SECONDS:
                    os.unlink(entry.path)
            except OSError:
                continue


class PartialWrite(OSError):
    """Some outputs were replaced before a failure: `written` says exactly which."""

    def __init__(self, written: list[Path], failed: Path, error: OSError) -> None:
        super().__init__(f"{failed}: cannot write: {error.strerror or error}")
        self.written, self.failed = written, failed


def write_all_atomic(outputs: list[tuple[Path, str]]) -> None:
    """Every output or none: all temporary files are written (and flushed) first, then renamed;
    a failure while staging leaves every target untouched."""
    staged: list[tuple[str, Path]] = []
    for path, _ in outputs:
        replaceable(path)  # before anything is staged
    try:
        for path, text in outputs:
            path.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(path)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((temporary, path))
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, _mode(path))
    except OSError as exc:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # name the output, not the temp file
    except BaseException:
        for temporary, _ in staged:
            Path(temporary).unlink(missing_ok=True)
        raise
    written: list[Path] = []
    for number, (temporary, path) in enumerate(staged):
        try:
            os.replace(temporary, path)
        except OSError as exc:
            for later, _ in staged[number:]:
                Path(later).unlink(missing_ok=True)
            raise PartialWrite(written, path, exc) from None
        written.append(path)


TREE_MARK = ".depmin-tree"  # in a directory depmin wrote whole: the next run may replace it


def write_tree(directory: Path, files: dict[str, bytes]) -> None:
    """Write a whole directory of files at once: staged beside `directory`, then swapped in.
    Only a new or empty directory, or one that depmin wrote before (it holds TREE_MARK), is
    replaced: never a directory of the user's."""
    directory = Path(os.path.abspath(directory))
    try:
        status = os.lstat(directory)
    except FileNotFoundError:
        status = None
    if status is not None:
        if not stat.S_ISDIR(status.st_mode):
            raise NotReplaceable(directory, "not a directory that depmin wrote; not replaced")
        if any(os.scandir(directory)) and not (directory / TREE_MARK).is_file():
            raise NotReplaceable(directory, f"a directory depmin did not write (no {TREE_MARK}); not replaced")
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".tmp"))
    try:
        for relative, data in {**files, TREE_MARK: b"written by depmin; replaced whole by its next run\n"}.items():
            path = staging / relative
            if ".." in Path(relative).parts or Path(relative).is_absolute():
                raise NotReplaceable(path, "leaves the output directory; not written")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if status is not None:
            retired = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.", suffix=".old"))
            os.replace(directory, retired / "tree")
            os.replace(staging, directory)
            shutil.rmtree(retired)
        else:
            os.replace(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
