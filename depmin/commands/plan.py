"""depmin plan: every target's image at once, on a shared base layer."""

from __future__ import annotations

from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Printer,
    analyse_targets,
    epilog,
    handle_errors,
)


@click.command(
    epilog=epilog(
        "depmin plan",
        "depmin plan --shared-by 3 --json",
        "depmin plan --target agent --target trainer",
    )
)
@opt.root
@opt.lock
@click.option("--target", "names", multiple=True, metavar="NAME", help="Plan these targets (default: every target).")
@opt.python
@opt.platform
@opt.offline
@opt.cache_dir
@opt.no_cache
@opt.json_flag
@click.option("--shared-by", type=int, metavar="N", help="Put in the base what at least N targets pin (default: all).")
@opt.ui_options
@handle_errors
def plan(
    root: Path | None,
    lock: Path | None,
    names: tuple[str, ...],
    python: str | None,
    platforms: tuple[str, ...],
    offline: bool,
    cache_dir: Path | None,
    no_cache: bool,
    as_json: bool,
    shared_by: int | None,
    ui: opt.Ui,
) -> int:
    """The base layer every target shares, each target's delta, and the fleet's footprint."""
    from depmin.commands.options import AnalysisOptions
    from depmin.usecases.fleet import plan_fleet

    printer = Printer(ui)
    options = AnalysisOptions(root=root, lock=lock, python=python, platforms=platforms, offline=offline,
                              cache_dir=cache_dir, no_cache=no_cache)  # fmt: skip
    done, errors = analyse_targets(options, printer, names, machine_output=as_json)
    analyses = [(s.target_config.name if s.target_config else "", a, s.request.data) for s, a in done]
    if errors:
        printer.problems("json" if as_json else "text", errors, "nothing planned")
        return EXIT_BAD_INPUT
    fleet = plan_fleet(analyses, shared_by)
    if as_json:
        from depmin.outputs.json import plan_json

        printer.json(plan_json(fleet))
    else:
        from depmin.outputs.text import plan_text

        printer.out(plan_text(fleet, ui.width, ui.colored))
    return EXIT_OK
