"""Each module's resolved edges, kept across runs: a warm run with nothing changed neither
decodes scans nor resolves imports, and k changed files redo their own edges and those of
the modules that read their facts.

An entry is trusted only while everything its edges were computed from is unchanged:
- the module's own content key (from the scan snapshot, vouched for by the file's stat);
- the content keys of the modules whose facts it read (`when` constants, `__all__`);
- the index under every first-party top-level name it resolved (a new submodule changes
  `from pkg import name`), and the whole store's fingerprint: the set of top-level names,
  the distribution finder's inputs (lock, module-map, the chosen artifacts' hashes),
  the project's entry points, the Python and platform, and depmin's own version.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depmin.cache import file_stamp, merged_for_save, write_quietly
from depmin.errors import Code, Diagnostic, Severity
from depmin.files.reading import read_regular_with_stat
from depmin.imports.graph import DistributionNode, Row, UnresolvedNode
from depmin.model import Ignored, Via
from depmin.project.module_index import ModuleIndex

EdgeKey = tuple[str, bool, tuple[tuple[str, str], ...]]  # module, is an entry, ignore patterns

_SEVERITIES = {severity.value: severity for severity in Severity}


def index_tops(index: ModuleIndex) -> dict[str, str]:
    """Top-level first-party name → a hash of every module and namespace under it."""
    lines: dict[str, list[str]] = {}
    for name, info in index.modules.items():
        lines.setdefault(name.partition(".")[0], []).append(f"m {name} {info.path} {info.is_package}")
    for name, directories in index.namespaces.items():
        lines.setdefault(name.partition(".")[0], []).append(f"n {name} {' '.join(directories)}")
    return {top: hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()[:20] for top, found in lines.items()}


@dataclass(frozen=True)
class Edges:
    """What one scanned module adds to a walk. It depends only on the module, whether it is an
    entry, the ignore patterns, the resolver and the target, so many targets share it."""

    edges: tuple[tuple[Hashable, Via], ...]
    reached: tuple[str, ...]
    problems: tuple[Diagnostic, ...]
    ignored: tuple[Ignored, ...]
    named: tuple[str, ...]
    # Remembered edges come as the rows they were kept as, with the module's file: the graph
    # makes a Via of a row only when something asks for it (see ImportGraph.add_rows).
    rows: tuple[Row, ...] = ()
    file: str = ""
    # what the target's install was asked of the alternatives' distributions (walk.ModuleEdges.asked):
    # edges that another target's install would choose differently are not reused for it
    asked: tuple[tuple[str, bool], ...] = ()


@dataclass
class EdgeStore:
    """{(module, is an entry, ignore patterns): [content key, tops, reads, edges]} for one
    project and target, in one marshal file whose name carries the cache's salt."""

    file: Path
    fingerprint: str
    tops: Mapping[str, str]
    key_now: Callable[[str], str | None]  # module → its content key now, None when stale or unknown
    key_scanned: Callable[[str], str | None]  # module → the content key of what this run scanned
    entries: dict[EdgeKey, list[Any]] = field(default_factory=dict)
    added: dict[EdgeKey, list[Any]] = field(default_factory=dict)
    hits: int = 0
    stamp: tuple[int, int, int] | None = None  # the file's, when it was read

    @classmethod
    def open(
        cls,
        file: Path,
        fingerprint: str,
        index: ModuleIndex,
        key_now: Callable[[str], str | None],
        key_scanned: Callable[[str], str | None],
    ) -> EdgeStore:
        tops = index_tops(index)
        fingerprint = hashlib.sha256(f"{fingerprint}\n{sorted(tops)}".encode()).hexdigest()
        store = cls(file, fingerprint, tops, key_now, key_scanned, stamp=file_stamp(file))
        store.entries = _entries(_read(file), fingerprint)
        return store

    def get(self, key: EdgeKey, path: str) -> Edges | None:
        """The module's remembered edges, or None when anything they came from changed (or the
        entry does not decode: damaged files are never trusted)."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        try:
            own, tops, reads, data = entry
            if own != self.key_now(key[0]):
                return None
            if any(self.tops.get(top) != digest for top, digest in tops):
                return None
            if any(self.key_now(module) != read for module, read in reads):
                return None
            edges = decode(path, data)
        except (ValueError, TypeError, KeyError, IndexError):
            return None
        self.hits += 1
        return edges

    def remember(self, key: EdgeKey, touched: Iterable[str], reads: Iterable[str], edges: Edges, path: str) -> None:
        """Keep a module's freshly computed edges, with what they were computed from."""
        own = self.key_scanned(key[0])
        read_keys = [(module, self.key_scanned(module)) for module in reads]
        data = encode(path, key[0], edges)
        if own is None or data is None or any(k is None for _, k in read_keys):
            return  # not known for sure: recomputed next time
        tops = tuple((top, self.tops[top]) for top in sorted(touched) if top in self.tops)
        self.entries[key] = self.added[key] = [own, tops, tuple(read_keys), data]

    def save(self) -> None:
        """Merged with what another run saved meanwhile under the same fingerprint."""
        if not self.added:
            return
        merged = merged_for_save(
            self.file, self.stamp, self.entries, self.added, lambda file: _entries(_read(file), self.fingerprint)
        )
        payload = marshal.dumps({"fingerprint": self.fingerprint, "entries": merged})
        write_quietly(self.file, _MAGIC + hashlib.blake2b(payload, digest_size=16).digest() + payload)
        self.entries, self.added, self.stamp = merged, {}, file_stamp(self.file)


