"""Speed comparison: which object in a video moves fastest (or slowest).

Queries: which ball moves fastest (`fastest`) or slowest (`slowest`), how many balls move faster
than a named one (`faster`), and a named ball's speed in pixels per frame (`speed`; levels where
balls move along the axes, so speeds are whole pixels).
"""

from __future__ import annotations

import math
import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, choice_block, letters, rgb, shape
from foveal.tasks.video._video import frames_text, mixed_video

BALL_COLORS = ("red", "blue", "green", "yellow", "purple", "orange")
R = 6


def pos(o: dict[str, Any], t: int) -> tuple[int, int]:
    return o["x"] + o["vx"] * t, o["y"] + o["vy"] * t


@register
class SpeedCompare(Task):
    """Balls move in straight lines at constant, clearly different speeds (pixels per frame); which is
    fastest or slowest? Balls never overlap, and their speeds differ by ≥ `gap` pixels per frame.

    Knobs per level:
        frames, balls: frames shown and balls moving.
        diagonal: whether motion may be in any direction (speed = length of the per-frame step)
            or only along the axes.
        queries: "fastest", "slowest" (which ball; choice), "faster" (how many balls move faster
            than the named one; number), "speed" (the named ball's pixels per frame; number; only
            where motion is along the axes).
        gap: minimum speed difference in pixels per frame.
        size: frame side in pixels.
    """

    name = "speed_compare"
    modality = "video"
    description = "Video: which ball moves fastest or slowest"
    tags = ("temporal", "perception")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 3, "balls": 2, "diagonal": False, "gap": 6, "size": 112},
        2: {"frames": 3, "balls": 3, "diagonal": False, "gap": 4, "size": 112},
        3: {"frames": 4, "balls": 4, "diagonal": False, "gap": 3, "size": 120},
        4: {"frames": 4, "balls": 4, "diagonal": True, "queries": ("fastest", "slowest", "faster"), "gap": 3, "size": 128},
        5: {"frames": 5, "balls": 5, "diagonal": True, "queries": ("fastest", "slowest", "faster"), "gap": 2.5, "size": 128},
    }
    questions = {
        "fastest": {
            "direct": "Which ball moves fastest?",
            "imperative": "Name the ball that moves fastest.",
            "polite": "Could you tell me which ball moves fastest?",
            "terse": "Fastest ball?",
        },
        "slowest": {
            "direct": "Which ball moves slowest?",
            "imperative": "Name the ball that moves slowest.",
            "polite": "Could you tell me which ball moves slowest?",
            "terse": "Slowest ball?",
        },
        "faster": {
            "direct": "How many balls move faster than the {color} ball?",
            "imperative": "Count the balls that move faster than the {color} ball.",
            "polite": "Could you tell me how many balls move faster than the {color} ball?",
            "terse": "Balls faster than the {color} ball: how many?",
        },
        "speed": {
            "direct": "How many pixels does the {color} ball move per frame?",
            "imperative": "Give the number of pixels the {color} ball moves per frame.",
            "polite": "Could you tell me how many pixels the {color} ball moves per frame?",
            "terse": "Speed of the {color} ball, in pixels per frame?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        F, n, S = cfg["frames"], cfg["balls"], cfg["size"]
        span = S - 2 * R - 4  # room for the whole path
        vmax = span // (F - 1)
        ladder = [2 + i * (cfg["gap"] + 1) for i in range(int((vmax - 2) // (cfg["gap"] + 1)) + 1)]
        while True:
            balls = []
            for c, target in zip(rng.sample(BALL_COLORS, n), rng.sample(ladder, n), strict=False):
                for _ in range(50):  # a direction and start whose path fits and stays clear of the others
                    ang = rng.uniform(0, 2 * math.pi) if cfg["diagonal"] else rng.choice((0, 0.5, 1, 1.5)) * math.pi
                    vx, vy = round(target * math.cos(ang)), round(target * math.sin(ang))
                    lo_x, hi_x = R + 2 - min(0, vx * (F - 1)), S - R - 3 - max(0, vx * (F - 1))
                    lo_y, hi_y = R + 2 - min(0, vy * (F - 1)), S - R - 3 - max(0, vy * (F - 1))
                    if lo_x > hi_x or lo_y > hi_y:
                        continue
                    b = {"color": c, "vx": vx, "vy": vy, "x": rng.randint(lo_x, hi_x), "y": rng.randint(lo_y, hi_y)}
                    if all(math.dist(pos(a, t), pos(b, t)) > 2 * R + 2 for a in balls for t in range(F)):
                        balls.append(b)
                        break
            speeds = sorted(math.hypot(b["vx"], b["vy"]) for b in balls)
            if len(balls) == n and all(b - a >= cfg["gap"] for a, b in zip(speeds, speeds[1:], strict=False)):
                break
        ask = self.query
        speed = {b["color"]: math.hypot(b["vx"], b["vy"]) for b in balls}
        if ask in ("fastest", "slowest"):
            pick = (max if ask == "fastest" else min)(balls, key=lambda b: speed[b["color"]])
            choices = tuple(f"the {b['color']} ball" for b in balls)
            answer = letters(n)[balls.index(pick)]
            q = f"{self.ask()}\n{choice_block(list(choices))}\nAnswer with the letter."
            verdict = f"the {pick['color']} ball is {ask}"
        else:
            pick, choices = balls[rng.randrange(n)], None
            quicker = [b for b in balls if speed[b["color"]] > speed[pick["color"]]]
            answer = str(len(quicker) if ask == "faster" else round(speed[pick["color"]]))
            q = f"{self.ask(color=pick['color'])} Answer with a number."
            verdict = (f"{answer} ball{'s' if answer != '1' else ''} move{'s' if answer == '1' else ''} faster than the "
                       f"{pick['color']} ball" if ask == "faster" else f"the {pick['color']} ball moves {answer} px per frame")
        descs = [", ".join(f"{b['color']} ball at ({pos(b, t)[0]}, {pos(b, t)[1]})" for b in balls) for t in range(F)]
        sol = ("Per frame the balls move " + ", ".join(f"{b['color']} {speed[b['color']]:.1f} px" for b in balls)
               + f", so {verdict}. Answer: {answer}.")
        def frame(t):  # drawn only for forms that show images
            img = canvas(S)
            d = ImageDraw.Draw(img)
            d.rectangle([0, 0, S - 1, S - 1], outline=(120, 120, 120))
            for b in balls:
                shape(d, "circle", *pos(b, t), R, rgb(b["color"]))
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        context = (f"The frames are equally spaced in time and {S}×{S} pixels; positions are ball centres (x, y) in pixels, "
                   "x from the left and y from the top.")
        return self.sample(seed, level, prompt=self.image_prompt(
            f"These are the {F} frames of a short video, in order; the frames are equally spaced in time.\n{q}", F),
            images=tuple(frames), answer=answer, answer_type="choice" if choices else "number", choices=choices,
            text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}",
            solution=sol, meta={"frame_texts": descs, "context": context, "question_text": q, "balls": balls, "ask": ask, "frames": F, "size": S, "radius": R})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
