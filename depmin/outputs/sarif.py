"""Findings as a SARIF 2.1.0 log, for code scanning (GitHub, GitLab, Azure DevOps).

One run, one rule per diagnostic code used (depmin.errors.Code gives its description);
results point at root-relative paths with `%SRCROOT%` as their base.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from depmin import __version__
from depmin.errors import Diagnostic, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_log(findings: Iterable[Diagnostic], base: Path | None = None) -> dict[str, Any]:
    """`base`: the directory the paths are relative to (the repository's top), given as the real
    `uri` of %SRCROOT% so that code scanning can place each result."""
    findings = list(findings)
    root: dict[str, Any] = {"description": {"text": "the repository root"}}
    if base is not None:
        root["uri"] = base.resolve().as_uri() + "/"
    codes = sorted({d.code for d in findings})
    rules = [{"id": code, "name": code, "shortDescription": {"text": code.description}} for code in codes]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "depmin",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": root},
                "results": [_result(d, codes.index(d.code)) for d in findings],
            }
        ],
    }


def _result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": "error" if diagnostic.severity is Severity.ERROR else "warning",
        "message": {"text": diagnostic.message},
    }
    if diagnostic.path:
        location: dict[str, Any] = {"artifactLocation": {"uri": quote(diagnostic.path), "uriBaseId": "%SRCROOT%"}}
        if diagnostic.line:
            location["region"] = {"startLine": diagnostic.line}
        result["locations"] = [{"physicalLocation": location}]
    return result
