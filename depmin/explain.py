"""Why is X here: import chains through first-party code, continued through uv.lock.

Used by `why` (one name) and `audit` (every forbidden distribution).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from depmin.graph import DistributionNode, any_via, is_required, is_runtime
from depmin.model import Pin, Via

CHAIN_LIMIT = 50
ViaFilter = Callable[[Via], bool]

if TYPE_CHECKING:
    from depmin.pipeline import Analysis


class Reach(enum.StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    TYPE_ONLY = "type_only"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class LockHop:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class Chain:
    imports: tuple[Via, ...]  # first-party hops, entry first
    lock: tuple[LockHop, ...]  # then distribution → distribution through uv.lock ("" when imported directly)


@dataclass(frozen=True)
class Explanation:
    name: str
    kind: str  # "module" or "distribution"
    reach: Reach
    chains: tuple[Chain, ...]


class UnknownName(ValueError):
    pass


def target_node(analysis: Analysis, name: str) -> Hashable:
    """A first-party module, a locked distribution, or an import name that resolves to one."""
    if name in analysis.index.modules:
        return name
    distribution = canonicalize_name(name)
    if distribution in analysis.lock.by_name and not analysis.lock.is_local(distribution):
        return DistributionNode(distribution)
    distributions, _ = analysis.finder.find(name)
    if len(distributions) == 1:
        return DistributionNode(distributions[0])
    raise UnknownName(f"{name!r} is neither a first-party module nor a distribution in {analysis.lock.path}")


def explain(analysis: Analysis, node: Hashable, *, every_chain: bool = False) -> Explanation:
    kind = "distribution" if isinstance(node, DistributionNode) else "module"
    name = node.name if isinstance(node, DistributionNode) else str(node)
    for reach, follow in ((Reach.REQUIRED, is_required), (Reach.OPTIONAL, is_runtime), (Reach.TYPE_ONLY, any_via)):
        chains = _import_chains(analysis, node, follow, every_chain)
        if chains:
            return Explanation(name, kind, reach, tuple(Chain(tuple(c), ()) for c in chains))
        if isinstance(node, DistributionNode) and reach is not Reach.TYPE_ONLY:
            through_lock = _lock_chains(analysis, node.name, follow, every_chain, reach)
            if through_lock:
                return Explanation(name, kind, reach, through_lock)
    return Explanation(name, kind, Reach.UNREACHABLE, ())


def _import_chains(analysis: Analysis, node: Hashable, follow: ViaFilter, every_chain: bool) -> list[list[Via]]:
    if every_chain:
        return analysis.graph.chains_per_importer(node, follow)[:CHAIN_LIMIT]
    chain = analysis.graph.shortest_chain(node, follow)
    return [chain] if chain is not None else []


def _lock_chains(
    analysis: Analysis, name: str, follow: ViaFilter, every_chain: bool, reach: Reach
) -> tuple[Chain, ...]:
    """Chains that end in a directly imported distribution, then walk the pins' parents down to `name`."""
    pins = {pin.name: pin for pin in _pins_for(analysis, reach)}
    if name not in pins:
        return ()
    chains = []
    for lock_path in _parent_paths(pins, name, every_chain):
        for imports in _import_chains(analysis, DistributionNode(lock_path[0]), follow, every_chain):
            hops = tuple(LockHop(n, pins[n].version) for n in lock_path)
            chains.append(Chain(tuple(imports), hops))
            if len(chains) >= CHAIN_LIMIT:
                return tuple(chains)
    return tuple(chains)


def _pins_for(analysis: Analysis, reach: Reach) -> tuple[Pin, ...]:
    if reach is Reach.REQUIRED:
        return analysis.closure.pinned
    return analysis.optional_pins


def _parent_paths(pins: dict[str, Pin], name: str, every_chain: bool) -> list[list[str]]:
    """Paths direct → … → name through the pins' parents, shortest first (breadth-first)."""
    paths: list[list[str]] = []
    queue: deque[list[str]] = deque([[name]])
    while queue and len(paths) < CHAIN_LIMIT:
        path = queue.popleft()
        pin = pins.get(path[0])
        if pin is None:
            continue
        if "" in pin.parents and len(path) > 1:
            paths.append(path)
            if not every_chain:
                break
        for parent in pin.parents:
            if parent and parent not in path:
                queue.append([parent, *path])
    return paths


# -- audit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditResult:
    violations: tuple[Explanation, ...]  # forbidden and pinned: the image would carry it
    notes: tuple[Explanation, ...]  # forbidden but reached only optionally or for type checking
    unmatched: tuple[str, ...]  # patterns that match no distribution in the lock


def audit(analysis: Analysis, patterns: tuple[str, ...]) -> AuditResult:
    from fnmatch import fnmatchcase

    def forbidden(name: str) -> bool:
        return any(fnmatchcase(name, canonicalize_name(p) if "*" not in p else p.lower()) for p in patterns)

    pinned = {pin.name for pin in analysis.closure.pinned}
    optional = {pin.name for pin in analysis.optional_pins} - pinned
    type_only = {r.name for r in analysis.closure.type_checking}
    violations = tuple(explain(analysis, DistributionNode(n)) for n in sorted(pinned) if forbidden(n))
    notes = tuple(
        explain(analysis, DistributionNode(n)) for n in sorted((optional | type_only) - pinned) if forbidden(n)
    )
    locked = analysis.lock.names()
    unmatched = tuple(p for p in patterns if not any(fnmatchcase(n, p.lower()) or n == canonicalize_name(p) for n in locked))
    return AuditResult(violations, notes, unmatched)
