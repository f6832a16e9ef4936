"""Human output for an 80-column terminal: counts agree in number, warnings wrap at words,
table cells never break."""

from __future__ import annotations

from depmin.errors import Diagnostic, Severity
from depmin.model import Kind, Requirement, Via
from depmin.outputs.text import closure_text
from depmin.outputs.words import plural, wrapped

from ..helpers import CARAMBA, bare_closure, run_analysis


def test_counts_agree_in_number():
    assert plural(1, "error") == "1 error"
    assert plural(0, "error") == "0 errors"
    assert plural(1, "direct distribution") == "1 direct distribution"
    one = Requirement("rich", "13.0", (), (Via("app/x.py", 1, "app.x", Kind.MODULE),))
    text = closure_text(bare_closure(modules=("app",), files=("app/__init__.py",), direct=(one,)), 80)
    assert "1 module in 1 file;" in text
    assert "1 direct distribution\n" in text or "1 direct distribution " in text
    assert "0 distributions pinned" in text


def test_long_warnings_wrap_at_words_within_80_columns():
    message = " ".join(f"word{i}" for i in range(60))
    warning = Diagnostic("svc/app.py", 3, message, Severity.WARNING, "DM104")
    text = closure_text(bare_closure(warnings=(warning,)), 80)
    lines = [line for line in text.splitlines() if "word" in line or "DM104" in line]
    assert len(lines) > 1
    assert all(len(line) <= 80 for line in lines)
    rejoined = " ".join(line.strip() for line in lines)
    assert message in rejoined and rejoined.endswith("[DM104]")
    assert wrapped("x" * 200, 80) == "x" * 200  # a word longer than the line is never cut


def test_table_cells_never_break_on_a_narrow_terminal():
    closure = run_analysis(CARAMBA, "ai/", "console/").closure
    text = closure_text(closure, 40)
    for requirement in closure.direct:
        name = requirement.name + (f"[{','.join(requirement.extras)}]" if requirement.extras else "")
        assert any(name in line for line in text.splitlines()), name
        place = f"{requirement.via[0].file}:{requirement.via[0].line}"
        assert any(place in line for line in text.splitlines()), place
