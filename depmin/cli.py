"""Command line: options → Request, analysis → rendering and exit codes. No analysis logic here.

Exit codes: 0 ok; 1 a finding (audit violation, stale output, failed verify,
name not reachable); 2 bad input or usage (reported one line per problem).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from depmin import __version__, emit
from depmin.cache import ScanCache, read_lock_cached
from depmin.config import ConfigError, Project, TargetConfig, find_root, load_project, parse_platform, parse_python
from depmin.files import PartialWrite, display_path, read_regular, resolves_inside, write_all_atomic, write_atomic
from depmin.lock import LockError, LockFile
from depmin.model import Closure, Diagnostic, Target
from depmin.pipeline import Analysis, Request, analyse
from depmin.safety import UnsafeOutput

if TYPE_CHECKING:
    from depmin.explain import AuditResult, Explanation
from depmin.stdlib import SUPPORTED_PYTHONS

EXIT_OK, EXIT_FINDING, EXIT_BAD_INPUT = 0, 1, 2


class Abort(Exception):
    """Bad input: the diagnostics are printed, one line each, and depmin exits 2."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        super().__init__("; ".join(d.render() for d in diagnostics))
        self.diagnostics = list(diagnostics)


def _fail(message: str, path: str = "") -> NoReturn:
    raise Abort([Diagnostic(path, 0, message)])


