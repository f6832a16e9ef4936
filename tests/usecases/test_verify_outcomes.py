"""How verify judges what the importer reported, against what the analysis already said (no venv:
the importer's reports are written here, as it writes them)."""

from __future__ import annotations

import shutil
from pathlib import Path

from depmin.usecases.verify import VerifyResult, outcomes_of

from ..helpers import FIXTURES, run_analysis


def copy_fixture(name: str, tmp_path: Path) -> Path:
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root, ignore=shutil.ignore_patterns(".depmin_cache", ".venv"))
    return root


def missing(module: str, name: str) -> dict:
    return {
        "module": module,
        "ok": False,
        "type": "ModuleNotFoundError",
        "message": f"No module named {name!r}",
        "missing": name,
        "filename": None,
    }


def judged(analysis, *failures: dict) -> dict[str, tuple[str, bool]]:
    """module → (kind, counts as a failure); every other module imported."""
    failed = {f["module"] for f in failures}
    results = [*failures, *({"module": m, "ok": True} for m in analysis.closure.modules if m not in failed)]
    return {o.module: (o.kind, o.counts_as_failure) for o in outcomes_of(analysis, results) if not o.ok}


def verdict(analysis, *failures: dict) -> bool:
    failed = {f["module"] for f in failures}
    results = [*failures, *({"module": m, "ok": True} for m in analysis.closure.modules if m not in failed)]
    return VerifyResult(Path("."), (), outcomes_of(analysis, results)).ok


def extras_with_a_lazy_feature(tmp_path: Path) -> Path:
    """fixtures/extras, where the `fast` feature (orjson, only the extra installs it) lives in a
    module of its own that app.main imports only when dump() runs."""
    root = copy_fixture("extras", tmp_path)
    main = root / "app" / "main.py"
    main.write_text(
        main.read_text().replace(
            "    import orjson  # only the `fast` extra: an optional feature, not pinned unless chosen\n\n"
            "    return orjson.dumps(data)\n",
            "    from app.fast import dumps\n\n    return dumps(data)\n",
        )
    )
    (root / "app" / "fast.py").write_text("import orjson\n\n\ndef dumps(data):\n    return orjson.dumps(data)\n")
    return root


