"""--format: which renderer a command's result goes through."""

from __future__ import annotations

from collections.abc import Sequence

from depmin.errors import Diagnostic, UsageError


def resolve_format(output_format: str | None, as_json: bool) -> str:
    if as_json and output_format not in (None, "json"):
        raise UsageError(f"--json and --format {output_format} ask for two outputs; give one")
    return "json" if as_json else (output_format or "text")


def findings_output(chosen: str, findings: Sequence[Diagnostic]) -> str:
    """The findings as GitHub annotations or a SARIF log."""
    if chosen == "github":
        from depmin.outputs.github import github_text

        return github_text(findings)
    from depmin.outputs.json import dumps
    from depmin.outputs.sarif import sarif_log

    return dumps(sarif_log(findings))
