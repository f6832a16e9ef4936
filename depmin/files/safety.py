"""What may reach a generated file: every value from uv.lock, pyproject.toml or a file name is
untrusted (depmin runs on pull requests), so it is checked here before any writer sees it.

Each check answers a yes/no question; callers turn a no into an error at the value's place.
Nothing is ever stripped or escaped into something else and used anyway.
"""

from __future__ import annotations

import re
import unicodedata

from packaging.version import InvalidVersion, Version

from depmin.errors import UnsafeOutput

# PEP 508 names; PEP 685 / 503 normalised extras follow the same shape.
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_HASH = re.compile(r"^[a-z0-9]+:[0-9a-f]+$")
# Characters a path may hold to be written into a Dockerfile, a .dockerignore, a copy list or a
# requirements comment as it is: no quoting, variable ($) or glob (* ? [ ]) meaning anywhere.
_PATH_PUNCTUATION = frozenset("._/@+=,- ")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
_SERVICE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]*")  # a compose service name, as the specification allows


def breaks_line(text: str) -> bool:
    """True when `text` holds anything a line-based format (requirements, Dockerfile, pip's own
    splitlines, which also splits on U+2028, U+2029 and U+0085) would read as a line break or
    that a terminal would interpret: control characters, line and paragraph separators."""
    if text.isascii():  # ASCII has no Cf, Zl or Zp characters: only the C0 controls and DEL
        return _ASCII_CONTROL.search(text) is not None
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def is_distribution_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


def is_version(text: str) -> bool:
    if breaks_line(text) or text != text.strip():
        return False
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def is_hash(text: str) -> bool:
    return _HASH.fullmatch(text) is not None


def is_plain_path(text: str) -> bool:
    """A repository path that can be written into any generated file without quoting."""
    if not text or text != text.strip() or text.startswith(("-", "#", "!")):
        return False
    return all(ch.isalnum() or ch in _PATH_PUNCTUATION for ch in text) and not breaks_line(text)


def is_service_name(text: str) -> bool:
    return _SERVICE.fullmatch(text) is not None


def is_entry(text: str) -> bool:
    """An entry as the command line and the configuration take it: a plain path, a dotted module,
    or `module:attribute` as uvicorn and [project.scripts] name one (`pkg.app:app`)."""
    module, colon, attribute = text.partition(":")
    if colon:
        return all(part.isidentifier() for part in (*module.split("."), *attribute.split(".")))
    return is_plain_path(text)


def is_plain_metadata(text: str) -> bool:
    """A metadata line that a single-quoted shell word carries as it is."""
    return "'" not in text and "\\" not in text and not breaks_line(text)


def is_image_reference(text: str) -> bool:
    return _IMAGE.fullmatch(text) is not None


def require(ok: bool, what: str, value: str) -> None:
    if not ok:
        raise UnsafeOutput(f"{what} {value!r} cannot be written safely (control characters, quotes, $ or globs)")


def checked_lines(text: str, what: str) -> str:
    """The backstop of every writer: no generated line holds a character that splits or hides lines."""
    for line in text.split("\n"):
        if breaks_line(line):
            raise UnsafeOutput(f"{what}: a generated line holds a control character or line separator: {line!r}")
    return text


# An SGR sequence (colour) as rich writes it; every other escape sequence is shown, not sent.
_SGR = re.compile(r"\x1b\[[0-9;]*m")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def for_terminal(text: str, *, colored: bool = False, json_text: bool = False) -> str:
    """Text as it may reach a terminal or a CI log: control characters other than newline and
    tab are shown as escapes (no OSC title, no cursor movement, no hidden bidi text), and no line
    is one GitHub's runner takes for a workflow command: none begins with `::` (after spaces)
    and none holds `##[`. `colored` keeps depmin's own colour sequences; `json_text` escapes
    `##[` the JSON way (the value is unchanged)."""
    if text.isascii() and "\x1b" not in text and "::" not in text and "##[" not in text:
        if _CONTROL.search(text) is None:
            return text
    if colored:
        pieces, last = [], 0
        for match in _SGR.finditer(text):
            pieces += [_escaped(text[last : match.start()]), match.group(0)]
            last = match.end()
        work = "".join([*pieces, _escaped(text[last:])])
    else:
        work = _escaped(text)
    lines = []
    for line in work.split("\n"):
        line = line.replace("##[", "##\\u005b" if json_text else "##\\[")
        if line.lstrip().startswith("::"):
            line = "\\" + line.lstrip() if not json_text else line
        lines.append(line)
    return "\n".join(lines)


def _escaped(text: str) -> str:
    return _CONTROL.sub(lambda match: _escape(match.group(0)), text)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# PEP 751: `pylock.toml`, or `pylock.<name>.toml` with a name of letters, digits, `_` and `-`
_PYLOCK_NAME = re.compile(r"pylock(\.[A-Za-z0-9_-]+)?\.toml")


def is_pylock_name(file_name: str) -> bool:
    """A PEP 751 lock file's name: pins written there are written as a pylock."""
    return _PYLOCK_NAME.fullmatch(file_name) is not None
