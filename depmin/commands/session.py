"""What every command shares: exit codes, the error boundary, the printer, and the session
(project, lock, request) that options resolve to.

Exit codes: 0 ok; 1 a finding (audit violation, stale output, failed verify, name not
reachable); 2 bad input or usage (reported one line per problem, never a traceback).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import wraps
from pathlib import Path
from typing import Any

import click

from depmin.analysis import Analysis, Request, Workspace, analyse
from depmin.analysis.inputs import choose_target, member_entry, script_entry
from depmin.analysis.lock_cache import read_any_lock
from depmin.cache import ScanCache, default_directory
from depmin.commands.options import AnalysisOptions, Ui
from depmin.errors import Code, DepminError, Diagnostic, Severity, UsageError
from depmin.files.reading import display_path
from depmin.files.safety import for_terminal
from depmin.lock.model import LockFile
from depmin.model import Closure
from depmin.project.config import Project, TargetConfig, find_root, load_project

EXIT_OK, EXIT_FINDING, EXIT_BAD_INPUT = 0, 1, 2

EXIT_CODES_HELP = "Exit codes: 0 ok, 1 a finding, 2 bad input or usage."


def epilog(*examples: str) -> str:
    """Examples and exit codes, for the end of a command's --help (\b keeps click from rewrapping)."""
    lines = ["\b", "Examples:", *(f"  {example}" for example in examples)]
    return "\n".join(lines) + "\n\n" + EXIT_CODES_HELP


# -- printing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Printer:
    """stdout carries the answer; stderr carries errors, progress (unless -q), details (with -v).

    Everything but GitHub annotations goes through files.safety.for_terminal: no escape
    sequence from the repository reaches the terminal, and no line is a workflow command."""

    ui: Ui = field(default_factory=Ui)

    def out(self, text: str) -> None:
        click.echo(for_terminal(text, colored=self.ui.colored), nl=False, color=self.ui.colored)

    def json(self, data: object) -> None:
        from depmin.outputs.json import dumps

        click.echo(for_terminal(dumps(data), json_text=True), nl=False)

    def findings(self, chosen: str, findings: Sequence[Diagnostic], root: Path | None = None) -> None:
        """--format github (annotations: written as they are, each one line) or sarif, with paths
        relative to the repository's top (GITHUB_WORKSPACE, else git's), not to the project root:
        a project in a sub-directory annotates the right files."""
        top = repository_top(root) if root is not None else None
        if top is not None and root is not None and top != root.resolve():
            prefix = root.resolve().relative_to(top).as_posix()
            findings = [replace(d, path=f"{prefix}/{d.path}") if d.path else d for d in findings]
        if chosen == "github":
            from depmin.outputs.github import github_text

            click.echo(github_text(findings), nl=False)
        else:
            from depmin.outputs.sarif import sarif_log

            self.json(sarif_log(findings, top or root))

    def info(self, text: str) -> None:
        if not self.ui.quiet:
            click.echo(for_terminal(text), err=True)

    def detail(self, text: str) -> None:
        if self.ui.verbose and not self.ui.quiet:
            click.echo(for_terminal(f"depmin: {text}"), err=True)

    def diagnostics(self, diagnostics: Iterable[Diagnostic]) -> None:
        """One line each, never wrapped: editors and CI logs read `path:line: ...` lines."""
        for diagnostic in diagnostics:
            click.echo(for_terminal(diagnostic.render()), err=True)

    def problems(self, chosen: str, diagnostics: Sequence[Diagnostic], outcome: str = "") -> None:
        """Errors that stop a command, in the chosen format: JSON ({ok: false, errors}), SARIF or
        GitHub annotations on stdout; one line each on stderr for text (with `outcome`)."""
        if chosen == "json":
            from depmin.outputs.json import failure_json

            self.json(failure_json(diagnostics))
        elif chosen in ("sarif", "github"):
            self.findings(chosen, diagnostics)
        elif outcome:
            self.failed(diagnostics, outcome)
        else:
            self.diagnostics(diagnostics)

    def failed(self, diagnostics: Sequence[Diagnostic], outcome: str) -> None:
        """The analysis errors, and that no answer is given."""
        from depmin.outputs.words import plural

        self.diagnostics(diagnostics)
        click.echo(f"depmin: {outcome}: the analysis has {plural(len(diagnostics), 'error')}", err=True)


