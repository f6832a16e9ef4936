"""The requirements file and the COPY list, from a Closure built here (no analysis)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from depmin.errors import UnsafeOutput
from depmin.model import Closure, CopyPath, Kind, Pin, Requirement, Target, Via
from depmin.outputs.copylist import copy_list_text
from depmin.outputs.requirements import GENERATED_MARK, requirements_text

CLOSURE = Closure(
    entries=("svc/",),
    target=Target((3, 12)),
    modules=("svc",),
    files=("svc/__init__.py",),
    copy=(CopyPath("svc/", "svc/"), CopyPath("lib/x.py", "vendored/x.py")),
    direct=(Requirement("rich", "13.0", (), (Via("svc/__init__.py", 2, "svc", Kind.MODULE),)),),
    optional=(),
    type_only=(),
    pinned=(
        Pin("markdown-it-py", "3.0", None, ("rich",)),
        Pin("pywin32", "306", 'sys_platform == "win32"', ("portalocker",)),
        Pin("rich", "13.0", None, ("",), ("sha256:ab", "sha256:cd")),
    ),
)


def test_the_header_pins_reasons_and_hashes():
    text = requirements_text(CLOSURE, "depmin closure svc/")
    lines = text.splitlines()
    assert lines[0] == GENERATED_MARK
    assert "#   regenerate: depmin closure svc/" in lines
    assert "markdown-it-py==3.0" in lines and "    # via rich" in lines
    assert 'pywin32==306 ; sys_platform == "win32"' in lines
    start = lines.index("rich==13.0 \\")
    assert lines[start + 1 : start + 4] == [
        "    --hash=sha256:ab \\",
        "    --hash=sha256:cd",
        "    # via svc/__init__.py:2",
    ]
    assert requirements_text(CLOSURE, "depmin closure svc/") == text  # byte for byte, every time


def test_a_registry_other_than_pypi_is_named_first():
    private = replace(CLOSURE, pinned=tuple(replace(p, index="http://127.0.0.1/simple") for p in CLOSURE.pinned))
    lines = requirements_text(private, "x").splitlines()
    assert "--index-url http://127.0.0.1/simple" in lines
    assert lines.index("--index-url http://127.0.0.1/simple") < lines.index("markdown-it-py==3.0")


def test_the_copy_list_keeps_destinations_that_differ():
    assert copy_list_text(CLOSURE) == "svc/\nlib/x.py vendored/x.py\n"


def test_an_entry_that_would_add_a_line_is_refused():
    with pytest.raises(UnsafeOutput):
        requirements_text(replace(CLOSURE, entries=("svc/\n--index-url http://evil",)), "x")
