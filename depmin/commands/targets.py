"""depmin init / sync / check: the targets of [tool.depmin.targets] and their generated files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.formats import resolve_format
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_FINDING,
    EXIT_OK,
    Printer,
    Session,
    epilog,
    handle_errors,
    project_root,
    target_sessions,
)
from depmin.errors import Diagnostic, UsageError
from depmin.files.reading import read_regular, resolves_inside
from depmin.files.writing import PartialWrite, remove_stale_temporaries, write_all_atomic, write_atomic


@click.command(
    epilog=epilog(
        "depmin init ai/ --target agent --data config/personas/ --forbid torch",
        "depmin init services/api/main.py",
    )
)
@click.argument("entries", nargs=-1, required=True)
@opt.root
@click.option("--target", "target_name", metavar="NAME", help="Target name (default: from the first entry).")
@click.option("--data", multiple=True, metavar="PATH", help="Data paths the image needs (config/personas/).")
@click.option("--forbid", multiple=True, metavar="PATTERN", help="Distributions the target must never carry.")
@click.option("--force", is_flag=True, help="Replace an existing target of that name.")
@opt.ui_options
@handle_errors
def init(
    entries: tuple[str, ...],
    root: Path | None,
    target_name: str | None,
    data: tuple[str, ...],
    forbid: tuple[str, ...],
    force: bool,
    ui: opt.Ui,
) -> int:
    """Add a [tool.depmin.targets.NAME] table for ENTRY... to pyproject.toml (nothing else changes)."""
    from depmin.outputs.pyproject import add_target

    where = project_root(root)
    _existing_entries(where, entries)
    name = target_name or _default_target_name(entries[0])
    # A symlinked pyproject.toml is written through (inside the root only); CRLF stays CRLF.
    path = (where / "pyproject.toml").resolve()
    if not resolves_inside(where, path):
        raise UsageError("pyproject.toml is a symlink out of the project root; not written", "pyproject.toml")
    try:
        original = read_regular(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", "pyproject.toml") from None
    crlf = "\r\n" in original
    text = add_target(
        original.replace("\r\n", "\n") if crlf else original, name, entries, data=data, forbid=forbid, force=force
    )
    write_atomic(path, text.replace("\n", "\r\n") if crlf else text)
    Printer(ui).info(
        f"added [tool.depmin.targets.{name}] to pyproject.toml; run `depmin sync --target {name}` to write its outputs"
    )
    return EXIT_OK


def _existing_entries(root: Path, entries: tuple[str, ...]) -> None:
    """Refuse an entry that names nothing: not a path, not a module under any source root."""
    from depmin.analysis.inputs import entry_modules, source_roots
    from depmin.errors import LockError
    from depmin.lock.parse import read_lock
    from depmin.project.config import load_project
    from depmin.project.module_index import SourceRoot, build_index

    project = load_project(root)
    try:
        roots = source_roots(project, read_lock(root / (project.config.lock or "uv.lock"), "uv.lock"))
    except LockError:  # no lock yet: the roots a lock does not add
        roots = (*project.config.source_roots, SourceRoot("src"), SourceRoot(""))
    index = build_index(root, tuple(r for r in roots if (root / r.path).is_dir()))
    problems = entry_modules(root, index, entries, ()).problems
    if problems:
        first = problems[0]
        raise UsageError(f"entry {first.path!r}: {first.message}; no target added")


def _default_target_name(entry: str) -> str:
    stem = entry.strip("/").replace("/", "-").removesuffix(".py").replace(".", "-")
    return stem or "app"


def _fleet_files(options: opt.AnalysisOptions, sessions: list[Session]) -> dict[str, str]:
    """The files of [tool.depmin.fleet], when the project has one and every target was asked for."""
    from depmin.commands.fleet_files import FleetSettings, fleet_outputs
    from depmin.outputs.generated import FLEET, sync_command

    project = sessions[0].project
    config = project.config.fleet
    if config is None or options.only_targets:
        return {}
    done = [(session, session.analyse_every_platform()) for session in sessions]
    directory = config.directory.strip("/")
    settings = FleetSettings(directory, sync_command(FLEET), config.base, config.command, config.shared_by,
                             compose=config.compose)  # fmt: skip
    return fleet_outputs(done, settings)[2]


@click.command(
    epilog=epilog(
        "depmin sync",
        "depmin sync --target agent --dry-run",
    )
)
@opt.target_options
@opt.json_flag
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@handle_errors
def sync(options: opt.AnalysisOptions, ui: opt.Ui, as_json: bool, dry_run: bool) -> int:
    """Write every target's requirements file and copy list (atomically; nothing when analysis fails)."""
    from depmin.outputs.generated import target_outputs
    from depmin.outputs.json import sync_json
    from depmin.outputs.words import plural
    from depmin.usecases.freshness import State, compare

    printer = Printer(ui)
    planned: list[tuple[Path, str, str, str]] = []  # (absolute path, shown path, text, what it holds)
    unchanged: list[str] = []
    errors: list[Diagnostic] = []

    def plan(root: Path, expected: Iterable[tuple[str, str]], holds: str, named: Mapping[str | None, str]) -> None:
        """Each file fresh or to write, with what it holds: `named` for some paths, else `holds`."""
        for state in compare(root, expected):
            remove_stale_temporaries(root / state.path)  # left by a run that was killed
            if state.state is State.FRESH:
                unchanged.append(state.path)
            else:
                planned.append((root / state.path, state.path, state.expected, named.get(state.path, holds)))

    sessions = target_sessions(options, printer, machine_output=as_json)
    for session in sessions:
        closure = session.analyse().closure
        if closure.errors:
            errors.extend(closure.errors)
            continue
        target = session.target_config
        assert target is not None
        pins = {target.requirements: plural(len(closure.pinned), "pin")}
        plan(
            session.project.root, target_outputs(target, closure, session.lock), plural(len(closure.copy), "path"), pins
        )
    if errors:
        printer.problems("json" if as_json else "text", errors, "nothing written")
        return EXIT_BAD_INPUT
    plan(sessions[0].project.root, sorted(_fleet_files(options, sessions).items()), "the fleet", {})

    if not dry_run:
        try:
            write_all_atomic([(path, text) for path, _, text, _ in planned])  # every target's files, or none
        except PartialWrite as exc:
            for path in exc.written:
                printer.info(f"wrote {path}")
            raise
        except OSError:
            click.echo("depmin: nothing written", err=True)
            raise
    verb = "would write" if dry_run else "wrote"
    if as_json:
        actions = [(shown, verb) for _, shown, _, _ in planned] + [(shown, "unchanged") for shown in unchanged]
        printer.json(sync_json(sorted(actions), dry_run))
    else:
        for shown in unchanged:
            printer.info(f"unchanged {shown}")
        for _, shown, _, holds in planned:
            printer.info(f"{verb} {shown} ({holds})")
    return EXIT_OK


