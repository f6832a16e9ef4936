"""Reading the repository: regular files only, with a size limit, and paths as depmin names them."""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path


def toml_error(exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """(line, message) of a TOML error; tomllib only says where inside its message."""
    text = str(exc)
    match = re.search(r"\(at line (\d+), column \d+\)", text)
    return (int(match.group(1)) if match else 0), text.split(" (at line")[0]


def display_path(root: Path, path: Path) -> str:
    """`path` relative to the project root, '/'-separated, as depmin names files; else as given."""
    for candidate, base in ((path.absolute(), root.absolute()), (path.resolve(), root.resolve())):
        try:
            return candidate.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


# Far above any real uv.lock or pyproject.toml; a hostile symlink to /dev/zero stops here.
CONFIG_SIZE_LIMIT = 64 * 1024 * 1024


SOURCE_SIZE_LIMIT = 256 * 1024 * 1024


class NotRegularFile(OSError):
    """A device, a FIFO, a directory, or a file over the size limit: never read."""


def read_regular(path: Path | str, limit: int = CONFIG_SIZE_LIMIT, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of a regular file of at most `limit` bytes (see read_regular_with_stat)."""
    return read_regular_with_stat(path, limit, follow_symlinks=follow_symlinks)[0]


def read_regular_with_stat(
    path: Path | str, limit: int | None = CONFIG_SIZE_LIMIT, *, follow_symlinks: bool = True
) -> tuple[bytes, os.stat_result]:
    """The bytes of a regular file and the stat of the handle they came from. Opened without
    blocking (a FIFO does not hang) and checked on the open handle (nothing can be swapped in
    between); `limit` None reads any size. `follow_symlinks=False` refuses a symlink (depmin's
    own files: a planted link must not make it read or trust another file)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise NotRegularFile(f"{path}: not a regular file (a device, FIFO or directory); not read")
        if limit is not None and status.st_size > limit:
            raise NotRegularFile(f"{path}: {status.st_size} bytes, over depmin's limit of {limit} bytes; not read")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read() if limit is None else handle.read(limit + 1)
        if limit is not None and len(data) > limit:
            raise NotRegularFile(f"{path}: grew over depmin's limit of {limit} bytes while read; not read")
        return data, status
    finally:
        os.close(descriptor)


def read_toml(path: Path) -> dict[str, object]:
    """A TOML file that may be missing or broken (a member's pyproject.toml): {} then."""
    try:
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def resolves_inside(root: Path, path: Path) -> bool:
    """Whether `path`, after symlinks, is the root or lies under it."""
    try:
        resolved, real_root = path.resolve(), root.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved == real_root or real_root in resolved.parents
