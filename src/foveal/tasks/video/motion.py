"""`motion`: a short "video" (4-16 frames, one image each) of moving or appearing objects.

Two scenes, six queries. Moving objects (each position changes by a constant step each frame):
the direction in which a named object moves (`direction`), its sideways part (`horizontal`: left /
right / neither) and its up-down part (`vertical`). Appearing objects (each becomes visible at its
own frame and stays): which appears first (`first`), the order they appear in (`order`), and in
which frame a named one appears (`appear`, a number). The text twin lists every object's position
frame by frame, as in T3's text-to-video temporal reasoning.
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
from foveal.tasks import style as S
from foveal.tasks.base import Task

HORIZONTAL = ("to the left", "to the right", "neither: it does not move sideways")
VERTICAL = ("up", "down", "neither: it does not move up or down")
APPEARING = ("first", "order", "appear")  # the queries about a scene of appearing (not moving) objects
MOVING = ("direction", "horizontal", "vertical")  # the queries about a scene of moving objects
DIRECTIONS = {"right": (1, 0), "left": (-1, 0), "up": (0, -1), "down": (0, 1),
              "up-right": (1, -1), "up-left": (-1, -1), "down-right": (1, 1), "down-left": (-1, 1)}


def name(o: dict[str, Any]) -> str:
    return f"the {o['color']} {o['shape']}"


def position(o: dict[str, Any], t: int) -> tuple[int, int] | None:
    """The whole pixel where object `o` is in frame `t` (0-based), or None before it appears: the one
    position the picture, the twin and the solution all state (the path is kept to 0.1 px, then
    rounded to the pixel)."""
    if t < o["appear"]:
        return None
    dx, dy = o["velocity"]
    return round(round(o["x"] + dx * t, 1)), round(round(o["y"] + dy * t, 1))


def frame(size: int, objects: list[dict[str, Any]], t: int):
    """Frame `t` with each object drawn at the position its twin states (`describe_frame`), so the twin
    fixes the picture: two positions one twin calls the same draw the same, and two the twin tells
    apart are drawn apart."""
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    for o in objects:
        p = position(o, t)
        if p is not None:
            D.shape(d, o["shape"], p[0], p[1], o["r"], D.rgb(o["color"]), outline=S.current().outline)
    return im


def describe_frame(objects: list[dict[str, Any]], t: int) -> str:
    seen = [(o, position(o, t)) for o in objects]
    items = [f"{o['color']} {o['shape']} at ({p[0]}, {p[1]})" for o, p in seen if p is not None]
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
        queries: moving scenes: "direction" (where does the named object move), "horizontal"
            (its sideways part: left / right / neither), "vertical" (up / down / neither);
            appearing scenes: "first" (which object appears first), "order" (the order the
            objects appear in; levels with more than 3 objects), "appear" (the frame in which the
            named object appears; number).

    Mixed form: the first half of the frames is described in words, the rest are shown.
    """

    name = "motion"
    modality = "video"
    description = "Frames of a short video: direction of a named object's motion or order of appearance (choice)."
    tags = ("temporal", "spatial", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(frames=4, size=64, objects=1, directions=4, step=10, radius=8, queries=MOVING),
        2: dict(frames=6, size=80, objects=2, directions=4, step=6, radius=8, queries=MOVING),
        3: dict(frames=8, size=96, objects=3, directions=8, step=5, radius=8, queries=MOVING),
        4: dict(frames=8, size=96, objects=3, directions=4, step=0, radius=9, queries=("first", "appear")),
        5: dict(frames=12, size=112, objects=4, directions=8, step=3, radius=8, queries=("order", *MOVING, "first", "appear")),
        6: dict(frames=16, size=128, objects=5, directions=8, step=3, radius=8, queries=("order", *MOVING, "first", "appear")),
    }
    questions = {
        "direction": {
            "direct": "In which direction does {obj} move?",
            "imperative": "Give the direction in which {obj} moves.",
            "polite": "Could you tell me in which direction {obj} moves?",
            "terse": "Direction of {obj}?",
        },
        "horizontal": {
            "direct": "Which way does {obj} move sideways?",
            "imperative": "Say which way {obj} moves sideways.",
            "polite": "Could you tell me which way {obj} moves sideways?",
            "terse": "Sideways motion of {obj}?",
        },
        "vertical": {
            "direct": "Does {obj} move up or down?",
            "imperative": "Say whether {obj} moves up or down.",
            "polite": "Could you tell me whether {obj} moves up or down?",
            "terse": "Up-down motion of {obj}?",
        },
        "first": {
            "direct": "Which object appears first?",
            "imperative": "Name the object that appears first.",
            "polite": "Could you tell me which object appears first?",
            "terse": "First object to appear?",
        },
        "order": {
            "direct": "In which order do the objects appear?",
            "imperative": "Give the order in which the objects appear.",
            "polite": "Could you tell me in which order the objects appear?",
            "terse": "Order of appearance?",
        },
        "appear": {
            "direct": "In which frame does {obj} first appear?",
            "imperative": "Give the frame in which {obj} first appears.",
            "polite": "Could you tell me in which frame {obj} first appears?",
            "terse": "Frame in which {obj} appears?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        n, size, frames, step, r = cfg["objects"], cfg["size"], cfg["frames"], cfg["step"], cfg["radius"]
        dirs = list(DIRECTIONS)[: cfg["directions"]]
        kind = "order" if self.query in APPEARING else "direction"  # which scene: appearing or moving objects
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
            question = self.ask(obj=name(target))
            p0, p1 = position(target, 0), position(target, frames - 1)
            why = (f"{name(target).capitalize()} goes from ({p0[0]}, {p0[1]}) in frame 1 to "
                   f"({p1[0]}, {p1[1]}) in frame {frames}, so it moves {target['heading']}.")
            if self.query == "direction":
                wrong = rng.sample([d for d in dirs if d != target["heading"]], 3)
                choices = [target["heading"], *wrong]
                rng.shuffle(choices)
                correct = target["heading"]
            else:
                choices = list(HORIZONTAL if self.query == "horizontal" else VERTICAL)
                dx, dy = DIRECTIONS[target["heading"]]
                correct = choices[(0 if dx < 0 else 1 if dx > 0 else 2) if self.query == "horizontal"
                                  else (0 if dy < 0 else 1 if dy > 0 else 2)]
                why = f"{why[:-1]}, so the answer is \"{correct}\"."
        elif self.query == "appear":
            target = objects[rng.randrange(n)]
            question, choices, correct = self.ask(obj=name(target)), None, str(target["appear"] + 1)
            why = f"{name(target).capitalize()} is missing before frame {correct} and shown from frame {correct} on."
        else:
            by_time = sorted(objects, key=lambda o: o["appear"])
            if self.query == "first":
                question = self.ask()
                choices = [f"{o['color']} {o['shape']}" for o in objects]
                correct = choices[objects.index(by_time[0])]
                why = f"{name(by_time[0]).capitalize()} appears in frame {by_time[0]['appear'] + 1}, before the others."
            else:
                question = self.ask()
                label = lambda seq: ", ".join(f"{o['color']} {o['shape']}" for o in seq)  # noqa: E731
                correct = label(by_time)
                perms = [p for p in itertools.islice(itertools.permutations(by_time), 1, 200)]
                choices = [correct, *(label(p) for p in rng.sample(perms, 3))]
                rng.shuffle(choices)
                why = "The objects appear in frames " + ", ".join(
                    f"{o['appear'] + 1} ({o['color']} {o['shape']})" for o in by_time) + "."
        if choices is None:
            letter, full_q = correct, f"{question} Answer with a number."
        else:
            letter = D.letters(len(choices))[choices.index(correct)]
            full_q = f"{question}\n{D.choice_block(choices)}\nAnswer with the letter."
        intro = f"These are the {frames} frames of a short video, in order."
        scene = " ".join(describe_frame(objects, t) for t in range(frames))
        twin = (f"A short video has {frames} frames of {size}x{size} pixels (x grows to the right, y grows "
                f"downwards). {scene} {full_q}")
        return self.sample(
            seed, level, prompt=self.image_prompt(f"{intro} {full_q}", frames),
            images=tuple(self.picture(frame, size, objects, t) for t in range(frames)), answer=letter,
            answer_type="choice" if choices else "number", choices=tuple(choices) if choices else None, text_twin=twin, solution=f"{why} The answer is {letter}.",
            meta={"size": size, "frames": frames, "question": self.query, "ask": full_q, "objects": objects},
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
