"""depmin why: the import chain that makes a distribution or a module part of the closure."""

from __future__ import annotations

import click

from depmin.commands import options as opt
from depmin.commands.session import EXIT_BAD_INPUT, EXIT_FINDING, EXIT_OK, Printer, epilog, handle_errors, open_session
from depmin.model import Reach


@click.command(
    epilog=epilog(
        "depmin why torch ai/",
        "depmin why --all httpx --target agent",
        "depmin why ai.tools.search --target agent --json",
    )
)
@click.argument("name")
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option(
    "--all",
    "every_chain",
    is_flag=True,
    help="One shortest chain for every place that imports NAME, not just the shortest overall.",
)
@handle_errors
def why(
    name: str, entries: tuple[str, ...], options: opt.AnalysisOptions, ui: opt.Ui, as_json: bool, every_chain: bool
) -> int:
    """Why NAME (a distribution or a module) is needed by ENTRY...: the import chain, hop by hop.

    Exit 1 when NAME is not reachable."""
    from depmin.outputs.json import explanation_json
    from depmin.usecases.explain import explain, target_node

    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json)
    analysis = session.analyse()
    if analysis.closure.errors:  # an incomplete graph cannot say "not reachable"
        printer.problems("json" if as_json else "text", analysis.closure.errors, "nothing explained")
        return EXIT_BAD_INPUT
    explanation = explain(analysis, target_node(analysis, name), every_chain=every_chain)
    if as_json:
        printer.json(explanation_json(explanation))
    else:
        from depmin.outputs.text import explanation_text

        target = session.request.target
        printer.out(
            explanation_text(explanation, f"{session.subject} (Python {target.python_version}, {target.platform.name})")
        )
        if explanation.kind == "distribution" and explanation.reach is Reach.REQUIRED:
            from depmin.commands.session import trim_command
            from depmin.outputs.text import trim_hint
            from depmin.usecases.trim import pointer

            cut = pointer(analysis, session.project.root, explanation.name)
            if cut is not None:
                printer.out(trim_hint(cut, trim_command(session)))
    return EXIT_OK if explanation.reach is not Reach.UNREACHABLE else EXIT_FINDING
