"""Writing outputs: atomically, so a crash leaves the previous file intact."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path


def toml_error(exc: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """(line, message) of a TOML error; tomllib only says where inside its message."""
    text = str(exc)
    match = re.search(r"\(at line (\d+), column \d+\)", text)
    return (int(match.group(1)) if match else 0), text.split(" (at line")[0]


def display_path(root: Path, path: Path) -> str:
    """`path` relative to the project root, '/'-separated, as depmin names files; else as given."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def write_atomic(path: Path, text: str, *, durable: bool = True) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    `durable` flushes the file to disk first (user outputs); cache entries skip that cost,
    since losing one on a crash only means scanning a file again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