def repository_top(root: Path) -> Path | None:
    """The directory CI annotations are relative to: GITHUB_WORKSPACE when the project lies in it,
    else git's top level of the project; None outside both."""
    real = root.resolve()
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        top = Path(workspace).resolve()
        if top == real or top in real.parents:
            return top
    import subprocess

    try:
        found = subprocess.run(
            ["git", "-C", str(real), "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if found.returncode != 0 or not found.stdout.strip():
        return None
    git_top = Path(found.stdout.strip()).resolve()
    return git_top if git_top == real or git_top in real.parents else None


def handle_errors(function: Callable[..., int]) -> Callable[..., None]:
    """The error boundary: exit codes, and errors in the format the command was asked for (with
    --json, --format sarif or github they are that output, and stderr stays clean, as ruff does)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        printer = Printer(kwargs.get("ui") or Ui())
        asked = {f for f in ("json" if kwargs.get("as_json") else None, kwargs.get("output_format")) if f}
        asked |= {"markdown"} if kwargs.get("markdown") else set()
        chosen = asked.pop() if len(asked) == 1 else "text"  # two formats asked for: a usage error, as text
        try:
            code = function(*args, **kwargs)
        except DepminError as exc:
            printer.problems(chosen, exc.diagnostics)
            code = EXIT_BAD_INPUT
        except BrokenPipeError:  # `depmin closure -o - | head`: the reader is gone, say nothing more
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            code = EXIT_FINDING
        except OSError as exc:  # a full disk, a read-only output directory: where, and why
            where = str(exc.filename or "")
            reason = exc.strerror or str(exc)
            message = f"cannot write: {reason}" if where else reason
            printer.problems(chosen, [Diagnostic(where, 0, message, code=Code.FILE_IO)])
            code = EXIT_BAD_INPUT
        except KeyboardInterrupt:
            click.echo("depmin: interrupted", err=True)
            code = 130
        except Exception as exc:
            if os.environ.get("DEPMIN_DEBUG"):
                raise
            message = f"depmin: internal error: {type(exc).__name__}: {exc} (set DEPMIN_DEBUG=1 for a traceback)"
            click.echo(for_terminal(message), err=True)
            code = EXIT_BAD_INPUT
        sys.exit(code)

    return wrapper


# -- the session ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """What an analysis command resolves from its options before analysing."""

    project: Project
    lock: LockFile
    request: Request
    target_config: TargetConfig | None
    options: AnalysisOptions
    printer: Printer
    show_progress: bool = False
    workspace: Workspace | None = None  # shared by every session of one run (check, sync, audit)

    @property
    def subject(self) -> str:
        if self.target_config is not None:
            return f"target {self.target_config.name}"
        return " ".join(self.request.entries)

    def closure_for_every_platform(self) -> Closure:
        """The closure on each --platform given, merged into one (markers where they differ)."""
        return self.analyse_every_platform().closure

    def analyse_every_platform(self) -> Analysis:
        """The first platform's analysis, its closure merged with every other --platform's."""
        from depmin.analysis.platforms import merge_platforms, same_markers
        from depmin.project.config import parse_platform

        analysis = self._analyse()
        first = analysis.closure
        closures = [first]
        for name in dict.fromkeys(self.options.platforms[1:]):
            try:
                platform = parse_platform(name)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            if platform == first.target.platform:
                continue
            twin = next((c.target.platform for c in closures if same_markers(c.target.platform, platform)), None)
            if twin is not None:
                raise UsageError(
                    f"{twin.name} and {platform.name} cannot share one requirements file: no environment marker "
                    "tells glibc from musl; write one per platform"
                )
            request = replace(self.request, target=replace(self.request.target, platform=platform))
            closures.append(analyse(self.project, request, self.lock, self.workspace).closure)
        return replace(analysis, closure=merge_platforms(closures))

    def analyse(self) -> Analysis:
        if len(set(self.options.platforms)) > 1:
            raise UsageError("this command answers for one platform: give --platform once")
        return self._analyse()

    def _analyse(self) -> Analysis:
        printer = self.printer
        printer.detail(f"root {self.project.root}")
        printer.detail(
            f"lock {self.lock.path}; Python {self.request.target.python_version}, {self.request.target.platform.name}"
        )
        if not self.show_progress:
            analysis = analyse(self.project, self.request, self.lock, self.workspace)
        else:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn

            columns = (SpinnerColumn(), TextColumn("scanning {task.completed} files"))
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("scan", total=None)
                request = replace(self.request, on_scanned=lambda count: bar.advance(task, count))
                analysis = analyse(self.project, request, self.lock, self.workspace)
        roots = ", ".join(root.display() for root in analysis.index.roots)
        printer.detail(f"source roots: {roots}")
        if "names" in analysis.finder.__dict__:  # import names were asked for (not all edges were kept)
            printer.detail(analysis.finder.names.summary)
        cache = self.request.cache
        if cache is not None:
            if cache.refused:
                printer.detail(f"cache not used: {cache.reason}")
            else:
                printer.detail(f"scan cache {cache.directory}: {cache.hits} hits, {cache.misses} scanned")
        printer.detail(f"{len(analysis.closure.modules)} modules, {len(analysis.closure.pinned)} pins")
        return analysis


def project_root(root: Path | None) -> Path:
    if root is not None:
        if not root.is_dir():
            raise UsageError("project root does not exist or is not a directory", str(root))
        return root.resolve()
    found = find_root(Path.cwd())
    if found is None:
        raise UsageError("no pyproject.toml here or in any parent directory; pass --root DIR")
    return found


@dataclass(frozen=True)
class Shared:
    """What the sessions of one run read once: the project, the lock, the cache, the workspace."""

    project: Project
    lock: LockFile
    lock_path: Path
    cache: ScanCache | None
    workspace: Workspace
    facts_cache: ScanCache | None = None


def open_shared(options: AnalysisOptions, project: Project | None = None) -> Shared:
    project = project or load_project(project_root(options.root))
    lock_path = Path(options.lock).resolve() if options.lock else project.root / (project.config.lock or "uv.lock")
    cache = open_cache(options)
    facts = cache if cache is not None else open_cache(options, facts=True)
    offline = options.offline or _offline_from_environment()
    lock = read_any_lock(lock_path, display_path(project.root, lock_path), cache, root=project.root,
                         pyproject=project.pyproject, facts_cache=facts, offline=offline)  # fmt: skip
    return Shared(project, lock, lock_path, cache, Workspace(project, lock), facts)


def _offline_from_environment() -> bool:
    return any(os.environ.get(name, "").lower() in ("1", "true", "yes") for name in ("UV_OFFLINE", "DEPMIN_OFFLINE"))


def open_cache(options: AnalysisOptions, *, facts: bool = False) -> ScanCache | None:
    """The cache the options name (--cache-dir, else the user's cache folder), or none. --no-cache
    leaves out the analysis' cache (scans, edges, the parsed lock), not the artifacts' `facts`."""
    if options.no_cache and not facts:
        return None
    directory = options.cache_dir or default_directory()
    return ScanCache(directory) if directory is not None else None


def open_session(
    options: AnalysisOptions,
    entries: tuple[str, ...],
    printer: Printer,
    *,
    machine_output: bool = False,
    shared: Shared | None = None,
    commands: tuple[str, ...] = (),
) -> Session:
    shared = shared or open_shared(options)
    project = shared.project
    target_config = project.target(options.target_name) if options.target_name else None
    if target_config is not None and (entries or options.scripts or options.packages):
        raise UsageError("give either ENTRY arguments (or --script/--package) or --target, not both")
    config = project.config
    lock_path, cache, lock_file = shared.lock_path, shared.cache, shared.lock
    entries = (
        *(_from_here(project.root, entry) for entry in entries),
        *(script_entry(project, lock_file, name) for name in options.scripts),
        *(member_entry(project, lock_file, name) for name in options.packages),
    )
    if target_config is None and not entries:
        raise UsageError("no entries: give ENTRY arguments (directories, .py files, module names) or --target NAME")
    target = choose_target(project, lock_file, target_config, options.python,
                           options.platforms[0] if options.platforms else None)  # fmt: skip
    request = Request(
        entries=target_config.entries if target_config else tuple(entries),
        target=target,
        lock_path=lock_path,
        excludes=tuple(config.exclude) + tuple(options.excludes),
        data=target_config.data if target_config else (),
        hidden_imports=config.hidden_imports + (target_config.hidden_imports if target_config else ()),
        ignore=tuple((p, "ignore-imports") for p in config.ignore_imports)
        + tuple((p, "cut") for p in (target_config.cut if target_config else ())),
        ignore_codes=config.ignore + (target_config.ignore if target_config else ()),
        include_optional=options.include_optional,
        optional_names=options.optional_names,
        extras=options.extras + (target_config.extras if target_config else ()),
        all_extras=options.all_extras,
        commands=tuple(
            dict.fromkeys((*commands, *((target_config.smoke,) if target_config and target_config.smoke else ())))
        ),
        hashes=options.hashes or bool(target_config and target_config.hashes),
        offline=options.offline or _offline_from_environment(),
        facts_cache=shared.facts_cache,
        cache=cache,
        package_data=not options.no_package_data,
    )
    interactive = printer.ui.animated and not machine_output
    return Session(project, lock_file, request, target_config, options, printer, interactive, shared.workspace)


def _from_here(root: Path, entry: str) -> str:
    """A path typed on the command line is relative to where it was typed (a member's directory
    inside a workspace, as uv takes paths); the analysis names entries relative to the root."""
    here = Path.cwd()
    path = here / entry.partition(":")[0]
    if here == root or root not in here.parents or not path.exists() or Path(entry).is_absolute():
        return entry
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return entry
    return relative + ("/" if entry.endswith("/") else "")


def target_sessions(options: AnalysisOptions, printer: Printer, *, machine_output: bool = False) -> list[Session]:
    """One session per target (or per one named), unknown names failing before any analysis."""
    project = load_project(project_root(options.root))
    names = sorted(set(options.only_targets)) if options.only_targets else sorted(project.config.targets)
    if not names:
        raise UsageError("no targets in [tool.depmin.targets]; add one with `depmin init ENTRY...`", "pyproject.toml")
    for name in names:
        project.target(name)
    shared = open_shared(options, project)
    return [
        open_session(replace(options, target_name=name), (), printer, machine_output=machine_output, shared=shared)
        for name in names
    ]


def analyse_targets(
    options: AnalysisOptions, printer: Printer, names: Sequence[str] = (), *, machine_output: bool = False
) -> tuple[list[tuple[Session, Analysis]], list[Diagnostic]]:
    """Every target (or those named) analysed in one workspace: (session, analysis) each, and
    all their analysis errors."""
    project = load_project(project_root(options.root))
    chosen = list(names) or sorted(project.config.targets)
    if not chosen:
        raise UsageError("no targets in [tool.depmin.targets]; add them with `depmin init ENTRY...`", "pyproject.toml")
    for name in chosen:
        project.target(name)
    shared = open_shared(options, project)
    done: list[tuple[Session, Analysis]] = []
    errors: list[Diagnostic] = []
    for name in chosen:
        session = open_session(replace(options, target_name=name), (), printer, machine_output=machine_output,
                               shared=shared)  # fmt: skip
        analysis = session.analyse_every_platform()
        errors.extend(analysis.closure.errors)
        done.append((session, analysis))
    return done, sorted(set(errors))


# -- how to regenerate an output --------------------------------------------------------------


def regenerate_command(
    command: str, session: Session, outputs: Sequence[tuple[str, str | Path | bool | None]] = ()
) -> str:
    """The command line that writes this output again, exactly as this run did: every option that
    changes the output, none that only changes how it is found. It runs from the project root,
    or, when --root was given, from where this run ran (with that --root). Paths are relative to
    where it runs, never absolute."""
    options, request, root = session.options, session.request, session.project.root
    # where it runs: from where this run ran when --root was given, else from the root; a path
    # that no text can carry (a non-UTF-8 directory above the root) falls back to the root
    base = Path.cwd() if options.root is not None and _writable(os.path.relpath(root, Path.cwd())) else root

    def shown(path: Path) -> str:
        return "-" if str(path) == "-" else os.path.relpath(Path(path).absolute(), base).replace(os.sep, "/")

    parts = ["depmin", command]
    if base != root:
        parts += ["--root", shown(root)]
    if session.target_config is not None:
        parts += ["--target", session.target_config.name]
        if options.python:
            parts += ["--python", request.target.python_version]
        for name in options.platforms:
            parts += ["--platform", name]
    else:
        parts += ["--python", request.target.python_version]
        for name in options.platforms or (request.target.platform.name,):
            parts += ["--platform", name]
    if options.lock:
        parts += ["--lock", shown(options.lock)]
    for pattern in options.excludes:
        parts += ["--exclude", pattern]
    if options.include_optional:
        parts.append("--include-optional")
    for name in options.extras:
        parts += ["--extra", name]
    if options.all_extras:
        parts.append("--all-extras")
    for name in options.optional_names:
        parts += ["--optional", name]
    if options.hashes:
        parts.append("--hashes")
    if options.no_package_data:
        parts.append("--no-package-data")
    for flag, value in outputs:
        if value is None or value is False:
            continue
        if value is True:  # a flag without a value
            parts.append(flag)
            continue
        text = shown(value) if isinstance(value, Path) else value
        parts += [flag, text] if flag else [text]
    if session.target_config is None:
        parts += list(request.entries)  # relative to the root, as entries given with --root are
    return shlex.join(parts)


def _writable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def warn(printer: Printer, message: str, code: Code, path: str = "") -> None:
    printer.diagnostics([Diagnostic(path, 0, message, Severity.WARNING, code)])


def chosen_extras(session: Session) -> frozenset[str]:
    """The local projects' extras the target chooses (--extra, --all-extras, a target's extras)."""
    from packaging.utils import canonicalize_name

    if session.request.all_extras:
        return frozenset(e for p in session.lock.local_packages for e in p.optional_dependencies)
    return frozenset(canonicalize_name(e) for e in session.request.extras)


def trim_command(session: Session) -> str:
    """`depmin trim` for the same subject, as a hint to run."""
    import shlex

    if session.target_config is not None:
        return f"depmin trim --target {shlex.quote(session.target_config.name)}"
    return "depmin trim " + " ".join(shlex.quote(e) for e in session.request.entries)
