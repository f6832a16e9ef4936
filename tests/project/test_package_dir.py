"""A repository that is itself a package (setuptools package-dir caramba = ".")."""

from __future__ import annotations

from depmin.commands import main

from ..helpers import FIXTURES, run_analysis

PACKAGEDIR = FIXTURES / "packagedir"


def test_package_dir_maps_module_names_and_copy_destinations():
    closure = run_analysis(PACKAGEDIR, "ai/entrypoint.py", lock=PACKAGEDIR / "uv.lock").closure
    assert closure.modules == ("caramba", "caramba.ai", "caramba.ai.entrypoint", "caramba.ai.persona")
    assert [r.name for r in closure.direct] == ["pyyaml"]
    assert {(c.source, c.destination) for c in closure.copy} == {
        ("__init__.py", "caramba/__init__.py"),
        ("ai/__init__.py", "caramba/ai/__init__.py"),
        ("ai/entrypoint.py", "caramba/ai/entrypoint.py"),
        ("ai/persona.py", "caramba/ai/persona.py"),
    }
    assert not closure.warnings


def test_one_file_under_two_names_is_one_copy_entry_and_a_warning():
    closure = run_analysis(PACKAGEDIR, "ai/", lock=PACKAGEDIR / "uv.lock").closure
    assert "ai.persona" in closure.modules and "caramba.ai.persona" in closure.modules
    assert closure.files.count("ai/persona.py") == 1
    assert [c.source for c in closure.copy] == ["__init__.py", "ai/"]
    assert [(w.path, w.message) for w in closure.warnings] == [
        (
            "ai/__init__.py",
            "imported as both ai and caramba.ai; in the image only one of these names resolves (depmin verify shows which)",
        ),
        (
            "ai/persona.py",
            "imported as both ai.persona and caramba.ai.persona; in the image only one of these names resolves (depmin verify shows which)",
        ),
    ]


def test_dockerfile_copies_to_the_package_destination(runner, tmp_path):
    result = runner.invoke(
        main,
        [
            "dockerfile",
            "--root",
            str(PACKAGEDIR),
            "--no-cache",
            "--requirements",
            "requirements.txt",
            "ai/entrypoint.py",
        ],
    )
    assert result.exit_code == 0, result.output
    copies = [line for line in result.stdout.splitlines() if line.startswith("COPY --chown")]
    assert copies == [  # one COPY per destination directory
        "COPY --chown=10001:10001 __init__.py ./caramba/",
        "COPY --chown=10001:10001 ai/__init__.py ai/entrypoint.py ai/persona.py ./caramba/ai/",
    ]
