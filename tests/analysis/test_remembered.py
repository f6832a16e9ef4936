"""Edges kept across runs: a warm run reads no scan, and every change that could alter an edge
(the module, a module whose facts it read, the index under a name it resolved, the finder's
inputs) redoes it. The oracle is always the same analysis without any cache."""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from depmin.analysis import analyse
from depmin.analysis.remembered import Edges, EdgeStore
from depmin.cache import ScanCache
from depmin.imports.graph import DistributionNode
from depmin.model import Kind, Via
from depmin.project.config import load_project
from depmin.project.module_index import SourceRoot, build_index

from ..helpers import CARAMBA_LOCK, FIXTURES, request_for, write_tree

SMALL_LOCK = FIXTURES / "smallsvc" / "uv.lock"
OLD = 1_600_000_000_000_000_000  # files older than the snapshot's racy window


def backdate(root: Path) -> None:
    """Every source older than the cache's racy window."""
    for path in root.rglob("*.py"):
        if ".depmin_cache" not in path.parts:
            os.utime(path, ns=(OLD, OLD))


def edit(path: Path, text: str | None, step: int) -> None:
    """Write (None: delete) one file, older than the racy window but at its own time."""
    if text is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, ns=(OLD + step * 10**9, OLD + step * 10**9))


def run(root: Path, *entries: str, cached: bool = True, lock: Path = CARAMBA_LOCK):
    """(analysis, the scan cache it used): a fresh ScanCache per run, as a new process has."""
    cache = ScanCache(root / ".depmin_cache") if cached else None
    request = replace(request_for(root, *entries, lock=lock), cache=cache)
    return analyse(load_project(root), request), cache


def same_as_without_cache(root: Path, *entries: str, lock: Path = CARAMBA_LOCK):
    warm, cache = run(root, *entries, lock=lock)
    oracle, _ = run(root, *entries, cached=False, lock=lock)
    assert warm.closure == oracle.closure
    assert list(warm.graph.edges()) == list(oracle.graph.edges())
    return warm, cache


APP = {
    "app/__init__.py": "",
    "app/compat.py": "FAST = True\n",
    "app/main.py": "from app import compat, util\nif compat.FAST:\n    import orjson\nelse:\n    import yaml\n",
    "app/util.py": "import rich\n",
}


def test_a_warm_run_with_nothing_changed_reads_no_scan(tmp_path):
    write_tree(tmp_path, APP)
    backdate(tmp_path)
    _, cache = run(tmp_path, "app.main")
    assert cache.misses == 4
    warm, cache = same_as_without_cache(tmp_path, "app.main")
    assert (cache.hits, cache.misses) == (0, 0)  # every module's edges came back without its scan
    assert {p.name for p in warm.closure.pinned} >= {"orjson", "rich"}


def test_a_changed_constant_redoes_the_module_that_read_it(tmp_path):
    write_tree(tmp_path, APP)
    backdate(tmp_path)
    run(tmp_path, "app.main")
    edit(tmp_path / "app/compat.py", "FAST = False\n", 1)
    warm, cache = same_as_without_cache(tmp_path, "app.main")
    # compat.py is scanned again (changed) and main's edges redone from its scan (unchanged)
    assert (cache.misses, cache.hits) == (1, 1)
    pinned = {p.name for p in warm.closure.pinned}
    assert "pyyaml" in pinned and "orjson" not in pinned


def test_a_new_submodule_redoes_the_modules_that_name_it(tmp_path):
    write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": "from app import helpers\n"})
    backdate(tmp_path)
    before, _ = run(tmp_path, "app.main")
    assert "app.helpers" not in before.closure.modules  # a name in app/__init__, for all depmin knows
    edit(tmp_path / "app/helpers.py", "import rich\n", 1)
    after, _ = same_as_without_cache(tmp_path, "app.main")
    assert "app.helpers" in after.closure.modules and "rich" in {p.name for p in after.closure.pinned}


def test_a_changed_module_map_forgets_every_edge(tmp_path):
    write_tree(tmp_path, {"app/__init__.py": "", "app/main.py": "import strangename\n"})
    backdate(tmp_path)
    before, _ = run(tmp_path, "app.main")
    assert before.closure.errors  # nothing provides it
    (tmp_path / "pyproject.toml").write_text('[tool.depmin.module-map]\nstrangename = "rich"\n')
    after, cache = same_as_without_cache(tmp_path, "app.main")
    assert not after.closure.errors and cache.hits == 2  # scans reused, edges redone


