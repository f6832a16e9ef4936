"""Results → the findings CI shows on the code (github, sarif): Diagnostics with their codes.

An audit violation is reported once per cause, at the import that brings it in; a stale or
missing generated file at the file itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from depmin.errors import Code, Diagnostic, Severity
from depmin.model import Closure
from depmin.outputs.generated import sync_command
from depmin.outputs.words import plural
from depmin.usecases.explain import TargetAudit, ViolationGroup
from depmin.usecases.freshness import State, TargetCheck


def _listed(names: Sequence[str], shown: int = 4) -> str:
    return ", ".join(names[:shown]) + (", ..." if len(names) > shown else "")


def group_message(group: ViolationGroup) -> str:
    """`forbidden torch is reachable, and 16 forbidden distributions it pulls in (nvidia-..., ...)`."""
    if group.cause_forbidden:
        more = group.pulled_in
        if not more:
            return f"forbidden {group.cause} is reachable"
        counted = plural(len(more), "forbidden distribution")
        return f"forbidden {group.cause} is reachable, and {counted} it pulls in ({_listed(more)})"
    counted = plural(len(group.members), "forbidden distribution")
    return f"{counted} ({_listed(group.members)}) reachable through {group.cause}"


def closure_findings(closure: Closure) -> list[Diagnostic]:
    return [*closure.errors, *closure.warnings]


def audit_findings(audits: Iterable[TargetAudit]) -> list[Diagnostic]:
    found = []
    for audit in audits:
        for group in audit.result.groups:
            chain = group.lead.chains[0] if group.lead.chains else None
            first = chain.imports[-1] if chain and chain.imports else None
            path, line = (first.file, first.line) if first else ("", 0)
            found.append(
                Diagnostic(path, line, f"{audit.subject}: {group_message(group)}", Severity.ERROR, Code.FORBIDDEN)
            )
    return found


def check_findings(checks: Iterable[TargetCheck]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for check in checks:
        found.extend(check.errors)
        for file in check.files:
            if file.state is State.MISSING:
                message = f"missing: run `{sync_command(check.name)}`"
                found.append(Diagnostic(file.path, 0, message, Severity.ERROR, Code.MISSING_OUTPUT))
            elif file.state is State.STALE:
                message = f"stale: run `{sync_command(check.name)}`"
                found.append(Diagnostic(file.path, 0, message, Severity.ERROR, Code.STALE_OUTPUT))
        if check.target_audit is not None:
            found.extend(audit_findings([check.target_audit]))
    return found
