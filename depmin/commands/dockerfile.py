"""depmin dockerfile: a multi-stage Dockerfile and an allow-list .dockerignore for the closure."""

from __future__ import annotations

from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Printer,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
)
from depmin.errors import UsageError


@click.command(
    epilog=epilog(
        "depmin dockerfile --target agent -o docker/agent.Dockerfile",
        "depmin dockerfile ai/ --requirements requirements/ai.txt --command 'python -m ai.entrypoint'",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option(
    "--base", default=None, metavar="IMAGE", help="Base image (default: python:X.Y-slim for the target Python)."
)
@click.option(
    "--requirements",
    "requirements_path",
    metavar="PATH",
    help="Requirements file the image installs (default: the target's `requirements`).",
)
@click.option("--command", "command_text", metavar="CMD", help='The container command, e.g. "python -m ai.entrypoint".')
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the Dockerfile here, and FILE.dockerignore beside it.",
)
@opt.index_secret
@opt.ca_secret
@handle_errors
def dockerfile(
    entries: tuple[str, ...],
    options: opt.AnalysisOptions,
    ui: opt.Ui,
    as_json: bool,
    base: str | None,
    requirements_path: str | None,
    command_text: str | None,
    output: Path | None,
    index_secret: bool,
    ca_secret: bool,
) -> int:
    """A multi-stage Dockerfile (uv, dependencies before code, non-root) and an allow-list .dockerignore."""
    from depmin.outputs.dockerfile import (
        DockerfileSpec,
        dockerfile_text,
        dockerignore_text,
        parse_command,
        uv_version_for,
    )

    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json)
    closure = session.analyse().closure
    if closure.errors:
        printer.diagnostics(closure.errors)
        return EXIT_BAD_INPUT
    target = session.target_config
    requirements = requirements_path or (target.requirements if target else None)
    if not requirements:
        raise UsageError(
            "the image installs a generated requirements file: pass --requirements PATH "
            "(or use a target with `requirements`)"
        )
    regenerate = regenerate_command(
        "dockerfile",
        session,
        [
            ("--base", base),
            ("--requirements", requirements_path),
            ("--command", command_text),
            ("--index-secret", index_secret),
            ("--ca-secret", ca_secret),
            ("-o", output),
        ],
    )
    spec = DockerfileSpec(
        base=base or f"python:{closure.target.python_version}-slim",
        requirements=requirements,
        uv_version=uv_version_for(session.lock.versions),
        command=parse_command(command_text) if command_text else (),
        regenerate=regenerate,
        index_secret=index_secret,
        ca_secret=ca_secret,
    )
    text = dockerfile_text(closure, spec)
    ignore = dockerignore_text(closure, requirements, session.request.excludes)
    if output is not None:
        from depmin.files import write_all_atomic

        write_all_atomic([(output, text), (output.with_name(output.name + ".dockerignore"), ignore)])
        printer.info(f"wrote {output} and {output.name}.dockerignore (build with: docker build -f {output} .)")
    if as_json:
        from depmin.outputs.json import dumps

        printer.out(dumps({"dockerfile": text, "dockerignore": ignore}))
    elif output is None:
        printer.out(text)
    return EXIT_OK
