"""depmin report: the whole project against the target, in distributions, files and bytes."""

from __future__ import annotations

import click

from depmin.commands import options as opt
from depmin.commands.session import EXIT_BAD_INPUT, EXIT_OK, Printer, epilog, handle_errors, open_session
from depmin.errors import UsageError


@click.command(
    epilog=epilog(
        "depmin report --target agent",
        "depmin report --target agent --markdown >> $GITHUB_STEP_SUMMARY",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option("--markdown", is_flag=True, help="Print Markdown tables ready for a pull request.")
@handle_errors
def report(entries: tuple[str, ...], options: opt.AnalysisOptions, ui: opt.Ui, as_json: bool, markdown: bool) -> int:
    """Whole project against the target: distributions, files, lines and wheel download size saved."""
    from depmin.report import size_report

    if as_json and markdown:
        raise UsageError("--json and --markdown ask for two outputs; give one")
    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json or markdown)
    analysis = session.analyse()
    if analysis.closure.errors:
        printer.diagnostics(analysis.closure.errors)
        return EXIT_BAD_INPUT
    result = size_report(analysis, session.project.root, session.request.excludes, session.subject)
    if as_json:
        from depmin.outputs.json import dumps, report_json

        printer.out(dumps(report_json(result)))
    elif markdown:
        from depmin.outputs.markdown import report_markdown

        printer.out(report_markdown(result))
    else:
        from depmin.outputs.text import report_text

        printer.out(report_text(result, ui.width, ui.colored))
    return EXIT_OK