def _print_diagnostics(diagnostics: Sequence[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        click.echo(diagnostic.render(), err=True)


def handle_errors(function: Callable[..., int]) -> Callable[..., None]:
    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            code = function(*args, **kwargs)
        except Abort as exc:
            _print_diagnostics(exc.diagnostics)
            code = EXIT_BAD_INPUT
        except ConfigError as exc:
            _print_diagnostics(exc.diagnostics)
            code = EXIT_BAD_INPUT
        except LockError as exc:
            _print_diagnostics([exc.diagnostic])
            code = EXIT_BAD_INPUT
        except UnsafeOutput as exc:
            _print_diagnostics([Diagnostic("", 0, str(exc))])
            code = EXIT_BAD_INPUT
        except OSError as exc:  # a full disk, a read-only output directory: where, and why
            where = exc.filename or ""
            reason = exc.strerror or str(exc)
            _print_diagnostics([Diagnostic(str(where), 0, f"cannot write: {reason}" if where else reason)])
            code = EXIT_BAD_INPUT
        except KeyboardInterrupt:
            click.echo("depmin: interrupted", err=True)
            code = 130
        except Exception as exc:  # noqa: BLE001 - the promise is: never a traceback
            if os.environ.get("DEPMIN_DEBUG"):
                raise
            click.echo(f"depmin: internal error: {type(exc).__name__}: {exc} (set DEPMIN_DEBUG=1 for a traceback)", err=True)
            code = EXIT_BAD_INPUT
        sys.exit(code)

    return wrapper


# -- shared options -------------------------------------------------------------------


def analysis_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Project root (default: nearest ancestor holding pyproject.toml)."),
        click.option("--lock", "lock", type=click.Path(dir_okay=False, path_type=Path), help="uv.lock to read (default: <root>/uv.lock)."),
        click.option("--python", "python", metavar="X.Y", help="Target Python (default: the lowest the lock allows)."),
        click.option("--platform", "platform", metavar="NAME", help="linux-x86_64 (default), linux-aarch64, macos-arm64 or windows-x86_64."),
        click.option("--target", "target_name", metavar="NAME", help="A target from [tool.depmin.targets] instead of ENTRY arguments."),
        click.option("--script", "scripts", multiple=True, metavar="NAME", help="An entry named by [project.scripts] (of the project or a workspace member). Repeatable."),
        click.option("--package", "packages", multiple=True, metavar="MEMBER", help="Every module of this uv workspace member (or path dependency). Repeatable."),
        click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Also exclude these paths from directory entries."),
        click.option("--site-packages", type=click.Path(file_okay=False, path_type=Path), help="Installed environment to read import names from (default: <root>/.venv)."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Scan cache (default: <root>/.depmin_cache)."),
        click.option("--no-cache", is_flag=True, help="Scan every file again; do not read or write the cache."),
        click.option("--no-package-data", is_flag=True, help="Carry only Python files of the closure's packages, not the data files beside them."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@dataclass
class Session:
    """What every analysis command resolves from its options before analysing."""

    project: Project
    lock: LockFile
    request: Request
    target_config: TargetConfig | None
    show_progress: bool = False

    def analyse(self) -> Analysis:
        if not self.show_progress:
            return analyse(self.project, self.request, self.lock)
        from dataclasses import replace

        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        columns = (SpinnerColumn(), TextColumn("scanning {task.completed} files"))
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("scan", total=None)
            request = replace(self.request, on_scanned=lambda count: bar.advance(task, count))
            return analyse(self.project, request, self.lock)


def open_session(
    *,
    root: Path | None,
    lock: Path | None,
    python: str | None,
    platform: str | None,
    target_name: str | None,
    excludes: tuple[str, ...],
    site_packages: Path | None,
    cache_dir: Path | None,
    no_cache: bool,
    entries: tuple[str, ...],
    include_optional: bool = False,
    optional_names: tuple[str, ...] = (),
    hashes: bool = False,
    quiet: bool = False,
    as_json: bool = False,
    no_package_data: bool = False,
    scripts: tuple[str, ...] = (),
    packages: tuple[str, ...] = (),
    **_: Any,
) -> Session:
    project_root = _project_root(root)
    project = load_project(project_root)
    target_config = project.target(target_name) if target_name else None
    if target_config is not None and entries:
        _fail("give either ENTRY arguments or --target, not both")
    config = project.config
    lock_path = Path(lock).resolve() if lock else project.root / (config.lock or "uv.lock")
    cache = None if no_cache else ScanCache(Path(cache_dir) if cache_dir else project.root / ".depmin_cache")
    lock_file = read_lock_cached(lock_path, display_path(project.root, lock_path), cache)
    if scripts:
        if target_config is not None:
            _fail("give either --script or --target, not both")
        entries = (*entries, *(script_entry(project, lock_file, name) for name in scripts))
    if packages:
        if target_config is not None:
            _fail("give either --package or --target, not both")
        entries = (*entries, *(member_entry(project, lock_file, name) for name in packages))
    if target_config is None and not entries:
        _fail("no entries: give ENTRY arguments (directories, .py files, module names) or --target NAME")
    chosen_python = python or (target_config.python if target_config else None) or config.python or _python_version_file(project.root)
    chosen_platform = platform or (target_config.platform if target_config else None) or config.platform
    try:
        target = Target(
            python=parse_python(chosen_python) if chosen_python else _lowest_python(lock_file),
            platform=parse_platform(chosen_platform or "linux-x86_64"),
        )
    except ValueError as exc:
        _fail(str(exc))
    if target.python not in SUPPORTED_PYTHONS:
        supported = ", ".join(f"{a}.{b}" for a, b in SUPPORTED_PYTHONS)
        _fail(f"no standard-library table for Python {target.python_version} (supported: {supported})")
    request = Request(
        entries=target_config.entries if target_config else tuple(entries),
        target=target,
        lock_path=lock_path,
        excludes=tuple(config.exclude) + tuple(excludes),
        data=target_config.data if target_config else (),
        hidden_imports=config.hidden_imports + (target_config.hidden_imports if target_config else ()),
        ignore=tuple((p, "ignore-imports") for p in config.ignore_imports)
        + tuple((p, "cut") for p in (target_config.cut if target_config else ())),
        include_optional=include_optional,
        optional_names=tuple(optional_names),
        hashes=hashes or bool(target_config and target_config.hashes),
        site_packages=Path(site_packages) if site_packages else None,
        cache=cache,
        package_data=not no_package_data,
    )
    return Session(project, lock_file, request, target_config, show_progress=not (quiet or as_json) and sys.stderr.isatty())


def _project_root(root: Path | None) -> Path:
    if root is not None:
        if not root.is_dir():
            _fail("project root does not exist or is not a directory", str(root))
        return root.resolve()
    found = find_root(Path.cwd())
    if found is None:
        _fail("no pyproject.toml here or in any parent directory; pass --root DIR")
    return found


def _python_version_file(root: Path) -> str | None:
    """`.python-version` (as uv and pyenv read it): its first X.Y, when there is one."""
    import re

    try:
        text = (root / ".python-version").read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"(?m)^\s*(?:cpython-|python)?(\d+\.\d+)", text)
    return match.group(1) if match else None


def member_entry(project: Project, lock: LockFile, name: str) -> str:
    """The source directory of a workspace member or path dependency, as a directory entry."""
    from packaging.utils import canonicalize_name

    from depmin.pipeline import source_roots

    wanted = canonicalize_name(name)
    member = next((p for p in lock.local_packages if p.name == wanted), None)
    if member is None:
        known = ", ".join(sorted(p.name for p in lock.local_packages)) or "none"
        _fail(f"no workspace member or path dependency named {name!r} in uv.lock (known: {known})")
    path = (member.source_path or ".").strip("/").removeprefix("./")
    if path in ("", "."):
        return "./"
    roots = [r.path for r in source_roots(project, lock) if r.path == path or r.path.startswith(f"{path}/")]
    return f"{roots[0] if roots else path}/"


def script_entry(project: Project, lock: LockFile, name: str) -> str:
    """The module a [project.scripts] / [project.gui-scripts] name runs (`fastmcp.cli:app` → fastmcp.cli)."""
    from depmin.local import local_pyprojects

    for pyproject in local_pyprojects(project.root, lock, project.pyproject):
        table = pyproject.get("project", {})
        for key in ("scripts", "gui-scripts"):
            found = table.get(key, {}).get(name) if isinstance(table, dict) and isinstance(table.get(key), dict) else None
            if isinstance(found, str):
                return found.partition(":")[0].strip()
    _fail(f"no [project.scripts] entry named {name!r} in the project or its workspace members")


def _lowest_python(lock: LockFile) -> tuple[int, int]:
    try:
        allowed = SpecifierSet(lock.requires_python or ">=3.10")
    except InvalidSpecifier:
        _fail(f"uv.lock has an invalid requires-python {lock.requires_python!r}", lock.path)
    for major, minor in SUPPORTED_PYTHONS:
        if any(allowed.contains(f"{major}.{minor}.{patch}") for patch in range(0, 30)):
            return major, minor
    _fail(f"requires-python {lock.requires_python!r} allows none of the supported Pythons; pass --python", lock.path)


def _dump_json(data: Any) -> None:
    click.echo(emit.dumps(data), nl=False)


# -- commands ---------------------------------------------------------------------------------


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="depmin")
def main() -> None:
    """Find the least a container built for these entry points must carry."""


@main.command()
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--include-optional", is_flag=True, help="Pin distributions of guarded (optional) imports too.")
@click.option("--optional", "optional_names", multiple=True, metavar="NAME", help="Pin this optional distribution (not all of them). Repeatable.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the requirements file here.")
@click.option("--copy-list", type=click.Path(dir_okay=False, path_type=Path), help="Write the COPY paths here, one per line.")
@click.option("--hashes", is_flag=True, help="Add the --hash lines that uv.lock records.")
@handle_errors
def closure(entries: tuple[str, ...], as_json: bool, output: Path | None, copy_list: Path | None, **options: Any) -> int:
    """Pinned requirements and the COPY list for ENTRY... (directories, .py files or module names)."""
    session = open_session(entries=entries, as_json=as_json, **options)
    result = session.analyse().closure
    if result.ok:
        command = _regenerate_command(session, output)
        if output is not None:
            write_atomic(output, emit.requirements_text(result, command))
        if copy_list is not None:
            write_atomic(copy_list, emit.copy_list_text(result))
    if as_json:
        _dump_json(emit.closure_json(result))
    else:
        from depmin.render import print_closure

        print_closure(result)
    _print_diagnostics(result.errors)
    if not result.ok and (output or copy_list):
        click.echo("depmin: outputs not written because the analysis has errors", err=True)
    return EXIT_OK if result.ok else EXIT_BAD_INPUT


def _regenerate_command(session: Session, output: Path | None) -> str:
    if session.target_config is not None:
        return f"depmin sync --target {session.target_config.name}"
    request = session.request
    parts = ["depmin closure", f"--python {request.target.python_version}", f"--platform {request.target.platform.name}"]
    if request.include_optional:
        parts.append("--include-optional")
    parts.extend(f"--optional {name}" for name in request.optional_names)
    if request.hashes:
        parts.append("--hashes")
    parts.extend(request.entries)
    if output is not None:
        parts.append(f"-o {display_path(session.project.root, output)}")
    return " ".join(parts)


# -- why --------------------------------------------------------------------------------------


@main.command()
@click.argument("name")
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--all", "every_chain", is_flag=True, help="One shortest chain for every place that imports NAME, not just the shortest overall.")
@handle_errors
def why(name: str, entries: tuple[str, ...], as_json: bool, every_chain: bool, **options: Any) -> int:
    """Why NAME (a distribution or a module) is needed by ENTRY...: the import chain, hop by hop."""
    from depmin.explain import Reach, UnknownName, explain, target_node

    session = open_session(entries=entries, as_json=as_json, **options)
    analysis = session.analyse()
    if analysis.closure.errors:  # an incomplete graph cannot say "not reachable"
        _analysis_failed(analysis.closure, as_json, "nothing explained")
        return EXIT_BAD_INPUT
    try:
        node = target_node(analysis, name)
    except UnknownName as exc:
        _fail(str(exc))
    explanation = explain(analysis, node, every_chain=every_chain)
    if as_json:
        _dump_json(emit.explanation_json(explanation))
    else:
        _print_explanation(explanation, session)
    return EXIT_OK if explanation.reach is not Reach.UNREACHABLE else EXIT_FINDING


_REACH_WORDS = {
    "required": "is needed",
    "optional": "is imported only optionally (a guarded import; not installed)",
    "type_only": "is imported only for type checking (never at run time; not installed)",
}


def _entries_text(session: Session) -> str:
    if session.target_config is not None:
        return f"target {session.target_config.name}"
    return " ".join(session.request.entries)


def _print_explanation(explanation: Explanation, session: Session) -> None:
    target = session.request.target
    where = f"{_entries_text(session)} (Python {target.python_version}, {target.platform.name})"
    if explanation.reach.value == "unreachable":
        click.echo(f"{explanation.name} is not reachable from {where}")
        return
    click.echo(f"{explanation.name} {_REACH_WORDS[explanation.reach.value]} by {where}:")
    for number, chain in enumerate(explanation.chains, 1):
        if len(explanation.chains) > 1:
            click.echo(f"chain {number}:")
        for line in emit.chain_lines(chain):
            click.echo(f"  {line}")


# -- audit ------------------------------------------------------------------------------------


@main.command()
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--forbid", "patterns", multiple=True, metavar="PATTERN", help="Glob over distribution names (torch, nvidia-*). Repeatable.")
@handle_errors
def audit(entries: tuple[str, ...], as_json: bool, patterns: tuple[str, ...], **options: Any) -> int:
    """Fail when a forbidden distribution is reachable from ENTRY... (or from each target's `forbid`)."""
    from depmin.explain import audit as run_audit

    runs = _audit_runs(entries, patterns, {**options, "as_json": as_json})
    reports, worst = [], EXIT_OK
    analyses = [(session, forbidden, session.analyse()) for session, forbidden in runs]
    failed = [analysis.closure for _, _, analysis in analyses if analysis.closure.errors]
    if failed:  # an incomplete graph can neither pass nor fail an audit
        _analysis_failed(failed[0], as_json, "nothing audited", also=failed[1:])
        return EXIT_BAD_INPUT
    for session, forbidden, analysis in analyses:
        result = run_audit(analysis, forbidden)
        reports.append((session, forbidden, analysis.closure, result))
        for pattern in result.unmatched:
            click.echo(f"depmin: warning: forbid pattern {pattern!r} matches no distribution in {session.lock.path}", err=True)
        if result.violations:
            worst = EXIT_FINDING
    if as_json:
        audits = [_audit_json(session, forbidden, closure, result) for session, forbidden, closure, result in reports]
        _dump_json({"ok": worst == EXIT_OK, "audits": audits})
    else:
        for session, forbidden, _, result in reports:
            _print_audit(session, forbidden, result)
    return worst


def _analysis_failed(closure: Closure, as_json: bool, outcome: str, also: Sequence[Closure] = ()) -> None:
    """The analysis errors, and that no answer is given: as JSON `{ok: false, errors}` or as lines."""
    everything = sorted({d for c in (closure, *also) for d in c.errors})
    if as_json:
        _dump_json({"ok": False, "errors": [{"file": d.path, "line": d.line, "message": d.message} for d in everything]})
    _print_diagnostics(everything)
    count = len(everything)
    click.echo(f"depmin: error: {outcome}: the analysis has {count} error{'s' if count != 1 else ''}", err=True)


def _audit_runs(entries: tuple[str, ...], patterns: tuple[str, ...], options: dict[str, Any]) -> list[tuple[Session, tuple[str, ...]]]:
    if entries or options.get("target_name"):
        session = open_session(entries=entries, **options)
        forbidden = patterns or (session.target_config.forbid if session.target_config else ())
        if not forbidden:
            _fail("nothing to audit: give --forbid PATTERN (or a target with `forbid`)")
        return [(session, forbidden)]
    project = load_project(_project_root(options.get("root")))
    targets = [t for t in project.config.targets.values() if t.forbid or patterns]
    if not targets:
        _fail("nothing to audit: give ENTRY... with --forbid PATTERN, or define targets with `forbid` in [tool.depmin.targets]")
    return [
        (open_session(entries=(), **{**options, "target_name": t.name}), patterns or t.forbid) for t in targets
    ]


def _audit_json(session: Session, forbidden: tuple[str, ...], closure: Closure, result: AuditResult) -> dict[str, Any]:
    return {
        "target": session.target_config.name if session.target_config else None,
        "entries": list(session.request.entries),
        "forbid": list(forbidden),
        "ok": not result.violations,
        "violations": [emit.explanation_json(e) for e in result.violations],
        "notes": [emit.explanation_json(e) for e in result.notes],
        "unmatched_patterns": list(result.unmatched),
        "errors": [{"file": d.path, "line": d.line, "message": d.message} for d in closure.errors],
    }


def _print_audit(session: Session, forbidden: tuple[str, ...], result: AuditResult) -> None:
    subject = _entries_text(session)
    for violation in result.violations:
        click.echo(f"{subject}: forbidden distribution {violation.name} is reachable:")
        for chain in violation.chains[:1]:
            for line in emit.chain_lines(chain):
                click.echo(f"  {line}")
    for note in result.notes:
        how = "only optionally" if note.reach.value == "optional" else "only for type checking"
        click.echo(f"{subject}: note: forbidden {note.name} is imported {how}; not installed, not a violation")
        for chain in note.chains[:1]:
            for line in emit.chain_lines(chain):
                click.echo(f"  {line}")
    if not result.violations:
        click.echo(f"{subject}: ok, none of {', '.join(forbidden)} is reachable")


# -- targets: init, sync, check ---------------------------------------------------------------


@main.command()
@click.argument("entries", nargs=-1, required=True)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Project root (default: nearest ancestor holding pyproject.toml).")
@click.option("--target", "target_name", metavar="NAME", help="Target name (default: from the first entry).")
@click.option("--data", multiple=True, metavar="PATH", help="Data paths the image needs (config/personas/).")
@click.option("--forbid", multiple=True, metavar="PATTERN", help="Distributions the target must never carry.")
@click.option("--force", is_flag=True, help="Replace an existing target of that name.")
@handle_errors
def init(entries: tuple[str, ...], root: Path | None, target_name: str | None, data: tuple[str, ...], forbid: tuple[str, ...], force: bool) -> int:
    """Add a [tool.depmin.targets.NAME] table for ENTRY... to pyproject.toml (nothing else changes)."""
    from depmin.init import InitError, add_target

    project_root = _project_root(root)
    name = target_name or _default_target_name(entries[0])
    # A symlinked pyproject.toml is written through (inside the root only); CRLF stays CRLF.
    path = (project_root / "pyproject.toml").resolve()
    if not resolves_inside(project_root, path):
        _fail("pyproject.toml is a symlink out of the project root; not written", "pyproject.toml")
    try:
        original = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read: {exc}", "pyproject.toml")
    crlf = "\r\n" in original
    try:
        text = add_target(original.replace("\r\n", "\n") if crlf else original, name, entries, data=data, forbid=forbid, force=force)
    except InitError as exc:
        _fail(str(exc), "pyproject.toml")
    write_atomic(path, text.replace("\n", "\r\n") if crlf else text)
    click.echo(f"added [tool.depmin.targets.{name}] to pyproject.toml; run `depmin sync --target {name}` to write its outputs")
    return EXIT_OK


def _default_target_name(entry: str) -> str:
    stem = entry.strip("/").replace("/", "-").removesuffix(".py").replace(".", "-")
    return stem or "app"


def _target_sessions(target_name: str | None, options: dict[str, Any]) -> list[Session]:
    project = load_project(_project_root(options.get("root")))
    names = [target_name] if target_name else sorted(project.config.targets)
    if not names:
        _fail("no targets in [tool.depmin.targets]; add one with `depmin init ENTRY...`", "pyproject.toml")
    for name in names:
        project.target(name)  # unknown names fail here, before any analysis
    return [open_session(entries=(), **{**options, "target_name": name}) for name in names]


def target_options(function: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--root", type=click.Path(file_okay=False, path_type=Path), help="Project root (default: nearest ancestor holding pyproject.toml)."),
        click.option("--target", "target_name", metavar="NAME", help="Only this target (default: every target)."),
        click.option("--site-packages", type=click.Path(file_okay=False, path_type=Path), help="Installed environment to read import names from."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Scan cache (default: <root>/.depmin_cache)."),
        click.option("--no-cache", is_flag=True, help="Scan every file again."),
        click.option("-q", "--quiet", is_flag=True, help="No progress bar."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


_TARGET_DEFAULTS = {"lock": None, "python": None, "platform": None, "excludes": ()}


@main.command()
@target_options
@handle_errors
def sync(target_name: str | None, **options: Any) -> int:
    """Write every target's requirements file and copy list (atomically; nothing when analysis fails)."""
    planned: list[tuple[Path, str]] = []
    failed = False
    for session in _target_sessions(target_name, {**_TARGET_DEFAULTS, **options}):
        closure = session.analyse().closure
        if closure.errors:
            failed = True
            _print_diagnostics(closure.errors)
            continue
        assert session.target_config is not None
        for relative, text in emit.target_outputs(session.target_config, closure):
            planned.append((session.project.root / relative, text))
    if failed:
        click.echo("depmin: nothing written because the analysis has errors", err=True)
        return EXIT_BAD_INPUT
    changed = []
    for path, text in planned:
        current = path.read_text("utf-8") if path.is_file() else None
        if current == text:
            click.echo(f"unchanged {_shown(path)}")
        else:
            changed.append((path, text))
    try:
        write_all_atomic(changed)  # every target's files, or none of them
    except PartialWrite as exc:
        for path in exc.written:
            click.echo(f"wrote {_shown(path)}")
        raise
    except OSError:
        click.echo("depmin: error: nothing written", err=True)
        raise
    for path, _ in changed:
        click.echo(f"wrote {_shown(path)}")
    return EXIT_OK


def _shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path)


@main.command()
@target_options
@handle_errors
def check(target_name: str | None, **options: Any) -> int:
    """Exit 1 when a target's outputs are stale (with a diff) or a forbidden distribution is reachable."""
    import difflib

    code = EXIT_OK
    for session in _target_sessions(target_name, {**_TARGET_DEFAULTS, **options}):
        analysis = session.analyse()
        closure = analysis.closure
        target = session.target_config
        assert target is not None
        if closure.errors:
            _print_diagnostics(closure.errors)
            code = max(code, EXIT_BAD_INPUT)
            continue
        for relative, expected in emit.target_outputs(target, closure):
            path = session.project.root / relative
            current = path.read_text("utf-8") if path.is_file() else ""
            if current != expected:
                code = max(code, EXIT_FINDING)
                click.echo(f"{relative}: stale; run `depmin sync --target {target.name}`")
                diff = difflib.unified_diff(
                    current.splitlines(keepends=True), expected.splitlines(keepends=True), f"a/{relative}", f"b/{relative}"
                )
                click.echo("".join(diff), nl=False)
        if target.forbid:
            from depmin.explain import audit as run_audit

            result = run_audit(analysis, target.forbid)
            _print_audit(session, target.forbid, result)
            if result.violations:
                code = max(code, EXIT_FINDING)
    return code


# -- verify ----------------------------------------------------------------------------------


@main.command()
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--keep", is_flag=True, help="Leave the built tree and venv for inspection.")
@click.option("--run", "smoke", metavar="CMD", help="Then run CMD in the tree (default: the target's `smoke`).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds one module's import, and the smoke command, may take.")
@click.option("--image", is_flag=True, help="Build the Dockerfile depmin writes and verify inside the image (a real sandbox).")
@click.option("--engine", type=click.Choice(["docker", "podman", "buildah"]), help="Container engine for --image (default: the first installed).")
@click.option("--base", metavar="IMAGE", help="Base image for --image (default: python:X.Y-slim; localhost/depmin-python:X.Y with buildah when present).")
@handle_errors
def verify(entries: tuple[str, ...], as_json: bool, keep: bool, smoke: str | None, timeout: float, image: bool,
           engine: str | None, base: str | None, **options: Any) -> int:  # fmt: skip
    """Build the minimal tree and venv (uv) and import every closure module in it."""
    import tempfile

    from depmin import verify as proof

    import signal

    session = open_session(entries=entries, as_json=as_json, **options)
    analysis = session.analyse()
    closure = analysis.closure
    if closure.errors:
        _analysis_failed(closure, as_json, "not verified")
        return EXIT_BAD_INPUT
    # SIGTERM ends verify like Ctrl-C does: through the clean-up below, never leaving a tree behind.
    signal.signal(signal.SIGTERM, _terminate)
    if image:
        return _verify_in_image(session, analysis, as_json, smoke, timeout, engine, base)
    quiet = as_json
    log = (lambda _message: None) if quiet else (lambda message: click.echo(f"  {message}", err=True))
    workdir = Path(tempfile.mkdtemp(prefix="depmin-verify-"))
    tree, requirements = workdir / "app", workdir / "requirements.txt"
    try:
        files = proof.copy_tree(session.project.root, closure, session.request.excludes, tree)
        if not quiet:
            click.echo(f"copied {len(files)} files into {tree}", err=True)
        requirements.write_text(emit.requirements_text(closure, _regenerate_command(session, None)), "utf-8")
        try:
            python = proof.find_interpreter(closure.target.python_version)
            with _progress(quiet, "installing pinned distributions", total=None):
                venv = proof.build_venv(workdir, python, requirements, log)
            proof.write_local_metadata(venv, closure)
            proof.compile_tree(venv, tree)
        except proof.VerifyError as exc:
            if as_json:  # --json prints one object in every case, failures included
                _dump_json({"ok": False, "errors": [{"file": "", "line": 0, "message": str(exc)}]})
            _fail(str(exc))
        optional = {m for m in analysis.layers.optional if isinstance(m, str)}
        outcomes: list[proof.ImportOutcome] = []
        with _progress(quiet, "importing modules", total=len(_importable(closure))) as advance:
            results = proof.import_modules(
                venv, tree, closure.image_path, _importable(closure), advance, timeout=timeout
            )
        for result in results:
            outcomes.append(proof.outcome(result, result["module"] in optional, analysis.index, closure))
        seen = {o.module for o in outcomes}
        for module in _importable(closure):
            if module not in seen:
                outcomes.append(proof.ImportOutcome(module, False, module in optional, "the import check did not report"))
        command = smoke or (session.target_config.smoke if session.target_config else None)
        smoked = proof.run_smoke(venv, tree, closure.image_path, command, timeout) if command else None
        result = proof.VerifyResult(tree, proof.installed_names(venv), tuple(outcomes), smoked)
        if as_json:
            _dump_json(_verify_json(result, keep))
        else:
            _print_verify(result)
        return EXIT_OK if result.ok else EXIT_FINDING
    finally:
        if keep:
            click.echo(f"kept {workdir} (tree: app/, venv: .venv/)", err=True)
        else:
            proof.remove_tree(workdir)


def _verify_in_image(session: Session, analysis: Analysis, as_json: bool, smoke: str | None, timeout: float,
                     engine_name: str | None, base: str | None) -> int:  # fmt: skip
    import subprocess
    from importlib.metadata import version

    from depmin import image as images
    from depmin import verify as proof
    from depmin.dockerfile import DockerfileSpec, dockerfile_text, dockerignore_text

    closure = analysis.closure
    try:
        engine = images.find_engine(engine_name)
    except images.ImageError as exc:
        if as_json:
            _dump_json({"ok": False, "errors": [{"file": "", "line": 0, "message": str(exc)}]})
        _fail(str(exc))
    python = closure.target.python_version
    if base is None:
        local = f"localhost/depmin-python:{python}"
        present = engine == "buildah" and subprocess.run(["buildah", "inspect", "--type", "image", local],
                                                         capture_output=True, check=False).returncode == 0  # fmt: skip
        base = local if present else f"python:{python}-slim"
    spec = DockerfileSpec(base=base, requirements="requirements.txt", uv_version=version("uv"))
    requirements = emit.requirements_text(closure, _regenerate_command(session, None))
    dockerfile = dockerfile_text(closure, spec)
    ignore = dockerignore_text(closure, "requirements.txt", session.request.excludes)
    directory = images.temporary_directory()
    log = (lambda _m: None) if as_json else (lambda m: click.echo(f"  {m}", err=True))
    try:
        context = images.build_context(session.project.root, closure, session.request.excludes,
                                       {"requirements.txt": requirements}, directory)  # fmt: skip
        command = smoke or (session.target_config.smoke if session.target_config else None)
        try:
            run = images.run_in_image(engine, context, dockerfile, ignore, _importable(closure),
                                      command, timeout, log)  # fmt: skip
        except images.ImageError as exc:
            if as_json:
                _dump_json({"ok": False, "errors": [{"file": "", "line": 0, "message": str(exc)}]})
            _fail(str(exc))
    finally:
        import shutil

        shutil.rmtree(directory, ignore_errors=True)
    optional = {m for m in analysis.layers.optional if isinstance(m, str)}
    outcomes = [proof.outcome(r, r["module"] in optional, analysis.index, closure) for r in run.results]
    seen = {o.module for o in outcomes}
    outcomes += [proof.ImportOutcome(m, False, m in optional, "the import check did not report", kind="crash")
                 for m in _importable(closure) if m not in seen]  # fmt: skip
    smoked = proof.SmokeOutcome(command, bool(run.smoke_ok), run.smoke_output) if command else None
    result = proof.VerifyResult(Path(f"{engine}:{run.tag}"), tuple(p.name for p in closure.pinned), tuple(outcomes), smoked)
    if as_json:
        _dump_json({**_verify_json(result, False), "image": {"engine": engine, "base": base}})
    else:
        _print_verify(result)
    return EXIT_OK if result.ok else EXIT_FINDING


def _importable(closure: Closure) -> tuple[str, ...]:
    """What verify imports: the closure's modules, but not `__main__` modules (importing one runs
    the program, as `python -m` does; they are copied, not imported), and what only strings name."""
    modules = [m for m in closure.modules if m.rpartition(".")[2] != "__main__"]
    return (*modules, *closure.named_imports)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class _progress:
    """A rich progress bar on an interactive stderr (done / total, and the module just done);
    plain lines every tenth of the way otherwise; silence with --json."""

    def __init__(self, quiet: bool, description: str, total: int | None) -> None:
        self.quiet = quiet
        self.enabled = not quiet and sys.stderr.isatty()
        self.description, self.total = description, total
        self.done = 0

    def __enter__(self) -> Callable[..., None]:
        if not self.enabled:
            return self._plain
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()
        task = self.bar.add_task(self.description, total=self.total)

        def advance(result: dict | None = None) -> None:
            name = escape(str(result.get("module", ""))) if isinstance(result, dict) else ""
            self.bar.update(task, advance=1, description=f"{self.description} {name}".strip())

        return advance

    def _plain(self, result: dict | None = None) -> None:
        self.done += 1
        if self.quiet or not self.total:
            return
        step = max(1, self.total // 10)
        if self.done % step == 0 or self.done == self.total:
            click.echo(f"  {self.description}: {self.done}/{self.total}", err=True)

    def __exit__(self, *_: object) -> None:
        if self.enabled:
            self.bar.stop()


def _verify_json(result: Any, keep: bool) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "tree": str(result.tree) if keep else None,
        "installed": list(result.installed),
        "modules": [
            {"module": o.module, "ok": o.ok, "optional": o.optional, "kind": o.kind, "message": o.message, "hint": o.hint}
            for o in result.outcomes
        ],
        "smoke": None if result.smoke is None else {"command": result.smoke.command, "ok": result.smoke.ok, "output": result.smoke.output},
    }


def _print_verify(result: Any) -> None:
    failures = [o for o in result.outcomes if not o.ok]
    for failure in failures:
        prefix = "optional " if failure.optional else ""
        click.echo(f"{prefix}{failure.module}: {failure.message}")
        if failure.hint:
            click.echo(f"    {failure.hint}")
    if result.smoke is not None:
        state = "ok" if result.smoke.ok else "FAILED"
        click.echo(f"smoke `{result.smoke.command}`: {state}")
        for line in result.smoke.output.splitlines():
            click.echo(f"    {line}")
    imported = sum(o.ok for o in result.outcomes)
    verdict = "verified" if result.ok else "FAILED"
    click.echo(
        f"{verdict}: {imported}/{len(result.outcomes)} modules import with {len(result.installed)} installed distributions"
    )


# -- dockerfile and report ------------------------------------------------------------------------


@main.command()
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--base", default=None, metavar="IMAGE", help="Base image (default: python:X.Y-slim for the target Python).")
@click.option("--requirements", "requirements_path", metavar="PATH", help="Requirements file the image installs (default: the target's `requirements`).")
@click.option("--command", "command_text", metavar="CMD", help='The container command, e.g. "python -m ai.entrypoint".')
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the Dockerfile here, and FILE.dockerignore beside it.")
@handle_errors
def dockerfile(entries: tuple[str, ...], as_json: bool, base: str | None, requirements_path: str | None, command_text: str | None, output: Path | None, **options: Any) -> int:
    """A multi-stage Dockerfile (uv, dependencies before code, non-root) and an allow-list .dockerignore."""
    from importlib.metadata import version

    from depmin.dockerfile import DockerfileSpec, dockerfile_text, dockerignore_text, parse_command

    session = open_session(entries=entries, as_json=as_json, **options)
    closure = session.analyse().closure
    if closure.errors:
        _print_diagnostics(closure.errors)
        return EXIT_BAD_INPUT
    target = session.target_config
    requirements = requirements_path or (target.requirements if target else None)
    if not requirements:
        _fail("the image installs a generated requirements file: pass --requirements PATH (or use a target with `requirements`)")
    regenerate = "depmin dockerfile " + (f"--target {target.name}" if target else " ".join(closure.entries))
    if output is not None:
        regenerate += f" -o {display_path(session.project.root, output)}"
    spec = DockerfileSpec(
        base=base or f"python:{closure.target.python_version}-slim",
        requirements=requirements,
        uv_version=version("uv"),
        command=parse_command(command_text) if command_text else (),
        regenerate=regenerate,
    )
    text = dockerfile_text(closure, spec)
    ignore = dockerignore_text(closure, requirements, session.request.excludes)
    if output is not None:
        write_atomic(output, text)
        write_atomic(output.with_name(output.name + ".dockerignore"), ignore)
        click.echo(f"wrote {output} and {output.name}.dockerignore (build with: docker build -f {output} .)", err=True)
    if as_json:
        _dump_json({"dockerfile": text, "dockerignore": ignore})
    elif output is None:
        click.echo(text, nl=False)
    return EXIT_OK


@main.command()
@click.argument("entries", nargs=-1)
@analysis_options
@click.option("--markdown", is_flag=True, help="Print a Markdown table ready for a pull request.")
@handle_errors
def report(entries: tuple[str, ...], as_json: bool, markdown: bool, **options: Any) -> int:
    """Whole project against the target: distributions, files, lines and wheel download size saved."""
    from depmin import report as sizes
    from depmin.copyplan import planned_files

    session = open_session(entries=entries, as_json=as_json, **options)
    closure = session.analyse().closure
    if closure.errors:
        _print_diagnostics(closure.errors)
        return EXIT_BAD_INPUT
    lock, target = session.lock, closure.target
    whole_direct, whole_pins = sizes.whole_project_pins(lock, target)
    whole_files = sizes.count_sources(sizes.repository_files(session.project.root))
    copied = sizes.count_sources(path for path, _ in planned_files(session.project.root, closure, session.request.excludes))
    whole_bytes, whole_unknown = sizes.download_size(lock, whole_pins, target)
    target_bytes, target_unknown = sizes.download_size(lock, closure.pinned, target)
    rows = [
        sizes.Row("Distributions (direct)", len(whole_direct), sum(1 for r in closure.direct if r.version)),
        sizes.Row("Distributions (pinned)", len(whole_pins), len(closure.pinned)),
        sizes.Row("Files copied", whole_files.files, copied.files),
        sizes.Row("Python files copied", whole_files.python_files, copied.python_files),
        sizes.Row("Python lines copied", whole_files.python_lines, copied.python_lines),
        sizes.Row("Wheel download size", whole_bytes, target_bytes, "bytes"),
    ]
    in_target = {pin.name for pin in closure.pinned}
    largest = sorted(
        ((pin, sizes.download_size(lock, [pin], target)[0]) for pin in whole_pins), key=lambda item: (-item[1], item[0].name)
    )[:12]
    subject = f"target {session.target_config.name}" if session.target_config else " ".join(closure.entries)
    if as_json:
        _dump_json(
            {
                "subject": subject,
                "python": target.python_version,
                "platform": target.platform.name,
                "rows": [
                    {"metric": r.metric, "whole": r.whole, "target": r.target, "saved_percent": round(r.saved_percent, 1)}
                    for r in rows
                ],
                "largest": [
                    {"name": p.name, "version": p.version, "size": size, "in_target": p.name in in_target}
                    for p, size in largest
                ],
                "unknown_sizes": sorted(set(whole_unknown) | set(target_unknown)),
            }
        )
        return EXIT_OK
    title = f"{subject} (Python {target.python_version}, {target.platform.name})"
    if markdown:
        click.echo(sizes.markdown_table(rows, title), nl=False)
        click.echo()
        click.echo("| Largest distributions | Size | Whole project | Target |")
        click.echo("|---|---:|:---:|:---:|")
        for pin, size in largest:
            click.echo(f"| {pin.name} {pin.version} | {sizes.human_bytes(size)} | ✓ | {'✓' if pin.name in in_target else '–'} |")
        return EXIT_OK
    from depmin.render import print_report

    print_report(title, rows, [(p, size, p.name in in_target) for p, size in largest])
    return EXIT_OK
