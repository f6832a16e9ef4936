"""What one deferred import would take out of the image: the first-party import statements
ranked by the locked distributions (and wheel bytes) that deferring each would drop.

A candidate is a module-level, unguarded first-party import statement in a module the entries
import. Its effect is computed on the graph alone (pure): the statement's edges are left out and
the distributions still reachable are pinned again through uv.lock. Whether it can be deferred
without changing what the entries execute is decided from the source (depmin.codemod.judge) and
from the graph: no module the entries reach may ask the importing module for the names the
statement binds, nor take the module object itself (then any attribute may be read).
"""

from __future__ import annotations

import difflib
import subprocess
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path

from packaging.utils import canonicalize_name

from depmin import codemod
from depmin.analysis import Analysis
from depmin.analysis.lazy_attributes import eager_names, requests
from depmin.errors import UsageError
from depmin.files.reading import SOURCE_SIZE_LIMIT, read_regular
from depmin.files.writing import replaceable, write_atomic
from depmin.imports.graph import ROOT, DistributionNode
from depmin.lock.closure import pinned_closure
from depmin.model import Kind, Pin, Reach, Via
from depmin.usecases.size_report import download_size

# What a deferral turns the statement's imports into, for the image (None: they stay required).
_AFTER = {"re-export": Kind.ATTRIBUTE, "annotations": Kind.TYPE_CHECKING, "functions": None}


@dataclass(frozen=True)
class Cut:
    """One import statement, and what deferring it would take out of the image."""

    file: str
    line: int
    module: str
    statement: str
    targets: tuple[str, ...]  # the first-party modules the statement imports
    freed: tuple[Pin, ...]  # pins the image would no longer carry
    size: int  # their wheel bytes for the target
    unknown_sizes: tuple[str, ...]
    forbidden: tuple[str, ...]  # forbidden distributions the cut makes unreachable
    chain: tuple[Via, ...]  # entry → … → this statement
    shape: str = ""  # re-export, functions, annotations ("" when it cannot be deferred)
    names: tuple[str, ...] = ()
    reason: str = ""  # why it cannot be deferred: a code
    detail: str = ""
    at_start: tuple[str, ...] = ()  # for `functions`: distributions no longer imported at start
    would_be: str = ""  # the shape the source allows, when the graph says it cannot be deferred

    @property
    def deferrable(self) -> bool:
        return bool(self.shape)

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class TrimResult:
    subject: str
    forbid: tuple[str, ...]
    reachable_forbidden: tuple[str, ...]  # forbidden distributions the image carries now
    image_size: int  # wheel bytes of the target's pins now
    cuts: tuple[Cut, ...]  # deferrable, ranked: most bytes first (with --forbid: those freeing one)
    blocked: tuple[Cut, ...]  # would free something, but cannot be deferred safely
    start_only: tuple[Cut, ...] = field(default=())  # used only in functions: import time, not the image

    @property
    def best(self) -> Cut | None:
        return self.cuts[0] if self.cuts else None


