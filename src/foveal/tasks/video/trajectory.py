"""Trajectory extrapolation: where will the moving ball be a few frames after the video ends.

Queries: which marked cell it will be in (`future`), and that cell's column (`column`) or row
(`row`) as a number; and how many columns the ball moves sideways per frame (`sideways`; not where
it bounces, since a bounce can shorten a step).
"""

from __future__ import annotations

import random
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters
from foveal.tasks.video._video import at, frames_text, grid_frame, grid_note, mixed_video, put

RULES = {
    "linear": "The ball moves the same number of cells every frame.",
    "bounce": "The ball moves the same number of cells every frame and bounces off the edges of the grid like a billiard ball "
              "(a step that would leave the grid is reflected back from the edge).",
    "gravity": "The ball moves sideways by the same number of cells every frame, and its downward step grows by one cell every frame (gravity).",
}


def reflect(x: int, g: int) -> int:
    """Fold an unbounded coordinate back into 0..g-1 (mirror reflection at both edges)."""
    period = 2 * (g - 1)
    x %= period
    return x if x < g else period - x


def where(m: dict[str, Any], t: int, g: int) -> tuple[int, int]:
    """Cell (column, row) of the ball in frame t (0-based) under motion model m."""
    x, y = m["x"] + m["vx"] * t, m["y"] + m["vy"] * t
    if m["kind"] == "bounce":
        return reflect(x, g), reflect(y, g)
    if m["kind"] == "gravity":
        y += t * (t - 1) // 2
    return x, y


