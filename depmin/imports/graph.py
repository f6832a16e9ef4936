"""The import graph: layers of the closure and shortest import chains.

Nodes are first-party module names (str), distributions and unresolved imports.
A virtual root points at every entry, so one traversal answers for all of them.
Each edge carries every `Via` (file:line, kind, guard) that creates it.

The graph is a plain adjacency mapping walked breadth-first. networkx was the
first choice, but importing it costs 0.6-0.9 s, more than depmin's whole budget
for a warm run on every commit; it stays in the tests as the oracle these
traversals are checked against.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from depmin.model import Kind, Reach, Via, reach_of

ROOT = "<entries>"

# A via kept as data: (target as kept, line, kind value, guarded, statement); the source module and
# its file are the graph's. Made into a Via only when asked for (most never are).
Row = tuple[object, int, str, bool, str]
_KINDS = {kind.value: kind for kind in Kind}


@dataclass(frozen=True, slots=True, order=True)
class DistributionNode:
    name: str


@dataclass(frozen=True, slots=True, order=True)
class UnresolvedNode:
    name: str  # the import name
    reason: str  # why nothing provides it (empty: no locked distribution does)
    candidates: tuple[str, ...] = ()  # for an ambiguity: the locked distributions
    first_party: bool = False  # a first-party name that no first-party module provides


# Each edge keeps the union of its vias' reach bits, so a traversal at one reach tests one
# integer per edge instead of every via.
_BITS = {Reach.REQUIRED: 1, Reach.OPTIONAL: 2, Reach.TYPE_ONLY: 4}
_ADMITTED = {Reach.REQUIRED: 1, Reach.OPTIONAL: 1 | 2, Reach.TYPE_ONLY: 1 | 2 | 4}
# An unguarded module-level import: it runs when its importer is imported (at start, when the
# importer itself is reached that way from an entry). Always beside the required bit.
_AT_START = 8
# An import inside a module's own `__getattr__` (Kind.ATTRIBUTE): found without reading any via.
_ATTRIBUTE = 16
# an edge's bits → the firmest layer it can carry a path at: 0 required, 1 optional, 2 type-only
_FIRMEST = {bits: 0 if bits & 1 else 1 if bits & 2 else 2 for bits in range(1, 32) if bits & 7}
# (kind, guarded) → the bit of reach_of(via): one dictionary lookup per edge, not enum comparisons
_VIA_BITS = {
    (kind, guarded): _BITS[reach_of(Via("", 0, "", kind, guarded))]
    | (_AT_START if kind is Kind.MODULE and not guarded else 0)
    | (_ATTRIBUTE if kind is Kind.ATTRIBUTE else 0)
    for kind in Kind
    for guarded in (False, True)
}
_ROW_BITS = {(kind.value, guarded): bit for (kind, guarded), bit in _VIA_BITS.items()}


class ImportGraph:
    def __init__(self) -> None:
        # Insertion-ordered: traversals, and so every chain depmin prints, are deterministic.
        self._successors: dict[Hashable, dict[Hashable, list[Via]]] = {ROOT: {}}
        self._predecessors: dict[Hashable, dict[Hashable, None]] = {ROOT: {}}
        # source → target → the union of its vias' reach bits, beside _successors so that a
        # traversal reads one small integer per edge and builds no key
        self._bits: dict[Hashable, dict[Hashable, int]] = {ROOT: {}}
        self._searches: dict[Reach, dict[Hashable, Hashable]] = {}  # remembered until the next add
        self._files: dict[Hashable, str] = {}  # source → its file, for its vias kept as rows

    def add_entry(self, node: Hashable) -> None:
        self.add(ROOT, node, Via(file="", line=0, module=ROOT, kind=Kind.MODULE, statement="(entry)"))

    def add(self, source: Hashable, target: Hashable, via: Via) -> None:
        """Add an edge's via; the caller adds each via once."""
        self.add_all(source, ((target, via),))

    def add_all(self, source: Hashable, edges: Iterable[tuple[Hashable, Via]]) -> None:
        """add() for each (target, via) of one source, without a call per edge (a walk adds
        140k edges at 10k files). add_rows is the same loop over kept rows: one loop with a
        decoding step per edge would cost that call on every edge of every warm run."""
        successors, predecessors, all_bits = self._successors, self._predecessors, self._bits
        if source not in successors:
            successors[source], predecessors[source], all_bits[source] = {}, {}, {}
        own, bits, via_bits = successors[source], all_bits[source], _VIA_BITS
        for target, via in edges:
            if target not in successors:
                successors[target], predecessors[target], all_bits[target] = {}, {}, {}
            bit = via_bits[via.kind, via.guarded]
            vias = own.get(target)
            if vias is None:
                own[target] = [via]
                predecessors[target][source] = None
                bits[target] = bit
            else:
                vias.append(via)
                bits[target] |= bit
        self._searches.clear()

    def add_rows(self, source: Hashable, file: str, rows: Iterable[Row], node: Callable[[Any], Hashable]) -> None:
        """add_all() for vias kept as rows (`node` makes a graph node of a kept target)."""
        successors, predecessors, all_bits = self._successors, self._predecessors, self._bits
        if source not in successors:
            successors[source], predecessors[source], all_bits[source] = {}, {}, {}
        self._files[source] = file
        own, bits, row_bits = successors[source], all_bits[source], _ROW_BITS
        for row in rows:
            target = row[0]
            if target.__class__ is not str:
                target = node(target)
            if target not in successors:
                successors[target], predecessors[target], all_bits[target] = {}, {}, {}
            bit = row_bits[row[2], row[3]]
            vias = own.get(target)
            if vias is None:
                own[target] = [row]  # type: ignore[list-item]  # a Via once _materialised
                predecessors[target][source] = None
                bits[target] = bit
            else:
                vias.append(row)  # type: ignore[arg-type]
                bits[target] |= bit
        self._searches.clear()

    def _materialised(self, source: Hashable, target: Hashable) -> list[Via]:
        vias: list[Any] = self._successors[source][target]
        for position, item in enumerate(vias):
            if type(item) is not Via:
                _, line, kind, guarded, statement = item
                vias[position] = Via(self._files[source], line, str(source), _KINDS[kind], guarded, statement)
        return vias

    def drop_vias(self, source: Hashable, target: Hashable, dropped: Callable[[Via], bool]) -> None:
        """Take the vias `dropped` says of one edge off the graph (the edge too when none is left)."""
        kept = [via for via in self._materialised(source, target) if not dropped(via)]
        if kept:
            self._successors[source][target] = kept
            bits = 0
            for via in kept:
                bits |= _VIA_BITS[via.kind, via.guarded]
            self._bits[source][target] = bits
        else:
            del self._successors[source][target], self._bits[source][target]
            del self._predecessors[target][source]
        self._searches.clear()

    def attribute_edges(self) -> list[tuple[Hashable, Hashable]]:
        """The edges with an import inside a module's own `__getattr__` (no via is read)."""
        return [(s, t) for s, targets in self._bits.items() for t, bit in targets.items() if bit & _ATTRIBUTE]

    def successors(self, node: Hashable) -> Iterator[Hashable]:
        return iter(self._successors.get(node, {}))

    def reachable_without(self, reach: Reach, cut: Callable[[Hashable, Hashable], bool]) -> set[Hashable]:
        """reachable(), as if every edge `cut` names were not there (nothing is changed)."""
        admitted, bits = _ADMITTED[reach], self._bits
        seen: set[Hashable] = {ROOT}
        queue: deque[Hashable] = deque([ROOT])
        while queue:
            node = queue.popleft()
            for target, bit in bits[node].items():
                if bit & admitted and target not in seen and not cut(node, target):
                    seen.add(target)
                    queue.append(target)
        return seen - {ROOT}

    def vias(self, source: Hashable, target: Hashable) -> list[Via]:
        return list(self._materialised(source, target))

    def predecessors(self, node: Hashable) -> Iterator[Hashable]:
        return iter(self._predecessors.get(node, {}))

    def nodes(self) -> Iterable[Hashable]:
        return self._successors.keys()

    def edges(self) -> Iterator[tuple[Hashable, Hashable, list[Via]]]:
        for source, targets in self._successors.items():
            for target in targets:
                yield source, target, self.vias(source, target)

    def _search(self, reach: Reach) -> dict[Hashable, Hashable]:
        """Breadth-first from the root: every reachable node → the node it was first reached from."""
        found = self._searches.get(reach)
        if found is not None:
            return found
        admitted, bits = _ADMITTED[reach], self._bits
        parents: dict[Hashable, Hashable] = {ROOT: ROOT}
        queue: deque[Hashable] = deque([ROOT])
        while queue:
            node = queue.popleft()
            for target, bit in bits[node].items():
                if bit & admitted and target not in parents:
                    parents[target] = node
                    queue.append(target)
        self._searches[reach] = parents
        return parents

    def at_start(self) -> frozenset[Hashable]:
        """What importing the entries imports: reached through unguarded module-level imports
        only (a lazy import, and everything it leads to, runs later, if ever)."""
        seen: set[Hashable] = {ROOT}
        queue: deque[Hashable] = deque([ROOT])
        while queue:
            node = queue.popleft()
            for target, bit in self._bits[node].items():
                if bit & _AT_START and target not in seen:
                    seen.add(target)
                    queue.append(target)
        return frozenset(seen - {ROOT})

    def at_start_without(self, cut: Callable[[Hashable, Hashable], bool]) -> frozenset[Hashable]:
        """at_start(), as if every edge `cut` names were not there (nothing is changed)."""
        seen: set[Hashable] = {ROOT}
        queue: deque[Hashable] = deque([ROOT])
        while queue:
            node = queue.popleft()
            for target, bit in self._bits[node].items():
                if bit & _AT_START and target not in seen and not cut(node, target):
                    seen.add(target)
                    queue.append(target)
        return frozenset(seen - {ROOT})

    def reachable(self, reach: Reach) -> set[Hashable]:
        """Everything reachable from the entries through edges having a via that `reach` admits."""
        return set(self._search(reach)) - {ROOT}

    def layers(self) -> Layers:
        """Each node at the firmest reach any path gives it: one pass over the edges, the
        required frontier first (a path's reach is its weakest edge's)."""
        level: dict[Hashable, int] = {ROOT: 0}
        buckets: list[list[Hashable]] = [[ROOT], [], []]
        for current, bucket in enumerate(buckets):
            while bucket:
                node = bucket.pop()
                if level[node] != current:
                    continue  # reached more firmly since it was queued here
                for target, bit in self._bits[node].items():
                    reached = max(current, _FIRMEST[bit])
                    if reached < level.get(target, 3):
                        level[target] = reached
                        buckets[reached].append(target)
        del level[ROOT]
        required = frozenset(n for n, v in level.items() if v == 0)
        return Layers(
            required=required,
            optional=frozenset(n for n, v in level.items() if v == 1),
            type_only=frozenset(n for n, v in level.items() if v == 2),
        )

    def shortest_chain(self, node: Hashable, reach: Reach) -> list[Via] | None:
        """The hops of a shortest import chain from an entry to `node`, or None."""
        parents = self._search(reach)
        if node not in parents or node == ROOT:
            return None
        path = [node]
        while path[-1] != ROOT:
            path.append(parents[path[-1]])
        path.reverse()
        return self._hops(path, reach)

    def chains_per_importer(self, node: Hashable, reach: Reach) -> list[list[Via]]:
        """One shortest chain for every distinct place that imports `node` directly."""
        chains = []
        for importer in sorted(self.predecessors(node), key=str):
            if importer == ROOT:
                continue
            lead = [] if importer in self._successors[ROOT] else self.shortest_chain(importer, reach)
            if lead is None:
                continue
            for via in sorted((v for v in self.vias(importer, node) if reach.admits(v)), key=_via_order):
                chains.append([*lead, via])
        return sorted(chains, key=lambda chain: (len(chain), [(v.file, v.line) for v in chain]))

    def _hops(self, path: list[Hashable], reach: Reach) -> list[Via]:
        hops = []
        for source, target in itertools.pairwise(path[1:]):
            vias = [v for v in self._materialised(source, target) if reach.admits(v)]
            hops.append(min(vias, key=_via_order))
        return hops


def _via_order(via: Via) -> tuple[int, str, int]:
    # Prefer import-time evidence, then the earliest place in the file.
    rank = {Kind.MODULE: 0, Kind.LAZY: 1, Kind.ATTRIBUTE: 1, Kind.DYNAMIC: 2, Kind.TYPE_CHECKING: 3}[via.kind]
    return rank + 4 * via.guarded, via.file, via.line


@dataclass(frozen=True)
class Layers:
    required: frozenset[Hashable]  # reached through unguarded run-time imports
    optional: frozenset[Hashable]  # reached at run time only through a guarded import
    type_only: frozenset[Hashable]  # reached only through TYPE_CHECKING imports
    runtime: frozenset[Hashable] = field(init=False)  # required | optional

    def __post_init__(self) -> None:
        object.__setattr__(self, "runtime", self.required | self.optional)

    def of(self, node: Hashable) -> Reach:
        if node in self.required:
            return Reach.REQUIRED
        if node in self.optional:
            return Reach.OPTIONAL
        return Reach.TYPE_ONLY if node in self.type_only else Reach.UNREACHABLE
