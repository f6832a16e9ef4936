"""depmin dockerfile: a multi-stage Dockerfile and an allow-list .dockerignore for the closure."""

from __future__ import annotations

import os
from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.fleet_files import FleetSettings, fleet_outputs
from depmin.commands.session import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    Printer,
    analyse_targets,
    chosen_extras,
    epilog,
    handle_errors,
    open_session,
    regenerate_command,
    warn,
)
from depmin.errors import Code, UsageError
from depmin.project.compose import compose_mismatches, user_compose_name

COMPOSE_DEFAULT = "compose.depmin.yaml"


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
    type=click.Path(path_type=Path),
    help="Write the Dockerfile here, and FILE.dockerignore beside it (with --all: the directory for every file).",
)
@opt.index_secret
@opt.ca_secret
@click.option(
    "--all",
    "every_target",
    is_flag=True,
    help="Every target on a shared base: Dockerfile.base, Dockerfile.<target>, docker-bake.hcl in -o DIR.",
)
@click.option("--shared-by", type=int, metavar="N", help="With --all: the base holds what at least N targets pin.")
@click.option(
    "--style",
    type=click.Choice(["requirements", "uv"]),
    default="requirements",
    show_default=True,
    help="requirements: install the generated requirements file, copy the closure from the repository; "
    "uv: `uv sync --locked` from the tree of `depmin prune --docker`, as uv's Docker guide builds.",
)
@click.option(
    "--compose",
    "compose",
    is_flag=False,
    flag_value=COMPOSE_DEFAULT,
    default=None,
    metavar="[FILE]",
    help=f"With --all: also write a docker compose override with each target's build (default: {COMPOSE_DEFAULT}).",
)
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
    every_target: bool,
    shared_by: int | None,
    compose: str | None,
    style: str,
) -> int:
    """A multi-stage Dockerfile (uv, dependencies before code, non-root) and an allow-list .dockerignore.

    With --style uv, the Dockerfile builds from the directory `depmin prune --docker` writes."""
    from depmin.outputs.dockerfile import (
        DockerfileSpec,
        dockerfile_text,
        dockerignore_text,
        parse_command,
        uv_version_for,
    )

    printer = Printer(ui)
    if style == "uv":
        if every_target or requirements_path:
            raise UsageError("--style uv builds one target from its pruned tree: no --all or --requirements")
        return _uv_style(entries, options, printer, as_json, base, command_text, output, index_secret, ca_secret)
    if every_target:
        if entries or options.target_name or options.scripts or options.packages or requirements_path:
            raise UsageError("--all plans every target: give no ENTRY, --target or --requirements with it")
        if output is None:
            raise UsageError("--all writes a directory of files: pass -o DIR")
        return _fleet(options, printer, output, base, command_text, shared_by, index_secret, ca_secret, compose)
    if shared_by is not None:
        raise UsageError("--shared-by goes with --all")
    if compose is not None:
        raise UsageError("--compose goes with --all: the override builds every target on the shared base")
    if output is not None and output.is_dir():
        raise UsageError("-o names the Dockerfile to write, and this is a directory (--all writes a directory)",
                         str(output))  # fmt: skip
    session = open_session(
        options, entries, printer, machine_output=as_json, commands=(command_text,) if command_text else ()
    )
    closure = session.closure_for_every_platform()
    if closure.errors:
        printer.problems("json" if as_json else "text", closure.errors)
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
        base=base or f"python:{closure.target.python_version}-{closure.target.platform.python_image}",
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
        from depmin.files.writing import output_path, write_all_atomic

        root = session.project.root
        ignore_path = output.with_name(output.name + ".dockerignore")
        write_all_atomic([(output_path(output, root), text), (output_path(ignore_path, root), ignore)])
        here = Path.cwd()
        dockerfile_here, context_here = os.path.relpath(output.absolute(), here), os.path.relpath(root, here)
        printer.info(f"wrote {output} and {output.name}.dockerignore "
                     f"(build with: docker build -f {dockerfile_here} {context_here})")  # fmt: skip
    if as_json:
        printer.json({"dockerfile": text, "dockerignore": ignore})
    elif output is None:
        printer.out(text)
    return EXIT_OK


