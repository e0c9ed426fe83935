"""Cause and effect: which ball's collision set the target ball in motion (Newton's-cradle physics).

Queries: why the target starts moving (`cause`), which ball started the chain (`origin`, where
chains are two hits long), in which frame the target first moves (`start`) and how many balls move
at all (`moving`).
"""

from __future__ import annotations

import random
from typing import Any

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import choice_block, letters
from foveal.tasks.video._video import at, frames_text, grid_frame, grid_note, mixed_video, put

BALL_COLORS = ("red", "blue", "green", "yellow", "purple", "orange", "brown")
BASIC = ("cause", "start", "moving")  # the queries of levels whose chains are one hit long


def chain_path(starts: list[int], d: int, frames: int, own_at: int | None) -> list[list[int]]:
    """Columns of the chain balls in every frame.

    Ball 0 rolls one cell per frame in direction d; when it is next to the following ball, it stops
    and that ball rolls on from the next frame (momentum passes along). With `own_at`, the single
    ball rests until frame `own_at` and then starts rolling by itself.
    """
    pos, active, out = list(starts), 0, []
    for t in range(frames):
        out.append(list(pos))
        if own_at is not None:
            if t + 1 >= own_at:
                pos[0] += d
            continue
        if active + 1 < len(pos) and pos[active] + d == pos[active + 1]:
            active += 1
        pos[active] += d
    return out


