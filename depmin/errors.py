"""What can go wrong, once: the diagnostic codes, the Diagnostic type and the error hierarchy.

Every problem depmin reports is a Diagnostic with a Code. The codes are the contract (tests
assert them, users name them in `ignore`, CI annotations carry them); the wording is not.
Errors that stop a command carry their diagnostics in a DepminError.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass


class Code(enum.StrEnum):
    """A stable diagnostic code and what it means (`depmin codes`, SARIF's rule descriptions)."""

    description: str

    def __new__(cls, value: str, description: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    @classmethod
    def of(cls, text: str) -> Code:
        """The code spelt `text` (DM101); ValueError for a code that does not exist."""
        try:
            return cls._value2member_map_[text]  # type: ignore[return-value]
        except KeyError:
            raise ValueError(f"unknown diagnostic code {text!r}") from None

    GENERIC = "DM000", "problem without a more specific code"
    USAGE = "DM001", "bad usage: options or arguments that do not fit together"
    CONFIG = "DM002", "invalid [tool.depmin] configuration or pyproject.toml"
    LOCK = "DM003", "invalid or unreadable uv.lock"
    UNSAFE_OUTPUT = "DM004", "a value that would change the meaning of a generated file"
    FILE_IO = "DM005", "a file that cannot be read or written"
    VERIFY_BUILD = "DM006", "the verify environment or image could not be built"
    UNRESOLVED = "DM101", "import that no locked distribution provides"
    AMBIGUOUS = "DM102", "import that several locked distributions provide"
    BROKEN_FIRST_PARTY = "DM103", "first-party import that does not resolve"
    UNDECLARED = "DM104", "imported distribution the project does not declare"
    DECLARED_UNUSED = "DM105", "declared dependency that no import of the entries reaches"
    SHADOWING = "DM106", "first-party module that shadows the standard library or a distribution"
    TWO_NAMES = "DM107", "file imported under two module names"
    FEATURE_UNLOCKED = "DM108", "framework feature that needs a distribution uv.lock does not hold"
    OPTIONAL_UNNEEDED = "DM109", "--optional NAME that no optional import needs"
    UNNAMED = "DM110", "import whose distribution cannot be named without the locked artifacts' file lists"
    FEATURE_EXTRA = "DM111", "import at import time of a distribution only an extra the target does not choose installs"
    GROUP_ONLY = "DM112", "import of a distribution that only a dependency group holds (never in an image)"
    COMMAND_UNPROVIDED = "DM113", "command (smoke, --command) whose executable no locked distribution installs"
    SYNTAX = "DM201", "source file that cannot be parsed"
    DYNAMIC = "DM202", "import the scanner cannot follow statically"
    ENTRY = "DM301", "entry that names nothing importable"
    SOURCE_TREE = "DM302", "source tree problem (invalid module names, shadowed files, unreadable files)"
    DATA_PATH = "DM303", "data or COPY path problem"
    LOCK_STALE = "DM401", "uv.lock out of date with pyproject.toml"
    LOCK_PLATFORM = "DM402", "uv.lock lacks what the target platform needs"
    LOCAL_METADATA = "DM403", "invalid metadata of a local distribution"
    FORBIDDEN = "DM501", "forbidden distribution reachable"
    STALE_OUTPUT = "DM502", "generated file out of date"
    MISSING_OUTPUT = "DM503", "generated file missing"
    FORBID_UNMATCHED = "DM504", "forbid pattern that matches no locked distribution"
    COMPOSE_SERVICE = "DM505", "compose service without a target, or a target's service the compose file lacks"
    IMPORT_FAILED = "DM601", "module that fails to import in the verified environment"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class Diagnostic:
    """A problem tied to a place: printed as `path:line: message [DM101]`."""

    path: str  # root-relative, '/'-separated; "" when the problem has no file
    line: int  # 0 when the problem has no line
    message: str
    severity: Severity = Severity.ERROR
    code: Code = Code.GENERIC

    def __post_init__(self) -> None:
        if type(self.code) is not Code:  # a code read back as text (the edge store, a test): checked
            object.__setattr__(self, "code", Code.of(self.code))

    def render(self) -> str:
        where = self.path or "depmin"
        if self.line:
            where = f"{where}:{self.line}"
        return f"{where}: {self.severity.value}: {self.message} [{self.code}]"

    def as_warning(self) -> Diagnostic:
        return Diagnostic(self.path, self.line, self.message, Severity.WARNING, self.code)


def is_code(text: str) -> bool:
    return text in Code._value2member_map_


class DepminError(Exception):
    """Bad input: the command prints the diagnostics, one line each, and exits 2."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("; ".join(d.render() for d in diagnostics))
        self.diagnostics = tuple(diagnostics)


def error(message: str, path: str = "", line: int = 0, code: Code = Code.USAGE) -> DepminError:
    return DepminError([Diagnostic(path, line, message, Severity.ERROR, code)])


class MessageError(DepminError):
    """An error that is one message of one code (the subclass's)."""

    code = Code.GENERIC

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__([Diagnostic(path, 0, message, Severity.ERROR, self.code)])
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(MessageError):
    """Options or arguments that do not fit together."""

    code = Code.USAGE


class ConfigError(DepminError):
    """pyproject.toml or its [tool.depmin] table is invalid."""


class LockError(DepminError):
    """uv.lock is missing, unreadable or malformed: nothing depmin says could be trusted."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__([Diagnostic(path, line, message, Severity.ERROR, Code.LOCK)])
        self.path, self.line, self.message = path, line, message

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]


class UnsafeOutput(MessageError):
    """A value from the repository or the lock that would change what a generated file means."""

    code = Code.UNSAFE_OUTPUT
