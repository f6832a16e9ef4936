"""The first run on a real repository (issue 21): the policy of the whole-lock image, extras as
features, names decided by the importing project, and the entry forms users type. Every rule is
checked through the public results: codes, places, pins, JSON."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from depmin.artifacts.uv_cache import uv_cache_directory
from depmin.commands import main
from depmin.usecases.build_env import uv_binary

from ..helpers import CARAMBA, CARAMBA_LOCK, FIXTURES, diagnostics, write_tree

EXTRAS = FIXTURES / "extras"
TWINS = FIXTURES / "twins"


def closure(runner, root: Path, *arguments: str) -> dict:
    result = runner.invoke(main, ["closure", "--root", str(root), "--no-cache", "--json", *arguments])
    assert result.exit_code in (0, 2), result.output
    return json.loads(result.stdout)


def pins(data: dict) -> set[str]:
    return {p["name"] for p in data["pinned"]}


def codes(data: dict, kind: str = "warnings") -> set[tuple[str, int, str]]:
    return {(d["file"], d["line"], d["code"]) for d in data[kind]}


# -- extras decide features ----------------------------------------------------------------------


def test_extras_are_features_and_groups_never_reach_an_image(runner):
    data = closure(runner, EXTRAS, "app/")
    assert pins(data) == {"pyyaml", "six"}
    features = {r["name"]: r["features"] for r in data["optional"]}
    assert features == {
        "attrs": ["extras-app:dev"],
        "orjson": ["extras-app[fast]"],
        "python-dateutil": ["extras-app[dates]"],
    }
    assert codes(data) == {("app/main.py", 5, "DM111"), ("app/main.py", 20, "DM112")}
    assert data["errors"] == []


def test_choosing_an_extra_pins_it_and_silences_its_warning(runner):
    chosen = closure(runner, EXTRAS, "app/", "--extra", "fast", "--extra", "compat")
    assert pins(chosen) == {"orjson", "pyyaml", "six"}
    assert codes(chosen) == {("app/main.py", 20, "DM112")}
    everything = closure(runner, EXTRAS, "app/", "--all-extras")
    assert pins(everything) == {"orjson", "pyyaml", "six"}  # a guarded import stays optional, extra or not
    assert "python-dateutil" in {r["name"] for r in everything["optional"]}


def test_a_target_chooses_its_extras_in_the_configuration(runner, tmp_path):
    root = tmp_path / "extras"
    shutil.copytree(EXTRAS, root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.depmin.targets.svc]\nentries = ["app/"]\nextras = ["fast"]\n')
    assert pins(closure(runner, root, "--target", "svc")) == {"orjson", "pyyaml", "six"}


def uv_export(extras: frozenset[str]) -> set[str]:
    command = [uv_binary(), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--no-header",
               "--project", str(EXTRAS), *(f"--extra={e}" for e in sorted(extras))]  # fmt: skip
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout
    return {line.split("==")[0] for line in output.splitlines() if line and not line.startswith((" ", "#"))}


HOW = st.sampled_from(["absent", "module", "lazy", "guarded", "behind_lazy"])
IMPORTS = {"yaml": "pyyaml", "six": "six", "orjson": "orjson", "dateutil": "python-dateutil", "attr": "attrs"}


@given(
    how=st.fixed_dictionaries({module: HOW for module in IMPORTS}),
    chosen=st.sets(st.sampled_from(["fast", "compat", "dates"])),
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_pins_never_exceed_uv_export_but_for_the_pins_a_warning_names(runner, tmp_path_factory, how, chosen):
    """Invariant of the first-run issue: the pinned set is inside what `uv export --frozen --no-dev`
    with the same extras installs, except the pins a DM111 warning names, each imported at import time."""
    root = tmp_path_factory.mktemp("extras") / "extras"
    shutil.copytree(EXTRAS, root)
    lines = []
    for module, style in how.items():
        if style == "module":
            lines.append(f"import {module}")
        elif style == "lazy":
            lines.append(f"def use_{module}():\n    import {module}")
        elif style == "guarded":
            lines.append(f"try:\n    import {module}\nexcept ImportError:\n    pass")
        elif style == "behind_lazy":  # a module-level import in a module only a lazy import reaches
            (root / "app" / f"uses_{module}.py").write_text(f"import {module}\n")
            lines.append(f"def use_{module}():\n    import app.uses_{module}")
    (root / "app" / "main.py").write_text("\n".join(lines) + "\n")
    data = closure(runner, root, "app/main.py", *(f"--extra={e}" for e in sorted(chosen)))
    exported = _exports.setdefault(frozenset(chosen), uv_export(frozenset(chosen)))
    warned = {IMPORTS[m] for m, style in how.items() if style == "module" and m != "attr"} - exported
    # what choosing the extras of the warned distributions would install: they and their dependencies
    extra_of = {"six": "compat", "orjson": "fast", "python-dateutil": "dates"}
    widened = frozenset(chosen | {extra_of[name] for name in warned})
    allowed = _exports.setdefault(widened, uv_export(widened)) - exported
    beyond = pins(data) - exported
    event(f"{len(beyond)} pins beyond the export")
    target(float(len(beyond)), label="pins beyond the export")
    assert warned <= beyond <= allowed
    for name in warned:  # each named by a DM111 at its import
        assert any(w["code"] == "DM111" and name in w["message"] for w in data["warnings"])
    assert "attrs" not in pins(data)  # a dependency group never reaches an image
    if how["attr"] == "module":  # the program cannot start under `uv sync --no-dev` either
        assert ("app/main.py", 1 + list(how).index("attr"), "DM112") in codes(data, "errors") or any(
            e["code"] == "DM112" for e in data["errors"]
        )


_exports: dict[frozenset[str], set[str]] = {}


REQUESTED = FIXTURES / "requested"


def uv_export_package(package: str) -> set[str]:
    """What `uv sync --no-dev --package PACKAGE` installs from the index: the truth for its pins."""
    command = [uv_binary(), "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-workspace", "--no-header",
               "--project", str(REQUESTED), "--package", package]  # fmt: skip
    environment = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "1"}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=environment).stdout
    return {line.split("==")[0] for line in output.splitlines() if line and not line.startswith((" ", "#"))}


def test_an_extra_that_the_targets_own_dependency_requests_is_chosen(runner):
    """web requires core[fast] (as pydantic-ai-examples requires pydantic-ai-slim[openai]): orjson,
    which core imports lazily, is what web's own install has, so it is pinned, not a feature."""
    data = closure(runner, REQUESTED, "apps/web/web/main.py")
    assert pins(data) == {"orjson", "pysocks", "pyyaml", "six", "urllib3"}
    assert {r["name"]: r["features"] for r in data["optional"]} == {"python-dateutil": ["core[dates]"]}
    # web does not request core[compat]: six, imported at start, is pinned with its warning
    assert codes(data) == {("libs/core/core/stamps.py", 3, "DM111")}
    assert pins(data) - uv_export_package("web") == {"six"}


