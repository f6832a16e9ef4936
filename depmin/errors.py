"""What can go wrong, once: the error hierarchy and the stable diagnostic codes.

Every problem depmin reports is a Diagnostic with a code from CODES. The codes are the
contract (tests assert them, users name them in `ignore`, CI annotations carry them);
the wording is not. Errors that stop a command carry their diagnostics in a DepminError.
"""

from __future__ import annotations

from collections.abc import Sequence

from depmin.model import Diagnostic, Severity

# code → one line that says what the code means (SARIF's rule description, `--help`).
CODES: dict[str, str] = {
    "DM000": "problem without a more specific code",
    "DM001": "bad usage: options or arguments that do not fit together",
    "DM002": "invalid [tool.depmin] configuration or pyproject.toml",
    "DM003": "invalid or unreadable uv.lock",
    "DM004": "a value that would change the meaning of a generated file",
    "DM005": "a file that cannot be read or written",
    "DM006": "the verify environment or image could not be built",
    "DM101": "import that no locked distribution provides",
    "DM102": "import that several locked distributions provide",
    "DM103": "first-party import that does not resolve",
    "DM104": "imported distribution the project does not declare",
    "DM105": "declared dependency that no import of the entries reaches",
    "DM106": "first-party module that shadows the standard library or a distribution",
    "DM107": "file imported under two module names",
    "DM108": "framework feature that needs a distribution uv.lock does not hold",
    "DM109": "--optional NAME that no optional import needs",
    "DM201": "source file that cannot be parsed",
    "DM202": "import the scanner cannot follow statically",
    "DM301": "entry that names nothing importable",
    "DM302": "source tree problem (invalid module names, shadowed files, unreadable files)",
    "DM303": "data or COPY path problem",
    "DM401": "uv.lock out of date with pyproject.toml",
    "DM402": "uv.lock lacks what the target platform needs",
    "DM403": "invalid metadata of a local distribution",
    "DM501": "forbidden distribution reachable",
    "DM502": "generated file out of date",
    "DM503": "generated file missing",
    "DM504": "forbid pattern that matches no locked distribution",
    "DM601": "module that fails to import in the verified environment",
}


def is_code(text: str) -> bool:
    return text in CODES


class DepminError(Exception):
    """Bad input: the command prints the diagnostics, one line each, and exits 2."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("; ".join(d.render() for d in diagnostics))
        self.diagnostics = tuple(diagnostics)


def error(message: str, path: str = "", line: int = 0, code: str = "DM001") -> DepminError:
    return DepminError([Diagnostic(path, line, message, Severity.ERROR, code)])


class MessageError(DepminError):
    """An error that is one message of one code (the subclass's)."""

    code = "DM000"

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__([Diagnostic(path, 0, message, Severity.ERROR, self.code)])
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(MessageError):
    """Options or arguments that do not fit together."""

    code = "DM001"


class ConfigError(DepminError):
    """pyproject.toml or its [tool.depmin] table is invalid."""


class LockError(DepminError):
    """uv.lock is missing, unreadable or malformed: nothing depmin says could be trusted."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__([Diagnostic(path, line, message, Severity.ERROR, "DM003")])
        self.path, self.line, self.message = path, line, message

    @property
    def diagnostic(self) -> Diagnostic:
        return self.diagnostics[0]


class UnsafeOutput(MessageError):
    """A value from the repository or the lock that would change what a generated file means."""

    code = "DM004"
