"""Hypothesis properties: the scanner's contexts, and the closure invariants of DESIGN.md."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis import target as aim_for

from depmin.imports.graph import ImportGraph
from depmin.model import Kind, Reach, Target, Via, reach_of
from depmin.scan import scan_source

CONTEXTS = ("def", "class", "try", "type_checking", "unknown_if", "suppress", "else_of_type_checking")
FORMS = ("import", "from", "dynamic")


@st.composite
def planted_programs(draw):
    plants = draw(
        st.lists(
            st.tuples(st.lists(st.sampled_from(CONTEXTS), max_size=4), st.sampled_from(FORMS)),
            min_size=1,
            max_size=6,
        )
    )
    lines = ["import contextlib", "import importlib", "from typing import TYPE_CHECKING", "flag = True"]
    expected = []
    for number, (contexts, form) in enumerate(plants):
        depth = 0
        closers: list[tuple[int, list[str]]] = []
        for position, context in enumerate(contexts):
            pad = "    " * depth
            if context == "def":
                lines.append(f"{pad}def f{number}_{position}():")
            elif context == "class":
                lines.append(f"{pad}class C{number}_{position}:")
            elif context == "try":
                lines.append(f"{pad}try:")
                closers.append((depth, ["except ImportError:", "    pass"]))
            elif context == "type_checking":
                lines.append(f"{pad}if TYPE_CHECKING:")
            elif context == "else_of_type_checking":
                lines.extend([f"{pad}if TYPE_CHECKING:", f"{pad}    pass", f"{pad}else:"])
            elif context == "unknown_if":
                lines.append(f"{pad}if flag:")
            else:
                lines.append(f"{pad}with contextlib.suppress(ImportError):")
            depth += 1
        pad = "    " * depth
        name = f"planted{number}.mod"
        statement = {
            "import": f"import {name}",
            "from": f"from {name} import thing",
            "dynamic": f"importlib.import_module({name!r})",
        }[form]
        lines.append(pad + statement)
        if "type_checking" in contexts:
            kind = Kind.TYPE_CHECKING
        elif form == "dynamic":
            kind = Kind.DYNAMIC
        elif "def" in contexts:
            kind = Kind.LAZY
        else:
            kind = Kind.MODULE
        guarded = "try" in contexts or "suppress" in contexts
        expected.append((name, len(lines), kind, guarded))
        for closer_depth, closer_lines in reversed(closers):
            lines.extend("    " * closer_depth + line for line in closer_lines)
    return "\n".join(lines) + "\n", expected


@given(planted_programs())
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_scanner_returns_exactly_the_planted_imports(program):
    source, expected = program
    result = scan_source(source.encode(), Target((3, 12)))
    assert not result.problems, source
    found = [(r.target, r.line, r.kind, r.guarded) for r in result.records if r.target.startswith("planted")]
    assert found == expected, source


@given(st.text(max_size=300))
@settings(max_examples=120, deadline=None)
def test_scanner_never_crashes_on_arbitrary_text(text):
    result = scan_source(("import x\n" + text).encode("utf-8", "surrogatepass"), Target((3, 12)))
    assert result.failed or all(r.line >= 1 for r in result.records)


@given(st.binary(max_size=200))
@settings(max_examples=120, deadline=None)
def test_scanner_never_crashes_on_arbitrary_bytes(data):
    result = scan_source(b"import x\n" + data, Target((3, 12)))
    assert result.failed or result.records


# -- closure invariants on random module graphs --------------------------------------------

VIA_SHAPES = st.sampled_from(
    [(Kind.MODULE, False), (Kind.LAZY, False), (Kind.MODULE, True), (Kind.TYPE_CHECKING, False), (Kind.DYNAMIC, False)]
)


@st.composite
def module_graphs(draw):
    size = draw(st.integers(min_value=1, max_value=12))
    nodes = [f"m{i}" for i in range(size)]
    edges = draw(st.lists(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), VIA_SHAPES), max_size=30))
    entries = draw(st.lists(st.sampled_from(nodes), min_size=1, max_size=3, unique=True))
    return nodes, edges, entries


def build(edges, entries) -> ImportGraph:
    graph = ImportGraph()
    for entry in entries:
        graph.add_entry(entry)
    for number, (source, target, (kind, guarded)) in enumerate(edges):
        graph.add(source, target, Via(f"{source}.py", number + 1, source, kind, guarded))
    return graph


@given(module_graphs())
@settings(max_examples=150, deadline=None)
def test_closure_contains_its_entries_and_is_closed_under_runtime_edges(case):
    _, edges, entries = case
    layers = build(edges, entries).layers()
    closure = layers.runtime
    assert set(entries) <= closure
    for source, target, (kind, guarded) in edges:
        if source in closure and kind is not Kind.TYPE_CHECKING:
            assert target in closure
        if source in layers.required and kind is not Kind.TYPE_CHECKING and not guarded:
            assert target in layers.required
    assert not (layers.required & layers.optional)
    assert not (layers.runtime & layers.type_only)


@given(module_graphs(), st.data())
@settings(max_examples=150, deadline=None)
def test_adding_an_edge_never_removes_anything(case, data):
    nodes, edges, entries = case
    extra = data.draw(st.tuples(st.sampled_from(nodes), st.sampled_from(nodes), VIA_SHAPES))
    before = build(edges, entries).layers()
    after = build([*edges, extra], entries).layers()
    assert before.required <= after.required
    assert before.runtime <= after.runtime
    assert before.runtime | before.type_only <= after.runtime | after.type_only


@given(module_graphs())
@settings(max_examples=120, deadline=None)
def test_closure_is_idempotent(case):
    _, edges, entries = case
    closure = build(edges, entries).layers().runtime
    assert build(edges, sorted(closure)).layers().runtime == closure


@given(module_graphs())
@settings(max_examples=150, deadline=None)
def test_traversals_agree_with_networkx(case):
    import networkx as nx

    _, edges, entries = case
    graph = build(edges, entries)
    # The oracle's filters are written out here, not taken from depmin's Reach.admits.
    filters = {
        Reach.OPTIONAL: lambda via: via.kind is not Kind.TYPE_CHECKING,
        Reach.TYPE_ONLY: lambda via: True,
        Reach.REQUIRED: lambda via: via.kind is not Kind.TYPE_CHECKING and not via.guarded,
    }
    descendants = {}
    for reach, follow in filters.items():
        oracle = nx.DiGraph()
        oracle.add_node("<entries>")
        for source, target, vias in graph.edges():
            if any(follow(v) for v in vias):
                oracle.add_edge(source, target)
        expected = nx.descendants(oracle, "<entries>") if "<entries>" in oracle else set()
        descendants[reach] = expected
        assert graph.reachable(reach) == expected
        for node in expected:
            chain = graph.shortest_chain(node, reach)
            assert chain is not None
            assert len(chain) == nx.shortest_path_length(oracle, "<entries>", node) - 1
    # layers() computes the three sets in one pass: each must be the oracle's difference
    layers = graph.layers()
    assert layers.required == descendants[Reach.REQUIRED]
    assert layers.optional == descendants[Reach.OPTIONAL] - descendants[Reach.REQUIRED]
    assert layers.type_only == descendants[Reach.TYPE_ONLY] - descendants[Reach.OPTIONAL]


def test_a_reach_admits_exactly_the_vias_no_weaker_than_itself():
    rank = [Reach.REQUIRED, Reach.OPTIONAL, Reach.TYPE_ONLY, Reach.UNREACHABLE]
    for reach in Reach:
        for kind in Kind:
            for guarded in (False, True):
                via = Via("a.py", 1, "a", kind, guarded)
                assert reach.admits(via) is (rank.index(reach_of(via)) <= rank.index(reach)), (reach, kind, guarded)


# -- the constant evaluator agrees with the interpreter ------------------------------------------

ATOMS = st.from_regex(r"[a-z][a-z0-9_]{0,4}", fullmatch=True)
FORMS_OF_STRINGS = (
    "{a!r}",
    "{x} + '.' + {y}",
    'f"{{{x}}}.{{{y}}}"',
    "'%s.%s' % ({x}, {y})",
    "'%s.z' % {x}",
    "'{{}}.{{}}'.format({x}, {y})",
    "{x}",
    "{n}",
    "{x} + {n}",
    "{table}[{k!r}]",
)


@st.composite
def constant_programs(draw):
    """Module constants built from literals with +, f-strings, % and .format (sometimes wrongly,
    from an int), then a loop over some of them that imports each."""
    lines = ["import importlib", "TABLE = {'k': 'from_table', 'j': 'other'}"]
    names: list[str] = []
    for number in range(draw(st.integers(1, 6))):
        form = draw(st.sampled_from(FORMS_OF_STRINGS))
        x = draw(st.sampled_from(names)) if names else repr(draw(ATOMS))
        y = draw(st.sampled_from(names)) if names else repr(draw(ATOMS))
        value = form.format(
            a=draw(ATOMS), x=x, y=y, n=draw(st.integers(0, 9)), table="TABLE", k=draw(st.sampled_from("kj"))
        )
        lines.append(f"V{number} = {value}")
        names.append(f"V{number}")
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    lines.append(f"for name in ({', '.join(chosen)},):")
    lines.append("    importlib.import_module(name)")
    return "\n".join(lines) + "\n", chosen


@given(constant_programs())
@example(  # an int inside an f-string formats as its digits
    (
        "import importlib\nV0 = 'a'\nV1 = 0\nV2 = f\"{V0}.{V1}\"\nfor name in (V2, V0,):\n    importlib.import_module(name)\n",
        ["V2", "V0"],
    )
)
@settings(max_examples=300, deadline=None)
def test_computed_names_are_what_the_interpreter_computes(program):
    source, chosen = program
    namespace: dict = {}
    for line in source.rpartition("for name")[0].splitlines():
        try:
            exec(line, namespace)  # only literals: nothing is imported
        except (TypeError, ValueError, NameError):
            pass  # this constant fails in Python (or uses one that did): depmin must not guess it, nor crash
    expected = [namespace[name] for name in chosen] if all(name in namespace for name in chosen) else None
    result = scan_source(source.encode(), Target((3, 12)))
    found = [r.target for r in result.records if r.kind is Kind.DYNAMIC]
    if expected is not None and all(isinstance(v, str) for v in expected):
        valid = [v for v in dict.fromkeys(expected) if all(part.isidentifier() for part in v.split("."))]
        aim_for(float(len(valid)), label="names the evaluator must find")
        assert found == valid, source
    else:
        assert found == [], source
