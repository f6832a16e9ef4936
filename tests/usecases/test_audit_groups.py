"""Audit violations grouped by the import that causes them (explain.group_by_cause)."""

from __future__ import annotations

from depmin.model import Kind, Reach, Via
from depmin.outputs.findings import group_message
from depmin.usecases.explain import Chain, Explanation, LockHop, group_by_cause

IMPORT_TORCH = Via("ai/model.py", 3, "ai.model", Kind.MODULE, False, "import torch")
IMPORT_TRANSFORMERS = Via("ai/nlp.py", 1, "ai.nlp", Kind.MODULE, False, "import transformers")


def violation(name: str, through: tuple[str, ...], via: Via) -> Explanation:
    lock = tuple(LockHop(n, "1") for n in (*through, name)) if through else ()
    return Explanation(name, "distribution", Reach.REQUIRED, (Chain((via,), lock),))


def test_one_import_is_one_group_with_what_it_pulls_in():
    violations = (
        violation("nvidia-cublas", ("torch",), IMPORT_TORCH),
        violation("torch", (), IMPORT_TORCH),
        violation("triton", ("torch",), IMPORT_TORCH),
        violation("nvidia-nccl", ("transformers", "torch"), IMPORT_TRANSFORMERS),
    )
    groups = group_by_cause(violations)
    assert [(g.cause, g.members) for g in groups] == [
        ("torch", ("torch", "nvidia-cublas", "triton")),
        ("transformers", ("nvidia-nccl",)),
    ]
    torch, transformers = groups
    assert torch.cause_forbidden and torch.pulled_in == ("nvidia-cublas", "triton")
    assert (
        group_message(torch) == "forbidden torch is reachable, and 2 forbidden distributions it pulls in "
        "(nvidia-cublas, triton)"
    )
    assert not transformers.cause_forbidden
    assert group_message(transformers) == "1 forbidden distribution (nvidia-nccl) reachable through transformers"


def test_a_long_list_is_cut_with_an_ellipsis():
    violations = tuple(violation(f"nvidia-{i}", ("torch",), IMPORT_TORCH) for i in range(6))
    (group,) = group_by_cause((violation("torch", (), IMPORT_TORCH), *violations))
    assert group_message(group).endswith(
        "6 forbidden distributions it pulls in (nvidia-0, nvidia-1, nvidia-2, nvidia-3, ...)"
    )
