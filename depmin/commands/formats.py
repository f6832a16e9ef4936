"""--format: which renderer a command's result goes through."""

from __future__ import annotations

from depmin.errors import UsageError


def resolve_format(output_format: str | None, as_json: bool) -> str:
    if as_json and output_format not in (None, "json"):
        raise UsageError(f"--json and --format {output_format} ask for two outputs; give one")
    return "json" if as_json else (output_format or "text")