@click.command(
    epilog=epilog(
        "depmin check                      # as a pre-commit hook",
        "depmin check --target agent --format github",
    )
)
@opt.target_options
@opt.json_flag
@opt.output_format("text", "json", "github", "sarif")
@handle_errors
def check(options: opt.AnalysisOptions, ui: opt.Ui, as_json: bool, output_format: str | None) -> int:
    """Exit 1 when a target's outputs are stale or missing, or a forbidden distribution is reachable."""
    from depmin.outputs.generated import FLEET, target_outputs
    from depmin.usecases.explain import audit as run_audit
    from depmin.usecases.freshness import TargetCheck, compare

    chosen = resolve_format(output_format, as_json)
    printer = Printer(ui)
    checks = []
    sessions = target_sessions(options, printer, machine_output=chosen != "text")
    root = sessions[0].project.root
    for session in sessions:
        target = session.target_config
        assert target is not None
        analysis = session.analyse()
        closure = analysis.closure
        if closure.errors:
            checks.append(TargetCheck(target.name, errors=closure.errors))
            continue
        files = compare(session.project.root, target_outputs(target, closure, session.lock))
        audit = run_audit(analysis, target.forbid) if target.forbid else None
        checks.append(TargetCheck(target.name, files, target.forbid, audit))
    if not any(c.errors for c in checks):
        fleet = _fleet_files(options, sessions)
        if fleet:
            checks.append(TargetCheck(FLEET, compare(root, sorted(fleet.items()))))
    if chosen == "json":
        from depmin.outputs.json import check_json

        printer.json(check_json(checks))
    elif chosen == "text":
        from depmin.outputs.text import check_text

        for item in checks:
            if item.errors:
                printer.diagnostics(item.errors)
                continue
            text = check_text(item, ui.width)
            if text and (not item.ok or not ui.quiet):
                printer.out(text)
    else:
        from depmin.outputs.findings import check_findings

        printer.findings(chosen, check_findings(checks), root)
    if any(c.errors for c in checks):
        return EXIT_BAD_INPUT
    return EXIT_OK if all(c.ok for c in checks) else EXIT_FINDING