def test_an_extra_requested_through_another_member_is_chosen_without_a_warning(runner):
    """tool requires mid, which requires core[dates,compat] (as clai → pydantic-ai → pydantic-ai-slim[cli]):
    no DM111 tells the user to choose an extra that tool's install already chooses."""
    data = closure(runner, REQUESTED, "--script", "tool")
    assert pins(data) == uv_export_package("tool") == {"python-dateutil", "pyyaml", "six", "tzdata", "urllib3"}
    assert codes(data) == set()
    assert {r["name"]: r["features"] for r in data["optional"]} == {"orjson": ["core[fast]"]}


def test_a_distribution_gets_the_extras_the_targets_install_requests_not_another_members(runner):
    """web requires urllib3[socks]; tool's install (tool, mid, core) requests plain urllib3, so
    pysocks is no pin of tool's (examples' mcp[cli] pinned typer for clai)."""
    tool = closure(runner, REQUESTED, "--script", "tool")
    assert {r["name"]: r["extras"] for r in tool["direct"]}["urllib3"] == []
    assert "pysocks" not in pins(tool)
    web = closure(runner, REQUESTED, "apps/web/web/main.py")
    assert {r["name"]: r["extras"] for r in web["direct"]}["urllib3"] == ["socks"]
    assert "pysocks" in pins(web)


