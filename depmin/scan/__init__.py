"""Source text → ImportRecords. Pure: no file system, never imports or runs the code.

Two adapters translate a parser's tree into one neutral form (depmin.scan.ir), and
one semantic core (depmin.scan.core) decides what each import commits, for the target
(depmin.scan.evaluate decides the conditions). The interpreter's own `ast` parser is
the fast path; LibCST is the parser of record, used for every file `ast` cannot parse
(newer syntax than the running interpreter knows, broken files), and a differential
test proves that both return identical results.
"""

from __future__ import annotations

import ast
import os
import pickle
import re
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from depmin import SCANNER_VERSION  # kept beside __version__ (see there)
from depmin.model import ImportRecord, Kind, Target
from depmin.scan import from_ast, ir
from depmin.scan.core import Problem, ScanResult, collect

__all__ = ["SCANNER_VERSION", "Problem", "ScanResult", "describe", "scan_source", "scan_source_cst"]


# CPython refuses these outright; LibCST's native parser may overflow its stack on them.
_TOO_DEEP = ("too many nested parentheses", "too many statically nested blocks")
# Deeply nested (generated) expressions are valid Python: translate them without a RecursionError.
_RECURSION_LIMIT = 20_000


_PRAGMA = re.compile(rb"#\s*depmin:\s*ignore(?:\[[\w\s,-]*\])?(?:\s|$)")


def pragma_lines(source: bytes) -> frozenset[int]:
    """Lines with a `# depmin: ignore` (or `# depmin: ignore[code, ...]`) comment.

    A comment is only recognised as the text after a `#` on the line; a string that holds the
    same words is taken for the pragma too, which can only make depmin skip that line's import.
    """
    if b"depmin:" not in source:
        return frozenset()
    return frozenset(number for number, line in enumerate(source.splitlines(), 1) if _PRAGMA.search(line))


_CALL_WORDS = (
    b"import_module",
    b"__import__",
    b"uvicorn",
    b"resolve_name",
    b"Celery",
    b"autodiscover_tasks",
    b"dictConfig",
    b".form(",
    b"entry_points",
    b"lazy_loader",
    b"iter_modules",
    b"walk_packages",
    b"exec(",
    b"eval(",
    b"create_engine",
    b"create_async_engine",
)


def calls_can_import(source: bytes) -> bool:
    """Without these words, no expression in the file can import anything (or use a feature)."""
    return any(word in source for word in _CALL_WORDS)


# Above this size a syntax tree costs gigabytes (a 10 MB literal list: 1.6 GB, seconds to build
# and more to walk): such a file's imports are read from the token stream instead (scan.large).
LARGE_SOURCE = 4_000_000


def scan_source(source: bytes, target: Target) -> ScanResult:
    """Every import in `source`, as the target interpreter would see it."""
    if not source.strip():  # an empty __init__.py: nothing to parse, nothing to report
        return ScanResult(records=())
    if len(source) > LARGE_SOURCE:
        from depmin.scan.large import scan_large

        return scan_large(source, LARGE_SOURCE)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if exc.msg in _TOO_DEEP:
            return ScanResult((), (Problem(exc.lineno or 1, f"syntax error: {exc.msg}", True),))
        return _contained(scan_source_cst, source, target)
    except (ValueError, UnicodeDecodeError, LookupError):
        return _contained(scan_source_cst, source, target)  # NUL bytes, bad encodings: LibCST words the error
    except RecursionError:
        return _too_deep()
    except MemoryError:
        return _too_large()
    return _collect(lambda calls: from_ast.translate(tree, calls=calls), source, target)


def scan_source_cst(source: bytes, target: Target) -> ScanResult:
    """The parser of record: LibCST, whatever the running interpreter's grammar."""
    return scan_source_cst_each(source, (target,))[0]


def scan_source_cst_each(source: bytes, targets: tuple[Target, ...]) -> tuple[ScanResult, ...]:
    """scan_source_cst for each target, from one parse (LibCST's parse is the expensive part)."""
    import libcst as cst

    from depmin.scan import from_cst

    try:
        wrapper = from_cst.parse(source)
    except cst.ParserSyntaxError as exc:
        line, message = _syntax_error(source, exc)
        return (ScanResult((), (Problem(line, f"syntax error: {message}", True),)),) * len(targets)
    except (UnicodeDecodeError, LookupError, SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None) or 1
        failed = ScanResult((), (Problem(line, f"cannot decode source: {_first_line(str(exc))}", True),))
        return (failed,) * len(targets)
    except RecursionError:
        return (_too_deep(),) * len(targets)
    except MemoryError:
        return (_too_large(),) * len(targets)
    return _collect_each(lambda calls: from_cst.translate(wrapper, calls=calls), source, targets)


