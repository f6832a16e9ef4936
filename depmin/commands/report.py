"""depmin report: the whole project against the target, in distributions, files and bytes."""

from __future__ import annotations

from dataclasses import replace

import click

from depmin.commands import options as opt
from depmin.commands.session import EXIT_BAD_INPUT, EXIT_OK, Printer, epilog, handle_errors, open_session, open_shared
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
    from depmin.usecases.size_report import size_report

    if as_json and markdown:
        raise UsageError("--json and --markdown ask for two outputs; give one")
    printer = Printer(ui)
    shared = open_shared(options)
    results = []
    for platform in dict.fromkeys(options.platforms or ("",)):  # one report per --platform
        chosen = replace(options, platforms=(platform,) if platform else ())
        session = open_session(chosen, entries, printer, machine_output=as_json or markdown, shared=shared)
        analysis = session.analyse()
        if analysis.closure.errors:
            printer.problems("json" if as_json else "text", analysis.closure.errors)
            return EXIT_BAD_INPUT
        results.append(size_report(analysis, session.project.root, session.request.excludes, session.subject))
    if as_json:
        from depmin.outputs.json import report_json

        data = [report_json(r) for r in results]
        printer.json(data[0] if len(data) == 1 else {"reports": data})
    elif markdown:
        from depmin.outputs.markdown import report_markdown

        printer.out("\n".join(report_markdown(r) for r in results))
    else:
        from depmin.outputs.text import report_text

        printer.out("\n".join(report_text(r, ui.width, ui.colored) for r in results))
        from depmin.commands.session import trim_command
        from depmin.outputs.text import trim_hint
        from depmin.usecases.trim import pointer

        cut = pointer(analysis, session.project.root)
        if cut is not None:
            printer.out(trim_hint(cut, trim_command(session)))
    return EXIT_OK
