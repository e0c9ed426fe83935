"""The gym: a registry of task families, each one module in a subpackage of its kind.

    >>> from foveal import tasks
    >>> tasks.names()[:3]
    >>> tasks.get("count").generate(seed=0, level=1)

Layout: the modules directly in this package are infrastructure (base, draw, export, ...);
families live only in the subpackages, one per kind (puzzles/, math/, spatial/, abstract/,
games/, video/, grounding/; see docs/gym.md), with the helpers of that kind beside them as
underscore modules (puzzles/_puzzle.py). Discovery imports every subpackage and each of its
modules whose name does not start with an underscore; their classes decorated with
`@register` join the registry.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from foveal.registry import Registry, first_line
from foveal.tasks.base import Task, task_rng, task_seed

TASKS = Registry("task", reserved=("seed", "level", "form", "split", "query", "phrasing", "style"),
                     loader=lambda: _load())
_loaded = False


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: instantiate the family and add it to the registry under `cls.name`."""
    task = cls()
    old = TASKS._entries.get(task.name)
    if old is not None and type(old.target) is not cls:
        raise RuntimeError(f"two task families named {task.name!r}")
    if len(task.levels) < 1 or sorted(task.levels) != list(range(1, len(task.levels) + 1)):
        raise RuntimeError(f"task {task.name!r}: levels must be 1..N, got {sorted(task.levels)}")
    TASKS.pop(task.name, None)  # the same family imported again replaces itself
    TASKS.add(task.name, task, first_line(cls), modality=task.modality)
    return cls


class FamilyImportError(ImportError):
    """A family module failed to import; the message names its file and the original error."""


def _load() -> None:
    """Import every family module once (the non-underscore modules of each subpackage); a module
    or subpackage that fails raises FamilyImportError naming its file (chained)."""
    global _loaded
    if _loaded:
        return
    for kind in pkgutil.iter_modules(__path__):
        if not kind.ispkg or kind.name.startswith("_"):
            continue
        package = _import(kind, f"{__name__}.{kind.name}")
        for mod in pkgutil.iter_modules(package.__path__):
            if not mod.name.startswith("_"):
                _import(mod, f"{package.__name__}.{mod.name}")
    _loaded = True


def _import(mod: pkgutil.ModuleInfo, dotted: str) -> ModuleType:
    """`importlib.import_module(dotted)`; FamilyImportError naming the file of `mod` if it fails."""
    try:
        return importlib.import_module(dotted)
    except Exception as e:
        spec = mod.module_finder.find_spec(mod.name)  # type: ignore[call-arg]
        where = spec.origin if spec and spec.origin else f"{mod.module_finder.path}/{mod.name}"  # type: ignore[union-attr]
        raise FamilyImportError(f"gym family module {where} failed to import: {type(e).__name__}: {e}") from e


def names() -> list[str]:
    """All registered task names, sorted."""
    _load()
    return sorted(TASKS)


def get(name: str) -> Task:
    """The task called `name`; a FovealError naming close matches if there is none."""
    _load()
    return TASKS.get(name)


def all_tasks() -> list[Task]:
    return [get(n) for n in names()]


__all__ = ["Task", "all_tasks", "get", "names", "register", "task_rng", "task_seed"]
