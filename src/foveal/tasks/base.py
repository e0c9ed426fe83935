"""The `Task` protocol and the base class every gym family derives from.

A task turns `(seed, level)` into a `Sample`, deterministically: the same triple
(task, seed, level) gives byte-identical images and identical text on every run and
machine. All randomness comes from `task_rng`, seeded from a hash of the triple, never
from global state.
"""

from __future__ import annotations

import contextvars
import copy
import hashlib
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from PIL import Image

from foveal.errors import FovealError
from foveal.sample import FORMS, IMAGE_TOKEN, Sample
from foveal.split import SPLITS, check_split, problem_key, split_of
from foveal.tasks import style as S
from foveal.tasks.variant import CANONICAL_PHRASING, PHRASINGS, Variant, choose, parse_hold_out

MODALITIES = ("image", "video", "text")
# False while `Task.generate` builds a text-form sample, whose images are dropped anyway.
_DRAWING: contextvars.ContextVar[bool] = contextvars.ContextVar("foveal_drawing", default=True)
# The variant `make` is building (read through `Task.query` and `Task.ask`).
_VARIANT: contextvars.ContextVar[Variant | None] = contextvars.ContextVar("foveal_variant", default=None)
# What `Task.ask` answered while `_build` made a sample: [(query, slots, question), ...].
_ASKED: contextvars.ContextVar[list | None] = contextvars.ContextVar("foveal_asked", default=None)
DEFAULT_QUERY = "default"  # the one query of a family that declares no `questions`
MAX_DRAWS = 500  # draws searched for a problem of the wanted split (test holds 10%: 0.9^500 ≈ 1e-23)
_PLACEHOLDER = Image.new("RGB", (1, 1), (255, 255, 255))  # what `Task.picture` returns then (shared)


