"""What uv.lock records, as frozen values: packages, their dependencies, artifacts and declarations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

MEMBER_SOURCES = frozenset({"editable", "virtual"})


# A directory in the repository, whether or not it is a workspace member (`path = "vendor/x"`).
LOCAL_SOURCES = frozenset({"editable", "virtual", "directory"})


@dataclass(frozen=True, slots=True)
class Artifact:
    filename: str
    hash: str | None
    size: int | None
    url: str = ""  # where the lock says it lies (https://..., or a path relative to the lock)


@dataclass(frozen=True, slots=True)
class Dependency:
    name: str
    version: str | None  # set where the lock forks into several versions of `name`
    extras: tuple[str, ...]
    marker: str | None


@dataclass(frozen=True, slots=True, order=True)
class Declared:
    """One requirement as pyproject.toml states it, normalised for comparison."""

    name: str
    extras: tuple[str, ...]
    specifier: str
    marker: str


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    source_kind: str  # registry, editable, virtual, directory, git, url, path
    source_path: str | None  # for local sources, relative to the lock
    dependencies: tuple[Dependency, ...]
    optional_dependencies: Mapping[str, tuple[Dependency, ...]]
    resolution_markers: tuple[str, ...]
    wheels: tuple[Artifact, ...]
    sdist: Artifact | None
    requires_dist: tuple[Declared, ...] = ()  # what a member's pyproject declared when it was locked
    source_url: str | None = None  # registry index, git or url location, as uv.lock records it
    # A project's dependency groups ([dependency-groups], `dev`): never installed by `uv sync
    # --no-dev`, so never in an image; known so that an import of one can be said to be one.
    dependency_groups: Mapping[str, tuple[Dependency, ...]] = field(default_factory=dict)

    @property
    def hashes(self) -> tuple[str, ...]:
        found = {a.hash for a in (*self.wheels, self.sdist) if a is not None and a.hash}
        return tuple(sorted(found))


@dataclass(frozen=True)
class LockFile:
    path: str
    requires_python: str
    packages: tuple[LockedPackage, ...]
    members: tuple[str, ...]
    by_name: Mapping[str, tuple[LockedPackage, ...]] = field(default_factory=dict)

    @cached_property
    def member_packages(self) -> tuple[LockedPackage, ...]:
        members = set(self.members)
        return tuple(p for p in self.packages if p.name in members or (not members and p.source_kind in MEMBER_SOURCES))

    @cached_property
    def _member_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.member_packages)

    def is_member(self, name: str) -> bool:
        return name in self._member_names

    @cached_property
    def local_packages(self) -> tuple[LockedPackage, ...]:
        """Workspace members and local directory dependencies: code of the repository, copied
        into the image (with metadata of their own), never pinned from an index."""
        return tuple(p for p in self.packages if p.name in self._member_names or p.source_kind in LOCAL_SOURCES)

    @cached_property
    def _local_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.local_packages)

    def is_local(self, name: str) -> bool:
        return name in self._local_names

    def names(self) -> frozenset[str]:
        return frozenset(self.by_name)

    @property
    def versions(self) -> dict[str, str]:
        """name → version of the packages locked once (a fork's several versions are left out)."""
        return {name: packages[0].version for name, packages in self.by_name.items() if len(packages) == 1}
