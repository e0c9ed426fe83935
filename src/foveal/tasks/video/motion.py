"""`motion`: a short "video" (4-16 frames, one image each) of moving or appearing objects.

Two questions: the direction in which a named object moves (its position changes by a
constant step each frame), and the order in which objects appear (each becomes visible
at its own frame and stays). The text twin lists every object's position frame by frame,
as in T3's text-to-video temporal reasoning.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import IMAGE_TOKEN, Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks.base import Task

DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1),
              "up-right": (1, -1), "up-left": (-1, -1), "down-right": (1, 1), "down-left": (-1, 1)}


def name(o: dict[str, Any]) -> str:
    return f"the {o['color']} {o['shape']}"


def position(o: dict[str, Any], t: int) -> tuple[float, float] | None:
    """Where object `o` is in frame `t` (0-based), or None before it appears."""
    if t < o["appear"]:
        return None
    dx, dy = o["velocity"]
    return round(o["x"] + dx * t, 1), round(o["y"] + dy * t, 1)


def frame(size: int, objects: list[dict[str, Any]], t: int):
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    for o in objects:
        p = position(o, t)
        if p is not None:
            D.shape(d, o["shape"], p[0], p[1], o["r"], D.COLORS[o["color"]], outline=(40, 40, 40))
    return im


def describe_frame(objects: list[dict[str, Any]], t: int) -> str:
    seen = [(o, position(o, t)) for o in objects]
    items = [f"{o['color']} {o['shape']} at ({round(p[0])}, {round(p[1])})" for o, p in seen if p is not None]
    return f"Frame {t + 1}: {', '.join(items) if items else 'empty'}."


@register
class Motion(Task):
    """Temporal reasoning over frames: direction of motion or order of appearance (choice).

    Level knobs:
        frames: number of frames (each its own image, one `<image>` per frame).
        size: frame side in pixels.
        objects: objects in the video (the named one plus distractors).
        directions: 4 (left/right/up/down) or 8 (with diagonals) possible directions.
        step: pixels moved per frame along each moving axis.
        questions: "direction" (where does the named object move) and/or "order" (which
            order do the objects appear in; with 3 objects "which appears first").

    Mixed form: the first half of the frames is described in words, the rest are shown.
    """

    name = "motion"
    modality = "video"
    description = "Frames of a short video: direction of a named object's motion or order of appearance (choice)."
    tags = ("temporal", "spatial", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(frames=4, size=64, objects=1, directions=4, step=10, radius=8, questions=("direction",)),
        2: dict(frames=6, size=80, objects=2, directions=4, step=6, radius=8, questions=("direction",)),
        3: dict(frames=8, size=96, objects=3, directions=8, step=5, radius=8, questions=("direction",)),
        4: dict(frames=8, size=96, objects=3, directions=4, step=0, radius=9, questions=("order",)),
        5: dict(frames=12, size=112, objects=4, directions=8, step=3, radius=8, questions=("order", "direction")),
        6: dict(frames=16, size=128, objects=5, directions=8, step=3, radius=8, questions=("order", "direction")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, size, frames, step, r = cfg["objects"], cfg["size"], cfg["frames"], cfg["step"], cfg["radius"]
        dirs = list(DIRECTIONS)[: cfg["directions"]]
        kind = rng.choice(cfg["questions"])
        combos = [(c, s) for c in rng.sample(list(D.COLORS), 5) for s in D.SHAPES[:3]]
        # direction question: every object has its own heading, so the named one's is unambiguous
        heading = rng.sample(dirs, n) if kind == "direction" else [rng.choice(dirs) for _ in range(n)]
        appear = [0] * n if kind == "direction" else sorted(rng.sample(range(frames - 1), n))
        objects = []
        starts = D.scatter(rng, n, size, size, r + 2, gap=2) if step == 0 else None  # static objects
        for k, ((colour, shape_), h) in enumerate(zip(rng.sample(combos, n), heading, strict=True)):
            dx, dy = DIRECTIONS[h]
            norm = math.hypot(dx, dy) if step else 1
            vx, vy = round(step * dx / norm, 2), round(step * dy / norm, 2)
            if starts is not None:
                x, y = starts[k]
            else:
                travel_x, travel_y = vx * (frames - 1), vy * (frames - 1)
                x = rng.uniform(r + 1 - min(0, travel_x), size - r - 1 - max(0, travel_x))
                y = rng.uniform(r + 1 - min(0, travel_y), size - r - 1 - max(0, travel_y))
            objects.append({"color": colour, "shape": shape_, "x": round(x, 1), "y": round(y, 1), "r": r,
                            "velocity": [vx, vy], "heading": h, "appear": 0})
        for o, a in zip(objects, rng.sample(appear, n), strict=True):
            o["appear"] = a
        if kind == "direction":
            target = objects[rng.randrange(n)]
            wrong = rng.sample([d for d in dirs if d != target["heading"]], 3)
            choices = [target["heading"], *wrong]
            rng.shuffle(choices)
            question = f"In which direction does {name(target)} move?"
            p0, p1 = position(target, 0), position(target, frames - 1)
            why = (f"{name(target).capitalize()} goes from ({round(p0[0])}, {round(p0[1])}) in frame 1 to "
                   f"({round(p1[0])}, {round(p1[1])}) in frame {frames}, so it moves {target['heading']}.")
            correct = target["heading"]
        else:
            by_time = sorted(objects, key=lambda o: o["appear"])
            if n <= 3:
                question = "Which object appears first?"
                choices = [f"{o['color']} {o['shape']}" for o in objects]
                correct = choices[objects.index(by_time[0])]
                why = f"{name(by_time[0]).capitalize()} appears in frame {by_time[0]['appear'] + 1}, before the others."
            else:
                question = "In which order do the objects appear?"
                label = lambda seq: ", ".join(f"{o['color']} {o['shape']}" for o in seq)  # noqa: E731
                correct = label(by_time)
                perms = [p for p in itertools.islice(itertools.permutations(by_time), 1, 200)]
                choices = [correct, *(label(p) for p in rng.sample(perms, 3))]
                rng.shuffle(choices)
                why = "The objects appear in frames " + ", ".join(
                    f"{o['appear'] + 1} ({o['color']} {o['shape']})" for o in by_time) + "."
        letter = D.letters(len(choices))[choices.index(correct)]
        full_q = f"{question}\n{D.choice_block(choices)}\nAnswer with the letter."
        intro = f"These are the {frames} frames of a short video, in order."
        scene = " ".join(describe_frame(objects, t) for t in range(frames))
        twin = (f"A short video has {frames} frames of {size}x{size} pixels (x grows to the right, y grows "
                f"downwards). {scene} {full_q}")
        return self.sample(
            seed, level, prompt=self.image_prompt(f"{intro} {full_q}", frames),
            images=tuple(self.picture(frame, size, objects, t) for t in range(frames)), answer=letter, answer_type="choice",
            choices=tuple(choices), text_twin=twin, solution=f"{why} The answer is {letter}.",
            meta={"size": size, "frames": frames, "question": kind, "ask": full_q, "objects": objects},
        )

    def mixed(self, sample: Sample) -> Sample:
        """Describe the first half of the frames in words; show the second half as images."""
        m = sample.meta
        frames, half = m["frames"], m["frames"] // 2
        said = " ".join(describe_frame(m["objects"], t) for t in range(half))
        prompt = " ".join([IMAGE_TOKEN] * (frames - half)) + (
            f"\nA short video has {frames} frames of {m['size']}x{m['size']} pixels (x grows to the right, y "
            f"grows downwards). Frames 1-{half} are described in words: {said} The images show frames "
            f"{half + 1}-{frames}. {m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=sample.images[half:])
