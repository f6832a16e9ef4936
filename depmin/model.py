"""Types that cross stage boundaries. All frozen: stages hand values, never state."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from depmin.errors import Diagnostic


class Kind(enum.StrEnum):
    """How an import runs. Ordered by how little it commits the importer."""

    MODULE = "module"  # at import time (module or class body)
    LAZY = "lazy"  # inside a function: runs when called, still required
    # inside a module's own `def __getattr__` (PEP 562): runs when an importer asks the module for a
    # name it does not bind; required only where a reachable importer may (analysis.lazy_attributes)
    ATTRIBUTE = "attribute"
    DYNAMIC = "dynamic"  # importlib.import_module / __import__ with a literal name
    TYPE_CHECKING = "type_checking"  # under `if TYPE_CHECKING:`: never at run time


# A condition the scanner of one file cannot decide, left to the analysis (see depmin.scan.core):
#   ("main", polarity)                           `if __name__ == "__main__":` (True) or its else (False)
#   ("name", level, module, attribute, polarity)  `if NAME:` where NAME is module's attribute
Condition = tuple


class ImportRecord(NamedTuple):
    """One import as written in one file; resolution happens later.

    A NamedTuple rather than a frozen dataclass: a monorepo has hundreds of thousands of
    these, read back from the cache on every run, and tuples are built several times faster.
    """

    target: str  # dotted name without leading dots ("" for `from . import x`)
    names: tuple[str, ...]  # the names of `from target import ...`; () for `import target`
    line: int
    kind: Kind
    guarded: bool  # inside try/except ImportError or contextlib.suppress(ImportError)
    level: int = 0  # leading dots of a relative import
    # For import_module(".x", package=...): the literal package, or None for the
    # importing module's own package (as with `from . import x`).
    anchor: str | None = None
    when: tuple[Condition, ...] = ()  # all must hold for the import to run


@dataclass(frozen=True, slots=True)
class Platform:
    """A target platform as a container (or a laptop) runs it."""

    name: str
    sys_platform: str
    platform_system: str
    platform_machine: str
    os_name: str
    libc: str = ""  # "musl" for Alpine images: no marker tells it, only the wheel tags (musllinux)

    @property
    def python_image(self) -> str:
        """The suffix of the official python image for this platform's containers."""
        return "alpine" if self.libc == "musl" else "slim"


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("linux-x86_64", "linux", "Linux", "x86_64", "posix"),
        Platform("linux-aarch64", "linux", "Linux", "aarch64", "posix"),
        Platform("linux-musl-x86_64", "linux", "Linux", "x86_64", "posix", "musl"),
        Platform("linux-musl-aarch64", "linux", "Linux", "aarch64", "posix", "musl"),
        Platform("macos-arm64", "darwin", "Darwin", "arm64", "posix"),
        Platform("macos-x86_64", "darwin", "Darwin", "x86_64", "posix"),
        Platform("windows-x86_64", "win32", "Windows", "AMD64", "nt"),
        Platform("windows-arm64", "win32", "Windows", "ARM64", "nt"),
    )
}


@dataclass(frozen=True, slots=True)
class Target:
    """The interpreter and platform the analysed code will run on."""

    python: tuple[int, int]
    platform: Platform = PLATFORMS["linux-x86_64"]

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    def marker_environment(self, patch: int = 0) -> dict[str, str]:
        version = self.python_version
        return {
            "python_version": version,
            "python_full_version": f"{version}.{patch}",
            "implementation_name": "cpython",
            "implementation_version": f"{version}.{patch}",
            "platform_python_implementation": "CPython",
            "sys_platform": self.platform.sys_platform,
            "platform_system": self.platform.platform_system,
            "platform_machine": self.platform.platform_machine,
            "os_name": self.platform.os_name,
            "platform_release": "",
            "platform_version": "",
            "extra": "",
        }


class Via(NamedTuple):
    """Where a distribution or module is imported from (a NamedTuple for the same reason)."""

    file: str
    line: int
    module: str
    kind: Kind
    guarded: bool = False
    statement: str = ""  # the import as a one-line statement, for explanations


def via_order(via: Via) -> tuple[str, int, str, str, bool, str]:
    """Where a via is listed among others: by place, then by everything else, so that two vias of
    one line (one file imported under two names) are listed the same way in every run."""
    return via.file, via.line, via.kind.value, via.module, via.guarded, via.statement


