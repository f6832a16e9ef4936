"""depmin verify: build the minimal tree and venv (or image) and import every module in it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from depmin.commands import options as opt
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_FINDING,
    EXIT_OK,
    Printer,
    Session,
    chosen_extras,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
)

if TYPE_CHECKING:
    from depmin.analysis import Analysis
    from depmin.usecases.verify import VerifyRequest, VerifyResult


@click.command(
    epilog=epilog(
        "depmin verify --target agent",
        "depmin verify ai/ --run 'python -m ai.entrypoint --help'",
        "depmin verify --target agent --image --engine buildah",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option("--keep", is_flag=True, help="Leave the built tree and venv for inspection.")
@click.option("--run", "smoke", metavar="CMD", help="Then run CMD in the tree (default: the target's `smoke`).")
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds one module's import, and the smoke command, may take.",
)
@click.option("--image", is_flag=True, help="Build the Dockerfile depmin writes and verify inside the image.")
@click.option(
    "--engine",
    type=click.Choice(["docker", "podman", "buildah"]),
    help="Container engine for --image (default: the first installed).",
)
@click.option(
    "--base",
    metavar="IMAGE",
    help="Base image for --image (default: python:X.Y-slim; localhost/depmin-python:X.Y with buildah when present).",
)
@click.option(
    "--style",
    type=click.Choice(["requirements", "uv"]),
    default="requirements",
    show_default=True,
    help="requirements: install the pins with uv pip install --no-deps; uv: uv sync --frozen of the tree "
    "depmin prune writes (with --image: the Dockerfile of dockerfile --style uv).",
)
@handle_errors
def verify(
    entries: tuple[str, ...],
    options: opt.AnalysisOptions,
    ui: opt.Ui,
    as_json: bool,
    keep: bool,
    smoke: str | None,
    timeout: float,
    image: bool,
    engine: str | None,
    base: str | None,
    style: str,
) -> int:
    """Build the minimal tree and venv (uv) and import every closure module in it.

    Exit 1 when a module that must import does not, or the smoke command fails."""
    from depmin.outputs.json import verify_json
    from depmin.outputs.requirements import requirements_text
    from depmin.usecases.build_env import terminated_as_exit
    from depmin.usecases.verify import VerifyRequest, verify_tree

    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json, commands=(smoke,) if smoke else ())
    analysis = session.analyse()
    closure = analysis.closure
    if closure.errors:
        printer.problems("json" if as_json else "text", closure.errors, "not verified")
        return EXIT_BAD_INPUT
    request = VerifyRequest(
        root=session.project.root,
        excludes=session.request.excludes,
        requirements=requirements_text(closure, regenerate_command("closure", session)),
        smoke=smoke or (session.target_config.smoke if session.target_config else None),
        timeout=timeout,
        keep=keep,
    )
    if style == "uv":
        from dataclasses import replace

        from depmin.usecases.prune import prune

        extras = chosen_extras(session)
        tree = prune(analysis, session.project.root, session.request.lock_path, extras, session.request.excludes)
        if tree.problems:
            printer.problems("json" if as_json else "text", tree.problems, "not verified")
            return EXIT_BAD_INPUT
        request = replace(request, pruned=tree.files, manifests=tree.manifests, extras=tree.extras)
    quiet = as_json or ui.quiet
    log: Callable[[str], None] = (lambda _m: None) if quiet else (lambda m: click.echo(f"  {m}", err=True))
    # SIGTERM ends verify like Ctrl-C does: through the clean-up, never leaving a tree behind.
    with terminated_as_exit():
        if image:
            result = _in_image(session, analysis, request, engine, base, log)
        else:
            result = verify_tree(analysis, request, log=log, progress=lambda d, t: _progress(quiet, d, t))
    if result.kept:
        printer.info(f"kept {result.tree.parent} (tree: app/, venv: .venv/)")
    if as_json:
        printer.json(verify_json(result))
    else:
        from depmin.outputs.text import verify_text

        printer.out(verify_text(result))
    return EXIT_OK if result.ok else EXIT_FINDING


def _in_image(
    session: Session,
    analysis: Analysis,
    request: VerifyRequest,
    engine_name: str | None,
    base: str | None,
    log: Callable[[str], None],
) -> VerifyResult:
    from depmin.outputs.dockerfile import DockerfileSpec, dockerfile_text, dockerignore_text, uv_version_for
    from depmin.usecases import image as images

    engine = images.find_engine(engine_name)
    closure = analysis.closure
    chosen_base = base or images.default_base(engine, closure.target.python_version)
    spec = DockerfileSpec(
        base=chosen_base, requirements="requirements.txt", uv_version=uv_version_for(session.lock.versions)
    )
    if request.pruned is not None:
        from depmin.outputs.dockerfile import UvSyncSpec, uv_dockerfile_text

        dockerfile, ignore = uv_dockerfile_text(closure, spec, UvSyncSpec(request.extras)), ""
    else:
        dockerfile = dockerfile_text(closure, spec)
        ignore = dockerignore_text(closure, "requirements.txt", session.request.excludes)
    return images.verify_image(analysis, request, engine, chosen_base, dockerfile, ignore, log)


def _progress(quiet: bool, description: str, total: int | None) -> Callable[[dict | None], None]:
    """A rich bar on an interactive stderr (done / total and the module just done); plain lines
    every tenth of the way otherwise; nothing when quiet."""
    if quiet:

        def silent(_result: dict | None = None) -> None:
            pass

        return silent
    if not sys.stderr.isatty():
        done = [0]

        def plain(_result: dict | None = None) -> None:
            done[0] += 1
            if total and (done[0] % max(1, total // 10) == 0 or done[0] == total):
                click.echo(f"  {description}: {done[0]}/{total}", err=True)

        if total is None:
            click.echo(f"  {description}", err=True)
        return plain
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    bar.start()
    task = bar.add_task(description, total=total)

    def advance(result: dict | None = None) -> None:
        name = escape(str(result.get("module", ""))) if isinstance(result, dict) else ""
        bar.update(task, advance=1, description=f"{description} {name}".strip())
        if total is not None and bar.tasks[0].completed >= total:
            bar.stop()

    if total is None:
        bar.stop()  # an unbounded step (installing): shown once, not left running
        click.echo(f"  {description}", err=True)
    return advance
