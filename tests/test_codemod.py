"""The trim codemod: deferring an import keeps formatting and comments, resolves the same names to
the same values, and is never applied twice. The property test imports generated packages in a
subprocess, before and after."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depmin.codemod import MARKER, CannotRewrite, defer_reexport, judge, move_into_functions, rewrite
from depmin.model import Kind, Target
from depmin.scan import scan_source, scan_source_cst

STORY = '''\
"""Core: the task queue and the codec."""

# the codec, re-exported for the workers
from .event_codec import Codec  # keep: public API
from .settings import SETTINGS

__all__ = ["SETTINGS", "Codec"]

print(SETTINGS)
'''


def test_a_re_export_becomes_a_lazy_attribute_and_the_rest_is_untouched():
    after = defer_reexport(STORY, 4)
    assert after.startswith('"""Core: the task queue and the codec."""\n\nfrom typing import TYPE_CHECKING\n')
    assert "# the codec, re-exported for the workers\nif TYPE_CHECKING:\n" in after
    assert "    from .event_codec import Codec  # keep: public API\n" in after
    assert '__all__ = ["SETTINGS", "Codec"]\n\nprint(SETTINGS)\n' in after
    assert MARKER in after and "def __getattr__(name: str) -> object:" in after
    # what the scanner sees: the codec's import only for type checkers and in __getattr__
    for scan in (scan_source, scan_source_cst):  # both parsers
        records = scan(after.encode(), Target((3, 12))).records
        assert {r.kind for r in records if r.target == "event_codec"} == {Kind.TYPE_CHECKING, Kind.ATTRIBUTE}
        assert {r.kind for r in records if r.target == "settings"} == {Kind.MODULE}


def test_what_the_judge_says_of_each_shape():
    source = textwrap.dedent(
        """\
        from __future__ import annotations
        import json
        from .a import A
        from .b import B
        from .c import C
        from . import d
        from .e import *
        from .f import F
        from .g import G
        x: C

        def use():
            return json.dumps(B)

        F()
        f = lambda: G
        """
    )
    shapes = {line: judge(source, line, is_submodule=lambda n: n == "d") for line in range(2, 10)}
    assert shapes[2].shape == "functions" and shapes[4].shape == "functions"
    assert shapes[3].shape == "re-export" and shapes[3].names == ("A",)
    assert shapes[5].shape == "annotations"
    assert (shapes[6].shape, shapes[6].reason) == ("", "side-effects")
    assert (shapes[7].shape, shapes[7].reason) == ("", "star")
    assert (shapes[8].shape, shapes[8].reason) == ("", "used-at-import")
    assert (shapes[9].shape, shapes[9].reason) == ("", "lambda")


def test_conditional_imports_models_and_foreign_getattr_are_not_deferred():
    guarded = "try:\n    from .a import A\nexcept ImportError:\n    A = None\n"
    assert judge(guarded, 2).reason == "conditional"
    model = "from __future__ import annotations\nimport pydantic\nfrom .a import A\nclass M(pydantic.BaseModel):\n    a: A\n"
    assert judge(model, 3).reason == "annotations-evaluated"
    foreign = "from .a import A\ndef __getattr__(name):\n    raise AttributeError(name)\n"
    assert judge(foreign, 1).reason == "has-getattr"
    with pytest.raises(CannotRewrite):
        defer_reexport(foreign, 1)


def test_a_second_deferral_adds_to_depmins_own_getattr_and_the_first_is_not_repeated():
    source = "from .a import A\nfrom .b import B as Bee\n"
    once = defer_reexport(source, 1)
    line = next(n for n, text in enumerate(once.splitlines(), 1) if text.startswith("from .b"))
    twice = defer_reexport(once, line)
    assert twice.count("def __getattr__") == 1
    assert 'if name == "A":' in twice and 'if name == "Bee":' in twice
    assert "from .b import B as Bee\n\n        return Bee" in twice
    assert twice.count("from typing import TYPE_CHECKING") == 1
    with pytest.raises(CannotRewrite):  # the statement is under `if TYPE_CHECKING:` now
        rewrite(twice, next(n for n, t in enumerate(twice.splitlines(), 1) if "from .a import A" in t))


def test_an_import_used_only_in_functions_moves_into_them():
    source = textwrap.dedent(
        '''\
        """Doc."""
        # heavy: only the exporters need it
        import json  # stdlib here, torch in real life


        def dump(value):
            """Dump it."""
            return json.dumps(value)


        class Exporter:
            def run(self, value):
                def inner():
                    return json.dumps(value)

                return inner()


        def other():
            return 1
        '''
    )
    after = move_into_functions(source, 3)
    assert "import json  # stdlib here" not in after
    assert '# heavy: only the exporters need it\n\n\ndef dump(value):\n    """Dump it."""\n    import json\n' in after
    assert "    def run(self, value):\n        import json\n        def inner():" in after
    assert "def other():\n    return 1\n" in after
    namespace: dict[str, object] = {}
    exec(compile(after, "after.py", "exec"), namespace)
    assert namespace["dump"]([1]) == "[1]"
    assert namespace["Exporter"]().run({"a": 1}) == '{"a": 1}'  # type: ignore[operator]


# -- the property: generated packages import the same names with the same values ------------------

IDENTIFIERS = st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True).filter(
    lambda s: s not in {"if", "in", "is", "or", "as", "def", "for", "and", "not", "del", "try", "with", "name"}
)


@st.composite
def packages(draw):
    """A package: submodules defining names (values that tell them apart) and an __init__ that
    re-exports some of them, aliased or not, with comments, __all__ or not, one eager use."""
    modules = draw(st.lists(IDENTIFIERS, min_size=1, max_size=4, unique=True))
    files, exports = {}, []
    for module in modules:
        # names unique across the package: a name bound twice is not deferred ("rebound")
        names = [
            f"{module.upper()}_{n}"
            for n in draw(st.lists(IDENTIFIERS.map(str.upper), min_size=1, max_size=3, unique=True))
        ]
        body = [f"{n} = ({module!r}, {n!r}, {i})" for i, n in enumerate(names)]
        files[f"m_{module}.py"] = "\n".join([f"IMPORTED = True  # {module}", *body]) + "\n"
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
        aliases = [draw(st.sampled_from(["", f"{n}_ALIAS"])) for n in chosen]
        exports.append((module, list(zip(chosen, aliases, strict=True))))
    lines = ['"""A generated package."""', ""]
    bound = []
    for module, pairs in exports:
        if draw(st.booleans()):
            lines.append(f"# the {module} names")
        parts = [f"{n} as {a}" if a else n for n, a in pairs]
        if len(parts) > 1 and draw(st.booleans()):
            lines.append(f"from .m_{module} import (\n    " + ",\n    ".join(parts) + ",\n)")
        else:
            lines.append(
                f"from .m_{module} import {', '.join(parts)}" + ("  # re-exported" if draw(st.booleans()) else "")
            )
        bound += [a or n for n, a in pairs]
    eager = draw(st.sampled_from([None, *bound]))
    if draw(st.booleans()):
        lines.append(f"__all__ = {sorted(bound)!r}")
    if eager is not None:
        lines.append(f"EAGER = {eager}")
    files["__init__.py"] = "\n".join(lines) + "\n"
    return files, sorted(set(bound)), eager


PROBE = r"""
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
names = json.loads(sys.argv[2])
package = importlib.import_module("pkg")
loaded_at_start = sorted(m for m in sys.modules if m.startswith("pkg."))
values = {n: repr(getattr(package, n)) for n in names}
star = {}
exec("from pkg import *", star)
print(json.dumps({"values": values, "start": loaded_at_start, "star": sorted(k for k in star if not k.startswith("__"))}))
"""


def _probe(root, names):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(root), json.dumps(names)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _defer_every_re_export(source: str) -> str:
    """Apply the codemod to each re-export in turn, finding statements anew after each rewrite."""
    for _ in range(50):
        lines = [n for n, t in enumerate(source.splitlines(), 1) if t.startswith("from .")]
        ready = [n for n in lines if judge(source, n).shape == "re-export"]
        if not ready:
            return source
        source = defer_reexport(source, ready[0])
    raise AssertionError("the codemod did not converge")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(package=packages())
def test_deferred_packages_import_the_same_names_with_the_same_values(tmp_path_factory, package):
    files, names, eager = package
    results = []
    for phase in ("before", "after"):
        root = tmp_path_factory.mktemp(phase)
        (root / "pkg").mkdir()
        for relative, text in files.items():
            if relative == "__init__.py" and phase == "after":
                text = _defer_every_re_export(text)
                assert _defer_every_re_export(text) == text  # a second pass changes nothing
            (root / "pkg" / relative).write_text(text)
        results.append(_probe(root, names))
    before, after = results
    assert after["values"] == before["values"]
    assert after["star"] == before["star"] or "__all__" not in files["__init__.py"]
    # the submodules whose names nothing in the package uses are no longer imported with it
    assert len(before["start"]) == len(files) - 1
    assert len(after["start"]) == (1 if eager else 0)


def test_an_import_used_only_in_unevaluated_annotations_moves_under_type_checking():
    source = "from __future__ import annotations\n\nfrom .models import Model  # the type\n\n\ndef load(raw: str) -> Model:\n    return raw  # type: ignore\n"
    after = rewrite(source, 3)
    assert after == (
        "from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .models import Model  # the type\n\n\n"
        "def load(raw: str) -> Model:\n    return raw  # type: ignore\n"
    )
    assert judge(after, 5).reason == "conditional"  # and never twice