def _uv_style(entries: tuple[str, ...], options: opt.AnalysisOptions, printer: Printer, as_json: bool,
              base: str | None, command_text: str | None, output: Path | None, index_secret: bool,
              ca_secret: bool) -> int:  # fmt: skip
    from depmin.outputs.dockerfile import DockerfileSpec, UvSyncSpec, parse_command, uv_dockerfile_text, uv_version_for

    if output is not None and output.is_dir():
        raise UsageError("-o names the Dockerfile to write, and this is a directory", str(output))
    session = open_session(
        options, entries, printer, machine_output=as_json, commands=(command_text,) if command_text else ()
    )
    closure = session.analyse().closure
    if closure.errors:
        printer.problems("json" if as_json else "text", closure.errors)
        return EXIT_BAD_INPUT
    flags: list[tuple[str, str | Path | bool | None]] = [
        ("--style", "uv"),
        ("--base", base),
        ("--command", command_text),
        ("--index-secret", index_secret),
        ("--ca-secret", ca_secret),
        ("-o", output),
    ]
    regenerate = regenerate_command("dockerfile", session, flags)
    spec = DockerfileSpec(
        base=base or f"python:{closure.target.python_version}-{closure.target.platform.python_image}",
        requirements="",
        uv_version=uv_version_for(session.lock.versions),
        command=parse_command(command_text) if command_text else (),
        regenerate=regenerate,
        index_secret=index_secret,
        ca_secret=ca_secret,
    )
    text = uv_dockerfile_text(closure, spec, UvSyncSpec(tuple(sorted(chosen_extras(session)))))
    if output is not None:
        from depmin.files.writing import output_path, write_all_atomic

        write_all_atomic([(output_path(output, session.project.root), text)])
        printer.info(f"wrote {output} (build with: depmin prune {' '.join(entries) or '--target ...'} --docker -o DIR"
                     f" && docker build -f {output} DIR)")  # fmt: skip
    if as_json:
        printer.json({"dockerfile": text})
    elif output is None:
        printer.out(text)
    return EXIT_OK


def _compose_path(compose: str | None, root: Path) -> str | None:
    """The override's path relative to the root: the default beside pyproject.toml, a FILE as given
    (from the current directory, like -o); never outside the root, where compose would not find it."""
    if compose is None:
        return None
    path = root / COMPOSE_DEFAULT if compose == COMPOSE_DEFAULT else Path(compose).absolute()
    relative = os.path.relpath(path, root.absolute()).replace(os.sep, "/")
    if relative.startswith("../") or relative == "..":
        raise UsageError(f"--compose {compose}: the override must be inside the project, beside its compose file")
    return relative


def _fleet(options: opt.AnalysisOptions, printer: Printer, output: Path, base: str | None, command_text: str | None,
           shared_by: int | None, index_secret: bool, ca_secret: bool, compose: str | None) -> int:  # fmt: skip
    """dockerfile --all: plan every target on one base and write the files that build it."""
    from dataclasses import replace

    from depmin.files.writing import output_path, write_all_atomic
    from depmin.outputs.fleet import service_names

    done, errors = analyse_targets(options, printer)
    if errors:
        printer.failed(errors, "nothing written")
        return EXIT_BAD_INPUT
    session, project = done[-1][0], done[-1][0].project
    # relative to the root (the build context), where the bake file's paths are read from
    directory = os.path.relpath(output.absolute(), project.root).replace(os.sep, "/")
    flags: list[tuple[str, str | Path | bool | None]] = [
        ("--all", True),
        ("--shared-by", str(shared_by) if shared_by else None),
        ("--base", base),
        ("--command", command_text),
        ("--index-secret", index_secret),
        ("--ca-secret", ca_secret),
        ("-o", output),
    ]
    override = _compose_path(compose, project.root)
    if override is not None:
        flags.append(("--compose", override if compose != COMPOSE_DEFAULT else True))
    # One command for the whole fleet: the session's own --target is not part of it.
    regenerate = regenerate_command("dockerfile", replace(session, target_config=None, request=replace(
        session.request, entries=())), flags)  # fmt: skip
    settings = FleetSettings(directory, regenerate, base, command_text, shared_by, index_secret, ca_secret, override)
    fleet, spec, files = fleet_outputs(done, settings)
    if override is not None:
        for problem in compose_mismatches(project.root, service_names(fleet, spec)):
            warn(printer, problem.message, Code.COMPOSE_SERVICE, problem.path)
    write_all_atomic([(output_path(project.root / path, project.root), text) for path, text in sorted(files.items())])
    here = os.path.relpath(project.root, Path.cwd())
    build = f"docker buildx bake -f {directory}/docker-bake.hcl"  # bake's contexts are relative to where it runs
    if override is not None:
        build = f"docker compose -f {user_compose_name(project.root)} -f {override} build"
    hint = build if here == "." else f"cd {here} && {build}"
    written = f"wrote {len(files) - (override is not None)} files in {directory}/"
    written += f" and {override}" if override else ""
    printer.info(f"{written} (the base and {len(fleet.targets)} targets; build with: {hint})")
    return EXIT_OK
