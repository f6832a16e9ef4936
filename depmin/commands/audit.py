"""depmin audit: fail when a forbidden distribution is reachable."""

from __future__ import annotations

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
    open_session,
    open_shared,
    project_root,
    warn,
)
from depmin.errors import Code, UsageError
from depmin.project.config import load_project


@click.command(
    epilog=epilog(
        "depmin audit --forbid torch --forbid 'nvidia-*' agents/",
        "depmin audit                       # every target with `forbid`",
        "depmin audit --format github       # annotations on the pull request",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@opt.output_format("text", "json", "github", "sarif")
@click.option(
    "--forbid",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Glob over distribution names (torch, nvidia-*). Repeatable.",
)
@handle_errors
def audit(
    entries: tuple[str, ...],
    options: opt.AnalysisOptions,
    ui: opt.Ui,
    as_json: bool,
    output_format: str | None,
    patterns: tuple[str, ...],
) -> int:
    """Fail when a forbidden distribution is reachable from ENTRY... (or from each target's `forbid`).

    One violation per import that brings forbidden distributions in."""
    from depmin.usecases.explain import TargetAudit
    from depmin.usecases.explain import audit as run_audit

    chosen = resolve_format(output_format, as_json)
    printer = Printer(ui)
    runs = _runs(entries, patterns, options, printer, chosen != "text")
    analyses = [(session, forbidden, session.analyse()) for session, forbidden in runs]
    errors = sorted({d for _, _, a in analyses for d in a.closure.errors})
    if errors:  # an incomplete graph can neither pass nor fail an audit
        printer.problems(chosen, errors, "nothing audited")
        return EXIT_BAD_INPUT
    audits = []
    for session, forbidden, analysis in analyses:
        result = run_audit(analysis, forbidden)
        for pattern in result.unmatched:
            warn(
                printer,
                f"forbid pattern {pattern!r} matches no distribution in {session.lock.path}",
                Code.FORBID_UNMATCHED,
            )
        target = session.target_config.name if session.target_config else None
        audits.append(TargetAudit(session.subject, target, session.request.entries, forbidden, result))
    if chosen == "json":
        from depmin.outputs.json import audit_json

        printer.json(audit_json(audits))
    elif chosen == "text":
        from depmin.outputs.text import audit_text

        for item in audits:
            if item.result.violations or not ui.quiet:
                printer.out(audit_text(item, ui.width))
    else:
        from depmin.outputs.findings import audit_findings

        printer.findings(chosen, audit_findings(audits), runs[0][0].project.root)
    return EXIT_FINDING if any(a.result.violations for a in audits) else EXIT_OK


def _runs(
    entries: tuple[str, ...],
    patterns: tuple[str, ...],
    options: opt.AnalysisOptions,
    printer: Printer,
    machine_output: bool,
) -> list[tuple[Session, tuple[str, ...]]]:
    if entries or options.target_name or options.scripts or options.packages:
        session = open_session(options, entries, printer, machine_output=machine_output)
        forbidden = patterns or (session.target_config.forbid if session.target_config else ())
        if not forbidden:
            raise UsageError("nothing to audit: give --forbid PATTERN (or a target with `forbid`)")
        return [(session, forbidden)]
    project = load_project(project_root(options.root))
    targets = [t for t in project.config.targets.values() if t.forbid or patterns]
    if not targets:
        raise UsageError(
            "nothing to audit: give ENTRY... with --forbid PATTERN, or define targets with `forbid` "
            "in [tool.depmin.targets]"
        )
    from dataclasses import replace

    shared = open_shared(options, project)  # one lock, one cache, one workspace for every target
    return [
        (
            open_session(
                replace(options, target_name=t.name), (), printer, machine_output=machine_output, shared=shared
            ),
            patterns or t.forbid,
        )
        for t in targets
    ]
