"""The command line: one module per command, loaded only when that command runs (a warm
`depmin check` must not pay for importing verify, rich or LibCST)."""

from __future__ import annotations

import gc
import importlib

import click

from depmin import __version__

# name → module under depmin.commands defining a click command of the same name
COMMANDS = {
    "closure": "closure",
    "why": "why",
    "audit": "audit",
    "init": "targets",
    "sync": "targets",
    "check": "targets",
    "verify": "verify",
    "dockerfile": "dockerfile",
    "report": "report",
    "plan": "plan",
    "prune": "prune",
    "codes": "codes",
    "trim": "trim",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module = COMMANDS.get(name)
        if module is None:
            return None
        command = getattr(importlib.import_module(f"depmin.commands.{module}"), name.replace("-", "_"))
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="depmin")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors (and the requested output).")
@click.option("-v", "--verbose", is_flag=True, help="Show what depmin does.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto", help="Colour in human output.")
@click.pass_context
def main(context: click.Context, quiet: bool, verbose: bool, color: str) -> None:
    """Find the least a container built for these entry points must carry."""
    from depmin.commands.options import Ui

    context.obj = Ui(quiet, verbose, color)
    # An analysis allocates millions of small objects and frees few: with the default
    # thresholds the cyclic collector rescans them all again and again (half of a warm
    # 10k-file audit). As mypy does, collect far less often.
    gc.set_threshold(200_000, 30, 30)
