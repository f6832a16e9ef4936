"""depmin codes: every diagnostic code and what it means (what `ignore` may name)."""

from __future__ import annotations

import click

from depmin.commands.session import EXIT_OK, epilog


@click.command(epilog=epilog("depmin codes", "depmin codes --json"))
@click.option("--json", "as_json", is_flag=True, help="Print {code: description} as JSON.")
def codes(as_json: bool) -> int:
    """List the diagnostic codes (name them in [tool.depmin] ignore = [...])."""
    from depmin.errors import Code

    if as_json:
        from depmin.outputs.json import dumps

        click.echo(dumps({str(code): code.description for code in Code}), nl=False)
    else:
        for code in Code:
            click.echo(f"{code}  {code.description}")
    return EXIT_OK
