"""Findings as GitHub Actions workflow commands: `::error file=F,line=L,title=DM101::message`.

GitHub shows them on the pull request's diff. Values are escaped as the runner expects
(%, CR and LF in messages; also `:` and `,` in properties).
"""

from __future__ import annotations

from collections.abc import Iterable

from depmin.errors import Diagnostic, Severity


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic) -> str:
    level = "error" if diagnostic.severity is Severity.ERROR else "warning"
    properties = []
    if diagnostic.path:
        properties.append(f"file={_property(diagnostic.path)}")
        if diagnostic.line:
            properties.append(f"line={diagnostic.line}")
    properties.append(f"title={_property('depmin ' + diagnostic.code)}")
    return f"::{level} {','.join(properties)}::{_data(diagnostic.message)}"


def github_text(findings: Iterable[Diagnostic]) -> str:
    return "".join(annotation(d) + "\n" for d in findings)
