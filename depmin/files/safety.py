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