@register
class Collision(Task):
    """Balls on a grid. In one row a ball rolls into a resting ball, stops, and the resting ball rolls
    on (at level 4+ through a middle ball first); other balls roll along rows at least two rows away
    or rest. Sometimes the target starts rolling with nothing touching it. Why does the target move?

    Knobs per level:
        frames, g, size: frames shown, grid cells per side, frame side in pixels.
        chain: balls that hit one another before the target (1 or 2).
        distractors: other balls (resting or rolling in other rows).
        p_own: probability that the target instead starts moving by itself.
        queries: "cause" (the ball that hit it, or nothing), "origin" (the ball that started the
            chain; levels with two-hit chains), "start" (the frame in which the target is first in a
            new cell; number), "moving" (how many balls change cell during the video; number).
    """

    name = "collision"
    modality = "video"
    description = "Video: cause and effect, which ball's collision made the target ball move"
    tags = ("temporal", "logic")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 4, "g": 6, "chain": 1, "distractors": 1, "p_own": 0.0, "size": 96, "queries": BASIC},
        2: {"frames": 5, "g": 6, "chain": 1, "distractors": 1, "p_own": 0.25, "size": 96, "queries": BASIC},
        3: {"frames": 6, "g": 7, "chain": 1, "distractors": 2, "p_own": 0.25, "size": 112, "queries": BASIC},
        4: {"frames": 6, "g": 10, "chain": 2, "distractors": 2, "p_own": 0.2, "size": 120},
        5: {"frames": 7, "g": 10, "chain": 2, "distractors": 3, "p_own": 0.2, "size": 130},
    }
    questions = {
        "cause": {
            "direct": "Why does the {color} ball start moving?",
            "imperative": "Explain why the {color} ball starts moving.",
            "polite": "Could you tell me why the {color} ball starts moving?",
            "terse": "Cause of the {color} ball starting to move?",
        },
        "origin": {
            "direct": "Which ball started the chain of events that set the {color} ball moving?",
            "imperative": "Name the ball that started the chain of events that set the {color} ball moving.",
            "polite": "Could you tell me which ball started the chain of events that set the {color} ball moving?",
            "terse": "Start of the chain that set the {color} ball moving?",
        },
        "start": {
            "direct": "In which frame is the {color} ball first in a different cell from the frame before?",
            "imperative": "Give the first frame in which the {color} ball is in a different cell from the frame before.",
            "polite": "Could you tell me in which frame the {color} ball is first in a different cell from the frame "
                      "before?",
            "terse": "First frame with the {color} ball in a new cell?",
        },
        "moving": {
            "direct": "How many balls change cell at some point during the video?",
            "imperative": "Count the balls that change cell at some point during the video.",
            "polite": "Could you tell me how many balls change cell at some point during the video?",
            "terse": "Balls that change cell during the video: how many?",
        },
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        F, g = cfg["frames"], cfg["g"]
        own = rng.random() < cfg["p_own"]
        ask = self.query
        row = rng.randrange(g)
        for _ in range(10000):
            d = rng.choice((1, -1))
            if own:
                starts, own_at = [rng.randrange(g)], rng.randint(2, F - 1)
            else:
                starts, own_at = [rng.randrange(g)], None
                for _ in range(cfg["chain"]):
                    starts.append(starts[-1] + d * rng.randint(2, 3))
            path = chain_path(starts, d, F, own_at)
            target_cols = [p[-1] for p in path]
            inside = all(0 <= c < g for p in path for c in p)
            if inside and target_cols[1] == target_cols[0] and target_cols[-1] != target_cols[0]:
                break  # the target is seen resting for two frames, then moving
        else:
            raise RuntimeError(f"collision level {level}: no chain fits {g} cells in {F} frames")
        n_chain = len(starts)
        n_distract = cfg["distractors"] + (cfg["chain"] if own else 0)  # same number of options either way
        colors = rng.sample(BALL_COLORS, n_chain + n_distract)
        balls = [{"color": colors[i], "row": row, "cols": [p[i] for p in path]} for i in range(n_chain)]
        far_rows = [r for r in range(g) if abs(r - row) >= 2]
        for c, r in zip(colors[n_chain:], rng.sample(far_rows, min(len(far_rows), n_distract)), strict=False):
            for _ in range(50):
                x0, v = rng.randrange(g), rng.choice((0, 1, -1))
                if all(0 <= x0 + v * t < g for t in range(F)):
                    break
            balls.append({"color": c, "row": r, "cols": [x0 + v * t for t in range(F)]})
        target = balls[n_chain - 1]
        others = [b for b in balls if b is not target]
        rng.shuffle(others)
        choices = tuple(f"the {b['color']} ball" for b in others) + ("nothing: it started moving on its own",)
        start = next(t for t in range(1, F) if target["cols"][t] != target["cols"][t - 1])
        q = self.ask(color=target["color"])
        if ask in ("start", "moving"):
            movers = [b for b in balls if len(set(b["cols"])) > 1]
            answer = str(start + 1 if ask == "start" else len(movers))
            sol = (f"The {target['color']} ball is at column {target['cols'][start - 1] + 1} in frame {start} and column "
                   f"{target['cols'][start] + 1} in frame {start + 1}" if ask == "start" else
                   "The balls that change cell are " + ", ".join(f"the {b['color']} ball" for b in movers)) + f". Answer: {answer}."
            q, choices = f"{q} Answer with a number.", None
        elif own:
            answer = letters(len(choices))[-1]
            sol = f"In frame {start} no ball touches the {target['color']} ball, yet it starts rolling in frame {start + 1}: it moved on its own. Answer: {answer}."
        else:
            key = balls[n_chain - 2] if ask == "cause" else balls[0]
            answer = letters(len(choices))[others.index(key)]
            hitter = balls[n_chain - 2]
            sol = (f"In frame {start} the {hitter['color']} ball has rolled up against the {target['color']} ball and stops; from frame "
                   f"{start + 1} the {target['color']} ball rolls on"
                   + (f", and the {hitter['color']} ball itself was set moving by the {balls[0]['color']} ball, which started the chain" if ask == "origin" else "")
                   + f". Answer: {answer}.")
        if choices:
            q = f"{q}\n{choice_block(list(choices))}\nAnswer with the letter."
        listing = sorted(balls, key=lambda b: (b["row"], b["cols"][0]))  # reading order of frame 1, as drawn
        descs = [", ".join(f"{b['color']} ball at {at(b['cols'][t], b['row'])}" for b in listing) for t in range(F)]
        def frame(t):  # drawn only for forms that show images
            img, dr, cell = grid_frame(cfg["size"], g)
            for b in balls:
                put(dr, "circle", b["color"], b["cols"][t], b["row"], cell, scale=0.45)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        rule = "Balls roll one cell per frame; a ball that rolls up against a resting ball stops and pushes it on."
        context = f"{grid_note(g)} {rule}"
        return self.sample(seed, level, prompt=self.image_prompt(f"These are the {F} frames of a short video, in order. {rule}\n{q}", F),
                           images=tuple(frames), answer=answer, answer_type="choice" if choices else "number", choices=choices,
                           text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}", solution=sol,
                           meta={"frame_texts": descs, "context": context, "question_text": q, "balls": balls, "target": balls.index(target), "ask": ask, "own": own, "g": g, "frames": F})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
