"""Human output: each result type as text for a terminal of `width` columns.

Tables are drawn with rich (imported only here, and only when a table is drawn); everything
from the repository or the lock is escaped, never read as markup (`[a2a]` stays visible).
Cells never break: a table wider than the terminal runs past it rather than fold a name.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from depmin.errors import Diagnostic
from depmin.model import Closure, Kind, Reach, Requirement
from depmin.outputs.findings import group_message
from depmin.outputs.generated import sync_command
from depmin.outputs.words import human_bytes, place, plural, row_value, wrapped
from depmin.usecases.explain import Chain, Explanation, TargetAudit
from depmin.usecases.freshness import State, TargetCheck

if TYPE_CHECKING:
    from rich.console import Console

    from depmin.usecases.fleet import FleetPlan
    from depmin.usecases.size_report import SizeReport
    from depmin.usecases.trim import Applied, TrimResult
    from depmin.usecases.trim import Cut as TrimCut
    from depmin.usecases.verify import VerifyResult


def diagnostic_lines(diagnostics: Iterable[Diagnostic], width: int = 80) -> list[str]:
    return [wrapped(d.render(), width, "    ") for d in diagnostics]


# -- closure ------------------------------------------------------------------------------


def _console(width: int, color: bool) -> Console:
    from rich.console import Console

    return Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        no_color=not color,
        color_system="standard" if color else None,
        highlight=False,
        soft_wrap=False,
    )


def _captured(console: Console) -> str:
    output = console.file
    assert isinstance(output, io.StringIO)
    return output.getvalue()


def _print_table(console: Console, table: Any) -> None:
    """At its natural width: a narrow terminal gets a line that runs past it, not a folded name."""
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update(width=100_000), table).maximum
    if natural <= console.width:
        console.print(table)
        return
    wide = _console(natural, console.color_system is not None)
    wide.print(table)
    console.file.write(_captured(wide))


def _first_place(requirement: Requirement) -> str:
    if not requirement.via:
        return ""
    via = requirement.via[0]
    more = len(requirement.via) - 1
    kind = "" if via.kind is Kind.MODULE else f" ({via.kind.value.replace('_', '-')})"
    return place(via) + kind + (f"  (+{more} more)" if more else "")


def _requirement_table(title: str, requirements: tuple[Requirement, ...]):  # type: ignore[no-untyped-def]
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(title), title_justify="left", show_edge=False, pad_edge=False)
    features = any(r.features for r in requirements)
    for column in ("distribution", "version", "first imported at", *(("installed by",) if features else ())):
        table.add_column(column, no_wrap=True, overflow="ignore")
    for requirement in requirements:
        name = requirement.name + (f"[{','.join(requirement.extras)}]" if requirement.extras else "")
        row = [escape(name), escape(requirement.version or "not locked"), escape(_first_place(requirement))]
        table.add_row(*row, *((escape(" or ".join(requirement.features)),) if features else ()))
    return table


def closure_text(closure: Closure, width: int = 80, color: bool = False) -> str:
    from rich.markup import escape

    console = _console(width, color)
    target = closure.target
    console.print(
        f"[bold]depmin closure[/] {escape(' '.join(closure.entries))}  "
        f"(Python {target.python_version}, {closure.platform_names})"
    )
    data = f" and {plural(len(closure.package_data), 'package data file')}" if closure.package_data else ""
    modules = plural(len(closure.modules), "module")
    console.print(f"{modules} in {plural(len(closure.files), 'file')}{data}; COPY:", markup=False)
    for copy in closure.copy:
        destination = "" if copy.source == copy.destination else f"  ->  {copy.destination}"
        console.print(f"  {copy.source}{destination}", markup=False, overflow="ignore", crop=False)
    console.print()
    _print_table(console, _requirement_table(plural(len(closure.direct), "direct distribution"), closure.direct))
    console.print()
    pinned = plural(len(closure.pinned), "distribution")
    console.print(f"{pinned} pinned from uv.lock (direct and transitive)")
    if closure.optional:
        console.print()
        _print_table(
            console, _requirement_table("optional (guarded imports and features, not installed)", closure.optional)
        )
    if closure.type_only:
        console.print()
        _print_table(console, _requirement_table("type-only (TYPE_CHECKING, not installed)", closure.type_only))
    if closure.ignored:
        console.print()
        console.print(f"{plural(len(closure.ignored), 'ignored import')} (not followed, not installed)")
        for item in closure.ignored:
            console.print(f"  {item.file}:{item.line}  {item.name}  [{item.reason}]", markup=False, crop=False)
    if closure.warnings:
        console.print()
        console.print(f"[yellow]{plural(len(closure.warnings), 'warning')}[/]")
        for line in diagnostic_lines(closure.warnings, width - 2):
            console.print("  " + line.replace("\n", "\n  "), markup=False)
    if closure.errors:
        console.print(f"[red]{plural(len(closure.errors), 'error')}[/] (listed on stderr)")
    return _captured(console)


# -- why and audit ------------------------------------------------------------------------

_KIND_TAGS = {
    Kind.LAZY: "lazy",
    Kind.ATTRIBUTE: "lazy attribute",
    Kind.DYNAMIC: "dynamic",
    Kind.TYPE_CHECKING: "type-only",
}

_REACH_WORDS = {
    Reach.REQUIRED: "is needed",
    Reach.OPTIONAL: "is imported only optionally (a guarded import; not installed)",
    Reach.TYPE_ONLY: "is imported only for type checking (never at run time; not installed)",
}


def chain_lines(chain: Chain) -> list[str]:
    """One hop per line: `path:line  statement  [tags]`, then `a 1.0 -> b 2.0` through the lock."""
    lines = []
    for via in chain.imports:
        tags = [] if via.kind is Kind.MODULE else [_KIND_TAGS[via.kind]]
        if via.guarded:
            tags.append("optional")
        lines.append(f"{place(via)}  {via.statement}" + (f"  [{', '.join(tags)}]" if tags else ""))
    if chain.lock:
        lines.append(" -> ".join(f"{hop.name} {hop.version}" for hop in chain.lock))
    return lines


def explanation_text(explanation: Explanation, where: str) -> str:
    if explanation.reach is Reach.UNREACHABLE:
        return f"{explanation.name} is not reachable from {where}\n"
    lines = [f"{explanation.name} {_REACH_WORDS[explanation.reach]} by {where}:"]
    for number, chain in enumerate(explanation.chains, 1):
        if len(explanation.chains) > 1:
            lines.append(f"chain {number}:")
        lines.extend(f"  {line}" for line in chain_lines(chain))
    return "\n".join(lines) + "\n"


def audit_text(audit: TargetAudit, width: int = 80) -> str:
    lines = []
    for group in audit.result.groups:
        lines.append(wrapped(f"{audit.subject}: {group_message(group)}:", width, "    "))
        for chain in group.lead.chains[:1]:
            lines.extend(f"  {line}" for line in chain_lines(chain))
    for note in audit.result.notes:
        how = "only optionally" if note.reach is Reach.OPTIONAL else "only for type checking"
        message = f"{audit.subject}: note: forbidden {note.name} is imported {how}; not installed, not a violation"
        lines.append(wrapped(message, width, "    "))
        for chain in note.chains[:1]:
            lines.extend(f"  {line}" for line in chain_lines(chain))
    if not audit.result.violations:
        lines.append(f"{audit.subject}: ok, none of {', '.join(audit.forbid)} is reachable")
    return "\n".join(lines) + "\n"


# -- verify -------------------------------------------------------------------------------


def verify_text(result: VerifyResult) -> str:
    """Failures first, then the failures the analysis predicted (notes, which never fail the verdict)."""
    lines = []
    failures = [o for o in result.outcomes if o.counts_as_failure]
    notes = [o for o in result.outcomes if o.expected]
    for outcome in (*failures, *notes):
        prefix = f"note ({outcome.kind}): " if outcome.expected else ""
        code = f" [{outcome.code}]" if outcome.code else ""
        lines.append(f"{prefix}{outcome.module}: {outcome.message}{code}")
        if outcome.phase == "entry":
            lines.append("    an entry: this is how it fails imported alone, as the program starts")
        if outcome.hint:
            lines.append(f"    {outcome.hint}")
    if result.smoke is not None:
        lines.append(f"smoke `{result.smoke.command}`: {'ok' if result.smoke.ok else 'FAILED'}")
        lines.extend(f"    {line}" for line in result.smoke.output.splitlines())
    imported = sum(o.ok for o in result.outcomes)
    verdict = "verified" if result.ok else "FAILED"
    installed = plural(len(result.installed), "installed distribution")
    summary = f"{verdict}: {imported}/{plural(len(result.outcomes), 'module')} import with {installed}"
    if notes:
        summary += f" ({plural(len(notes), 'expected failure')}: notes above)"
    lines.append(summary)
    return "\n".join(lines) + "\n"


# -- check --------------------------------------------------------------------------------


def check_text(check: TargetCheck, width: int = 80, diff: bool = True) -> str:
    parts = [line + "\n" for line in diagnostic_lines(check.errors, width)]
    for file in check.files:
        if file.state is State.MISSING:
            parts.append(f"{file.path}: missing; run `{sync_command(check.name)}`\n")
        elif file.state is State.STALE:
            parts.append(f"{file.path}: stale; run `{sync_command(check.name)}`\n")
            if diff:
                lines = difflib.unified_diff(
                    (file.current or "").splitlines(keepends=True),
                    file.expected.splitlines(keepends=True),
                    f"a/{file.path}",
                    f"b/{file.path}",
                )
                parts.append("".join(lines))
    if check.target_audit is not None:
        parts.append(audit_text(check.target_audit, width))
    return "".join(parts)


# -- report -------------------------------------------------------------------------------


def report_text(report: SizeReport, width: int = 80, color: bool = False) -> str:
    from rich.markup import escape
    from rich.table import Table

    console = _console(width, color)
    table = Table(title=escape(report.title), title_justify="left", show_edge=False, pad_edge=False)
    for column, justify in (("metric", "left"), ("whole project", "right"), ("target", "right"), ("saved", "right")):
        table.add_column(column, justify=justify, no_wrap=True, overflow="ignore")  # type: ignore[arg-type]
    for row in report.rows:
        table.add_row(
            escape(row.metric), row_value(row, row.whole), row_value(row, row.target), f"{row.saved_percent:.0f}%"
        )
    _print_table(console, table)
    console.print()
    heavy = Table(
        title="largest distributions of the whole project", title_justify="left", show_edge=False, pad_edge=False
    )
    for column in ("distribution", "size", "in target"):
        heavy.add_column(column, no_wrap=True, overflow="ignore")
    for item in report.largest:
        heavy.add_row(
            escape(f"{item.pin.name} {item.pin.version}"), human_bytes(item.size), "yes" if item.in_target else "no"
        )
    _print_table(console, heavy)
    return _captured(console)


# -- plan ---------------------------------------------------------------------------------


def plan_text(fleet: FleetPlan, width: int = 80, color: bool = False) -> str:
    from rich.markup import escape
    from rich.table import Table

    console = _console(width, color)
    footprint = fleet.footprint
    shared = "every target pins" if fleet.shared_by == len(fleet.targets) else f"at least {fleet.shared_by} targets pin"
    console.print(
        f"base: {plural(len(fleet.base), 'distribution')} that {shared}, {human_bytes(footprint.base_size)}",
        markup=False,
    )
    table = Table(show_edge=False, pad_edge=False)
    columns = ("target", "pins", "delta", "extra", "alone", "on the base", "pull (base cached)")
    for column in columns:
        table.add_column(column, justify="left" if column == "target" else "right", no_wrap=True, overflow="ignore")
    for item in fleet.targets:
        table.add_row(escape(item.name), str(len(item.pinned)), str(len(item.delta)), str(len(item.extra)),
                      human_bytes(item.size), human_bytes(item.image_size), human_bytes(item.delta_size))  # fmt: skip
    _print_table(console, table)
    console.print()
    images = plural(len(fleet.targets), "image")
    console.print(f"{images} without a base: {human_bytes(footprint.without_base)} (each carries its own copy)")
    console.print(
        f"{images} on the shared base: {human_bytes(footprint.with_base)} (the base once, plus every delta): "
        f"{footprint.saved_percent:.0f}% less"
    )
    if fleet.unknown_sizes:
        console.print(f"sizes unknown (the lock records none): {', '.join(fleet.unknown_sizes)}", markup=False)
    return _captured(console)


# -- trim ---------------------------------------------------------------------------------


def trim_text(result: TrimResult, width: int = 80) -> str:
    """The ranked cuts: bytes, distributions, the chain; then what cannot be deferred, and why."""
    lines = []
    if result.forbid:
        now = ", ".join(result.reachable_forbidden) or "none"
        lines.append(wrapped(f"{result.subject}: forbidden and reachable now: {now}", width, "    "))
    if result.forbid and not result.reachable_forbidden:
        lines.append(f"{result.subject}: none of {', '.join(result.forbid)} is reachable; --apply has nothing to do")
    if not result.cuts and not result.blocked and not result.start_only:
        lines.append(f"{result.subject}: no import statement can be deferred to take anything out of the image")
    for number, cut in enumerate(result.cuts, 1):
        names = ", ".join(p.name for p in cut.freed)
        share = f" ({100 * cut.size / result.image_size:.0f}% of the image)" if result.image_size else ""
        head = (
            f"{number}. {cut.place} {cut.statement}  [{cut.shape}]: frees {human_bytes(cut.size)}{share}, "
            f"{plural(len(cut.freed), 'distribution')}: {names}"
        )
        lines.append(wrapped(head, width, "     "))
        lines.extend(f"     {line}" for line in _cut_chain(cut))
    if result.start_only:
        lines.append("used only inside functions (imported later, the image keeps it):")
        for cut in result.start_only:
            lines.append(wrapped(f"  {cut.place} {cut.statement}: {', '.join(cut.at_start)} no longer at start", width))
    if result.blocked:
        lines.append("cannot be deferred safely:")
        for cut in result.blocked:
            text = f"  {cut.place} {cut.statement} (would free {human_bytes(cut.size)}): {cut.reason}: {cut.detail}"
            lines.append(wrapped(text, width, "      "))
    if result.forbid and result.reachable_forbidden and not result.cuts:
        lines.append(f"{result.subject}: no single deferrable import makes the forbidden distributions unreachable")
    return "\n".join(lines) + "\n"


def _cut_chain(cut: TrimCut) -> list[str]:
    return chain_lines(Chain(cut.chain, ()))


def applied_text(applied: Applied) -> str:
    return applied.diff if applied.changed else f"{applied.path}: already deferred, nothing changed\n"


def trim_hint(cut: TrimCut, command: str) -> str:
    """The line `why` and `report` add when one deferred import would take much out of the image."""
    return f"{human_bytes(cut.size)} of this image comes through {cut.place}; run `{command}`\n"
