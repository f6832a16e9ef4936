"""Writing outputs: atomically, so a crash leaves the previous file intact."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str | bytes, *, durable: bool = True) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`.

    `durable` flushes the file to disk first (user outputs); cache entries skip that cost,
    since losing one on a crash only means scanning a file again.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
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
        if path.exists():
            os.chmod(temporary, path.stat().st_mode & 0o777)
        else:
            os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class PartialWrite(OSError):
    """Some outputs were replaced before a failure: `written` says exactly which."""

    def __init__(self, written: list[Path], failed: Path, error: OSError) -> None:
        super().__init__(f"{failed}: cannot write: {error.strerror or error}")
        self.written, self.failed = written, failed


def write_all_atomic(outputs: list[tuple[Path, str]]) -> None:
    """Every output or none: all temporary files are written (and flushed) first, then renamed;
    a failure while staging leaves every target untouched."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in outputs:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((temporary, path))
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
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
