"""depmin closure: pinned requirements and the COPY list for some entries."""

from __future__ import annotations

from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.formats import findings_output, resolve_format
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Printer,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
)
from depmin.files.writing import write_atomic
from depmin.outputs.words import plural


@click.command(
    epilog=epilog(
        "depmin closure ai/ console/",
        "depmin closure --target agent -o requirements/agent.txt --copy-list build/agent.copy",
        "depmin closure --script fastmcp --format sarif > depmin.sarif",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options(optional=True, with_hashes=True)
@opt.json_flag
@opt.output_format("text", "json", "github", "sarif")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the requirements file here."
)
@click.option(
    "--copy-list", type=click.Path(dir_okay=False, path_type=Path), help="Write the COPY paths here, one per line."
)
@handle_errors
def closure(
    entries: tuple[str, ...],
    options: opt.AnalysisOptions,
    ui: opt.Ui,
    as_json: bool,
    output_format: str | None,
    output: Path | None,
    copy_list: Path | None,
) -> int:
    """Pinned requirements and the COPY list for ENTRY... (directories, .py files or module names)."""
    from depmin.outputs.copylist import copy_list_text
    from depmin.outputs.requirements import requirements_text

    chosen = resolve_format(output_format, as_json)
    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=chosen != "text")
    result = session.closure_for_every_platform()
    if result.ok:
        command = regenerate_command("closure", session, [("-o", output), ("--copy-list", copy_list)])
        if output is not None:
            write_atomic(output, requirements_text(result, command))
            printer.info(f"wrote {output} ({plural(len(result.pinned), 'pin')})")
        if copy_list is not None:
            write_atomic(copy_list, copy_list_text(result))
            printer.info(f"wrote {copy_list} ({plural(len(result.copy), 'path')})")
    if chosen == "json":
        from depmin.outputs.json import closure_json, dumps

        printer.out(dumps(closure_json(result)))
    elif chosen == "text":
        from depmin.outputs.text import closure_text

        if not ui.quiet or not result.ok:
            printer.out(closure_text(result, ui.width, ui.colored))
    else:
        from depmin.outputs.findings import closure_findings

        printer.out(findings_output(chosen, closure_findings(result)))
    if chosen != "github":
        printer.diagnostics(result.errors)
    if not result.ok and (output or copy_list):
        click.echo("depmin: outputs not written because the analysis has errors", err=True)
    return EXIT_OK if result.ok else EXIT_BAD_INPUT
