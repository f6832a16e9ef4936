"""Closure → the COPY list: one `source [destination]` per line, for scripts that build images."""

from __future__ import annotations

from depmin.files.safety import checked_lines, is_plain_path, require
from depmin.model import Closure


def copy_list_text(closure: Closure) -> str:
    for copy in closure.copy:
        for path in (copy.source, copy.destination):
            require(is_plain_path(path.rstrip("/") or ".") and " " not in path, "copy-list path", path)
    lines = [f"{c.source}" if c.source == c.destination else f"{c.source} {c.destination}" for c in closure.copy]
    return checked_lines("\n".join(lines) + "\n" if lines else "", "copy list")