def _collect(translate: Callable[[bool], ir.Module], source: bytes, target: Target) -> ScanResult:
    """One parser's translation of `source`, read by the semantic core."""
    return _collect_each(translate, source, (target,))[0]


def _collect_each(
    translate: Callable[[bool], ir.Module], source: bytes, targets: tuple[Target, ...]
) -> tuple[ScanResult, ...]:
    """One translation, read by the semantic core once per target."""
    calls = calls_can_import(source)
    pragmas = pragma_lines(source)
    try:
        with _deep_recursion():
            module = translate(calls)
            return tuple(collect(module, target, calls=calls, pragma_lines=pragmas) for target in targets)
    except RecursionError:
        return (_too_deep(),) * len(targets)
    except MemoryError:
        return (_too_large(),) * len(targets)


def scan_with_ast(source: bytes, target: Target) -> ScanResult | None:
    """The fast path alone, or None where `ast` cannot parse (scan_source then asks LibCST)."""
    each = scan_with_ast_each(source, (target,))
    return each[0] if each is not None else None


def scan_with_ast_each(source: bytes, targets: tuple[Target, ...]) -> tuple[ScanResult, ...] | None:
    """scan_with_ast for each target, from one parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, UnicodeDecodeError, LookupError, RecursionError, MemoryError):
        return None
    return _collect_each(lambda calls: from_ast.translate(tree, calls=calls), source, targets)


# LibCST's native parser can overflow its stack on deep nesting (a segfault) and needs memory
# growing with the square of some inputs: the fallback runs in a forked child with limits.
_FALLBACK_SECONDS = 60
_FALLBACK_MEMORY = 4 * 1024**3


def _contained(scan: Callable[[bytes, Target], ScanResult], source: bytes, target: Target) -> ScanResult:
    """`scan(source, target)` in a forked child under a time and memory limit (where fork exists);
    a child that dies, runs out of memory or time gives one fatal problem instead of a crash."""
    if not hasattr(os, "fork") or _IN_CHILD:
        return scan(source, target)
    import libcst  # noqa: F401 - imported once here, so every child starts with it loaded

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: limit itself, scan, send the pickled result, never return
        try:
            os.close(read)
            _limit_child()
            try:
                result = scan(source, target)
            except MemoryError:
                result = _too_large()
            data = pickle.dumps(result)
            with os.fdopen(write, "wb") as channel:
                channel.write(data)
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as channel:
        data = channel.read()
    _, status = os.waitpid(pid, 0)
    if data:
        try:
            return pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, AttributeError):
            pass
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM:
        return ScanResult((), (Problem(1, f"too large to analyse: parsing took over {_FALLBACK_SECONDS} s", True),))
    return ScanResult((), (Problem(1, "too deeply nested to analyse (the parser crashed)", True),))


_IN_CHILD = False


def _limit_child() -> None:
    global _IN_CHILD
    _IN_CHILD = True
    import resource

    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(_FALLBACK_SECONDS)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (_FALLBACK_MEMORY, _FALLBACK_MEMORY))
    except (ValueError, OSError):
        pass  # already lower: keep it


def _too_large() -> ScanResult:
    return ScanResult((), (Problem(1, "too large to analyse within the memory available", True),))


def _too_deep() -> ScanResult:
    return ScanResult((), (Problem(1, "syntax error: too deeply nested to parse", True),))


@contextmanager
def _deep_recursion() -> Iterator[None]:
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _syntax_error(source: bytes, exc: Exception) -> tuple[int, str]:
    """CPython's wording and line where it agrees the file is broken; LibCST's otherwise.

    ast.parse only parses (nothing runs); it is asked because its messages say what is
    wrong ("'(' was never closed") where LibCST's say what it expected next.
    """
    try:
        ast.parse(source)
    except SyntaxError as python_error:
        if python_error.lineno:
            return python_error.lineno, python_error.msg
    except (ValueError, MemoryError, RecursionError):
        pass
    return getattr(exc, "raw_line", 1), _first_line(getattr(exc, "message", str(exc)))


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0]


def describe(record: ImportRecord) -> str:
    """The import as one canonical line of Python, for explanations."""
    dots = "." * record.level
    if record.kind is Kind.DYNAMIC:
        name = f"{dots}{record.target}"
        if record.anchor is not None:
            return f"importlib.import_module({name!r}, package={record.anchor!r})"
        if record.names:
            return f"__import__({name!r}, fromlist={list(record.names)!r})"
        return f"importlib.import_module({name!r})"
    if record.names[:1] == ("*",):
        return f"from {dots}{record.target} import *"
    if record.names:
        return f"from {dots}{record.target} import {', '.join(record.names)}"
    return f"import {record.target}"
