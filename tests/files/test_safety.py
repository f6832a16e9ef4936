"""The safety predicates against what they name: Unicode's categories, the PEP 508 name and PEP
440 version grammars (packaging's), and the characters each format gives a meaning to."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.utils import InvalidName, canonicalize_name
from packaging.version import InvalidVersion, Version

from depmin.errors import UnsafeOutput
from depmin.files.safety import (
    breaks_line,
    checked_lines,
    for_terminal,
    is_distribution_name,
    is_entry,
    is_hash,
    is_image_reference,
    is_plain_metadata,
    is_plain_path,
    is_pylock_name,
    is_service_name,
    is_version,
)

_BREAKING = ("Cc", "Cf", "Zl", "Zp")
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_MIXED = st.one_of(_TEXT, st.text(st.sampled_from("ab/._- \t\n\r\x00\x1b\x7f\x85\u2028\u2029\u200b\u202e$*?[]'\\#!:"),
                                  max_size=10))  # fmt: skip


@given(_MIXED)
@example("a\u2028b")  # a line separator, which pip's splitlines splits on
@example("a\x85b")  # NEL: a C1 control
@example("a\u202eb")  # right-to-left override: Cf
@example("plain text")
def test_breaks_line_is_exactly_the_control_format_and_separator_categories(text):
    assert breaks_line(text) is any(unicodedata.category(ch) in _BREAKING for ch in text)


@given(_MIXED)
@example("ok\nline")
@example("fine")
def test_checked_lines_refuses_exactly_the_lines_that_break(text):
    bad = any(breaks_line(line) for line in text.split("\n"))
    if bad:
        with pytest.raises(UnsafeOutput):
            checked_lines(text, "x")
    else:
        assert checked_lines(text, "x") == text


_NAMEISH = st.text(st.sampled_from("aZ09._- +!~"), min_size=0, max_size=8)


@given(_NAMEISH)
@example("a")
@example("a-")
@example("-a")
@example("a.b_c-d")
def test_distribution_names_are_pep_508_names(text):
    try:
        canonicalize_name(text, validate=True)
        valid = True
    except InvalidName:
        valid = False
    assert is_distribution_name(text) is valid


@given(st.text(st.sampled_from("0123456789.abcrdevpost+-! \n"), max_size=10))
@example("1.0")
@example(" 1.0")
@example("1.0\n")
@example("1!2.0.post1.dev3+local")
def test_versions_are_pep_440_versions_without_surrounding_space(text):
    try:
        Version(text)
        valid = text == text.strip()
    except InvalidVersion:
        valid = False
    assert is_version(text) is valid


@given(_MIXED)
@example("sha256:0af")
@example("sha256:0AF")
@example("sha256:")
@example(":00")
def test_hashes_are_an_algorithm_and_lowercase_hex(text):
    assert is_hash(text) is bool(re.fullmatch(r"[a-z0-9]+:[0-9a-f]+", text))


_PATH_CHARACTERS = set("._/@+=,- ")


@given(_MIXED)
@example("ai/")
@example("a b/c.py")
@example("-rf")
@example("#x")
@example("!x")
@example(" a")
@example("a*")
@example("$HOME")
@example("é/ü.py")
@example("")
def test_plain_paths_hold_letters_digits_and_plain_punctuation_only(text):
    expected = (
        bool(text)
        and text == text.strip()
        and text[:1] not in ("-", "#", "!")
        and all(ch.isalnum() or ch in _PATH_CHARACTERS for ch in text)
        and not breaks_line(text)
    )
    assert is_plain_path(text) is expected


@given(_MIXED)
@example("pkg.app:app")
@example("pkg.app:")
@example(":app")
@example("ai/")
def test_entries_are_plain_paths_or_module_colon_attribute(text):
    module, colon, attribute = text.partition(":")
    if colon:
        expected = all(p.isidentifier() for p in module.split(".")) and all(
            p.isidentifier() for p in attribute.split(".")
        )
    else:
        expected = is_plain_path(text)
    assert is_entry(text) is expected


@given(_MIXED)
@example("it's")
@example("back\\slash")
@example("Name: x")
def test_plain_metadata_has_no_quote_backslash_or_break(text):
    assert is_plain_metadata(text) is ("'" not in text and "\\" not in text and not breaks_line(text))


@given(st.text(st.sampled_from("aZ0:/._@+-$ \n"), max_size=12))
@example("python:3.12-slim")
@example("localhost/depmin-python:3.12")
@example("-evil")
def test_image_references_and_service_names(text):
    assert is_image_reference(text) is bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*", text))
    assert is_service_name(text) is bool(re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]*", text))


@pytest.mark.parametrize(
    ("name", "pylock"),
    [("pylock.toml", True), ("pylock.a-b_1.toml", True), ("pylock..toml", False), ("pylock.a.b.toml", False),
     ("Pylock.toml", False), ("pylock.toml\n", False)],
)  # fmt: skip
def test_pylock_names(name, pylock):
    assert is_pylock_name(name) is pylock


@given(_MIXED)
@example("\x1b]0;title\x07")
@example("::set-output name=x::y")
@example("  ::warning::x")
@example("a ##[group] b")
@example("\u202eevil")
def test_terminal_text_sends_no_control_no_workflow_command(text):
    shown = for_terminal(text)
    for line in shown.split("\n"):
        assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") and ch != "\t" for ch in line)
        assert not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in line)
        assert not line.lstrip().startswith("::") and "##[" not in line
    if all(ch.isalnum() or ch in " ./-_" for ch in text):
        assert shown == text  # plain text is never changed


_SHOWN = set(range(0x00, 0x09)) | set(range(0x0B, 0x20)) | set(range(0x7F, 0xA0)) | {0x2028, 0x2029}
_SHOWN |= set(range(0x200B, 0x2010)) | set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A))


def _shown(text: str) -> str:
    return "".join((f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}") if ord(ch) in _SHOWN else ch
                   for ch in text)  # fmt: skip


@given(st.text(st.sampled_from("ab \t\n\x00\x07\x1b\x7f\x85\u2028\u202e\u2066\u200bé[m31;"), max_size=12))
@example("\x1b]0;title\x07")
@example("a\u202eb\x00")
def test_controls_are_shown_as_their_escapes_and_nothing_else_changes(text):
    assert for_terminal(text) == _shown(text)


def test_colour_is_kept_only_when_asked_and_workflow_commands_are_defused():
    assert for_terminal("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert for_terminal("a\x1b[1mb\x07c\x1b[0m", colored=True) == "a\x1b[1mb\\x07c\x1b[0m"
    assert for_terminal("  ::warning::x\nok\n::error::y") == "\\::warning::x\nok\n\\::error::y"
    assert for_terminal("  ::warning::x", json_text=True) == "  ::warning::x"
    assert for_terminal("x ##[group] y") == "x ##\\[group] y"
    assert for_terminal("x ##[group] y", json_text=True) == "x ##\\u005b" + "group] y"


def test_a_dotted_attribute_is_an_entry_and_the_refused_line_is_named():
    assert is_entry("pkg.app:App.create") and not is_entry("pkg.app:App.")
    with pytest.raises(UnsafeOutput) as caught:
        checked_lines("fine\nbad\x00line", "Dockerfile")
    assert repr("bad\x00line") in str(caught.value)