def _forbidden(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    def test(name: str) -> bool:
        return any(fnmatchcase(name, canonicalize_name(p) if "*" not in p else p.lower()) for p in patterns)

    return test


def candidates(analysis: Analysis) -> dict[tuple[str, int], list[tuple[str, Via]]]:
    """(importing module, line) → its first-party targets and vias: every module-level
    unguarded import statement of a first-party module the entries reach at run time."""
    graph, index, runtime = analysis.graph, analysis.index, analysis.layers.runtime
    found: dict[tuple[str, int], list[tuple[str, Via]]] = {}
    for module in sorted(m for m in runtime if isinstance(m, str) and m in index.modules):
        for target in graph.successors(module):
            if not isinstance(target, str) or target not in index.modules:
                continue
            for via in graph.vias(module, target):
                if via.kind is Kind.MODULE and not via.guarded and via.line > 0:
                    found.setdefault((module, via.line), []).append((target, via))
    return found


def _cut_edges(analysis: Analysis, module: str, line: int, targets: list[str]) -> set[tuple[Hashable, Hashable]]:
    """The edges that would carry nothing at run time once the statement is deferred."""
    cut: set[tuple[Hashable, Hashable]] = set()
    for target in targets:
        others = [
            v
            for v in analysis.graph.vias(module, target)
            if v.line != line and v.kind is not Kind.TYPE_CHECKING and v.kind is not Kind.ATTRIBUTE
        ]
        if not others:
            cut.add((module, target))
    return cut


def _pins_without(analysis: Analysis, cut: set[tuple[Hashable, Hashable]]) -> tuple[Pin, ...] | None:
    """The target's pins with the edges `cut` left out of the graph (None: the same as now)."""
    graph = analysis.graph
    imported = {n.name for n in graph.reachable(Reach.REQUIRED) if isinstance(n, DistributionNode)}
    reached = graph.reachable_without(Reach.REQUIRED, lambda s, t: (s, t) in cut) if cut else set()
    names = {n.name for n in reached if isinstance(n, DistributionNode)} if cut else imported
    if cut and names == imported:
        return None
    # what no import brings in (a smoke command's executable) stays
    wanted = {
        r.name: r.extras
        for r in analysis.closure.direct
        if r.version is not None and (r.name in names or r.name not in imported)
    }
    return pinned_closure(analysis.lock, wanted, analysis.closure.target).pins


def trim(
    analysis: Analysis,
    root: Path,
    subject: str,
    forbid: tuple[str, ...] = (),
    only: set[tuple[str, int]] | None = None,
) -> TrimResult:
    """Every candidate statement (or `only` those (module, line)), ranked."""
    closure, lock, target = analysis.closure, analysis.lock, analysis.closure.target
    pinned = {pin.name: pin for pin in _pins_without(analysis, set()) or ()}
    is_forbidden = _forbidden(forbid)
    reachable_forbidden = tuple(sorted(n for n in pinned if is_forbidden(n)))
    image_size, _ = download_size(lock, closure.pinned, target)
    cuts, blocked, start_only = [], [], []
    for (module, line), hops in candidates(analysis).items():
        if only is not None and (module, line) not in only:
            continue
        targets = [t for t, _ in hops]
        cut = _cut_edges(analysis, module, line, targets)
        after = _pins_without(analysis, cut) if cut else None
        kept = set(pinned) if after is None else {p.name for p in after}
        freed = tuple(pinned[n] for n in sorted(set(pinned) - kept))
        at_start = _start_freed(analysis, module, line) if not freed else ()
        if not freed and not at_start:
            continue
        size, unknown = download_size(lock, freed, target)
        via = hops[0][1]
        lead = analysis.graph.shortest_chain(module, Reach.REQUIRED) or []
        item = Cut(
            file=via.file,
            line=line,
            module=module,
            statement=via.statement,
            targets=tuple(dict.fromkeys(targets)),
            freed=freed,
            size=size,
            unknown_sizes=tuple(unknown),
            forbidden=tuple(p.name for p in freed if is_forbidden(p.name)),
            chain=(*lead, via),
            at_start=at_start,
        )
        item = _judged(analysis, root, item)
        if freed and item.shape == "functions":  # lazy is still required: import time only
            item = _with(
                item, freed=(), size=0, unknown_sizes=(), forbidden=(), at_start=_start_freed(analysis, module, line)
            )
        if item.shape == "functions":
            start_only.append(item)
        elif item.shape and freed:
            cuts.append(item)
        elif freed and item.would_be != "functions":  # (moved into functions, it would be required still)
            blocked.append(item)
    if reachable_forbidden:  # only the cuts that take a forbidden one out (else: every cut, ranked)
        cuts = [c for c in cuts if c.forbidden]
        blocked = [c for c in blocked if c.forbidden]

    def rank(c: Cut) -> tuple[int, int, int, str, int]:
        return (-len(c.forbidden), -c.size, -len(c.freed), c.file, c.line)

    return TrimResult(
        subject,
        forbid,
        reachable_forbidden,
        image_size,
        tuple(sorted(cuts, key=rank)),
        tuple(sorted(blocked, key=rank)),
        tuple(sorted(start_only, key=lambda c: (-len(c.at_start), c.file, c.line))),
    )


def _with(cut: Cut, **changes: object) -> Cut:
    from dataclasses import replace

    return replace(cut, **changes)  # type: ignore[arg-type]


def _start_freed(analysis: Analysis, module: str, line: int) -> tuple[str, ...]:
    """Distributions the entries would no longer import at start were the statement lazy."""
    graph = analysis.graph
    before = graph.at_start()
    if module not in before:
        return ()

    def cut(source: Hashable, target: Hashable) -> bool:
        starts = [v for v in graph.vias(source, target) if v.kind is Kind.MODULE and not v.guarded]
        return source == module and all(v.line == line for v in starts)

    after = graph.at_start_without(cut)
    return tuple(sorted(n.name for n in before - after if isinstance(n, DistributionNode)))


def _judged(analysis: Analysis, root: Path, cut: Cut) -> Cut:
    """The candidate with its shape (or the reason it cannot be deferred) filled in."""
    info = analysis.index.modules[cut.module]
    try:
        source = read_regular(root / info.path, SOURCE_SIZE_LIMIT).decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return _with(cut, reason="unreadable", detail=str(error))
    leaves = {t.rpartition(".")[2] for t in cut.targets if t.rpartition(".")[0] in cut.targets}
    judgement = codemod.judge(source, cut.line, is_submodule=lambda name: name in leaves, package=info.is_package)
    if not judgement.shape:
        return _with(cut, names=judgement.names, reason=judgement.reason, detail=judgement.detail)
    asked = _asked(analysis, root, cut.module, judgement.names)
    if asked is not None:
        code, via = asked
        detail = f"{via.file}:{via.line} {via.statement}"
        if code == "entry":
            detail = f"{cut.module} is an entry: what runs it (a console script, uvicorn) may read any attribute"
        return _with(cut, names=judgement.names, reason=code, detail=detail, would_be=judgement.shape)
    return _with(cut, shape=judgement.shape, names=judgement.names)


def _asked(analysis: Analysis, root: Path, module: str, names: tuple[str, ...]) -> tuple[str, Via] | None:
    """A reachable importer that asks `module` for one of `names`, or takes the module object,
    or asks for a name the module would not bind any more (its __getattr__ would run)."""
    graph, index, runtime = analysis.graph, analysis.index, analysis.layers.runtime
    eager = eager_names(root / index.modules[module].path) or frozenset()
    for importer in sorted(graph.predecessors(module), key=str):
        if importer == ROOT:  # a console script or `uvicorn pkg.app:app` reads an attribute of an entry
            return "entry", next(iter(graph.vias(importer, module)))
        if importer not in runtime:
            continue
        for via in graph.vias(importer, module):
            for request in requests(via, index):
                if request.module != module:
                    continue
                if request.name is None:
                    return "module-object", via
                if request.name in names:
                    return "asked-by-importer", via
                if request.name not in eager:
                    return "asks-lazy-attribute", via
    return None


def pointer(analysis: Analysis, root: Path, name: str | None = None) -> Cut | None:
    """The deferrable cut `why` and `report` point at: the one that frees the most, or (with a
    distribution's name) the best of those on its shortest chain that take it out."""
    only = None
    if name is not None:
        chain = analysis.graph.shortest_chain(DistributionNode(name), Reach.REQUIRED) or []
        only = {(v.module, v.line) for v in chain}
        if not only:
            return None
    result = trim(analysis, root, "", (), only)
    for cut in result.cuts:
        if name is None or name in {p.name for p in cut.freed}:
            return cut
    return None


# -- --apply ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    path: str  # root-relative
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    @property
    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.path}",
                f"b/{self.path}",
            )
        )


