"""Why is X here: import chains through first-party code, continued through uv.lock.

Used by `why` (one name) and `audit` (every forbidden distribution).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from packaging.utils import canonicalize_name

from depmin.analysis import Analysis
from depmin.errors import UsageError
from depmin.imports.graph import DistributionNode
from depmin.model import Pin, Reach, Via

CHAIN_LIMIT = 50


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


class UnknownName(UsageError):
    pass


def target_node(analysis: Analysis, name: str) -> Hashable:
    """A first-party module, a locked distribution, or an import name that resolves to one."""
    if name in analysis.index.modules:
        return name
    distribution = canonicalize_name(name)
    if distribution in analysis.lock.by_name and not analysis.lock.is_local(distribution):
        return DistributionNode(distribution)
    if analysis.lock.is_local(distribution):  # a workspace member or path dependency: its code
        module = _member_module(analysis, distribution)
        if module is not None:
            return module
    distributions, _ = analysis.finder.find(name)
    if len(distributions) == 1:
        return DistributionNode(distributions[0])
    raise UnknownName(f"{name!r} is neither a first-party module nor a distribution in {analysis.lock.path}")


def _member_module(analysis: Analysis, name: str) -> str | None:
    """The module of a local project that the entries reach most firmly, by the shortest chain
    (the project's top-level package, usually); None when none of its modules is reachable."""
    package = next(p for p in analysis.lock.local_packages if p.name == name)
    path = (package.source_path or ".").strip("/").removeprefix("./")
    inside = [
        module
        for module, info in analysis.index.modules.items()
        if path in ("", ".") or info.path.startswith(f"{path}/")
    ]
    for reach in (Reach.REQUIRED, Reach.OPTIONAL, Reach.TYPE_ONLY):
        reached = [(len(chain), m) for m in inside if (chain := analysis.graph.shortest_chain(m, reach)) is not None]
        if reached:
            return min(reached)[1]
    return min(inside, key=lambda m: (m.count("."), m), default=None)


def explain(analysis: Analysis, node: Hashable, *, every_chain: bool = False) -> Explanation:
    kind = "distribution" if isinstance(node, DistributionNode) else "module"
    name = node.name if isinstance(node, DistributionNode) else str(node)
    for reach in (Reach.REQUIRED, Reach.OPTIONAL, Reach.TYPE_ONLY):
        chains = _import_chains(analysis, node, reach, every_chain)
        if chains:
            return Explanation(name, kind, reach, tuple(Chain(tuple(c), ()) for c in chains))
        if isinstance(node, DistributionNode) and reach is not Reach.TYPE_ONLY:
            through_lock = _lock_chains(analysis, node.name, every_chain, reach)
            if through_lock:
                return Explanation(name, kind, reach, through_lock)
    return Explanation(name, kind, Reach.UNREACHABLE, ())


def _import_chains(analysis: Analysis, node: Hashable, reach: Reach, every_chain: bool) -> list[list[Via]]:
    if every_chain:
        return analysis.graph.chains_per_importer(node, reach)[:CHAIN_LIMIT]
    chain = analysis.graph.shortest_chain(node, reach)
    return [chain] if chain is not None else []


def _lock_chains(analysis: Analysis, name: str, every_chain: bool, reach: Reach) -> tuple[Chain, ...]:
    """Chains that end in a directly imported distribution, then walk the pins' parents down to `name`."""
    pins = {pin.name: pin for pin in _pins_for(analysis, reach)}
    if name not in pins:
        return ()
    chains = []
    for lock_path in _parent_paths(pins, name, every_chain):
        for imports in _import_chains(analysis, DistributionNode(lock_path[0]), reach, every_chain):
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
class ViolationGroup:
    """Forbidden distributions that one import brings in: `import torch` → torch, and the 16
    nvidia-* and triton it pulls in. The cause is the distribution the code imports."""

    cause: str
    lead: Explanation  # the cause's own explanation when it is forbidden, else the first member's
    members: tuple[str, ...]  # every forbidden distribution of the group, the lead first

    @property
    def cause_forbidden(self) -> bool:
        return self.lead.name == self.cause

    @property
    def pulled_in(self) -> tuple[str, ...]:
        return self.members[1:] if self.cause_forbidden else self.members


@dataclass(frozen=True)
class AuditResult:
    violations: tuple[Explanation, ...]  # forbidden and pinned: the image would carry it
    notes: tuple[Explanation, ...]  # forbidden but reached only optionally or for type checking
    unmatched: tuple[str, ...]  # patterns that match no distribution in the lock

    @property
    def groups(self) -> tuple[ViolationGroup, ...]:
        return group_by_cause(self.violations)


def cause_of(explanation: Explanation) -> str:
    """The distribution the code imports that brings this one in (itself when imported directly)."""
    chain = explanation.chains[0] if explanation.chains else None
    return chain.lock[0].name if chain is not None and chain.lock else explanation.name


def group_by_cause(violations: tuple[Explanation, ...]) -> tuple[ViolationGroup, ...]:
    by_cause: dict[str, list[Explanation]] = {}
    for violation in violations:
        by_cause.setdefault(cause_of(violation), []).append(violation)
    groups = []
    for cause, members in sorted(by_cause.items()):
        ordered = sorted(members, key=lambda e: (e.name != cause, len(e.chains[0].lock) if e.chains else 0, e.name))
        groups.append(ViolationGroup(cause, ordered[0], tuple(e.name for e in ordered)))
    return tuple(groups)


def audit(analysis: Analysis, patterns: tuple[str, ...]) -> AuditResult:
    def forbidden(name: str) -> bool:
        return any(fnmatchcase(name, canonicalize_name(p) if "*" not in p else p.lower()) for p in patterns)

    pinned = {pin.name for pin in analysis.closure.pinned}
    optional = {pin.name for pin in analysis.optional_pins} - pinned
    type_only = {r.name for r in analysis.closure.type_only}
    violations = tuple(explain(analysis, DistributionNode(n)) for n in sorted(pinned) if forbidden(n))
    notes = tuple(
        explain(analysis, DistributionNode(n)) for n in sorted((optional | type_only) - pinned) if forbidden(n)
    )
    locked = analysis.lock.names()
    unmatched = tuple(
        p for p in patterns if not any(fnmatchcase(n, p.lower()) or n == canonicalize_name(p) for n in locked)
    )
    return AuditResult(violations, notes, unmatched)


@dataclass(frozen=True)
class TargetAudit:
    """One audit run: a target (or the entries given) against its forbidden patterns."""

    subject: str  # "target agent", or the entries
    target: str | None
    entries: tuple[str, ...]
    forbid: tuple[str, ...]
    result: AuditResult