# The edges are handed to the graph as they were read (see ImportGraph.add_rows), not checked
# one by one: the file carries a digest of its contents, and a damaged one is read as empty.
_MAGIC = b"depmin-edges-3\n"


def _read(file: Path) -> dict[str, object]:
    try:
        content = read_regular_with_stat(file, None, follow_symlinks=False)[0]
    except OSError:
        return {}
    head = len(_MAGIC) + 16
    payload = content[head:]
    digest = hashlib.blake2b(payload, digest_size=16).digest()
    if content[: len(_MAGIC)] != _MAGIC or content[len(_MAGIC) : head] != digest:
        return {}
    try:
        data = marshal.loads(payload)
    except (ValueError, TypeError, EOFError):
        return {}
    return data if isinstance(data, dict) else {}


def _entries(data: dict[str, object], fingerprint: str) -> dict[EdgeKey, list[Any]]:
    if data.get("fingerprint") != fingerprint or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]  # type: ignore[return-value]


# -- edges as plain data ---------------------------------------------------------------------
# Every via of a module's edges names that module and its file: kept once, not per via.


def encode(path: str, module: str, edges: Edges) -> tuple[object, ...] | None:
    """None when something does not fit the compact form (it is then recomputed each run)."""
    rows = []
    for node, via in edges.edges:
        if via.file != path or via.module != module:
            return None
        rows.append((_node(node), via.line, via.kind.value, via.guarded, via.statement))
    return (
        tuple(rows),
        edges.reached,
        tuple((d.path, d.line, d.message, d.severity.value, d.code.value) for d in edges.problems),
        tuple((i.name, i.file, i.line, i.reason) for i in edges.ignored),
        edges.named,
        edges.asked,
    )


def decode(path: str, data: Any) -> Edges:
    rows, reached, problems, ignored, named, asked = data
    return Edges(
        (),
        tuple(reached),
        tuple(Diagnostic(p, line, text, _SEVERITIES[kind], Code.of(code)) for p, line, text, kind, code in problems),
        tuple(Ignored(name, file, line, reason) for name, file, line, reason in ignored),
        tuple(named),
        rows,
        path,
        tuple((str(name), bool(given)) for name, given in asked),
    )


def _node(node: Hashable) -> object:
    if isinstance(node, str):
        return node
    if isinstance(node, DistributionNode):
        return ("d", node.name)
    if isinstance(node, UnresolvedNode):
        return ("u", node.name, node.reason, node.candidates, node.first_party)
    raise TypeError(f"not a graph node: {node!r}")


def node_from_data(data: Any) -> Hashable:
    """A graph node as `encode` kept it (a module name is kept as itself)."""
    if isinstance(data, str):
        return data
    if data[0] == "d":
        return DistributionNode(data[1])
    _, name, reason, candidates, first_party = data
    return UnresolvedNode(name, reason, tuple(candidates), bool(first_party))
