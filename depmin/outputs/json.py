"""Every result type as one JSON object: what `--json` / `--format json` prints."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from depmin.errors import Diagnostic
from depmin.model import Closure, Pin, Reach, Requirement
from depmin.usecases.explain import Explanation, TargetAudit
from depmin.usecases.freshness import TargetCheck

if TYPE_CHECKING:
    from depmin.usecases.fleet import FleetPlan
    from depmin.usecases.size_report import SizeReport
    from depmin.usecases.trim import Applied, Cut, TrimResult
    from depmin.usecases.verify import VerifyResult


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "file": diagnostic.path,
        "line": diagnostic.line,
        "code": diagnostic.code,
        "severity": diagnostic.severity.value,
        "message": diagnostic.message,
    }


def failure_json(diagnostics: Iterable[Diagnostic]) -> dict[str, Any]:
    """No answer: the analysis (or the environment) failed."""
    return {"ok": False, "errors": [diagnostic_json(d) for d in diagnostics]}


def closure_json(closure: Closure) -> dict[str, Any]:
    return {
        "entries": list(closure.entries),
        "python": closure.target.python_version,
        "platform": closure.target.platform.name,
        "platforms": [p.name for p in closure.platforms] or [closure.target.platform.name],
        "source_roots": list(closure.source_roots),
        "modules": list(closure.modules),
        "named_imports": list(closure.named_imports),
        "files": list(closure.files),
        "data": list(closure.package_data),
        "copy": [c.source for c in closure.copy],
        "copy_destinations": {c.source: c.destination for c in closure.copy if c.source != c.destination},
        "direct": [_requirement_json(r) for r in closure.direct],
        "optional": [_requirement_json(r) for r in closure.optional],
        "type_only": [_requirement_json(r) for r in closure.type_only],
        "pinned": [{"name": p.name, "version": p.version, "marker": p.marker} for p in closure.pinned],
        "ignored": [{"name": i.name, "file": i.file, "line": i.line, "reason": i.reason} for i in closure.ignored],
        "warnings": [diagnostic_json(d) for d in closure.warnings],
        "errors": [diagnostic_json(d) for d in closure.errors],
    }


def _requirement_json(requirement: Requirement) -> dict[str, Any]:
    return {
        "name": requirement.name,
        "version": requirement.version,
        "extras": list(requirement.extras),
        "features": list(requirement.features),
        "via": [
            {"file": v.file, "line": v.line, "module": v.module, "kind": v.kind.value, "guarded": v.guarded}
            for v in requirement.via
        ],
    }


def explanation_json(explanation: Explanation) -> dict[str, Any]:
    return {
        "name": explanation.name,
        "kind": explanation.kind,
        "reach": explanation.reach.value,
        "reachable": explanation.reach is not Reach.UNREACHABLE,
        "chains": [
            {
                "imports": [
                    {
                        "file": v.file,
                        "line": v.line,
                        "module": v.module,
                        "statement": v.statement,
                        "kind": v.kind.value,
                        "guarded": v.guarded,
                    }
                    for v in chain.imports
                ],
                "lock": [{"name": hop.name, "version": hop.version} for hop in chain.lock],
            }
            for chain in explanation.chains
        ],
    }


def audit_json(audits: Sequence[TargetAudit]) -> dict[str, Any]:
    return {"ok": not any(a.result.violations for a in audits), "audits": [_one_audit_json(a) for a in audits]}


def _one_audit_json(audit: TargetAudit) -> dict[str, Any]:
    return {
        "target": audit.target,
        "entries": list(audit.entries),
        "forbid": list(audit.forbid),
        "ok": not audit.result.violations,
        "violations": [explanation_json(e) for e in audit.result.violations],
        "causes": [
            {"cause": g.cause, "forbidden": list(g.members), "chain": explanation_json(g.lead)["chains"][:1]}
            for g in audit.result.groups
        ],
        "notes": [explanation_json(e) for e in audit.result.notes],
        "unmatched_patterns": list(audit.result.unmatched),
    }


def verify_json(result: VerifyResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ok": result.ok,
        "tree": str(result.tree) if result.kept else None,
        "installed": list(result.installed),
        "modules": [
            {
                "module": o.module,
                "ok": o.ok,
                "optional": o.optional,
                "expected": o.expected,
                "entry": o.entry,
                "phase": o.phase,
                "kind": o.kind,
                "code": o.code,
                "message": o.message,
                "hint": o.hint,
            }
            for o in result.outcomes
        ],
        "smoke": None
        if result.smoke is None
        else {"command": result.smoke.command, "ok": result.smoke.ok, "output": result.smoke.output},
    }
    if result.image is not None:
        data["image"] = {"engine": result.image[0], "base": result.image[1]}
    return data


def report_json(report: SizeReport) -> dict[str, Any]:
    return {
        "subject": report.subject,
        "python": report.target.python_version,
        "platform": report.target.platform.name,
        "rows": [
            {"metric": r.metric, "whole": r.whole, "target": r.target, "saved_percent": round(r.saved_percent, 1)}
            for r in report.rows
        ],
        "largest": [
            {"name": h.pin.name, "version": h.pin.version, "size": h.size, "in_target": h.in_target}
            for h in report.largest
        ],
        "unknown_sizes": list(report.unknown_sizes),
    }


def check_json(checks: Sequence[TargetCheck]) -> dict[str, Any]:
    return {
        "ok": all(c.ok for c in checks),
        "targets": [
            {
                "target": check.name,
                "ok": check.ok,
                "files": [{"path": f.path, "state": f.state.value} for f in check.files],
                "audit": None if check.target_audit is None else _one_audit_json(check.target_audit),
                "errors": [diagnostic_json(d) for d in check.errors],
            }
            for check in checks
        ],
    }


def sync_json(changes: Sequence[tuple[str, str]], dry_run: bool) -> dict[str, Any]:
    """(path, "wrote" | "unchanged" | "would write") for every generated file."""
    return {"ok": True, "dry_run": dry_run, "files": [{"path": p, "action": a} for p, a in changes]}


def plan_json(fleet: FleetPlan) -> dict[str, Any]:
    def pins(items: Iterable[Pin]) -> list[dict[str, Any]]:
        return [{"name": p.name, "version": p.version} for p in items]

    return {
        "shared_by": fleet.shared_by,
        "base": {"pinned": pins(fleet.base), "size": fleet.footprint.base_size},
        "targets": {
            t.name: {
                "pinned": pins(t.pinned),
                "delta": pins(t.delta),
                "extra": pins(t.extra),
                "copy": [c.source for c in t.copy],
                "data": list(t.data),
                "size": t.size,
                "image_size": t.image_size,
                "pull_size": t.delta_size,
            }
            for t in fleet.targets
        },
        "footprint": {
            "images": len(fleet.targets),
            "without_base": fleet.footprint.without_base,
            "with_base": fleet.footprint.with_base,
            "saved_percent": round(fleet.footprint.saved_percent, 1),
        },
        "unknown_sizes": list(fleet.unknown_sizes),
    }


def _cut_json(cut: Cut) -> dict[str, Any]:
    return {
        "file": cut.file,
        "line": cut.line,
        "module": cut.module,
        "statement": cut.statement,
        "imports": list(cut.targets),
        "shape": cut.shape or None,
        "names": list(cut.names),
        "deferrable": cut.deferrable,
        "reason": cut.reason or None,
        "detail": cut.detail or None,
        "bytes": cut.size,
        "distributions": [{"name": p.name, "version": p.version} for p in cut.freed],
        "unknown_sizes": list(cut.unknown_sizes),
        "forbidden": list(cut.forbidden),
        "at_start": list(cut.at_start),
        "chain": [
            {"file": v.file, "line": v.line, "module": v.module, "statement": v.statement, "kind": v.kind.value}
            for v in cut.chain
        ],
    }


def trim_json(
    result: TrimResult, applied: Applied | None = None, proof: dict[str, Any] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subject": result.subject,
        "forbid": list(result.forbid),
        "reachable_forbidden": list(result.reachable_forbidden),
        "image_bytes": result.image_size,
        "cuts": [_cut_json(c) for c in result.cuts],
        "start_only": [_cut_json(c) for c in result.start_only],
        "cannot_defer": [_cut_json(c) for c in result.blocked],
    }
    if applied is not None:
        data["applied"] = {"file": applied.path, "changed": applied.changed, "diff": applied.diff}
    if proof is not None:
        data["proof"] = proof
    return data