def test_a_damaged_store_is_ignored(tmp_path):
    write_tree(tmp_path, APP)
    backdate(tmp_path)
    run(tmp_path, "app.main")
    [store] = (tmp_path / ".depmin_cache").glob("edges-*.marshal")
    good = store.read_bytes()
    middle = len(good) // 2
    for damaged in (good[:100], b"\xff garbage", good[:middle] + bytes([good[middle] ^ 1]) + good[middle + 1 :]):
        store.write_bytes(damaged)  # truncated, not depmin's, one bit flipped: its digest fails
        _, cache = same_as_without_cache(tmp_path, "app.main")
        assert cache.hits == 4  # every module's edges redone from its scan


# -- any sequence of edits: the warm answer is the cold answer ---------------------------------

NAMES = ["a", "b", "c", "d"]
DISTRIBUTIONS = ["rich", "idna", "yaml", "six"]  # all in smallsvc's small lock

lines = st.one_of(
    st.sampled_from(NAMES).map(lambda n: f"from pkg import {n}"),
    st.sampled_from(NAMES).map(lambda n: f"import pkg.{n}"),
    st.sampled_from(DISTRIBUTIONS).map(lambda d: f"import {d}"),
    st.tuples(st.sampled_from(NAMES), st.sampled_from(DISTRIBUTIONS)).map(
        lambda t: f"from pkg import {t[0]}\nif {t[0]}.FLAG:\n    import {t[1]}"
    ),
    st.booleans().map(lambda b: f"FLAG = {b}"),
    st.lists(st.sampled_from(NAMES), max_size=2).map(lambda ns: f"__all__ = {ns!r}"),
    st.just("from pkg import *"),
)
contents = st.lists(lines, max_size=4).map("\n".join)
edits = st.lists(st.tuples(st.sampled_from(["pkg/__init__.py", *(f"pkg/{n}.py" for n in NAMES)]), st.none() | contents),
                 min_size=1, max_size=3)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.fixed_dictionaries({f"pkg/{n}.py": contents for n in NAMES}), changes=edits)
def test_after_any_edits_the_warm_analysis_is_the_cold_one(first, changes):
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        main = "import pkg.a\nfrom pkg import b\nif b.FLAG:\n    import six\nfrom pkg import *\n"
        write_tree(root, {"pkg/__init__.py": "", "main.py": main, **first})
        backdate(root)
        run(root, "main", lock=SMALL_LOCK)
        for step, (path, content) in enumerate(changes, start=1):
            edit(root / path, None if content is None else content + "\n", step)
            same_as_without_cache(root, "main", lock=SMALL_LOCK)


def test_two_runs_saving_at_once_keep_each_others_edges(tmp_path):
    write_tree(tmp_path, {"a.py": "import rich\n", "b.py": "import six\n"})
    index = build_index(tmp_path, (SourceRoot(""),))

    def opened() -> EdgeStore:
        return EdgeStore.open(tmp_path / "edges.marshal", "inputs", index, lambda m: "key", lambda m: "key")

    def edges(module: str, distribution: str) -> Edges:
        via = Via(f"{module}.py", 1, module, Kind.MODULE, False, f"import {distribution}")
        return Edges(((DistributionNode(distribution), via),), (), (), (), ())

    first, second = opened(), opened()  # both read the store before either saves
    first.remember(("a", False, ()), ["a"], [], edges("a", "rich"), "a.py")
    second.remember(("b", False, ()), ["b"], [], edges("b", "six"), "b.py")
    first.save()
    second.save()  # the file changed since it read it: merged, not overwritten
    third = opened()
    assert third.get(("a", False, ()), "a.py") is not None and third.get(("b", False, ()), "b.py") is not None
    unchanged = opened()
    unchanged.remember(("c", False, ()), ["c"], [], edges("c", "idna"), "c.py")
    unchanged.save()  # nobody saved since it read: its own entries, the others' included
    assert len(opened().entries) == 3


def test_alternatives_remembered_for_one_install_are_redone_for_another(tmp_path):
    """Which alternative is needed depends on the extras the target chooses: edges kept by a run
    without `--extra tracing` are not reused by one with it, and the other way round."""
    import shutil

    root = tmp_path / "oracle"
    shutil.copytree(FIXTURES / "oracle", root)
    backdate(root)
    lock = root / "uv.lock"
    for extras, pinned in [((), {"idna"}), (("tracing",), {"toml"}), ((), {"idna"}), (("tracing",), {"toml"})]:
        cache = ScanCache(root / ".depmin_cache")
        request = replace(request_for(root, "oracle_app.observed", lock=lock), cache=cache, extras=extras)
        closure = analyse(load_project(root), request).closure
        assert {p.name for p in closure.pinned} == pinned, extras
