"""The rooms of foveal form layers: a module imports only from its own room and the layers below.

Every `import foveal.x` / `from foveal.x import ...` / `from foveal import x` in src/foveal is read
with `ast` (imports inside functions included: a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "foveal"

# Lowest first. A room is a subpackage (tasks/) or a top-level module (config.py). Rooms of one
# layer do not import each other, except in layer 0 (the small shared modules).
LAYERS = [
    {"foveal", "errors", "io", "sample", "split", "prompts", "provenance", "progress", "options", "registry"},
    {"tasks"},
    {"rewards"},
    {"config", "models"},
    {"rollout"},
    {"train", "eval", "serve", "transfer", "merge"},
    {"experiment", "select", "improve"},
    {"quickstart", "merge_commands", "cli"},
]
RANK = {room: i for i, rooms in enumerate(LAYERS) for room in rooms}


def room_of(module: str) -> str:
    """'foveal.train.rl' -> 'train'; 'foveal' and names defined in foveal/__init__.py -> 'foveal'."""
    parts = module.split(".")
    if len(parts) == 1:
        return "foveal"
    name = parts[1]
    return name if (SRC / name).is_dir() or (SRC / f"{name}.py").is_file() else "foveal"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported foveal module) for every import statement in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "foveal"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "foveal":  # `from foveal import tasks`: each name may be a room
                out += [(node.lineno, f"foveal.{a.name}") for a in node.names]
            elif node.module.split(".")[0] == "foveal":
                out.append((node.lineno, node.module))
    return out


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        out.append((".".join(rel.parts).removesuffix(".__init__"), path))
    return out


def test_every_room_has_a_layer():
    rooms = {room_of(m) for m, _ in modules()}
    assert rooms - set(RANK) == set(), "put each new room in a layer of LAYERS"


def violations(module: str, path: Path) -> list[str]:
    """Imports in `path` (the source of `module`) of a room in the same or a higher layer."""
    here, bad = room_of(module), []
    for line, target in imports(path):
        there = room_of(target)
        if there != here and (RANK[there] > RANK[here] or RANK[there] == RANK[here] > 0):
            bad.append(f"{path.name}:{line}: {here} (layer {RANK[here]}) imports {target} (layer {RANK[there]})")
    return bad


def test_no_module_imports_from_a_layer_above_or_beside_its_own():
    assert [v for module, path in modules() for v in violations(module, path)] == []


def test_the_check_catches_lazy_imports_upwards(tmp_path):
    """The edges the layering issue found (config -> train inside a function, models -> rollout)."""
    src = tmp_path / "m.py"
    src.write_text("from foveal.errors import FovealError\n\ndef f():\n    from foveal.train import algos\n")
    assert [v.split(": ", 1)[1] for v in violations("foveal.config", src)] == [
        "config (layer 3) imports foveal.train (layer 5)"
    ]
    src.write_text("from foveal import rollout, sample\nimport foveal.serve.app\n")
    assert len(violations("foveal.models.policy", src)) == 2
    assert violations("foveal.serve.app", src) == []


# Inside tasks/: the top-level modules are infrastructure, the subpackages are the kinds of family.
TASKS = SRC / "tasks"
KINDS = sorted(p.name for p in TASKS.iterdir() if (p / "__init__.py").is_file())


def task_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported foveal module or name); `from foveal.tasks[.kind] import x` reads foveal.tasks[.kind].x."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "foveal"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.split(".")[0] == "foveal":
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def kind_violations(module: str, path: Path) -> list[str]:
    """Imports in a tasks/ module that cross kinds: infrastructure importing a kind, or a family
    importing another kind's family (another kind's underscore helpers are shared and allowed)."""
    parts, bad = module.split("."), []
    here = parts[2] if len(parts) > 3 and parts[2] in KINDS else None
    for line, target in task_imports(path):
        t = target.split(".")
        if t[:2] != ["foveal", "tasks"] or len(t) < 3 or t[2] not in KINDS:
            continue
        helper = len(t) > 3 and t[3].startswith("_")
        if here is None or (t[2] != here and not helper):
            bad.append(f"{path.name}:{line}: {module} imports {target}")
    return bad


def test_tasks_infrastructure_imports_no_family_and_kinds_share_only_helpers():
    assert {"puzzles", "math", "spatial", "abstract", "games", "video", "grounding"} <= set(KINDS)
    found = [(m, p) for m, p in modules() if m.startswith("foveal.tasks.")]
    assert sum(m.split(".")[2] in KINDS for m, _ in found) >= 47  # families and helpers were seen
    assert [v for module, path in found for v in kind_violations(module, path)] == []


def test_the_kind_check_catches_crossings(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from foveal.tasks.puzzles import sudoku\nfrom foveal.tasks.video._video import put\n")
    assert [v.split(": ", 1)[1] for v in kind_violations("foveal.tasks.gallery", src)] == [
        "foveal.tasks.gallery imports foveal.tasks.puzzles.sudoku",
        "foveal.tasks.gallery imports foveal.tasks.video._video.put",
    ]
    assert [v.split(": ", 1)[1] for v in kind_violations("foveal.tasks.math.count", src)] == [
        "foveal.tasks.math.count imports foveal.tasks.puzzles.sudoku"
    ]
    assert kind_violations("foveal.tasks.puzzles.binairo", src) == []