class Reach(enum.StrEnum):
    """How firmly the entries commit to a node or an import: the one vocabulary of graph
    layers, explanations, audits and closures. Ordered: each admits the ones before it."""

    REQUIRED = "required"  # unguarded run-time imports: the image must install it
    OPTIONAL = "optional"  # at run time only through a guarded import: not installed
    TYPE_ONLY = "type_only"  # only under TYPE_CHECKING: never runs
    UNREACHABLE = "unreachable"

    def admits(self, via: Via) -> bool:
        """Whether a walk at this reach follows the import `via`: reach_of(via) is no weaker than
        this reach. Identity tests, not a ranked lookup: an enum member hashes in Python, and
        explanations ask this of every via of every importer."""
        if via.kind is Kind.TYPE_CHECKING:
            return self is Reach.TYPE_ONLY or self is Reach.UNREACHABLE
        return self is not Reach.REQUIRED if via.guarded else True


def reach_of(via: Via) -> Reach:
    if via.kind is Kind.TYPE_CHECKING:
        return Reach.TYPE_ONLY
    return Reach.OPTIONAL if via.guarded else Reach.REQUIRED


ViaFilter = Callable[[Via], bool]


@dataclass(frozen=True, slots=True)
class Requirement:
    """A distribution the code imports, with the places that import it."""

    name: str  # PEP 503 normalised
    version: str | None  # None when the lock does not hold it (optional imports only)
    extras: tuple[str, ...]
    via: tuple[Via, ...]
    # An optional feature: the extras (`app[openai]`) or dependency groups (`app:dev`) that would
    # install it, where the reference (`uv sync --no-dev`) does not.
    features: tuple[str, ...] = ()


PYPI = "https://pypi.org/simple"


@dataclass(frozen=True, slots=True)
class Pin:
    name: str
    version: str
    marker: str | None
    parents: tuple[str, ...]  # distributions that pull it in ("" = imported directly)
    hashes: tuple[str, ...] = ()
    source: str = ""  # `name @ <source>` for git and url packages; "" for an index
    index: str = PYPI  # the index a registry package is locked from
    # A wheel or sdist the lock takes from the repository itself (`source = { path = ... }`):
    # its path, relative to the project root once the analysis has checked it lies inside.
    local_file: str = ""


@dataclass(frozen=True, slots=True)
class CopyPath:
    """One COPY line: a repository path and where it lands in the image."""

    source: str  # root-relative; directories end with '/'
    destination: str  # image-relative; equal to source unless a package-dir maps it


@dataclass(frozen=True, slots=True, order=True)
class Ignored:
    """An import the user said not to follow: never required, never an error, always listed."""

    name: str  # the absolute import name
    file: str
    line: int
    reason: str  # "pragma" (# depmin: ignore), "ignore-imports", or "cut" (the target's)


@dataclass(frozen=True, slots=True, order=True)
class LocalDistribution:
    """A first-party distribution whose code the closure copies (the project, a workspace member,
    a path dependency): the image gets its metadata too, so importlib.metadata finds it."""

    name: str
    version: str
    entry_points: tuple[tuple[str, str, str], ...] = ()  # (group, name, "module:attr")


@dataclass(frozen=True)
class Closure:
    """What a set of entries needs. The JSON output serialises exactly this."""

    entries: tuple[str, ...]
    target: Target
    modules: tuple[str, ...]
    files: tuple[str, ...]  # the closure's Python files
    copy: tuple[CopyPath, ...]
    direct: tuple[Requirement, ...]
    optional: tuple[Requirement, ...]
    type_only: tuple[Requirement, ...]
    pinned: tuple[Pin, ...]
    source_roots: tuple[str, ...] = ()
    package_data: tuple[str, ...] = ()  # non-Python files inside the closure's packages
    # The image's sys.path: directories relative to the image's /app ("." for /app itself), in
    # the repository's root order, so every module name the closure imports resolves there too.
    image_path: tuple[str, ...] = (".",)
    local_distributions: tuple[LocalDistribution, ...] = ()
    # Third-party modules only a string names (uvicorn.run("..."), dictConfig classes,
    # import_module("...")): verify imports them too, since no import statement will.
    named_imports: tuple[str, ...] = ()
    ignored: tuple[Ignored, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())
    errors: tuple[Diagnostic, ...] = field(default=())
    # Several platforms merged into one closure (analysis.platforms): pins that not all of them
    # need carry a marker. Empty for one platform, which `target` names.
    platforms: tuple[Platform, ...] = ()

    @property
    def platform_names(self) -> str:
        return ", ".join(p.name for p in self.platforms) if self.platforms else self.target.platform.name

    @property
    def ok(self) -> bool:
        return not self.errors
