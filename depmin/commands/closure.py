"""depmin closure: pinned requirements and the COPY list for some entries."""

from __future__ import annotations

from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.formats import resolve_format
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Printer,
    Session,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
)
from depmin.errors import UsageError
from depmin.files.writing import output_path, write_atomic
from depmin.model import Closure
from depmin.outputs.words import plural

STDOUT = Path("-")


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
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write the requirements file here (- for standard output).",
)
@click.option(
    "--copy-list",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write the COPY paths here, one per line (- for standard output).",
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

    chosen = resolve_format(output_format, as_json)
    to_stdout = [flag for flag, path in (("-o", output), ("--copy-list", copy_list)) if path == STDOUT]
    if len(to_stdout) > 1 or (to_stdout and chosen != "text"):
        raise UsageError(f"{' and '.join([*to_stdout, *([f'--format {chosen}'] if chosen != 'text' else [])])} "
                         "all ask for standard output; give one")  # fmt: skip
    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=chosen != "text" or bool(to_stdout))
    result = session.closure_for_every_platform()
    if result.ok:
        command = regenerate_command("closure", session, [("-o", output), ("--copy-list", copy_list)])
        outputs = [
            (output, lambda: pins_text(output, result, session, command), plural(len(result.pinned), "pin")),
            (copy_list, lambda: copy_list_text(result), plural(len(result.copy), "path")),
        ]
        for path, render, holds in outputs:
            if path == STDOUT:
                printer.out(render())
            elif path is not None:
                write_atomic(output_path(path, session.project.root), render())
                printer.info(f"wrote {path} ({holds})")
    if chosen == "json":
        from depmin.outputs.json import closure_json

        printer.json(closure_json(result))
    elif chosen == "text":
        from depmin.outputs.text import closure_text

        if not ui.quiet and not to_stdout:  # standard output holds the file asked for, and only it
            printer.out(closure_text(result, ui.width, ui.colored))
    else:
        from depmin.outputs.findings import closure_findings

        printer.findings(chosen, closure_findings(result), session.project.root)
    if chosen == "text":  # the machine formats carry the errors themselves; stderr stays clean
        printer.diagnostics(result.errors)
        if not result.ok and (output or copy_list):
            click.echo("depmin: outputs not written because the analysis has errors", err=True)
    return EXIT_OK if result.ok else EXIT_BAD_INPUT


def pins_text(output: Path | None, closure: Closure, session: Session, command: str) -> str:
    """The requirements file, or a PEP 751 lock when -o names one (pylock.toml, pylock.<name>.toml)."""
    import os

    from depmin.outputs.generated import pins_file_text

    if output is None or output == STDOUT:
        return pins_file_text("requirements.txt", closure, session.lock, command)
    relative = os.path.relpath(output.absolute(), session.project.root.absolute()).replace(os.sep, "/")
    return pins_file_text(relative, closure, session.lock, command)