def test_a_failure_on_an_optional_feature_is_a_note(tmp_path):
    root = extras_with_a_lazy_feature(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    orjson = next(r for r in analysis.closure.optional if r.name == "orjson")
    assert orjson.features and "orjson" not in {p.name for p in analysis.closure.pinned}
    assert judged(analysis, missing("app.fast", "orjson")) == {"app.fast": ("unpinned_feature", False)}
    assert verdict(analysis, missing("app.fast", "orjson")) is True


def test_a_required_module_that_fails_on_a_pinned_or_first_party_name_still_fails(tmp_path):
    root = extras_with_a_lazy_feature(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    assert judged(analysis, missing("app.main", "yaml")) == {"app.main": ("missing_distribution", True)}
    assert judged(analysis, missing("app.main", "app.gone")) == {"app.main": ("missing_file", True)}
    assert verdict(analysis, missing("app.main", "yaml")) is False


def forked_with_platform_and_lazy_imports(tmp_path: Path) -> Path:
    """fixtures/forked, where app.main imports colorama (locked for win32 only) through app.win at
    start, and a plugin nothing locks through a lazy import."""
    root = copy_fixture("forked", tmp_path)
    (root / "app" / "win.py").write_text("import colorama\n")
    (root / "app" / "plugin.py").write_text("import secretplugin_zz\n")
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + "\nimport app.win\n\n\ndef later():\n    import app.plugin\n")
    return root


def test_a_failure_on_what_the_lock_installs_only_elsewhere_is_a_note(tmp_path):
    root = forked_with_platform_and_lazy_imports(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    closure = analysis.closure
    assert "colorama" in {r.name for r in closure.direct} and "colorama" not in {p.name for p in closure.pinned}
    assert "DM402" in {w.code for w in closure.warnings}
    assert judged(analysis, missing("app.win", "colorama")) == {"app.win": ("other_platform", False)}
    # app.main imports app.win at start: it fails on the same name, and that is predicted too
    both = judged(analysis, missing("app.win", "colorama"), missing("app.main", "colorama"))
    assert both == {"app.win": ("other_platform", False), "app.main": ("other_platform", False)}


def test_a_module_reached_only_lazily_may_fail_on_a_name_nothing_pins(tmp_path):
    root = forked_with_platform_and_lazy_imports(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    assert judged(analysis, missing("app.plugin", "secretplugin_zz")) == {"app.plugin": ("not_at_start", False)}
    # ... but not on a pinned one: the analysis promised that one
    assert judged(analysis, missing("app.plugin", "yaml")) == {"app.plugin": ("missing_distribution", True)}
    # and a module needed at start fails on a name nothing pins
    assert judged(analysis, missing("app.main", "secretplugin_zz")) == {"app.main": ("missing_distribution", True)}


def test_a_module_reached_only_through_guarded_imports_stays_optional(tmp_path):
    root = copy_fixture("forked", tmp_path)
    (root / "app" / "extra.py").write_text("raise RuntimeError('its own problem')\n")
    main = root / "app" / "main.py"
    main.write_text(main.read_text() + "\ntry:\n    import app.extra\nexcept Exception:\n    pass\n")
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    failure = {**missing("app.extra", ""), "type": "RuntimeError", "missing": None}
    assert judged(analysis, failure) == {"app.extra": ("optional", False)}


def test_a_failure_that_fails_the_verdict_carries_dm601_and_a_note_none(tmp_path):
    from depmin.outputs.json import verify_json

    root = extras_with_a_lazy_feature(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    results = [missing("app.fast", "orjson"), {"module": "app.main", "ok": False, "type": "RuntimeError",
               "message": "boom", "missing": None, "filename": None}]  # fmt: skip
    data = verify_json(VerifyResult(Path("."), (), outcomes_of(analysis, results)))
    codes = {m["module"]: (m["code"], m["expected"]) for m in data["modules"] if not m["ok"]}
    assert codes["app.main"] == ("DM601", False)
    assert codes["app.fast"] == (None, True)


def test_a_module_imported_at_start_that_misses_an_unchosen_extra_fails(tmp_path):
    """The program cannot start without it: the analysis missed an import, never an expected note
    (pydantic-ai's chat_app made its provider's client at import time)."""
    root = extras_with_a_lazy_feature(tmp_path)
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    assert "orjson" not in {p.name for p in analysis.closure.pinned}  # only app.fast, lazily, imports it
    assert judged(analysis, missing("app.main", "orjson")) == {"app.main": ("missing_distribution", True)}
    assert verdict(analysis, missing("app.main", "orjson")) is False
    assert verdict(analysis, missing("app.fast", "orjson")) is True  # reached lazily: a note


def test_a_module_only_a_lazy_string_names_misses_its_unchosen_extra_as_a_note(tmp_path):
    """verify imports what only strings name (openai-agents' `__import__("e2b.sandbox")` in a method):
    reached lazily, its unchosen extra missing is a note, as for a module reached lazily."""
    root = copy_fixture("extras", tmp_path)
    main = root / "app" / "main.py"
    main.write_text(
        main.read_text().replace(
            "    import orjson  # only the `fast` extra: an optional feature, not pinned unless chosen\n",
            "    import importlib\n\n    orjson = importlib.import_module('orjson')\n",
        )
    )
    analysis = run_analysis(root, "app.main", python=(3, 11), lock=root / "uv.lock")
    assert "orjson" in analysis.closure.named_imports
    assert "orjson" not in {p.name for p in analysis.closure.pinned}
    results = [missing("orjson", "orjson"), *({"module": m, "ok": True} for m in analysis.closure.modules)]
    outcomes = {o.module: (o.kind, o.counts_as_failure) for o in outcomes_of(analysis, results) if not o.ok}
    assert outcomes == {"orjson": ("unpinned_feature", False)}
