"""pyproject.toml with a target table added (`depmin init`), every other byte untouched."""

from __future__ import annotations

import re
import tomllib

import tomli_w

from depmin.errors import UsageError


class InitError(UsageError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "pyproject.toml")


def add_target(
    text: str,
    name: str,
    entries: tuple[str, ...],
    *,
    data: tuple[str, ...] = (),
    forbid: tuple[str, ...] = (),
    force: bool = False,
) -> str:
    """`text` with a `[tool.depmin.targets.<name>]` table appended (or replacing the old one with force)."""
    try:
        existing = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(f"invalid TOML: {exc}") from None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise InitError(f"target name {name!r} may hold only letters, digits, '-' and '_'")
    targets = existing.get("tool", {}).get("depmin", {}).get("targets", {})
    if name in targets:
        if not force:
            raise InitError(f"target {name!r} already exists in [tool.depmin.targets]; pass --force to replace it")
        text = _remove_table(text, name)
    table: dict[str, object] = {"entries": list(entries)}
    if data:
        table["data"] = list(data)
    if forbid:
        table["forbid"] = list(forbid)
    table["requirements"] = f"requirements/{name}.txt"
    table["copy-list"] = f"requirements/{name}.copy"
    rendered = tomli_w.dumps({"tool": {"depmin": {"targets": {name: table}}}})
    # tomli-w writes the dotted header of the innermost table only, so appending it adds
    # exactly this table; every existing byte stays where it was.
    rendered = rendered[rendered.index("[tool.depmin.targets.") :]
    separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    result = f"{text}{separator}{rendered}"
    try:
        tomllib.loads(result)
    except tomllib.TOMLDecodeError as exc:
        raise InitError(
            f"cannot add the table without rewriting the file ({exc}); is [tool.depmin] written as an inline table?"
        ) from None
    return result


def _remove_table(text: str, name: str) -> str:
    lines = text.splitlines(keepends=True)
    header = re.compile(
        r"^\s*\[\s*tool\s*\.\s*depmin\s*\.\s*targets\s*\.\s*\"?" + re.escape(name) + r"\"?\s*\]\s*(#.*)?$"
    )
    start = next((i for i, line in enumerate(lines) if header.match(line.rstrip("\n"))), None)
    if start is None:
        raise InitError(
            f"target {name!r} is not written as its own [tool.depmin.targets.{name}] table; edit it by hand"
        )
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return "".join(lines[:start] + lines[end:]).rstrip("\n") + "\n"
