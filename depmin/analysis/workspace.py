"""What the analyses of many targets in one run share, so that 17 targets cost little more
than one: the source index, the distribution finder, the resolver's memory, the scans and
each module's edges. Keyed by everything they depend on; only the edges (remembered.py) and
the scans (cache.py) outlive the run."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from depmin.analysis.inputs import Request, finder, source_roots
from depmin.analysis.remembered import EdgeStore
from depmin.analysis.walk import Memo
from depmin.cache import ScanCache
from depmin.imports.distributions import DistributionFinder
from depmin.imports.resolve import Resolver
from depmin.lock.model import LockedPackage, LockFile
from depmin.model import Target
from depmin.project.config import Project
from depmin.project.local_distributions import file_owner, project_entry_points
from depmin.project.module_index import ModuleIndex, SourceRoot, build_index

if TYPE_CHECKING:
    pass


@dataclass
class Workspace:
    project: Project
    lock: LockFile
    _roots: tuple[SourceRoot, ...] | None = None
    _indexes: dict[tuple[tuple[SourceRoot, ...], tuple[str, ...], tuple[str, ...]], ModuleIndex] = field(
        default_factory=dict
    )
    _finders: dict[tuple[Target, bool, bool], DistributionFinder] = field(default_factory=dict)
    _resolvers: dict[tuple[int, int, tuple[int, int]], Resolver] = field(default_factory=dict)
    _memos: dict[tuple[int, Target], Memo] = field(default_factory=dict)
    _stores: dict[tuple[int, Target], EdgeStore] = field(default_factory=dict)
    _entry_points: dict[str, tuple[str, ...]] | None = None
    _owner: Callable[[str], tuple[str, LockedPackage] | None] | None = None

    def roots(self) -> tuple[SourceRoot, ...]:
        if self._roots is None:
            self._roots = source_roots(self.project, self.lock)
        return self._roots

    def index(
        self, roots: tuple[SourceRoot, ...], scripts: tuple[str, ...] = (), script_dirs: tuple[str, ...] = ()
    ) -> ModuleIndex:
        key = (roots, scripts, script_dirs)
        if key not in self._indexes:
            self._indexes[key] = build_index(self.project.root, roots, scripts, script_dirs)
        return self._indexes[key]

    def finder(self, request: Request) -> DistributionFinder:
        key = (request.target, request.offline, request.use_uv_cache)
        if key not in self._finders:
            self._finders[key] = finder(self.project, self.lock, request)
        return self._finders[key]

    def resolver(self, index: ModuleIndex, names: DistributionFinder, python: tuple[int, int]) -> Resolver:
        key = (id(index), id(names), python)
        if key not in self._resolvers:
            self._resolvers[key] = Resolver(index, names, python)
        return self._resolvers[key]

    def memo(self, resolver: Resolver, target: Target) -> Memo:
        key = (id(resolver), target)
        if key not in self._memos:
            self._memos[key] = Memo()
        return self._memos[key]

    def store(self, resolver: Resolver, target: Target, cache: ScanCache | None) -> EdgeStore | None:
        """The edges earlier runs kept for this project, resolver and target; None without a
        cache, or when the finder cannot say what its answers depend on."""
        if cache is None or not cache.prepare() or not resolver.finder.fingerprint:
            return None
        key = (id(resolver), target)
        if key not in self._stores:
            root, modules = self.project.root, resolver.index.modules
            snapshot = cache.snapshot(root, target)
            base = str(root)

            def key_now(module: str) -> str | None:
                info = modules.get(module)
                return snapshot.key(info.path, os.path.join(base, info.path)) if info else None

            def key_scanned(module: str) -> str | None:
                info = modules.get(module)
                return snapshot.remembered_key(info.path) if info else None

            inputs = repr((resolver.finder.fingerprint, resolver.python, sorted(self.entry_points().items())))
            file = cache.file_for("edges", root, target)
            self._stores[key] = EdgeStore.open(file, inputs, resolver.index, key_now, key_scanned)
        return self._stores[key]

    def declared_for(self, path: str) -> frozenset[str]:
        """The distributions the project owning `path` names (any dependency, extra or group);
        every local project's for a file none owns."""
        if self._owner is None:
            self._owner = file_owner(self.lock, self.project.pyproject)
        owned = self._owner(path)
        packages = [owned[1]] if owned else list(self.lock.local_packages)
        return frozenset(
            d.name
            for package in packages
            for d in (
                *package.dependencies,
                *(d for ds in package.optional_dependencies.values() for d in ds),
                *(d for ds in package.dependency_groups.values() for d in ds),
            )
        )

    def entry_points(self) -> dict[str, tuple[str, ...]]:
        if self._entry_points is None:
            self._entry_points = project_entry_points(self.project.root, self.lock, self.project.pyproject)
        return self._entry_points
