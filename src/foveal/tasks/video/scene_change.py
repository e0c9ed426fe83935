"""Scene-change detection: in which frame does a still scene change, or how many times does it change.

Queries: the first frame that differs (`first`, one change), what kind of change it is (`kind`, one
change), how many frames differ from the one before (`count`, 0-3 changes) and how many objects the
last frame shows (`objects`, 0-3 changes).
"""

from __future__ import annotations

import random
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters
from foveal.tasks.video._video import at, frames_text, grid_frame, grid_note, mixed_video, put

SHAPES = ("circle", "square", "triangle", "star", "diamond")
PCOLORS = ("red", "blue", "green", "yellow", "purple", "orange")
KINDS = ("appears", "disappears", "recolour", "reshape", "moves")
KIND_TEXT = {"appears": "an object appears", "disappears": "an object disappears", "recolour": "an object changes colour",
             "reshape": "an object changes shape", "moves": "an object moves to a neighbouring cell"}
ONE_CHANGE = ("first", "kind")  # queries about a scene with exactly one change
EARLY, LATE = ("first", "kind", "count", "objects"), ("count", "objects", "first", "kind")  # levels' query orders


@register
class SceneChange(Task):
    """A still scene of objects on a grid; at some frames one object appears, disappears, changes
    colour, changes shape or moves to a neighbouring cell, and the scene stays so afterwards.

    Knobs per level:
        frames: number of frames.
        objects: objects in the scene.
        queries: "first" (the number of the first frame that differs from the one before it, with
            exactly one change), "kind" (which kind of change that one change is; choice among the
            level's kinds), "count" (how many frames differ from the one before, 0-3 changes, at
            most one per frame) and "objects" (how many objects the last frame shows, 0-3 changes).
        kinds: kinds of change allowed (subtler kinds at higher levels).
        g, size: grid cells per side and frame side in pixels.
    """

    name = "scene_change"
    modality = "video"
    description = "Video: find the frame where a still scene changes, or count the changes"
    tags = ("temporal", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 3, "objects": 3, "queries": EARLY, "kinds": ("appears", "disappears"), "g": 4, "size": 96},
        2: {"frames": 5, "objects": 4, "queries": EARLY, "kinds": ("appears", "disappears", "recolour"), "g": 5, "size": 100},
        3: {"frames": 6, "objects": 6, "queries": EARLY, "kinds": KINDS, "g": 5, "size": 110},
        4: {"frames": 6, "objects": 6, "queries": LATE, "kinds": KINDS, "g": 6, "size": 114},
        5: {"frames": 8, "objects": 9, "queries": LATE, "kinds": KINDS, "g": 6, "size": 120},
    }
    questions = {
        "first": {
            "direct": "The scene stays still except for one change. In which frame does it first differ from the frame before it?",
            "imperative": "The scene stays still except for one change. Give the first frame that differs from the frame "
                          "before it.",
            "polite": "The scene stays still except for one change. Could you tell me in which frame it first differs "
                      "from the frame before it?",
            "terse": "One change in a still scene: first frame that differs from the one before?",
        },
        "kind": {
            "direct": "The scene stays still except for one change. What kind of change is it?",
            "imperative": "The scene stays still except for one change. Name the kind of change.",
            "polite": "The scene stays still except for one change. Could you tell me what kind of change it is?",
            "terse": "One change in a still scene: what kind?",
        },
        "count": {
            "direct": "How many frames differ from the frame just before them?",
            "imperative": "Count the frames that differ from the frame just before them.",
            "polite": "Could you tell me how many frames differ from the frame just before them?",
            "terse": "Frames that differ from the frame just before: how many?",
        },
        "objects": {
            "direct": "How many objects are there in the last frame?",
            "imperative": "Count the objects in the last frame.",
            "polite": "Could you tell me how many objects there are in the last frame?",
            "terse": "Objects in the last frame: how many?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        g, F, n = cfg["g"], cfg["frames"], cfg["objects"]
        cells = [(c, r) for c in range(g) for r in range(g)]
        scene = {cell: {"shape": rng.choice(SHAPES), "color": rng.choice(PCOLORS)} for cell in rng.sample(cells, n)}
        n_changes = 1 if self.query in ONE_CHANGE else rng.randint(0, min(3, F - 1))
        when = sorted(rng.sample(range(1, F), n_changes))
        scenes, changes, kinds = [], [], []  # kinds: what each change turned out to be
        for t in range(F):
            if t in when:
                scene = {k: dict(v) for k, v in scene.items()}
                kind = rng.choice(cfg["kinds"])
                occupied = sorted(scene)
                if kind == "appears" or not occupied:
                    cell = rng.choice([c for c in cells if c not in scene])
                    scene[cell] = {"shape": rng.choice(SHAPES), "color": rng.choice(PCOLORS)}
                    changes.append((t, f"a {scene[cell]['color']} {scene[cell]['shape']} appears at {at(*cell)}"))
                    kinds.append("appears")
                else:
                    cell = rng.choice(occupied)
                    o = scene[cell]
                    free = [(cell[0] + dc, cell[1] + dr) for dc, dr in ((1, 0), (-1, 0), (0, 1), (0, -1))
                            if (cell[0] + dc, cell[1] + dr) in cells and (cell[0] + dc, cell[1] + dr) not in scene]
                    if kind == "moves" and free:
                        dest = rng.choice(free)
                        scene[dest] = scene.pop(cell)
                        changes.append((t, f"the {o['color']} {o['shape']} moves from {at(*cell)} to {at(*dest)}"))
                        kinds.append("moves")
                    elif kind == "recolour":
                        old, o["color"] = o["color"], rng.choice([c for c in PCOLORS if c != o["color"]])
                        changes.append((t, f"the {old} {o['shape']} at {at(*cell)} turns {o['color']}"))
                        kinds.append("recolour")
                    elif kind == "reshape":
                        old, o["shape"] = o["shape"], rng.choice([s for s in SHAPES if s != o["shape"]])
                        changes.append((t, f"the {o['color']} {old} at {at(*cell)} becomes a {o['shape']}"))
                        kinds.append("reshape")
                    else:
                        del scene[cell]
                        changes.append((t, f"the {o['color']} {o['shape']} at {at(*cell)} disappears"))
                        kinds.append("disappears")
            scenes.append(scene)
        what = "; ".join(f"in frame {t + 1} {s}" for t, s in changes)
        choices = None
        if self.query == "first":
            answer = str(changes[0][0] + 1)
            q = f"{self.ask()} Answer with the frame number."
            sol = f"Frames 1 to {changes[0][0]} are identical; {what}. Answer: {answer}."
        elif self.query == "kind":
            choices = tuple(KIND_TEXT[k] for k in cfg["kinds"])
            answer = letters(len(choices))[cfg["kinds"].index(kinds[0])]
            q = f"{self.ask()}\n{choice_block(list(choices))}\nAnswer with the letter."
            sol = f"Frames 1 to {changes[0][0]} are identical; {what}: {KIND_TEXT[kinds[0]]}. Answer: {answer}."
        elif self.query == "objects":
            answer = str(len(scenes[-1]))
            q = f"{self.ask()} Answer with a number."
            sol = (f"The first frame shows {len(scenes[0])} object{'s' if len(scenes[0]) != 1 else ''}"
                   + (f"; {what}" if changes else "; nothing changes") + f". Answer: {answer}.")
        else:
            answer = str(len(changes))
            q = f"{self.ask()} Answer with a number."
            sol = (f"Comparing each frame with the previous one: {what}. That is {answer} changed frame{'s' if len(changes) != 1 else ''}. Answer: {answer}."
                   if changes else "Every frame is identical to the one before it. Answer: 0.")
        descs = [", ".join(f"{o['color']} {o['shape']} at {at(*c)}" for c, o in sorted(s.items())) for s in scenes]
        def frame(s):  # drawn only for forms that show images
            img, d, cell = grid_frame(cfg["size"], g)
            for (c, r), o in s.items():
                put(d, o["shape"], o["color"], c, r, cell)
            return img

        frames = [self.picture(frame, s) for s in scenes]
        enc = [[[c, r, o["shape"], o["color"]] for (c, r), o in sorted(s.items())] for s in scenes]
        context = grid_note(g)
        return self.sample(seed, level, prompt=self.image_prompt(f"These are the {F} frames of a short video, in order.\n{q}", F),
                           images=tuple(frames), answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}", solution=sol,
                           meta={"frame_texts": descs, "context": context, "question_text": q, "scenes": enc, "question": self.query, "g": g})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
