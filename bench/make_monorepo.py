"""Generate a monorepo shaped like the one in the seed story, for benchmarks.

    python bench/make_monorepo.py OUT --files 10000 --lines 800000 --seed 1 [--targets 17]

Agent directories (ai/, console/) are small; the ML directories (layer/, model/,
trainer/, ...) hold nearly everything. Each module imports the stdlib, a few
locked distributions and several first-party modules of its own area, as real
code does; agent modules never import the ML side except under TYPE_CHECKING.
pyproject.toml and uv.lock are copies of fixtures/caramba's (a real lock).
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "caramba"
AGENT_AREAS = {"ai": 0.004, "console": 0.0004}
ML_AREAS = {
    "layer": 0.12,
    "topology": 0.08,
    "model": 0.16,
    "trainer": 0.14,
    "infer": 0.12,
    "cache": 0.06,
    "optimizer": 0.1,
    "benchmark": 0.12,
    "data": 0.0956,
}
STDLIB = [
    "os",
    "sys",
    "re",
    "json",
    "math",
    "typing",
    "pathlib",
    "itertools",
    "functools",
    "dataclasses",
    "logging",
    "collections",
]
AGENT_DISTS = ["pydantic", "httpx", "yaml", "rich", "fastapi", "litellm", "google.adk.agents", "orjson"]
ML_DISTS = ["torch", "numpy", "transformers", "einops", "safetensors", "datasets", "wandb", "scipy", "pandas", "tqdm"]


def area_sizes(files: int) -> dict[str, int]:
    weights = {**AGENT_AREAS, **ML_AREAS}
    total = sum(weights.values())
    sizes = {area: max(3, round(files * weight / total)) for area, weight in weights.items()}
    sizes["data"] += files - sum(sizes.values())
    return sizes


def module_paths(area: str, count: int, rng: random.Random) -> list[str]:
    """Packages of up to 25 modules, two levels deep: area/pkgN/subM/modK.py."""
    paths = []
    for number in range(count):
        package, sub = divmod(number // 25, 8)
        paths.append(f"{area}/pkg{package}/sub{sub}/mod{number % 25}.py")
    rng.shuffle(paths)
    return sorted(paths)


def body(lines: int, rng: random.Random) -> list[str]:
    out: list[str] = []
    while len(out) + 7 <= lines:
        name = f"f{len(out)}"
        out += [
            "",
            f"def {name}(x, y=1):",
            f'    """Compute {name}."""',
            "    total = 0",
            f"    for i in range({rng.randint(2, 50)}):",
            "        total += (x * i + y) % 7",
            "    return total",
        ]
    return out + [f"# padding {i}" for i in range(lines - len(out))]


def module_text(path: str, area: str, peers: list[str], lines: int, rng: random.Random) -> str:
    dotted = path[:-3].replace("/", ".")
    header = [f'"""{dotted}: generated for the depmin benchmark."""', "from __future__ import annotations", ""]
    header += [f"import {m}" for m in rng.sample(STDLIB, rng.randint(2, 5))]
    agent = area in AGENT_AREAS
    for dist in rng.sample(AGENT_DISTS if agent else ML_DISTS, rng.randint(1, 3)):
        header.append(f"import {dist}")
    for peer in rng.sample(peers, min(len(peers), rng.randint(1, 4))):
        if peer != dotted:
            header.append(f"from {peer.rpartition('.')[0]} import {peer.rpartition('.')[2]}")
    if agent and rng.random() < 0.2:
        header += ["from typing import TYPE_CHECKING", "if TYPE_CHECKING:", "    import torch"]
    if rng.random() < 0.1:
        header += ["try:", "    import ujson as fast_json", "except ImportError:", "    fast_json = None"]
    return "\n".join(header + body(max(0, lines - len(header)), rng)) + "\n"


PERSONAS = (
    "architect",
    "coder",
    "reviewer",
    "tester",
    "writer",
    "researcher",
    "planner",
    "support",
    "analyst",
    "designer",
    "ops",
    "security",
)
SERVICES = {
    "infer": ["infer/"],
    "trainer": ["trainer/"],
    "bench": ["benchmark/"],
    "etl": ["data/"],
    "modelzoo": ["model/", "layer/"],
}


def targets_table(count: int) -> str:
    """`count` targets, as the seed's fleet has them: an agent image per persona (ai/, console/,
    its persona's config) and, past twelve, ML services with closures of their own."""
    tables = []
    names = [*PERSONAS, *SERVICES][:count]
    for number, name in enumerate(names):
        if name in SERVICES:
            entries, data = SERVICES[name], []
        else:
            entries, data = ["ai/", "console/"], [f"config/personas/{name}.yaml"]
        tables.append(
            f"[tool.depmin.targets.{name}]\nentries = {entries!r}\n"
            + (f"data = {data!r}\n" if data else "")
            + f'requirements = "requirements/{name}.txt"\n'
            + ('forbid = ["torch", "nvidia-*"]\n' if name in PERSONAS and number % 2 == 0 else "")
        )
    return "\n".join(tables).replace("'", '"')


def generate(out: Path, files: int, lines: int, seed: int, targets: int = 1) -> None:
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    shutil.copy(FIXTURE / "uv.lock", out / "uv.lock")
    pyproject = (FIXTURE / "pyproject.toml").read_text()
    if targets > 1:  # the fixture's one target (agent) gives way to a fleet
        pyproject = pyproject[: pyproject.index("[tool.depmin.targets.")] + targets_table(targets)
    (out / "pyproject.toml").write_text(pyproject)
    workspace = out / "libs" / "promptkit"
    shutil.copytree(FIXTURE / "libs" / "promptkit", workspace)
    per_file = max(10, lines // files)
    for area, count in area_sizes(files).items():
        paths = module_paths(area, count, rng)
        dotted = [p[:-3].replace("/", ".") for p in paths]
        for path in paths:
            target = out / path
            target.parent.mkdir(parents=True, exist_ok=True)
            for parent in [target.parent, *target.parent.parents]:
                if parent == out:
                    break
                (parent / "__init__.py").touch()
            neighbourhood = [d for d in dotted if d.split(".")[1] == path.split("/")[1]] or dotted
            target.write_text(module_text(path, area, neighbourhood, per_file, rng))
    config = out / "config" / "personas"
    config.mkdir(parents=True)
    for persona in PERSONAS:
        (config / f"{persona}.yaml").write_text(f"name: {persona}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=800_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", type=int, default=1, help="17 for the seed's fleet (12 personas, 5 services)")
    arguments = parser.parse_args()
    generate(arguments.out, arguments.files, arguments.lines, arguments.seed, arguments.targets)


if __name__ == "__main__":
    main()