class LocalChanges(UsageError):
    pass


def local_changes(root: Path, path: Path) -> str | None:
    """Why the file may not be rewritten without --force (None: it is committed as it is)."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--", str(path)],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"git status failed ({error})"
    if done.returncode != 0:
        return "not inside a git repository, so its local changes cannot be told"
    if done.stdout.strip():
        return f"it has local changes ({done.stdout.strip().split()[0]})"
    return None


def apply_cut(root: Path, cut: Cut, *, force: bool = False) -> Applied:
    """Rewrite the cut's file (atomically, a regular file only). Raises LocalChanges, CannotRewrite."""
    path = replaceable(root / cut.file)
    if not force:
        why = local_changes(root, path)
        if why is not None:
            raise LocalChanges(f"{cut.file} is not rewritten: {why}; commit it or give --force")
    before = read_regular(path, SOURCE_SIZE_LIMIT).decode("utf-8")
    try:
        after = codemod.rewrite(before, cut.line, package=cut.file.endswith("__init__.py"))
    except codemod.CannotRewrite as cannot:
        raise UsageError(f"{cut.place} is not rewritten: {cannot.code}: {cannot}") from None
    if after != before:
        write_atomic(path, after)
    return Applied(cut.file, before, after)


def choose(result: TrimResult, place: str | None) -> Cut | None:
    """The cut --apply makes: the one at FILE:LINE, or the best one; None when there is nothing
    left to cut (with --forbid: nothing forbidden is reachable), so that --apply again is a no-op."""
    if place is None:
        if result.forbid and not result.reachable_forbidden:
            return None
        return result.best
    for cut in (*result.cuts, *result.start_only, *result.blocked):
        if cut.place == place:
            if not cut.deferrable:
                raise UsageError(f"{place} cannot be deferred safely: {cut.reason} ({cut.detail})")
            return cut
    raise UsageError(f"{place} is not a statement trim lists")
