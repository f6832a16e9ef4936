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
from typing import Any, NoReturn

import click
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from depmin import __version__, emit
from depmin.cache import ScanCache
from depmin.config import ConfigError, Project, TargetConfig, find_root, load_project, parse_platform, parse_python
from depmin.files import write_atomic
from depmin.lock import LockError, LockFile, read_lock
from depmin.model import Closure, Diagnostic, Target
from depmin.pipeline import Analysis, Request, analyse
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
        click.option("--exclude", "excludes", multiple=True, metavar="GLOB", help="Also exclude these paths from directory entries."),
        click.option("--site-packages", type=click.Path(file_okay=False, path_type=Path), help="Installed environment to read import names from (default: <root>/.venv)."),
        click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Scan cache (default: <root>/.depmin_cache)."),
        click.option("--no-cache", is_flag=True, help="Scan every file again; do not read or write the cache."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout and nothing else."),
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

    def analyse(self) -> Analysis:
        return analyse(self.project, self.request, self.lock)


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
    hashes: bool = False,
    **_: Any,
) -> Session:
    project_root = _project_root(root)
    project = load_project(project_root)
    target_config = project.target(target_name) if target_name else None
    if target_config is not None and entries:
        _fail("give either ENTRY arguments or --target, not both")
    if target_config is None and not entries:
        _fail("no entries: give ENTRY arguments (directories, .py files, module names) or --target NAME")
    config = project.config
    lock_path = Path(lock).resolve() if lock else project.root / (config.lock or "uv.lock")
    lock_file = read_lock(lock_path, _relative(project.root, lock_path))
    chosen_python = python or (target_config.python if target_config else None) or config.python
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
    cache = None if no_cache else ScanCache(Path(cache_dir) if cache_dir else project.root / ".depmin_cache")
    request = Request(
        entries=target_config.entries if target_config else tuple(entries),
        target=target,
        lock_path=lock_path,
        excludes=tuple(config.exclude) + tuple(excludes),
        data=target_config.data if target_config else (),
        hidden_imports=config.hidden_imports + (target_config.hidden_imports if target_config else ()),
        include_optional=include_optional,
        hashes=hashes or bool(target_config and target_config.hashes),
        site_packages=Path(site_packages) if site_packages else None,
        cache=cache,
    )
    return Session(project, lock_file, request, target_config)


def _project_root(root: Path | None) -> Path:
    if root is not None:
        if not root.is_dir():
            _fail("project root does not exist or is not a directory", str(root))
        return root.resolve()
    found = find_root(Path.cwd())
    if found is None:
        _fail("no pyproject.toml here or in any parent directory; pass --root DIR")
    return found


def _relative(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


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
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the requirements file here.")
@click.option("--copy-list", type=click.Path(dir_okay=False, path_type=Path), help="Write the COPY paths here, one per line.")
@click.option("--hashes", is_flag=True, help="Add the --hash lines that uv.lock records.")
@handle_errors
def closure(entries: tuple[str, ...], as_json: bool, output: Path | None, copy_list: Path | None, **options: Any) -> int:
    """Pinned requirements and the COPY list for ENTRY... (directories, .py files or module names)."""
    session = open_session(entries=entries, **options)
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
    if request.hashes:
        parts.append("--hashes")
    parts.extend(request.entries)
    if output is not None:
        parts.append(f"-o {_relative(session.project.root, output)}")
    return " ".join(parts)
