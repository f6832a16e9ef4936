"""The before/after table: whole project (`COPY . .` + the whole lock) against one target.

Download sizes come from the `size` of the wheel that the target would install,
chosen by packaging tags; the sdist when no wheel fits.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from depmin.files.reading import SOURCE_SIZE_LIMIT, read_regular
from depmin.imports.copy_plan import planned_files
from depmin.lock.closure import pinned_closure, select
from depmin.lock.declarations import declared_extras
from depmin.lock.markers import marker_holds
from depmin.lock.model import LockFile
from depmin.lock.wheels import best_artifact
from depmin.model import Pin, Target

if TYPE_CHECKING:
    from depmin.analysis import Analysis

_SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        ".depmin_cache",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        "node_modules",
    }
)


def download_size(lock: LockFile, pins: Iterable[Pin], target: Target) -> tuple[int, list[str]]:
    """(bytes, distributions without a size in uv.lock)."""
    total, unknown = 0, []
    for pin in pins:
        package = select(lock, pin.name, pin.version, target)
        artifact = best_artifact(package, target) if package else None
        if artifact is None or artifact.size is None:
            unknown.append(pin.name)
        else:
            total += artifact.size
    return total, unknown


def whole_project_pins(lock: LockFile, target: Target) -> tuple[set[str], tuple[Pin, ...]]:
    """What `uv sync` of the whole project installs for the target: the members' declared dependencies."""
    direct = set()
    for member in lock.member_packages:
        for dependency in member.dependencies:
            if marker_holds(dependency.marker, target) and not lock.is_local(dependency.name):
                direct.add(dependency.name)
    extras = declared_extras(lock, target)
    pins = pinned_closure(lock, {name: extras.get(name, ()) for name in direct}, target).pins
    return direct, pins


@dataclass(frozen=True)
class SourceCount:
    files: int
    python_files: int
    python_lines: int


def count_sources(paths: Iterable[Path]) -> SourceCount:
    files = python_files = lines = 0
    for path in paths:
        files += 1
        if path.suffix == ".py":
            python_files += 1
            try:
                data = read_regular(path, SOURCE_SIZE_LIMIT)  # a FIFO or /dev/zero is skipped, not read
                lines += data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
            except OSError:
                pass
    return SourceCount(files, python_files, lines)


def repository_files(root: Path) -> list[Path]:
    """What `COPY . .` copies, less what no sane .dockerignore lets through (.git, venvs, caches)."""
    found: list[Path] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(d for d in subdirectories if d not in _SKIPPED_DIRECTORIES)
        found.extend(Path(directory) / name for name in sorted(names) if not name.endswith(".pyc"))
    return found


@dataclass(frozen=True)
class Row:
    metric: str
    whole: int
    target: int
    unit: str = ""  # "bytes" for sizes

    @property
    def saved_percent(self) -> float:
        return 0.0 if not self.whole else 100.0 * (self.whole - self.target) / self.whole


@dataclass(frozen=True)
class Heavy:
    pin: Pin
    size: int
    in_target: bool


@dataclass(frozen=True)
class SizeReport:
    subject: str  # "target agent" or the entries
    target: Target
    rows: tuple[Row, ...]
    largest: tuple[Heavy, ...]  # the whole project's largest distributions
    unknown_sizes: tuple[str, ...]  # distributions the lock records no size for

    @property
    def title(self) -> str:
        return f"{self.subject} (Python {self.target.python_version}, {self.target.platform.name})"


def size_report(analysis: Analysis, root: Path, excludes: tuple[str, ...], subject: str) -> SizeReport:
    """The whole project (`COPY . .` + the whole lock) against the closure."""
    closure, lock, target = analysis.closure, analysis.lock, analysis.closure.target
    whole_direct, whole_pins = whole_project_pins(lock, target)
    whole_files = count_sources(repository_files(root))
    copied = count_sources(path for path, _ in planned_files(root, closure, excludes))
    whole_bytes, whole_unknown = download_size(lock, whole_pins, target)
    target_bytes, target_unknown = download_size(lock, closure.pinned, target)
    rows = (
        Row("Distributions (direct)", len(whole_direct), sum(1 for r in closure.direct if r.version)),
        Row("Distributions (pinned)", len(whole_pins), len(closure.pinned)),
        Row("Files copied", whole_files.files, copied.files),
        Row("Python files copied", whole_files.python_files, copied.python_files),
        Row("Python lines copied", whole_files.python_lines, copied.python_lines),
        Row("Wheel download size", whole_bytes, target_bytes, "bytes"),
    )
    in_target = {pin.name for pin in closure.pinned}
    sized = sorted(
        ((pin, download_size(lock, [pin], target)[0]) for pin in whole_pins), key=lambda item: (-item[1], item[0].name)
    )[:12]
    largest = tuple(Heavy(pin, size, pin.name in in_target) for pin, size in sized)
    return SizeReport(subject, target, rows, largest, tuple(sorted(set(whole_unknown) | set(target_unknown))))