@register
class Trajectory(Task):
    """A ball moves on a g×g grid; four cells are marked A-D in every frame. Which marked cell will the
    ball occupy `ahead` frames after the last one shown?

    Knobs per level:
        model: "linear", "bounce" (reflects off the edges) or "gravity" (downward step grows by 1 each frame).
        frames: frames shown (≥3 for gravity so the growing step is visible).
        ahead: how many frames past the last to predict.
        g, size: grid cells per side, frame side in pixels.
        queries: "future" (which marked cell; choice), "column" / "row" (the column or row the ball
            will be in; number, 1-based), "sideways" (columns moved sideways per frame; number; not
            at the bounce level).
    """

    name = "trajectory"
    modality = "video"
    description = "Video: extrapolate a ball's path (straight, bouncing, or falling) to a future frame"
    tags = ("temporal", "spatial", "planning")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"model": "linear", "frames": 3, "ahead": 1, "g": 7, "size": 112},
        2: {"model": "linear", "frames": 3, "ahead": 2, "g": 8, "size": 112},
        3: {"model": "linear", "frames": 4, "ahead": 3, "g": 9, "size": 126},
        4: {"model": "bounce", "frames": 4, "ahead": 3, "g": 8, "size": 112, "queries": ("future", "column", "row")},
        5: {"model": "gravity", "frames": 4, "ahead": 2, "g": 9, "size": 126},
    }
    questions = {
        "future": {
            "direct": "Where will the ball be in frame {frame}, {later} after the last one shown?",
            "imperative": "Say where the ball will be in frame {frame}, {later} after the last one shown.",
            "polite": "Could you tell me where the ball will be in frame {frame}, {later} after the last one shown?",
            "terse": "Ball's cell in frame {frame} ({later} after the last one shown)?",
        },
        "column": {
            "direct": "In which column will the ball be in frame {frame}, {later} after the last one shown?",
            "imperative": "Give the column the ball will be in in frame {frame}, {later} after the last one shown.",
            "polite": "Could you tell me which column the ball will be in in frame {frame}, {later} after the last "
                      "one shown?",
            "terse": "Ball's column in frame {frame} ({later} after the last one shown)?",
        },
        "row": {
            "direct": "In which row will the ball be in frame {frame}, {later} after the last one shown?",
            "imperative": "Give the row the ball will be in in frame {frame}, {later} after the last one shown.",
            "polite": "Could you tell me which row the ball will be in in frame {frame}, {later} after the last one "
                      "shown?",
            "terse": "Ball's row in frame {frame} ({later} after the last one shown)?",
        },
        "sideways": {
            "direct": "How many columns does the ball move sideways from one frame to the next?",
            "imperative": "Give the number of columns the ball moves sideways from one frame to the next.",
            "polite": "Could you tell me how many columns the ball moves sideways from one frame to the next?",
            "terse": "Columns moved sideways per frame?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        g, F, k, kind = cfg["g"], cfg["frames"], cfg["ahead"], cfg["model"]
        T = F - 1 + k
        inside = lambda p: 0 <= p[0] < g and 0 <= p[1] < g  # noqa: E731
        while True:
            m = {"kind": kind, "x": rng.randrange(g), "y": rng.randrange(g), "vx": rng.randint(-2, 2),
                 "vy": rng.randint(-2, 2) if kind != "gravity" else rng.randint(-3, 0)}
            if (m["vx"], m["vy"]) == (0, 0):
                continue
            path = [where(m, t, g) for t in range(T + 2)]
            if not all(inside(p) for p in path[: T + 1]) or len(set(path[:F])) < F:
                continue
            target = path[T]
            near = {path[T - 1], path[T + 1] if inside(path[T + 1]) else path[T - 1]}
            near |= {(target[0] + dx, target[1] + dy) for dx in (-2, -1, 0, 1, 2) for dy in (-2, -1, 0, 1, 2)}
            pool = sorted(p for p in near if inside(p) and p != target and p not in path[:F])
            if target in path[:F] or len(pool) < 3:
                continue
            break
        cands = rng.sample(pool, 3) + [target]
        rng.shuffle(cands)
        q = self.ask(frame=T + 1, later=f"{k} frame{'s' if k > 1 else ''}")
        if self.query == "future":
            answer = letters(4)[cands.index(target)]
            choices = tuple(f"cell {L}" for L in letters(4))
            q = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        elif self.query == "sideways":
            answer, choices = str(abs(m["vx"])), None
            q = f"{q} Answer with a number."
        else:
            answer, choices = str(target[0 if self.query == "column" else 1] + 1), None
            q = f"{q} Answer with a number."
        descs = [f"ball at {at(*path[t])}" for t in range(F)]
        steps = [(path[t + 1][0] - path[t][0], path[t + 1][1] - path[t][1]) for t in range(F - 1)]
        sol = (f"Between frames the ball steps by {', '.join(f'({dx:+d}, {dy:+d})' for dx, dy in steps)} (columns, rows). "
               + (f"Sideways that is {answer} column{'s' if answer != '1' else ''} per frame." if self.query == "sideways" else
                  f"Continuing the same rule for {k} more frame{'s' if k > 1 else ''} puts it at {at(*target)}.")
               + f" Answer: {answer}.")
        def frame(t):  # drawn only for forms that show images
            img, d, cell = grid_frame(cfg["size"], g)
            for L, (c, r) in zip(letters(4), cands, strict=False):
                label(img, ((c + 0.5) * cell, (r + 0.5) * cell), L, size=11, fill=(150, 150, 150))
            put(d, "circle", "red", *path[t], cell, scale=0.4)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        marks = "; ".join(f"cell {L} is {at(*p)}" for L, p in zip(letters(4), cands, strict=False))
        context = f"{grid_note(g)} {RULES[kind]} Marked cells: {marks}."
        return self.sample(seed, level, prompt=self.image_prompt(
            f"These are the {F} frames of a short video, in order. Four grid cells are marked A-D in grey. {RULES[kind]}\n{q}", F),
            images=tuple(frames), answer=answer, answer_type="choice" if choices else "number", choices=choices,
            text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}",
            solution=sol, meta={"frame_texts": descs, "context": context, "question_text": q, "motion": m, "g": g, "frames": F, "ahead": k, "candidates": [list(p) for p in cands], "size": cfg["size"]})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
