"""depmin trim: the import whose deferral takes the most out of the image, and (--apply) the cut."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from depmin.commands import options as opt
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_FINDING,
    EXIT_OK,
    Printer,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
)


@click.command(
    epilog=epilog(
        "depmin trim --target agent",
        "depmin trim --target agent --forbid torch --forbid 'nvidia-*'",
        "depmin trim --target agent --forbid torch --apply   # rewrite, re-analyse, verify",
        "depmin trim server/ --apply --at core/__init__.py:9",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option(
    "--forbid",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Rank only the cuts that make these distributions unreachable (globs; default: the target's `forbid`).",
)
@click.option("--apply", "apply", is_flag=True, help="Rewrite the best cut (LibCST), then re-analyse and verify.")
@click.option("--at", "place", metavar="FILE:LINE", help="With --apply: the cut to make instead of the best one.")
@click.option("--force", is_flag=True, help="With --apply: rewrite a file that has local changes.")
@click.option("--no-verify", is_flag=True, help="With --apply: re-analyse, but do not build a venv and import.")
@handle_errors
def trim(
    entries: tuple[str, ...],
    options: opt.AnalysisOptions,
    ui: opt.Ui,
    as_json: bool,
    patterns: tuple[str, ...],
    apply: bool,
    place: str | None,
    force: bool,
    no_verify: bool,
) -> int:
    """Rank the first-party imports of ENTRY... (or --target) by what deferring each would take
    out of the image: bytes (uv.lock's wheel sizes), distributions, and the chain.

    Only imports that can be deferred without changing what the entries run are ranked; the
    others are listed with the reason. --apply makes the cut, prints the diff, and proves it."""
    from depmin.usecases.trim import apply_cut, choose
    from depmin.usecases.trim import trim as rank

    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json)
    analysis = session.analyse()
    if analysis.closure.errors:  # an incomplete graph cannot say what a cut frees
        printer.problems("json" if as_json else "text", analysis.closure.errors, "nothing trimmed")
        return EXIT_BAD_INPUT
    forbid = patterns or (session.target_config.forbid if session.target_config else ())
    root = session.project.root
    result = rank(analysis, root, session.subject, forbid)
    if not apply:
        _show(printer, ui, as_json, result)
        return EXIT_OK
    cut = choose(result, place)
    if cut is None:  # nothing left to cut (or nothing forbidden is reachable): a second --apply
        _show(printer, ui, as_json, result)
        return EXIT_FINDING if result.reachable_forbidden else EXIT_OK
    applied = apply_cut(root, cut, force=force)
    if not as_json:
        from depmin.outputs.text import applied_text

        printer.out(applied_text(applied))
    proof, ok = _prove(options, entries, printer, forbid or tuple(p.name for p in cut.freed), no_verify)
    if as_json:
        from depmin.outputs.json import trim_json

        printer.json(trim_json(result, applied, proof))
    else:
        gone = ", ".join(proof["gone"]) or "none"
        lines = [f"re-analysed: {'ok' if not proof['still_reachable'] else 'not ok'}; unreachable now: {gone}"]
        if proof["still_reachable"]:
            lines.append(f"still reachable: {', '.join(proof['still_reachable'])}")
        if proof["verify"] is not None:
            lines.append(f"verify: {'passed' if proof['verify'] else 'failed'}")
        printer.out("\n".join(lines) + "\n")
    return EXIT_OK if ok else EXIT_FINDING


def _silent(_description: str, _total: int | None) -> Callable[[dict | None], None]:
    def ignore(_result: dict | None = None) -> None:
        pass

    return ignore


def _show(printer: Printer, ui: opt.Ui, as_json: bool, result: Any) -> None:
    if as_json:
        from depmin.outputs.json import trim_json

        printer.json(trim_json(result))
    else:
        from depmin.outputs.text import trim_text

        printer.out(trim_text(result, ui.width))


def _prove(
    options: opt.AnalysisOptions,
    entries: tuple[str, ...],
    printer: Printer,
    expected_gone: tuple[str, ...],
    no_verify: bool,
) -> tuple[dict[str, Any], bool]:
    """The analysis again (what the cut should take out is gone), then verify of the target."""
    from fnmatch import fnmatchcase

    from packaging.utils import canonicalize_name

    session = open_session(options, entries, printer, machine_output=True)
    analysis = session.analyse()
    pinned = {p.name for p in analysis.closure.pinned}

    def matches(name: str) -> bool:
        return any(fnmatchcase(name, canonicalize_name(p) if "*" not in p else p.lower()) for p in expected_gone)

    still = sorted(n for n in pinned if matches(n))
    gone = sorted(p for p in expected_gone if not any(fnmatchcase(n, p.lower()) or n == p for n in pinned))
    proof: dict[str, Any] = {
        "errors": len(analysis.closure.errors),
        "still_reachable": still,
        "gone": gone,
        "pins": len(pinned),
        "verify": None,
    }
    ok = not still and not analysis.closure.errors
    if ok and not no_verify:
        from depmin.outputs.requirements import requirements_text
        from depmin.usecases.verify import VerifyRequest, verify_tree

        request = VerifyRequest(
            root=session.project.root,
            excludes=session.request.excludes,
            requirements=requirements_text(analysis.closure, regenerate_command("closure", session)),
            smoke=session.target_config.smoke if session.target_config else None,
            timeout=60.0,
            keep=False,
        )
        verified = verify_tree(analysis, request, log=lambda _m: None, progress=_silent)
        proof["verify"] = verified.ok
        ok = verified.ok
    return proof, ok
