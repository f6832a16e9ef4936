"""why, audit: chains file:line by file:line, continued through uv.lock."""

from __future__ import annotations

import json

from depmin.commands import main

from ..helpers import CARAMBA, only_diagnostic


def invoke(runner, root, *args):
    return runner.invoke(main, [*args, "--root", str(root), "--no-cache"])


def test_why_continues_through_the_lock(runner):
    result = invoke(runner, CARAMBA, "why", "culsans", "--target", "agent")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "culsans is needed by target agent (Python 3.12, linux-x86_64):",
        "  ai/agent/a2a.py:3  from a2a.types import AgentCard",
        "  a2a-sdk 1.3.0 -> culsans 0.11.0",
    ]


def test_why_an_import_name_a_module_and_kinds(runner):
    by_import_name = invoke(runner, CARAMBA, "why", "yaml", "ai/")
    assert by_import_name.stdout.splitlines()[1:] == ["  ai/config.py:6  import yaml"]
    module = invoke(runner, CARAMBA, "why", "utils.text", "ai/llm/router.py")
    assert module.exit_code == 0
    lines = module.stdout.splitlines()
    assert lines[-1] == "  ai/llm/prompts.py:3  from utils.text import normalise"
    lazy = invoke(runner, CARAMBA, "why", "rich", "ai/tools/shell.py")
    assert lazy.stdout.splitlines()[1] == "  ai/tools/shell.py:9  from rich.console import Console  [lazy]"


def test_why_type_only_and_optional_are_labelled(runner):
    torch = invoke(runner, CARAMBA, "why", "torch", "--target", "agent")
    assert torch.exit_code == 0
    assert "only for type checking" in torch.stdout.splitlines()[0]
    assert "  ai/llm/tokens.py:6  import torch  [type-only]" in torch.stdout
    soup = invoke(runner, CARAMBA, "why", "beautifulsoup4", "--target", "agent")
    assert "  ai/tools/web.py:4  from bs4 import BeautifulSoup  [optional]" in soup.stdout


def test_why_unreachable_exits_1_and_unknown_exits_2(runner):
    unreachable = invoke(runner, CARAMBA, "why", "wandb", "--target", "agent")
    assert unreachable.exit_code == 1
    assert unreachable.stdout.strip() == "wandb is not reachable from target agent (Python 3.12, linux-x86_64)"
    unknown = invoke(runner, CARAMBA, "why", "left-pad", "ai/")
    assert unknown.exit_code == 2
    assert only_diagnostic(unknown.stderr)[:3] == ("depmin", "error", "DM001")
    assert "'left-pad'" in unknown.stderr
    missing_target = invoke(runner, CARAMBA, "why", "torch", "--target", "nope")
    assert missing_target.exit_code == 2 and "no target named 'nope'" in missing_target.stderr


def test_why_all_gives_one_chain_per_importing_place(runner):
    result = invoke(runner, CARAMBA, "why", "torch", "trainer/", "--all", "--json")
    data = json.loads(result.stdout)
    assert data["reach"] == "required" and data["reachable"]
    last_hops = [(c["imports"][-1]["file"], c["imports"][-1]["line"]) for c in data["chains"]]
    assert len(last_hops) == len(set(last_hops)) == 6
    assert ("trainer/loop.py", 5) in last_hops and ("layer/ffn.py", 1) in last_hops


def test_audit_passes_with_notes_for_type_only_and_fails_with_the_chain(runner, caramba):
    clean = invoke(runner, caramba, "audit", "--forbid", "torch", "--forbid", "nvidia-*", "ai/", "console/")
    assert clean.exit_code == 0, clean.output
    assert "note: forbidden torch is imported only for type checking" in clean.stdout
    agent = caramba / "ai" / "agent" / "persona.py"
    agent.write_text(agent.read_text() + "\nimport torch\n")
    dirty = invoke(runner, caramba, "audit", "--forbid", "torch", "--forbid", "nvidia-*", "ai/", "console/")
    assert dirty.exit_code == 1
    # One import, one violation: torch, with what it pulls in through the lock folded into it.
    causes = [line for line in dirty.stdout.splitlines() if "forbidden" in line and "note:" not in line]
    assert len(causes) == 1, dirty.stdout
    assert causes[0].startswith("ai/ console/: forbidden torch is reachable, and ")
    assert "nvidia-" in causes[0] and "it pulls in" in causes[0]
    assert "ai/agent/persona.py:18  import torch" in dirty.stdout
    data = json.loads(
        invoke(
            runner, caramba, "audit", "--json", "--forbid", "torch", "--forbid", "nvidia-*", "ai/", "console/"
        ).stdout
    )
    (cause,) = data["audits"][0]["causes"]
    assert cause["cause"] == "torch" and cause["forbidden"][0] == "torch"
    pulled = set(cause["forbidden"][1:])
    assert "nvidia-cudnn-cu13" in pulled and all(n.startswith("nvidia-") for n in pulled)
    violations = {v["name"] for v in data["audits"][0]["violations"]}
    assert violations == set(cause["forbidden"])  # every violation is still listed, each once


def test_audit_json_and_unmatched_patterns(runner):
    result = invoke(runner, CARAMBA, "audit", "--json", "--forbid", "google-*", "--forbid", "tensorflow*", "ai/")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["ok"] is False
    (report,) = data["audits"]
    assert report["unmatched_patterns"] == ["tensorflow*"]
    names = [v["name"] for v in report["violations"]]
    assert "google-adk" in names and "google-auth" in names
    auth = next(v for v in report["violations"] if v["name"] == "google-auth")
    assert auth["chains"][0]["lock"][-1]["name"] == "google-auth"
    assert "matches no distribution" in result.stderr and "[DM504]" in result.stderr


def test_audit_without_arguments_audits_every_target(runner):
    result = invoke(runner, CARAMBA, "audit")
    assert result.exit_code == 0, result.output
    assert "target agent: ok, none of torch, transformers, nvidia-*, triton is reachable" in result.stdout
