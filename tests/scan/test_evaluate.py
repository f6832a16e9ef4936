"""The three-valued evaluation of conditions against brute force: every unknown operand set to
True and to False, at the first and the last patch release, as a type checker and as the
program reads TYPE_CHECKING. Each unknown operand is a distinct name, so Kleene's logic must
give exactly the value all completions agree on (None when they do not)."""

from __future__ import annotations

import itertools

from hypothesis import example, given
from hypothesis import strategies as st

from depmin.model import PLATFORMS, Target
from depmin.scan.evaluate import Scope, decide

TARGET = Target((3, 12), PLATFORMS["linux-x86_64"])

# leaves: (IR, how to evaluate it for an assignment of the unknowns, a patch and TYPE_CHECKING)
_LEAVES = {
    "true": (("const", True), lambda unknowns, patch, checking: True),
    "false": (("const", False), lambda unknowns, patch, checking: False),
    "linux": (
        ("compare", ("attr", ("name", "sys"), "platform"), [("==", ("str", "linux"))]),
        lambda unknowns, patch, checking: True,
    ),
    "windows": (
        ("compare", ("attr", ("name", "sys"), "platform"), [("==", ("str", "win32"))]),
        lambda unknowns, patch, checking: False,
    ),
    "patch": (
        (
            "compare",
            ("attr", ("name", "sys"), "version_info"),
            [(">=", ("tuple", [("int", 3), ("int", 12), ("int", 4)]))],
        ),
        lambda unknowns, patch, checking: patch >= 4,
    ),
    "checking": (("name", "TYPE_CHECKING"), lambda unknowns, patch, checking: checking),
}


@st.composite
def formulas(draw, depth=0):
    """(IR, a Python function of (unknowns, patch, checking)) with each unknown a fresh name."""
    kind = draw(st.sampled_from(["leaf", "unknown", "not", "and", "or"] if depth < 3 else ["leaf", "unknown"]))
    if kind == "leaf":
        return _LEAVES[draw(st.sampled_from(sorted(_LEAVES)))]
    if kind == "unknown":
        name = f"u{draw(st.uuids()).hex[:8]}"
        return ("name", name), lambda unknowns, patch, checking, n=name: unknowns[n]
    if kind == "not":
        inner, function = draw(formulas(depth + 1))
        return ("not", inner), lambda u, p, c, f=function: not f(u, p, c)
    operands = draw(st.lists(formulas(depth + 1), min_size=2, max_size=3))
    irs, functions = [ir for ir, _ in operands], [f for _, f in operands]
    if kind == "and":
        return ("and", irs), lambda u, p, c, fs=functions: all(f(u, p, c) for f in fs)
    return ("or", irs), lambda u, p, c, fs=functions: any(f(u, p, c) for f in fs)


def _names(ir, found):
    if isinstance(ir, tuple) and ir and ir[0] == "name" and ir[1].startswith("u"):
        found.add(ir[1])
    for part in ir if isinstance(ir, (tuple, list)) else ():
        if isinstance(part, (tuple, list)):
            _names(part, found)
    return found


def _brute_force(ir, function, checking):
    unknowns = sorted(_names(ir, set()))
    values = {
        function(dict(zip(unknowns, assignment, strict=True)), patch, checking)
        for assignment in itertools.product((False, True), repeat=len(unknowns))
        for patch in (0, 99)
    }
    return values.pop() if len(values) == 1 else None


@given(formulas())
@example((("or", [("name", "u1"), ("const", True)]), lambda u, p, c: u["u1"] or True))
@example((("and", [("name", "u1"), _LEAVES["linux"][0]]), lambda u, p, c: u["u1"] and True))
@example((("not", _LEAVES["patch"][0]), lambda u, p, c: not p >= 4))
def test_conditions_are_what_every_completion_agrees_on(formula):
    ir, function = formula
    at_run_time, for_type_checker = decide(ir, TARGET, Scope(aliases={"sys": "sys"}))
    assert at_run_time is _brute_force(ir, function, checking=False)
    assert for_type_checker is _brute_force(ir, function, checking=True)


def test_identity_with_anything_but_none_true_or_false_is_unknown():
    scope = Scope(aliases={"sys": "sys"})
    platform = ("attr", ("name", "sys"), "platform")
    assert decide(("compare", platform, [("is", ("str", "linux"))]), TARGET, scope) == (None, None)
    assert decide(("compare", platform, [("is not", ("const", None))]), TARGET, scope) == (True, True)


def test_type_checking_reexported_by_a_project_module_is_still_type_checking():
    scope = Scope(aliases={"TYPE_CHECKING": "app.compat.TYPE_CHECKING"})
    assert decide(("name", "TYPE_CHECKING"), TARGET, scope) == (False, True)
