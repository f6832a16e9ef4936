"""The import graph (networkx): layers of the closure and shortest import chains.

Nodes are first-party module names (str), distributions and unresolved imports.
A virtual root points at every entry, so one traversal answers for all of them.
Each edge carries every `Via` (file:line, kind, guard) that creates it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass

import networkx as nx

from depmin.model import Kind, Via

ROOT = "<entries>"


@dataclass(frozen=True, slots=True, order=True)
class DistributionNode:
    name: str


@dataclass(frozen=True, slots=True, order=True)
class UnresolvedNode:
    name: str  # the import name
    reason: str  # why nothing provides it (empty: no locked distribution does)
    candidates: tuple[str, ...] = ()  # for an ambiguity: the locked distributions


def is_required(via: Via) -> bool:
    return via.kind is not Kind.TYPE_CHECKING and not via.guarded


def is_runtime(via: Via) -> bool:
    return via.kind is not Kind.TYPE_CHECKING


def any_via(via: Via) -> bool:
    return True


class ImportGraph:
    def __init__(self) -> None:
        self._graph: nx.DiGraph = nx.DiGraph()
        self._graph.add_node(ROOT)

    def add_entry(self, node: Hashable) -> None:
        self.add(ROOT, node, Via(file="", line=0, module=ROOT, kind=Kind.MODULE, statement="(entry)"))

    def add(self, source: Hashable, target: Hashable, via: Via) -> None:
        if self._graph.has_edge(source, target):
            vias = self._graph.edges[source, target]["vias"]
            if via not in vias:
                vias.append(via)
        else:
            self._graph.add_edge(source, target, vias=[via])

    def vias(self, source: Hashable, target: Hashable) -> list[Via]:
        return list(self._graph.edges[source, target]["vias"])

    def predecessors(self, node: Hashable) -> Iterator[Hashable]:
        return self._graph.predecessors(node) if node in self._graph else iter(())

    def nodes(self) -> Iterable[Hashable]:
        return self._graph.nodes

    def edge_count(self) -> int:
        return self._graph.number_of_edges()

    def reachable(self, follow: Callable[[Via], bool]) -> set[Hashable]:
        """Everything reachable from the entries through edges having a via that `follow` accepts."""
        return set(nx.descendants(self._view(follow), ROOT))

    def layers(self) -> Layers:
        required = self.reachable(is_required)
        runtime = self.reachable(is_runtime)
        everything = self.reachable(any_via)
        return Layers(
            required=frozenset(required),
            optional=frozenset(runtime - required),
            type_only=frozenset(everything - runtime),
        )

    def shortest_chain(self, node: Hashable, follow: Callable[[Via], bool]) -> list[Via] | None:
        """The hops of a shortest import chain from an entry to `node`, or None."""
        view = self._view(follow)
        if node not in view:
            return None
        try:
            path = nx.shortest_path(view, ROOT, node)
        except nx.NetworkXNoPath:
            return None
        return self._hops(path, follow)

    def chains_per_importer(self, node: Hashable, follow: Callable[[Via], bool]) -> list[list[Via]]:
        """One shortest chain for every distinct place that imports `node` directly."""
        chains = []
        for importer in sorted(self.predecessors(node), key=str):
            if importer == ROOT:
                continue
            lead = [] if self._graph.has_edge(ROOT, importer) else self.shortest_chain(importer, follow)
            if lead is None:
                continue
            for via in sorted((v for v in self.vias(importer, node) if follow(v)), key=_via_order):
                chains.append([*lead, via])
        return sorted(chains, key=lambda chain: (len(chain), [(v.file, v.line) for v in chain]))

    def _hops(self, path: list[Hashable], follow: Callable[[Via], bool]) -> list[Via]:
        hops = []
        for source, target in zip(path[1:-1], path[2:], strict=False):
            vias = [v for v in self._graph.edges[source, target]["vias"] if follow(v)]
            hops.append(min(vias, key=_via_order))
        return hops

    def _view(self, follow: Callable[[Via], bool]) -> nx.DiGraph:
        graph = self._graph

        def keep(source: Hashable, target: Hashable) -> bool:
            return any(follow(v) for v in graph.edges[source, target]["vias"])

        return nx.subgraph_view(graph, filter_edge=keep)


def _via_order(via: Via) -> tuple[int, str, int]:
    # Prefer import-time evidence, then the earliest place in the file.
    rank = {Kind.MODULE: 0, Kind.LAZY: 1, Kind.DYNAMIC: 2, Kind.TYPE_CHECKING: 3}[via.kind]
    return rank + 4 * via.guarded, via.file, via.line


@dataclass(frozen=True)
class Layers:
    required: frozenset[Hashable]  # reached through unguarded run-time imports
    optional: frozenset[Hashable]  # reached at run time only through a guarded import
    type_only: frozenset[Hashable]  # reached only through TYPE_CHECKING imports

    @property
    def runtime(self) -> frozenset[Hashable]:
        return self.required | self.optional
