"""Object permanence: which ball is hidden behind the wall at the end of the video.

Queries: which ball is behind the wall in the last frame (`behind`), in which column that hidden
ball is then (`column`), how many balls can be seen in the last frame (`visible`), and which way
the hidden ball rolls (`direction`).
"""

from __future__ import annotations

import random
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters
from foveal.tasks.video._video import at, frames_text, grid_frame, grid_note, mixed_video, put

BALL_COLORS = ("red", "blue", "green", "yellow", "purple", "orange")
WALL = (150, 150, 150)


def column(ball: dict[str, Any], t: int) -> int:
    return ball["x0"] + ball["v"] * t


def hidden(ball: dict[str, Any], t: int, wall: tuple[int, int]) -> bool:
    return wall[0] <= column(ball, t) <= wall[1]


def visible(ball: dict[str, Any], t: int, wall: tuple[int, int], g: int) -> bool:
    return 0 <= column(ball, t) < g and not hidden(ball, t, wall)


@register
class Occlusion(Task):
    """Balls roll along their own rows at constant speed; a grey wall hides whatever is behind it.
    In the last frame exactly one ball is behind the wall; others are visible or have rolled out of
    the picture (every ball is visible in at least two frames, so its motion can be followed).

    Knobs per level:
        frames: number of frames.
        balls: number of balls (the choices).
        g: grid cells per side.
        wall: wall width in columns.
        speeds: allowed speeds in cells per frame.
        queries: "behind" (which ball is behind the wall in the last frame; choice), "column" (the
            column of the hidden ball in the last frame; number), "visible" (balls seen in the last
            frame; number), "direction" (which way the hidden ball rolls; choice left / right).
    """

    name = "occlusion"
    modality = "video"
    description = "Video: object permanence, which ball is hidden behind the wall at the end"
    tags = ("temporal", "spatial")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 3, "balls": 2, "g": 6, "wall": 2, "speeds": (1,), "size": 96},
        2: {"frames": 4, "balls": 2, "g": 6, "wall": 2, "speeds": (1,), "size": 96},
        3: {"frames": 5, "balls": 3, "g": 7, "wall": 2, "speeds": (1,), "size": 112},
        4: {"frames": 6, "balls": 4, "g": 8, "wall": 2, "speeds": (1, 2), "size": 120},
        5: {"frames": 7, "balls": 5, "g": 8, "wall": 3, "speeds": (1, 2), "size": 128},
    }
    questions = {
        "behind": {
            "direct": "In the last frame, which ball is behind the grey wall?",
            "imperative": "Name the ball that is behind the grey wall in the last frame.",
            "polite": "Could you tell me which ball is behind the grey wall in the last frame?",
            "terse": "Ball behind the grey wall in the last frame?",
        },
        "column": {
            "direct": "In the last frame the {color} ball is behind the grey wall. In which column is it?",
            "imperative": "The {color} ball is behind the grey wall in the last frame. Give the column it is in.",
            "polite": "In the last frame the {color} ball is behind the grey wall. Could you tell me which column it is in?",
            "terse": "Column of the {color} ball, behind the wall in the last frame?",
        },
        "visible": {
            "direct": "How many balls can be seen in the last frame?",
            "imperative": "Count the balls that can be seen in the last frame.",
            "polite": "Could you tell me how many balls can be seen in the last frame?",
            "terse": "Balls visible in the last frame: how many?",
        },
        "direction": {
            "direct": "Which way does the {color} ball roll?",
            "imperative": "Say which way the {color} ball rolls.",
            "polite": "Could you tell me which way the {color} ball rolls?",
            "terse": "Rolling direction of the {color} ball?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        g, F, n = cfg["g"], cfg["frames"], cfg["balls"]
        w0 = rng.randint(1, g - cfg["wall"] - 1)
        wall = (w0, w0 + cfg["wall"] - 1)
        colors = rng.sample(BALL_COLORS, n)
        rows = rng.sample(range(g), n)
        k = rng.randrange(n)
        balls = []
        for i, (c, r) in enumerate(zip(colors, rows, strict=False)):
            while True:  # each ball on its own: hidden at the end iff it is ball k, visible in >= 2 frames
                v = rng.choice(cfg["speeds"]) * rng.choice((1, -1))
                x_end = rng.randint(wall[0], wall[1]) if i == k else rng.randint(-2 * g, 3 * g)
                b = {"color": c, "row": r, "x0": x_end - v * (F - 1), "v": v}
                if hidden(b, F - 1, wall) == (i == k) and sum(visible(b, t, wall, g) for t in range(F)) >= 2:
                    break
            balls.append(b)
        b = balls[k]
        q = self.ask(color=b["color"])
        if self.query in ("behind", "direction"):
            choices = (tuple(f"the {c} ball" for c in colors) if self.query == "behind"
                       else ("to the left", "to the right"))
            answer = letters(len(choices))[k if self.query == "behind" else int(b["v"] > 0)]
            q = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        else:
            choices = None
            n_seen = sum(visible(bb, F - 1, wall, g) for bb in balls)
            answer = str(column(b, F - 1) + 1 if self.query == "column" else n_seen)
            q = f"{q} Answer with a number."
        descs = []
        # listed in the options' order where the options name every ball, else top to bottom (as drawn)
        listing = balls if self.query == "behind" else sorted(balls, key=lambda bb: bb["row"])
        for t in range(F):
            seen = [f"{bb['color']} ball at {at(column(bb, t), bb['row'])}" for bb in listing if visible(bb, t, wall, g)]
            descs.append(", ".join(seen) if seen else "no ball visible")
        last_seen = max(t for t in range(F) if visible(b, t, wall, g))
        sol = (f"The {b['color']} ball moves {abs(b['v'])} column{'s' if abs(b['v']) > 1 else ''} per frame to the "
               f"{'right' if b['v'] > 0 else 'left'}; last seen at column {column(b, last_seen) + 1} in frame {last_seen + 1}, it must be at "
               f"column {column(b, F - 1) + 1} in frame {F}, inside the wall (columns {wall[0] + 1}-{wall[1] + 1})"
               + (f"; the frame shows {descs[-1]}" if self.query == "visible" else "") + f". Answer: {answer}.")
        def frame(t):  # drawn only for forms that show images
            img, d, cell = grid_frame(cfg["size"], g)
            for bb in balls:
                if 0 <= column(bb, t) < g:
                    put(d, "circle", bb["color"], column(bb, t), bb["row"], cell, scale=0.4)
            d.rectangle([round(wall[0] * cell), 0, round((wall[1] + 1) * cell), cfg["size"] - 1], fill=WALL)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        wall_txt = f"A grey wall covers columns {wall[0] + 1} to {wall[1] + 1} in every row; a ball behind it cannot be seen."
        context = f"{grid_note(g)} {wall_txt} Balls roll at constant speeds."
        return self.sample(seed, level, prompt=self.image_prompt(
            f"These are the {F} frames of a short video, in order. Balls roll at constant speeds; the grey band is a wall that hides balls behind it.\n{q}", F),
            images=tuple(frames), answer=answer, answer_type="choice" if choices else "number", choices=choices,
            text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}",
            solution=sol, meta={"frame_texts": descs, "context": context, "question_text": q, "balls": balls, "wall": list(wall), "g": g, "frames": F, "size": cfg["size"]})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
