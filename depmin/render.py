"""Human output with rich: tables on stdout, problems as one line each on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from typing import TYPE_CHECKING

from depmin.emit import place
from depmin.model import Closure, Pin, Requirement

if TYPE_CHECKING:
    from depmin.report import Row

console = Console(highlight=False, soft_wrap=True)


def _first_place(requirement: Requirement) -> str:
    if not requirement.via:
        return ""
    via = requirement.via[0]
    more = len(requirement.via) - 1
    kind = "" if via.kind.value == "module" else f" ({via.kind.value.replace('_', '-')})"
    return place(via) + kind + (f"  (+{more} more)" if more else "")


def _requirement_table(title: str, requirements: tuple[Requirement, ...]) -> Table:
    table = Table(title=escape(title), title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("distribution")
    table.add_column("version")
    table.add_column("first imported at")
    for requirement in requirements:
        name = requirement.name + (f"[{','.join(requirement.extras)}]" if requirement.extras else "")
        # Everything from the lock and the repository is text, never markup: `[a2a]` stays visible.
        table.add_row(escape(name), escape(requirement.version or "not locked"), escape(_first_place(requirement)))
    return table


def print_closure(closure: Closure) -> None:
    target = closure.target
    console.print(
        f"[bold]depmin closure[/] {escape(' '.join(closure.entries))}  "
        f"(Python {target.python_version}, {target.platform.name})"
    )
    data = f" and {len(closure.package_data)} package data files" if closure.package_data else ""
    console.print(f"{len(closure.modules)} modules in {len(closure.files)} files{data}; COPY:")
    for copy in closure.copy:
        destination = "" if copy.source == copy.destination else f"  ->  {copy.destination}"
        console.print(f"  {copy.source}{destination}", markup=False)
    console.print()
    console.print(_requirement_table(f"{len(closure.direct)} direct distributions", closure.direct))
    console.print()
    console.print(f"{len(closure.pinned)} distributions pinned from uv.lock (direct and transitive)")
    if closure.optional:
        console.print()
        console.print(_requirement_table("optional (guarded imports, not installed)", closure.optional))
    if closure.type_checking:
        console.print()
        console.print(_requirement_table("type-only (TYPE_CHECKING, not installed)", closure.type_checking))
    if closure.ignored:
        console.print()
        count = len(closure.ignored)
        console.print(f"{count} ignored import{'s' if count != 1 else ''} (not followed, not installed)")
        for item in closure.ignored:
            console.print(f"  {item.file}:{item.line}  {item.name}  [{item.reason}]", markup=False)
    if closure.warnings:
        console.print()
        console.print(f"[yellow]{len(closure.warnings)} warnings[/]")
        for warning in closure.warnings:
            console.print(f"  {warning.render()}", markup=False)
    if closure.errors:
        console.print(f"[red]{len(closure.errors)} errors[/] (listed on stderr)")


def print_report(title: str, rows: list[Row], largest: list[tuple[Pin, int, bool]]) -> None:
    from depmin.report import human_bytes, render_value

    table = Table(title=escape(title), title_justify="left", show_edge=False, pad_edge=False)
    for column, justify in (("metric", "left"), ("whole project", "right"), ("target", "right"), ("saved", "right")):
        table.add_column(column, justify=justify)
    for row in rows:
        table.add_row(escape(row.metric), render_value(row, row.whole), render_value(row, row.target), f"{row.saved_percent:.0f}%")
    console.print(table)
    console.print()
    heavy = Table(title="largest distributions of the whole project", title_justify="left", show_edge=False, pad_edge=False)
    for column in ("distribution", "size", "in target"):
        heavy.add_column(column)
    for pin, size, in_target in largest:
        heavy.add_row(escape(f"{pin.name} {pin.version}"), human_bytes(size), "yes" if in_target else "no")
    console.print(heavy)
