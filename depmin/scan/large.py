"""Very large sources (generated tables, vendored bundles): their import statements read from the
token stream, in memory that does not grow with the file.

A syntax tree of a 10 MB literal list takes gigabytes; the tokenizer streams. What this reader
cannot do is decide conditions, so it reads conservatively: every import statement counts, as
required, at module level unless it lies inside a `def` (then lazy); `TYPE_CHECKING` blocks and
handlers are not judged. The file is reported (DM202) so that nobody mistakes this for the
full analysis.
"""

from __future__ import annotations

import io
import tokenize
from collections.abc import Iterator

from depmin.model import ImportRecord, Kind
from depmin.scan.core import Problem, ScanResult


def scan_large(source: bytes, size_limit: int) -> ScanResult:
    records: list[ImportRecord] = []
    problems = [
        Problem(
            1,
            f"{len(source) // 1_000_000} MB: larger than depmin analyses in full ({size_limit // 1_000_000} MB); "
            "its import statements are read as required, conditions are not decided",
            False,
        )
    ]
    try:
        for record in _imports(source):
            records.append(record)
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError) as exc:
        line = getattr(exc, "lineno", None) or (exc.args[1][0] if len(exc.args) > 1 and exc.args[1] else 1)
        return ScanResult((), (Problem(int(line), f"syntax error: {exc.args[0] if exc.args else exc}", True),))
    return ScanResult(tuple(records), tuple(problems))


def _imports(source: bytes) -> Iterator[ImportRecord]:
    """Every `import ...` and `from ... import ...` statement, with its line and whether it lies
    inside a function."""
    tokens = tokenize.tokenize(io.BytesIO(source).readline)
    statement_start = True
    depth = 0  # indentation level
    function_depths: list[int] = []  # the indentation levels of the bodies of enclosing defs
    pending_def = False
    statement: list[tokenize.TokenInfo] = []
    for token in tokens:
        kind = token.type
        if kind == tokenize.INDENT:
            depth += 1
            if pending_def:
                function_depths.append(depth)
                pending_def = False
            continue
        if kind == tokenize.DEDENT:
            depth -= 1
            while function_depths and function_depths[-1] > depth:
                function_depths.pop()
            continue
        if kind in (tokenize.NEWLINE, tokenize.ENDMARKER) or (kind == tokenize.OP and token.string == ";"):
            if statement:
                yield from _record(statement, lazy=bool(function_depths))
            statement, statement_start = [], True
            continue
        if kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING):
            continue
        if statement_start:
            statement_start = False
            if kind == tokenize.NAME and token.string in ("def", "async"):
                pending_def = True
            if kind == tokenize.NAME and token.string in ("import", "from"):
                statement = [token]
            continue
        if statement:
            statement.append(token)


def _record(tokens: list[tokenize.TokenInfo], *, lazy: bool) -> Iterator[ImportRecord]:
    words = [t.string for t in tokens if t.type in (tokenize.NAME, tokenize.OP) and t.string not in "()"]
    line = tokens[0].start[0]
    kind = Kind.LAZY if lazy else Kind.MODULE
    if words[0] == "import":
        for part in " ".join(words[1:]).split(","):
            name = part.split(" as ")[0].replace(" ", "")
            if _dotted(name):
                yield ImportRecord(name, (), line, kind, False)
        return
    if "import" not in words:
        return
    at = words.index("import")
    module = "".join(words[1:at])
    level = len(module) - len(module.lstrip("."))
    module = module[level:]
    if module == "__future__" and not level:
        return
    names = tuple(part.split(" as ")[0].strip() for part in " ".join(words[at + 1 :]).split(",") if part.strip())
    if (module and not _dotted(module)) or not all(n == "*" or n.isidentifier() for n in names):
        return
    yield ImportRecord(module, names, line, kind, False, level)


def _dotted(name: str) -> bool:
    return bool(name) and all(part.isidentifier() for part in name.split("."))