def test_requested_extras_follow_the_lock_through_members(tmp_path):
    from depmin.lock.parse import read_lock
    from depmin.lock.reference import requested_extras
    from depmin.model import PLATFORMS, Target

    lock = read_lock(REQUESTED / "uv.lock", "uv.lock")
    target = Target((3, 11), PLATFORMS["linux-x86_64"])
    member = {p.name: p for p in lock.local_packages}
    none = lambda project, extra: False  # noqa: E731
    tool = requested_extras(lock, target, [member["tool"]], none)
    assert set(tool) == {"mid", "core", "pyyaml", "six", "python-dateutil", "tzdata", "urllib3"}
    assert tool["core"] == {"compat", "dates"} and not tool["mid"]
    web = requested_extras(lock, target, [member["web"]], none)
    assert set(web) == {"core", "pyyaml", "orjson", "urllib3", "pysocks"} and web["core"] == {"fast"}
    assert web["urllib3"] == {"socks"}
    assert set(requested_extras(lock, target, [member["core"]], none)) == {"pyyaml", "urllib3"}
    chosen = requested_extras(lock, target, [member["core"]], lambda project, extra: extra == "fast")
    assert set(chosen) == {"pyyaml", "orjson", "urllib3"} and not any(chosen.values())


ORACLE = FIXTURES / "oracle"


def test_an_alternative_only_an_unchosen_extra_installs_gives_way_to_the_fallback(runner):
    """camel: `try: from langfuse... / except ImportError: from camel.utils import observe`. toml is
    locked only through the unchosen extra `tracing`: the first-party fallback is what runs, so it
    is needed (with its idna), and toml is an optional feature, not a DM111 pin."""
    data = closure(runner, ORACLE, "oracle_app.observed")
    assert pins(data) == {"idna"}
    assert {r["name"]: r["features"] for r in data["optional"]} == {"toml": ["oracle-app[tracing]"]}
    assert codes(data) == set() and data["errors"] == []
    assert "oracle_app.observe_fallback" in data["modules"]
    # chosen, the extra is the install's, so the first alternative is preferred again
    chosen = closure(runner, ORACLE, "oracle_app.observed", "--extra", "tracing")
    assert pins(chosen) == {"toml"}
    assert [r["name"] for r in chosen["optional"]] == ["idna"]


def test_what_only_a_lazy_import_reaches_is_not_needed_to_start(runner, tmp_path):
    """A module reached only through a lazy import runs its module-level imports late, if ever:
    an extra it imports is an optional feature, not a pin 'the program cannot start without'."""
    root = tmp_path / "extras"
    shutil.copytree(EXTRAS, root)
    (root / "app" / "main.py").write_text("import yaml\n\ndef fast():\n    from app import speed\n")
    (root / "app" / "speed.py").write_text("import orjson\n")
    data = closure(runner, root, "app/main.py")
    assert pins(data) == {"pyyaml"}
    assert {r["name"]: r["features"] for r in data["optional"]} == {"orjson": ["extras-app[fast]"]}
    assert "DM111" not in {w["code"] for w in data["warnings"]}
    (root / "app" / "main.py").write_text("import yaml\nfrom app import speed\n")  # now at start
    started = closure(runner, root, "app/main.py")
    assert pins(started) == {"orjson", "pyyaml"}
    assert ("app/speed.py", 1, "DM111") in codes(started)


# -- the policy of the whole-lock image ---------------------------------------------------------


def test_an_unlocked_import_stops_the_run_only_where_it_stops_the_program(runner, tmp_path):
    root = write_tree(
        tmp_path / "repo",
        {
            "main.py": """
                import sys
                import missing_at_start
                if "torch_like" in sys.modules:
                    import torch_like_extension
                def later():
                    import missing_later
                try:
                    import missing_guarded
                except ImportError:
                    pass
            """
        },
    )
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    data = closure(runner, root, "main.py")
    assert codes(data, "errors") == {("main.py", 2, "DM101")}
    assert codes(data) >= {("main.py", 6, "DM101"), ("main.py", 8, "DM101"), ("main.py", 4, "DM101")}
    assert {r["name"] for r in data["optional"]} >= {"torch-like-extension"}


