"""`check` and `sync`: the generated files on disk against the texts they must hold.

The texts come from the outputs (the command renders them); this compares and plans the
writes, and reads only the files named.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from depmin.errors import Diagnostic
from depmin.files.reading import NotRegularFile, read_regular
from depmin.usecases.explain import AuditResult, TargetAudit


class State(enum.StrEnum):
    FRESH = "fresh"
    STALE = "stale"
    MISSING = "missing"


@dataclass(frozen=True)
class FileState:
    path: str  # root-relative, as the target declares it
    state: State
    expected: str
    current: str | None  # None when the file does not exist (or cannot be read as text)


@dataclass(frozen=True)
class TargetCheck:
    """One target: its generated files, its audit when it forbids anything, its analysis errors."""

    name: str
    files: tuple[FileState, ...] = ()
    forbid: tuple[str, ...] = ()
    audit: AuditResult | None = None
    errors: tuple[Diagnostic, ...] = ()

    @property
    def target_audit(self) -> TargetAudit | None:
        """The target's forbid audit, as `audit` reports one."""
        if self.audit is None:
            return None
        return TargetAudit(f"target {self.name}", self.name, (), self.forbid, self.audit)

    @property
    def ok(self) -> bool:
        fresh = all(f.state is State.FRESH for f in self.files)
        return not self.errors and fresh and not (self.audit and self.audit.violations)


def compare(root: Path, expected: Iterable[tuple[str, str]]) -> tuple[FileState, ...]:
    states = []
    for relative, text in expected:
        current = _current(root / relative)
        if current is None:
            state = State.MISSING
        else:
            state = State.FRESH if current == text else State.STALE
        states.append(FileState(relative, state, text, current))
    return tuple(states)


def _current(path: Path) -> str | None:
    try:
        return read_regular(path).decode("utf-8")
    except FileNotFoundError:
        return None
    except (NotRegularFile, OSError, UnicodeDecodeError):
        return ""  # there, but not a text file depmin wrote: stale, and sync replaces it
