"""The `Task` protocol and the base class every gym family derives from.

A task turns `(seed, level)` into a `Sample`, deterministically: the same triple
(task, seed, level) gives byte-identical images and identical text on every run and
machine. All randomness comes from `task_rng`, seeded from a hash of the triple, never
from global state.
"""

from __future__ import annotations

import contextvars
import hashlib
import random
from collections.abc import Callable
from typing import Any, ClassVar

from PIL import Image

from foveal.errors import FovealError
from foveal.sample import FORMS, IMAGE_TOKEN, Sample

MODALITIES = ("image", "video", "text")
# False while `Task.generate` builds a text-form sample, whose images are dropped anyway.
_DRAWING: contextvars.ContextVar[bool] = contextvars.ContextVar("foveal_drawing", default=True)
_PLACEHOLDER = Image.new("RGB", (1, 1), (255, 255, 255))  # what `Task.picture` returns then (shared)


def task_seed(name: str, seed: int, level: int) -> int:
    """A 64-bit integer seed derived from (task, seed, level), stable across runs and platforms."""
    digest = hashlib.sha256(f"{name}:{seed}:{level}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def task_rng(name: str, seed: int, level: int) -> random.Random:
    return random.Random(task_seed(name, seed, level))


class Task:
    """Base class of a gym family. Subclasses set the class attributes and implement `make`.

    Class attributes:
        name: registry name (lower_snake).
        modality: "image", "video" (several frames) or "text".
        description: one line for `foveal tasks list`.
        tags: skill tags (see `foveal.sample.SKILLS`).
        levels: {level: knobs}; levels are 1..N with N >= 5, knobs documented in the class docstring.
        forms: presentations this family can produce; "image" and "text" always, "mixed" where
            the family overrides `mixed`.
    """

    name: ClassVar[str]
    modality: ClassVar[str] = "image"
    description: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    levels: ClassVar[dict[int, dict[str, Any]]] = {}
    forms: ClassVar[tuple[str, ...]] = ("image", "text")

    # -- what subclasses implement -------------------------------------------------
    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        """Build the image-form sample from the level's knobs `cfg`; use `self.sample(...)`."""
        raise NotImplementedError

    def mixed(self, sample: Sample) -> Sample:
        """The mixed form of an image-form sample: part of the information in text, the rest in the image."""
        raise FovealError(f"task {self.name!r} has no mixed form (forms: {', '.join(self.forms)})")

    # -- shared machinery -----------------------------------------------------------
    def generate(self, seed: int, level: int = 1, form: str = "image") -> Sample:
        """The sample for (seed, level) in the given form; deterministic."""
        self.check_level(level)
        if form not in FORMS:
            raise FovealError(f"unknown form {form!r}: expected one of {', '.join(FORMS)}")
        if form not in self.forms:
            raise FovealError(f"task {self.name!r} has no {form} form (forms: {', '.join(self.forms)})")
        if not isinstance(seed, int) or seed < 0:
            raise FovealError(f"seed must be a non-negative integer, got {seed!r}")
        token = _DRAWING.set(form != "text")
        try:
            sample = self.make(task_rng(self.name, seed, level), dict(self.levels[level]), seed, level)
        finally:
            _DRAWING.reset(token)
        if form == "text":
            return sample.as_text()
        if form == "mixed":
            return self.mixed(sample)
        return sample

    @staticmethod
    def picture(render: Callable[..., Image.Image], *args: Any, **kwargs: Any) -> Image.Image:
        """`render(*args, **kwargs)`, or a 1×1 placeholder while a text-form sample is built (its images
        are dropped), so families that draw through `picture` make text forms without rendering."""
        return render(*args, **kwargs) if _DRAWING.get() else _PLACEHOLDER

    def check_level(self, level: int) -> None:
        if level not in self.levels:
            lo, hi = min(self.levels), max(self.levels)
            raise FovealError(f"task {self.name!r}: level {level} out of range (levels {lo}-{hi})")

    def sample(self, seed: int, level: int, **fields: Any) -> Sample:
        """Construct this task's image-form Sample, filling id/task/level/seed/tags."""
        fields.setdefault("tags", self.tags)
        return Sample(id=f"{self.name}/L{level}/s{seed}", task=self.name, level=level, seed=seed, **fields)

    @staticmethod
    def image_prompt(question: str, n_images: int = 1) -> str:
        """`question` preceded by one `<image>` placeholder per image (frames on one line)."""
        return " ".join([IMAGE_TOKEN] * n_images) + "\n" + question

    def info(self) -> dict[str, Any]:
        """What `foveal tasks list --json` prints for this task."""
        return {
            "name": self.name,
            "modality": self.modality,
            "description": self.description,
            "tags": list(self.tags),
            "levels": sorted(self.levels),
            "forms": list(self.forms),
        }