def task_seed(name: str, seed: int | str, level: int) -> int:
    """A 64-bit integer seed derived from (task, seed, level), stable across runs and platforms."""
    digest = hashlib.sha256(f"{name}:{seed}:{level}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def _copy(rng: random.Random) -> random.Random:
    """An independent copy of a random stream at its current state (a plain `Random` by its state,
    ~10x cheaper than a deep copy; subclasses such as `foveal.eval.perturb.KnobRng` by deep copy)."""
    if type(rng) is random.Random:
        twin = random.Random()
        twin.setstate(rng.getstate())
        return twin
    return copy.deepcopy(rng)


def _evolve(sample: Sample, **fields: Any) -> Sample:
    """`replace(sample, **fields)` without re-running `Sample.__init__` (~6x cheaper), for fields whose
    new values keep the sample valid (the same number of images, a prompt with the same placeholders)."""
    out = object.__new__(type(sample))
    out.__dict__.update(sample.__dict__, **fields)
    return out


def task_rng(name: str, seed: int | str, level: int) -> random.Random:
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
        style_keys: meta fields that vary the look or wording but not the problem (left out of
            the problem key, so a style never separates two copies of one problem across splits).
        questions: {query: {phrasing: template}}: the kinds of question the family asks about a
            scene, each worded in every register of `foveal.tasks.variant.PHRASINGS`; templates
            are `str.format` strings over the slots `make` passes to `ask`. A level may allow a
            subset (its knob `queries`). A family without `questions` has one query, "default".
    """

    name: ClassVar[str]
    modality: ClassVar[str] = "image"
    description: ClassVar[str] = ""
    tags: ClassVar[tuple[str, ...]] = ()
    levels: ClassVar[dict[int, dict[str, Any]]] = {}
    forms: ClassVar[tuple[str, ...]] = ("image", "text")
    style_keys: ClassVar[tuple[str, ...]] = ()
    questions: ClassVar[dict[str, dict[str, str]]] = {}

    # -- what subclasses implement -------------------------------------------------
    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        """Build the image-form sample from the level's knobs `cfg`; use `self.sample(...)`."""
        raise NotImplementedError

    def mixed(self, sample: Sample) -> Sample:
        """The mixed form of an image-form sample: part of the information in text, the rest in the image."""
        raise FovealError(f"task {self.name!r} has no mixed form (forms: {', '.join(self.forms)})")

    def problem_params(self, sample: Sample) -> Any:
        """What fixes this problem, picture and twin alike (hashed into `Sample.problem_key`).

        By default the problem as stated in words: the text twin (which states what the picture
        shows), the question, the answer and the options. Two draws that give the same twin are one
        problem, and since the twin is a function of the picture, so are two draws that give the
        same picture: a split never separates two copies of what a learner sees, in either form.
        A family overrides this when its twin holds something the picture does not (e.g. a random
        listing order) or when a style varies the wording.
        """
        question = sample.prompt.split("\n", 1)[1] if sample.images and "\n" in sample.prompt else sample.prompt
        return {"twin": sample.text_twin, "question": question, "answer": sample.answer, "choices": sample.choices}

    # -- shared machinery -----------------------------------------------------------
    def generate(self, seed: int, level: int = 1, form: str = "image", split: str | None = None, *,
                 query: str | None = None, phrasing: str | None = None, style: str | None = None,
                 hold_out: Any = ()) -> Sample:
        """The sample for (seed, level) in the given form; deterministic.

        With `split` ("train", "val" or "test") the sample is the first of the seed's draws
        j = 0, 1, 2, ... whose problem lies in that split (`foveal.split.split_of`), so a split's
        samples never share a problem with another split's; its id reads `{task}/L{level}/{split}/s{seed}`.
        Draw 0 is the plain sample for the seed. The search runs without drawing pictures.

        `query`, `phrasing` and `style` pin the variant; unpinned parts are drawn per seed
        (`foveal.tasks.variant.choose`). `hold_out` ("style=noisy", "query=sum", ...) keeps those
        parts out of train/val/test; split "ood" draws only them, on test-split content.
        `meta["variant"]` records what was used.
        """
        self.check_level(level)
        if form not in FORMS:
            raise FovealError(f"unknown form {form!r}: expected one of {', '.join(FORMS)}")
        if form not in self.forms:
            raise FovealError(f"task {self.name!r} has no {form} form (forms: {', '.join(self.forms)})")
        if not isinstance(seed, int) or seed < 0:
            raise FovealError(f"seed must be a non-negative integer, got {seed!r}")
        held = parse_hold_out(hold_out)
        if split == "ood":
            if not held:
                raise FovealError("split 'ood' needs held-out parts (hold_out, e.g. style=noisy)")
        else:
            check_split(split, "split")
        variant = choose(self, seed, level, query=query, phrasing=phrasing, style=style, hold_out=held,
                         ood=split == "ood")
        content = "test" if split == "ood" else split
        draw = 0 if content is None else self._find_draw(seed, level, content, variant)
        sample = self._make(seed, level, draw, drawing=form != "text", variant=variant)
        if split is not None:
            sample = replace(sample, id=f"{self.name}/L{level}/{split}/s{seed}")
        if form == "text":
            return sample.as_text()
        if form == "mixed":
            return self.mixed_of(sample)
        return sample

    def mixed_of(self, sample: Sample) -> Sample:
        """The mixed form of an image-form sample, made in the sample's own variant (`mixed` sees the
        same `query`, phrasing and style; its pictures get the style's finish)."""
        variant = self.variant_of(sample)
        tokens = (_DRAWING.set(True), _VARIANT.set(variant))
        try:
            with S.using(variant.style):
                mixed = self.mixed(sample)
        finally:
            _VARIANT.reset(tokens[1])
            _DRAWING.reset(tokens[0])
        return replace(mixed, images=self._stylize(mixed.images, variant, sample.seed, sample.level))

    def _stylize(self, images: tuple[Image.Image, ...], variant: Variant, seed: int, level: int) -> tuple:
        """The style's pixel finish on each picture, seeded from (task, seed, level) and the picture's index."""
        style, base = S.get(variant.style), self.draw_seed(seed, level) ^ 0x5EED
        return tuple(S.finish(im, style, base + k) for k, im in enumerate(images))

    def _make(self, seed: int, level: int, draw: int, drawing: bool, variant: Variant) -> Sample:
        """Draw `draw` of (seed, level) in `variant`, with its problem key; pictures only when `drawing`."""
        stream = self.draw_seed(seed, level, draw)
        return self.make_from(random.Random(stream), seed, level, drawing, variant,
                              restart=lambda: random.Random(stream))

    def draw_seed(self, seed: int, level: int, draw: int = 0) -> int:
        """The seed of the random stream that draw `draw` of (seed, level) is made from."""
        return task_seed(self.name, seed if draw == 0 else f"{seed}#{draw}", level)

    def variant_of(self, sample: Sample) -> Variant:
        """The variant `sample` was made in (from `meta["variant"]`)."""
        v = sample.meta.get("variant") or {}
        return Variant(v.get("query", self.queries[0]), v.get("phrasing", CANONICAL_PHRASING),
                       v.get("style", S.CANONICAL))

    def draw_of(self, sample: Sample) -> int:
        """Which draw of its (seed, level) `sample` is: 0, or for a sample of `generate(split=...)`
        (id `{task}/L{level}/{split}/s{seed}`) the first draw in that split."""
        parts = sample.id.split("/")
        split = parts[2] if len(parts) > 3 and parts[2] in (*SPLITS, "ood") else None
        if split is None:
            return 0
        return self._find_draw(sample.seed, sample.level, "test" if split == "ood" else split, self.variant_of(sample))

    def make_from(self, rng: random.Random, seed: int, level: int, drawing: bool = True,
                  variant: Variant | None = None, restart: Callable[[], random.Random] | None = None) -> Sample:
        """`make` for (seed, level) in `variant` (default: the first query, canonical phrasing and
        style) from the random stream `rng` (`random.Random(draw_seed(...))` reproduces a draw;
        `foveal.eval.perturb` replays it with one decision changed), with its problem key (defined
        under the canonical phrasing and style) and `meta["variant"]`; pictures, in the variant's
        style, only when `drawing`. `restart()`, when given, makes `rng` afresh at its start (for
        the rare replay in the canonical phrasing; without it `rng` is copied before use)."""
        variant = variant or Variant(self.queries[0], CANONICAL_PHRASING, S.CANONICAL)
        canonical = variant.canonical()
        if variant.phrasing != canonical.phrasing and restart is None:
            copied = _copy(rng)
            restart = lambda: copied  # noqa: E731
        asked: list = []
        sample = self._build(rng, seed, level, drawing, variant, asked)
        keyed = sample if variant.phrasing == canonical.phrasing else (
            self._rephrase(sample, asked) or self._build(restart(), seed, level, False, canonical))
        meta = {**sample.meta, "variant": variant.as_dict()}
        images = self._stylize(sample.images, variant, seed, level) if drawing and sample.images else sample.images
        return _evolve(sample, images=images, meta=meta,
                       problem_key=problem_key(self.name, self.problem_params(keyed)))

    def _build(self, rng: random.Random, seed: int, level: int, drawing: bool, variant: Variant,
               asked: list | None = None) -> Sample:
        tokens = (_DRAWING.set(drawing), _VARIANT.set(variant), _ASKED.set(asked))
        try:
            with S.using(variant.style):
                return self.make(rng, dict(self.levels[level]), seed, level)
        finally:
            _ASKED.reset(tokens[2])
            _VARIANT.reset(tokens[1])
            _DRAWING.reset(tokens[0])

    def _rephrase(self, sample: Sample, asked: list) -> Sample | None:
        """`sample` as the canonical phrasing would have made it, by putting the canonical wording of its
        one question where the drawn wording stands in the prompt and twin (what the problem key reads;
        the scene is the same, being drawn from the same stream). None where that is not safe: the
        question asked more or less than once, or not standing exactly once in the prompt and twin, or
        in the answer or an option; `make_from` then replays the draw in the canonical phrasing."""
        if len(asked) != 1:
            return None
        query, slots, said = asked[0]
        plain = self.questions[query][CANONICAL_PHRASING].format(**slots)
        if (sample.prompt.count(said) != 1 or sample.text_twin.count(said) != 1 or said in sample.answer
                or any(said in c for c in sample.choices or ())):
            return None
        return _evolve(sample, prompt=sample.prompt.replace(said, plain),
                       text_twin=sample.text_twin.replace(said, plain))

    def _find_draw(self, seed: int, level: int, split: str, variant: Variant) -> int:
        """The first draw of (seed, level) in `variant` whose problem lies in `split` (FovealError after MAX_DRAWS)."""
        canonical = variant.canonical()
        for draw in range(MAX_DRAWS):
            if split_of(self._make(seed, level, draw, drawing=False, variant=canonical).problem_key) == split:
                return draw
        raise FovealError(f"task {self.name!r} level {level}: no {split} problem in {MAX_DRAWS} draws of seed "
                          f"{seed}; this level has too few distinct problems (see `foveal tasks stats {self.name}`)")

    # -- variants ---------------------------------------------------------------------
    @property
    def queries(self) -> tuple[str, ...]:
        """The kinds of question this family asks (`questions`' keys, or ("default",))."""
        return tuple(self.questions) or (DEFAULT_QUERY,)

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The registers this family words its questions in (all of PHRASINGS, or just "direct")."""
        return PHRASINGS if self.questions else (CANONICAL_PHRASING,)

    def level_queries(self, level: int) -> tuple[str, ...]:
        """The queries level `level` asks (its knob `queries`, default all)."""
        return tuple(self.levels[level].get("queries", self.queries))

    @property
    def query(self) -> str:
        """The query the sample being made asks (inside `make`)."""
        v = _VARIANT.get()
        return v.query if v is not None else self.queries[0]

    def ask(self, **slots: Any) -> str:
        """The current query in the current phrasing, its template filled with `slots`."""
        v = _VARIANT.get()
        query, phrasing = (v.query, v.phrasing) if v is not None else (self.queries[0], CANONICAL_PHRASING)
        said = self.questions[query][phrasing].format(**slots)
        asked = _ASKED.get()
        if asked is not None:
            asked.append((query, slots, said))
        return said

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
            "queries": list(self.queries),
            "phrasings": list(self.phrasings),
            "styles": list(S.STYLES),
            "variants": len(self.queries) * len(self.forms),
        }
