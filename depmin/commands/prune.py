"""depmin prune: the pruned repository a target's image is built from, as `turbo prune` does
for JavaScript workspaces: the kept pyproject files, uv.lock cut to them, the closure's files."""

from __future__ import annotations

from pathlib import Path

import click

from depmin.commands import options as opt
from depmin.commands.session import EXIT_BAD_INPUT, EXIT_OK, Printer, chosen_extras, epilog, handle_errors, open_session
from depmin.usecases.prune import MANIFEST_TREE, SOURCE_TREE


@click.command(
    epilog=epilog(
        "depmin prune --target agent -o out/agent",
        "depmin prune --target agent -o out/agent --docker   # out/agent/json and out/agent/full",
        "cd out/agent && uv lock --check && uv sync --frozen --no-dev",
    )
)
@click.argument("entries", nargs=-1)
@opt.analysis_options()
@opt.json_flag
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="The directory to write.")
@click.option(
    "--docker",
    is_flag=True,
    help=f"Two trees, as turbo prune --docker: DIR/{MANIFEST_TREE} (pyproject files, uv.lock) and DIR/{SOURCE_TREE}.",
)
@handle_errors
def prune(
    entries: tuple[str, ...], options: opt.AnalysisOptions, ui: opt.Ui, as_json: bool, output: Path, docker: bool
) -> int:
    """Write the repository ENTRY... (or --target) needs into DIR: pyproject.toml files, uv.lock
    pruned to what they install, and the closure's files. `uv lock --check` passes there, and
    `uv sync --frozen --no-dev` installs exactly the pins."""
    from depmin.files.writing import output_directory, write_tree
    from depmin.usecases.prune import prune as prune_tree

    printer = Printer(ui)
    session = open_session(options, entries, printer, machine_output=as_json)
    analysis = session.analyse()
    if analysis.closure.errors:
        printer.problems("json" if as_json else "text", analysis.closure.errors, "nothing written")
        return EXIT_BAD_INPUT
    root = session.project.root
    tree = prune_tree(analysis, root, session.request.lock_path, chosen_extras(session), session.request.excludes)
    if tree.problems:
        printer.problems("json" if as_json else "text", tree.problems, "nothing written")
        return EXIT_BAD_INPUT
    files = dict(tree.files)
    if docker:
        files = {f"{SOURCE_TREE}/{path}": data for path, data in tree.files.items()}
        files |= {f"{MANIFEST_TREE}/{path}": tree.files[path] for path in tree.manifests}
    write_tree(output_directory(output, root), files)
    sync = "uv sync --frozen --no-dev" + "".join(f" --extra {extra}" for extra in tree.extras)
    if as_json:
        printer.json(
            {
                "directory": str(output),
                "files": sorted(files),
                "projects": list(tree.projects),
                "installs": [{"name": name, "version": version} for name, version in tree.installs],
                "sync": sync,
            }
        )
    else:
        where = output / SOURCE_TREE if docker else output
        printer.info(f"wrote {len(files)} files in {output}/ ({len(tree.projects)} projects, "
                     f"{len(tree.installs)} locked packages installed; then: cd {where} && {sync})")  # fmt: skip
    return EXIT_OK