def test_the_importing_project_decides_between_two_locked_distributions_of_one_module(runner):
    data = closure(runner, TWINS, "auth/src/", "tokens/src/", "service.py")
    direct = {r["name"]: sorted(v["file"] for v in r["via"]) for r in data["direct"]}
    assert direct == {"jwt": ["tokens/src/tokens/__init__.py"], "pyjwt": ["auth/src/auth/__init__.py"]}
    assert codes(data, "errors") == {("service.py", 1, "DM102")}  # the root names neither


# -- entry forms ------------------------------------------------------------------------------------


def test_module_attribute_entries_work_in_targets_outputs_and_dockerfiles(runner, tmp_path):
    root = tmp_path / "svc"
    shutil.copytree(FIXTURES / "smallsvc", root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('entries = ["svc/"]', 'entries = ["svc.main:main"]'))
    assert runner.invoke(main, ["sync", "--root", str(root), "--no-cache"]).exit_code == 0
    assert "#   entries: svc.main:main" in (root / "requirements" / "svc.txt").read_text()
    dockerfile = runner.invoke(main, ["dockerfile", "--root", str(root), "--no-cache", "--target", "svc"])
    assert dockerfile.exit_code == 0, dockerfile.output
    assert (
        runner.invoke(
            main, ["closure", "--root", str(root), "--no-cache", "svc.main:main", "-o", str(root / "r.txt")]
        ).exit_code
        == 0
    )


def test_a_script_whose_name_is_no_module_name_is_a_script_entry(runner, tmp_path):
    root = write_tree(
        tmp_path / "repo", {"examples/01-voice-agent.py": "import helper\n", "examples/helper.py": "import yaml\n"}
    )
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    data = closure(runner, root, "examples/01-voice-agent.py")
    assert data["errors"] == [] and pins(data) == {"pyyaml"}
    assert data["copy"] == ["examples/"]


def test_from_a_members_directory_the_workspace_is_the_root(tmp_path):
    root = tmp_path / "caramba"
    shutil.copytree(CARAMBA, root)
    member = root / "libs" / "promptkit"
    command = [os.sys.executable, "-m", "depmin", "closure", "--no-cache", "--json", "src/"]
    completed = subprocess.run(command, cwd=member, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    data = json.loads(completed.stdout)
    assert data["entries"] == ["libs/promptkit/src/"] and "promptkit" in data["modules"]


def test_why_explains_a_workspace_member(runner):
    result = runner.invoke(
        main, ["why", "promptkit", "--root", str(CARAMBA), "--no-cache", "--target", "agent", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reach"] == "required"


def test_a_commands_executable_is_pinned_from_the_distribution_that_installs_it(runner, tmp_path):
    root = write_tree(tmp_path / "repo", {"app.py": "import yaml\napp = None\n"})
    (root / "uv.lock").write_bytes(CARAMBA_LOCK.read_bytes())
    (root / "pyproject.toml").write_text(
        '[project]\nname = "example"\nversion = "0"\n\n[tool.depmin.targets.web]\nentries = ["app.py"]\n'
        'smoke = "uvicorn app:app --help"\n'
    )
    data = closure(runner, root, "--target", "web")
    assert "uvicorn" in pins(data)
    assert [v["module"] for r in data["direct"] if r["name"] == "uvicorn" for v in r["via"]] == ["<command>"]
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace("uvicorn app:app", "no-such-tool")
    )
    data = closure(runner, root, "--target", "web")
    assert "DM113" in {w["code"] for w in data["warnings"]}


@pytest.mark.parametrize(
    "content", ["requests==2.0\n", 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n']
)
def test_a_lock_that_is_not_a_uv_lock_is_one_error(runner, tmp_path, content):
    root = write_tree(tmp_path / "repo", {"main.py": "import yaml\n"})
    (root / "requirements.lock").write_text(content)
    result = runner.invoke(
        main, ["closure", "--root", str(root), "--no-cache", "--lock", str(root / "requirements.lock"), "main.py"]
    )
    assert result.exit_code == 2
    [(place, severity, code, _)] = diagnostics(result.stderr)
    assert (place.split(":")[0], severity, code) == ("requirements.lock", "error", "DM003")


def test_the_uv_cache_directory_is_where_uv_keeps_it(monkeypatch, tmp_path):
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path))
    assert uv_cache_directory() == tmp_path
    monkeypatch.setenv("UV_NO_CACHE", "1")
    assert uv_cache_directory() is None
