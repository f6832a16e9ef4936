"""Prove a closure: build the minimal tree and venv (with uv), import every module in it.

The only place depmin runs analysed code, and only inside the throwaway tree:
the import path of each check is that tree and that venv, nothing of the
user's repository or environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from depmin.errors import Code
from depmin.imports.graph import ROOT, DistributionNode
from depmin.model import Closure, Kind, Requirement
from depmin.project.module_index import ModuleIndex
from depmin.usecases.build_env import (
    away_from,
    build_venv,
    compile_tree,
    copy_local_files,
    copy_tree,
    find_interpreter,
    installed_names,
    remove_tree,
    sync_venv,
    throwaway_directory,
    write_files,
    write_local_metadata,
)
from depmin.usecases.run_imports import SmokeOutcome, import_alone, import_modules, run_smoke

if TYPE_CHECKING:
    from depmin.analysis import Analysis


# Failures the analysis already predicted: reported as notes, never a failed verdict.
#   optional          reached only through guarded imports, or failing on a guarded import's distribution
#   unpinned_feature  failing on an optional feature: a distribution only an extra or a group installs
#   other_platform    failing on a distribution the lock installs only for other platforms or Pythons
#   not_at_start      reached only through lazy, guarded or dynamic imports, failing on a name nothing pins
#   order_dependent   imports when the entries are imported alone, as the program starts; fails only
#                     once other modules were imported into the same interpreter
EXPECTED_KINDS = frozenset({"optional", "unpinned_feature", "other_platform", "not_at_start", "order_dependent"})


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    module: str
    ok: bool
    optional: bool  # reached only through guarded imports: may fail on what it guards
    message: str = ""
    hint: str = ""
    # What the failure is, from what depmin knows: one of EXPECTED_KINDS, or missing_distribution,
    # missing_file, missing_metadata, timeout, crash, or error (an exception of the module's own code).
    kind: str = ""
    entry: bool = False  # an entry module: imported alone in a fresh interpreter before the others
    # where this outcome comes from: "entry" (the entry imported alone, as the program starts) or
    # "all" (every module imported in one interpreter)
    phase: str = "all"

    @property
    def expected(self) -> bool:
        """A failure the analysis predicted: a note."""
        return not self.ok and self.kind in EXPECTED_KINDS

    @property
    def counts_as_failure(self) -> bool:
        return not self.ok and not self.expected

    @property
    def code(self) -> Code | None:
        """DM601 for a failure that fails the verdict; a note or a success has none."""
        return Code.IMPORT_FAILED if self.counts_as_failure else None


@dataclass(frozen=True)
class VerifyResult:
    tree: Path  # the built tree, or `engine:tag` of the image
    installed: tuple[str, ...]
    outcomes: tuple[ImportOutcome, ...]
    smoke: SmokeOutcome | None = None
    kept: bool = False  # the tree and venv were left for inspection
    image: tuple[str, str] | None = None  # (engine, base) when verified inside an image

    @property
    def ok(self) -> bool:
        return not any(o.counts_as_failure for o in self.outcomes) and (self.smoke is None or self.smoke.ok)


@dataclass(frozen=True)
class Predicted:
    """What the analysis says will not import in this environment, from its data (not its messages):
    the distributions it lists but does not pin, by the import names it saw them under."""

    # (import name, kind, requirement): optional features, guarded imports, and required
    # distributions the lock installs only elsewhere (the DM402 warning: imported, never pinned)
    absent: tuple[tuple[str, str, Requirement], ...]
    installed: frozenset[str]  # import names of the pinned distributions, and the pins' names
    # first-party closure modules reached only through lazy, guarded or dynamic imports
    not_at_start: frozenset[str] = frozenset()
    knows_start: bool = False  # whether not_at_start was computed from the import graph

    def provides(self, missing: str) -> bool:
        """Whether a pinned distribution is what the code imports `missing` from."""
        return canonicalize_name(missing.partition(".")[0]) in self.installed or any(
            _same_import(name, missing) for name in self.installed
        )

    def absent_kind(self, missing: str) -> tuple[str, Requirement | None]:
        """(kind, requirement) when `missing` names a distribution the analysis lists but did not pin."""
        for name, kind, requirement in self.absent:
            if _same_import(name, missing):
                return kind, requirement
        return "", None


def predicted(closure: Closure, not_at_start: Iterable[str] = ()) -> Predicted:
    pinned = {p.name for p in closure.pinned}
    absent: list[tuple[str, str, Requirement]] = []
    installed: set[str] = set(pinned)
    groups = (
        ("unpinned_feature", [r for r in closure.optional if r.features]),
        ("optional", [r for r in closure.optional if not r.features]),
        ("other_platform", [r for r in closure.direct if r.version is not None]),
    )
    for kind, requirements in groups:
        for requirement in requirements:
            names = {_imported_name(via.statement) for via in requirement.via} - {""}
            if requirement.name in pinned:
                installed.update(names)
            else:
                absent += [(name, kind, requirement) for name in sorted(names | {requirement.name})]
    return Predicted(tuple(absent), frozenset(installed), frozenset(not_at_start))


def _same_import(name: str, missing: str) -> bool:
    """`missing` (what Python could not import) is `name` (what the code imports), a module
    inside it, or the package it is in."""
    name, missing = name.replace("-", "_"), missing.replace("-", "_")
    return name == missing or missing.startswith(name + ".") or name.startswith(missing + ".")


def predicted_of(analysis: Analysis) -> Predicted:
    """predicted(), with what the import graph adds: the modules the entries do not import at start
    (and the modules that only strings name, verify imports them too, whose distribution no
    unguarded module-level import brings in at start)."""
    closure = analysis.closure
    at_start = analysis.graph.at_start()
    late = [m for m in closure.modules if m not in at_start]
    started = {node.name for node in at_start if isinstance(node, DistributionNode)}
    late += [name for name in closure.named_imports if not _named_by(closure, name) & started]
    return replace(predicted(closure, late), knows_start=True)


def _named_by(closure: Closure, name: str) -> set[str]:
    """The distributions whose imports (as listed in the closure) import the module `name`."""
    requirements = (*closure.direct, *closure.optional)
    return {r.name for r in requirements for via in r.via if _same_import(_imported_name(via.statement), name)}


def outcome(
    result: dict, optional: bool, index: ModuleIndex, closure: Closure, expectation: Predicted | None = None
) -> ImportOutcome:
    if result.get("ok"):
        return ImportOutcome(result["module"], True, optional)
    message = f"{result.get('type')}: {result.get('message')}".rstrip(": ")
    expectation = expectation or predicted(closure)
    kind, requirement = _expected_kind(result, optional, index, expectation)
    hint = _expected_hint(kind, requirement, result, closure) or _hint(result, index, closure)
    return ImportOutcome(result["module"], False, optional, message, hint, kind or _kind(result, index))


def _expected_kind(
    result: dict, optional: bool, index: ModuleIndex, expectation: Predicted
) -> tuple[str, Requirement | None]:
    if optional:
        return "optional", None
    missing = str(result.get("missing") or "")
    if result.get("type") not in ("ModuleNotFoundError", "ImportError") or not missing:
        return "", None
    if missing in index.modules or missing.partition(".")[0] in index.modules or expectation.provides(missing):
        return "", None  # first-party, or pinned: the analysis promised it
    kind, requirement = expectation.absent_kind(missing)
    if kind == "unpinned_feature" and expectation.knows_start and result["module"] not in expectation.not_at_start:
        # imported to start, yet missing what only an unchosen extra installs: the program cannot
        # start with these pins (the analysis missed an import), never an expected note
        return "", None
    if kind:
        return kind, requirement
    if result["module"] in expectation.not_at_start:
        return "not_at_start", None
    return "", None


def _expected_hint(kind: str, requirement: Requirement | None, result: dict, closure: Closure) -> str:
    if kind == "unpinned_feature" and requirement is not None:
        return (
            f"an optional feature: only {' or '.join(requirement.features)} installs {requirement.name}, "
            "which this target does not choose (expected)"
        )
    if kind == "other_platform" and requirement is not None:
        return (
            f"uv.lock installs {requirement.name} only for other platforms or Pythons (DM402): not for "
            f"{closure.platform_names}, Python {closure.target.python_version} (expected)"
        )
    if kind == "not_at_start":
        return (
            f"reached only through lazy, guarded or dynamic imports, so not needed to start, and nothing pinned "
            f"provides {result.get('missing')!r} (expected)"
        )
    return ""


def _kind(result: dict, index: ModuleIndex) -> str:
    failure = result.get("type")
    if failure == "Timeout":
        return "timeout"
    if failure == "Crash":
        return "crash"
    if failure == "PackageNotFoundError":
        return "missing_metadata"
    if failure in ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return "missing_file"
    missing = str(result.get("missing") or "")
    if failure in ("ModuleNotFoundError", "ImportError") and missing:
        if missing in index.modules or missing.partition(".")[0] in index.modules:
            return "missing_file"
        return "missing_distribution"
    return "error"


def _hint(result: dict, index: ModuleIndex, closure: Closure) -> str:
    missing = result.get("missing")
    if result.get("type") in ("ModuleNotFoundError", "ImportError") and missing:
        top = str(missing).partition(".")[0]
        if missing in index.modules or top in index.modules:
            return f"first-party module {missing} is not in the tree: a file is missing from the COPY list"
        for requirement in closure.optional:
            for via in requirement.via:
                if _imported_top(via.statement) == top:
                    return (
                        f"depmin saw this import as optional (guarded) at {via.file}:{via.line}: {requirement.name} "
                        "is not installed; --include-optional installs it"
                    )
        if any(_imported_top(via.statement) == top for r in closure.direct for via in r.via):
            return f"depmin saw {missing!r} as required and pinned it; the installed distribution does not provide it"
        return (
            f"no installed distribution provides {missing!r}: it is imported in a way depmin cannot see "
            "(a computed name?); add it to hidden-imports, or to the project's dependencies"
        )
    if result.get("type") in ("FileNotFoundError", "IsADirectoryError", "NotADirectoryError"):
        return f"a data file is missing: {result.get('filename')}; add its directory to the target's `data`"
    if result.get("type") == "PackageNotFoundError":
        return (
            "a distribution's metadata is missing (importlib.metadata): if it is first-party, it is not "
            "in uv.lock as a package of this project; otherwise add it to hidden-imports"
        )
    if result.get("type") == "Timeout":
        return "the import blocks (a server started or input awaited at import time?); raise --timeout or guard it"
    return ""


def _imported_name(statement: str) -> str:
    """The module a described import imports (`from yaml import x` → yaml, `import a.b` → a.b)."""
    words = statement.replace("(", " ").replace("'", " ").replace(",", " ").split()
    if len(words) >= 2 and words[0] in ("import", "from"):
        return "" if words[1].startswith(".") else words[1]
    if len(words) >= 2 and words[0].startswith(("importlib.import_module", "__import__")):
        return "" if words[1].startswith(".") else words[1]
    return ""


def _imported_top(statement: str) -> str:
    """The top-level module of a described import (`from yaml import x` → yaml)."""
    words = statement.replace("(", " ").replace("'", " ").split()
    if len(words) >= 2 and words[0] in ("import", "from"):
        return words[1].lstrip(".").partition(".")[0]
    if len(words) >= 2 and words[0].startswith(("importlib.import_module", "__import__")):
        return words[1].partition(".")[0]
    return ""


Progress = Callable[[dict | None], None]


@dataclass(frozen=True)
class VerifyRequest:
    root: Path
    excludes: tuple[str, ...]
    requirements: str  # the requirements file's text, exactly as `closure -o` writes it
    smoke: str | None = None
    timeout: float = 60.0
    keep: bool = False
    # The uv style: the tree `depmin prune` writes (path → bytes) and its manifests (the json/
    # layer), installed by `uv sync --frozen --no-dev --no-editable` with the chosen extras.
    pruned: Mapping[str, bytes] | None = None
    manifests: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()


def importable(closure: Closure) -> tuple[str, ...]:
    """What verify imports: the closure's modules, but not `__main__` modules (importing one runs
    the program, as `python -m` does; they are copied, not imported), and what only strings name."""
    modules = [
        m
        for m in closure.modules
        if m.rpartition(".")[2] != "__main__" and all(part.isidentifier() for part in m.split("."))  # not a script
    ]
    return (*modules, *closure.named_imports)


def verify_tree(
    analysis: Analysis,
    request: VerifyRequest,
    *,
    log: Callable[[str], None],
    progress: Callable[[str, int | None], Progress],
) -> VerifyResult:
    """Copy the closure's tree, install its pins with uv, import every module, run the smoke
    command. `progress(description, total)` gives the callback each step reports to. The tree is
    removed however this ends (terminated_as_exit makes a SIGTERM one of those ways)."""
    closure = analysis.closure
    workdir: Path | None = None
    try:
        workdir = throwaway_directory("depmin-verify-")
        tree, requirements = workdir / "app", workdir / "requirements.txt"
        python = find_interpreter(closure.target.python_version)
        if request.pruned is not None:
            write_files(tree, request.pruned)
            log(f"wrote the pruned tree ({len(request.pruned)} files) into {tree}")
            progress("uv sync of the pruned tree", None)
            venv = sync_venv(tree, workdir / ".venv", python, request.extras, log)
        else:
            files = copy_tree(request.root, closure, request.excludes, tree)
            log(f"copied {len(files)} files into {tree}")
            requirements.write_text(request.requirements, "utf-8")
            copy_local_files(request.root, closure, workdir)
            progress("installing pinned distributions", None)
            venv = build_venv(workdir, python, requirements, log)
            write_local_metadata(venv, closure)
        compile_tree(venv, tree)
        modules = importable(closure)
        entries = entry_modules(analysis)
        with away_from(request.root, workdir):
            alone = EntryPhase(
                entries,
                *import_alone(
                    venv,
                    tree,
                    closure.image_path,
                    entries,
                    closure.modules,
                    progress("importing each entry alone", len(entries)),
                    timeout=request.timeout,
                ),
            )
            results = import_modules(
                venv,
                tree,
                closure.image_path,
                modules,
                progress("importing modules", len(modules)),
                timeout=request.timeout,
            )
            smoked = (
                run_smoke(venv, tree, closure.image_path, request.smoke, request.timeout) if request.smoke else None
            )
        outcomes = outcomes_of(analysis, results, alone)
        return VerifyResult(tree if request.keep else workdir, installed_names(venv), outcomes, smoked, request.keep)
    finally:
        if workdir is not None and not request.keep:
            remove_tree(workdir)


@dataclass(frozen=True)
class EntryPhase:
    """The entries imported alone, each in a fresh interpreter (run_imports.import_alone)."""

    entries: tuple[str, ...]
    results: Mapping[str, dict]  # entry → its outcome alone (not for an entry another one loaded)
    loaded: frozenset[str]  # the closure modules these imports loaded whole


def entry_modules(analysis: Analysis) -> tuple[str, ...]:
    """The entry modules verify imports alone first: where the program starts (the modules and
    files named, a directory's package, the console scripts' modules: Analysis.starts), not every
    module of a directory, which the second phase imports together. Those no other module imports
    at start come first (importing one of them imports most of the others, which then need no
    interpreter of their own)."""
    graph = analysis.graph
    wanted = set(importable(analysis.closure)) & set(analysis.starts)
    entries = [m for m in analysis.closure.modules if m in wanted and ROOT in set(graph.predecessors(m))]

    def imported_at_start(module: str) -> bool:
        return any(
            via.kind is Kind.MODULE and not via.guarded
            for source in graph.predecessors(module)
            if source != ROOT and isinstance(source, str)
            for via in graph.vias(source, module)
        )

    return tuple(sorted(entries, key=imported_at_start))


def outcomes_of(
    analysis: Analysis, results: Iterable[dict], alone: EntryPhase | None = None
) -> tuple[ImportOutcome, ...]:
    """Each importer report as an outcome, and a crash for every module nothing reported. With the
    entry phase: an entry that failed alone is reported as that failure (phase "entry"), and a
    module that the entries loaded whole but that failed in the shared interpreter is
    order_dependent."""
    closure, index = analysis.closure, analysis.index
    optional = {m for m in analysis.layers.optional if isinstance(m, str)}
    expectation = predicted_of(analysis)
    phase = alone or EntryPhase((), {}, frozenset())
    entries = set(phase.entries)

    def judged(result: dict) -> ImportOutcome:
        module = result["module"]
        first = phase.results.get(module)
        if first is not None and not first.get("ok"):
            found = outcome(first, module in optional, index, closure, expectation)
            return replace(found, entry=True, phase="entry")
        found = outcome(result, module in optional, index, closure, expectation)
        if not found.ok and module in phase.loaded:
            found = replace(found, kind="order_dependent", hint=_ORDER_DEPENDENT)
        return replace(found, entry=module in entries)

    outcomes = [judged(r) for r in results]
    seen = {o.module for o in outcomes}
    outcomes += [
        ImportOutcome(
            m,
            False,
            m in optional,
            "the import check did not report",
            kind="optional" if m in optional else "crash",
            entry=m in entries,
        )
        for m in importable(closure)
        if m not in seen
    ]
    return tuple(outcomes)


_ORDER_DEPENDENT = (
    "imports when the entries are imported alone, as the program starts; fails only once other modules "
    "were imported into the same interpreter (an import-order dependence, not a broken image)"
)
