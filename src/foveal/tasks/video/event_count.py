"""Event counting and temporal grounding on a row of lamps across the frames of a video.

Four queries about the named lamp: how many times it switches on (`count`, a number), how many
times it switches off (`off`), in how many frames it is lit (`lit`), and in which frames it is lit
(`interval`: the lamp is lit in one unbroken run; answer `[start, end]`, scored by tIoU as in
Temporal-R1).
"""

from __future__ import annotations

import random
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import register
from foveal.tasks.base import Task
from foveal.tasks.draw import canvas, rgb
from foveal.tasks.video._video import frames_text, mixed_video

LAMP_COLORS = ("red", "blue", "green", "yellow", "purple")
OFF = (70, 70, 70)


def switch_ons(states: list[bool]) -> int:
    """Number of off→on transitions between consecutive frames (the first frame is not an event)."""
    return sum(1 for a, b in zip(states, states[1:], strict=False) if not a and b)


def switch_offs(states: list[bool]) -> int:
    """Number of lit→off transitions between consecutive frames."""
    return switch_ons([not v for v in states])


def sol_tail(states: list[bool], color: str, answer: str, switch: str = "on") -> str:
    """The worked solution of a count question: the lamp's states, the frames it switches on (or off)
    in, the answer."""
    ons = [t + 2 for t in range(len(states) - 1) if states[t + 1] == (switch == "on") != states[t]]
    return (f"The {color} lamp goes " + ", ".join("lit" if v else "off" for v in states)
            + (f"; it switches {switch} in frame{'s' if len(ons) > 1 else ''} {', '.join(map(str, ons))}" if ons
               else f"; it never switches {switch}")
            + f". Answer: {answer}.")


INSTRUCTION = {
    "count": " Answer with a number.",
    "off": " Answer with a number.",
    "lit": " Answer with a number.",
    "interval": " It is lit in one unbroken run of frames. Answer with the first and last frame of that run as "
                "[start, end], counting frames from 1.",
}


@register
class EventCount(Task):
    """A row of lamps, each lit (filled with its colour) or off (dark grey inside a ring of its colour)
    in every frame; count how often the named lamp switches on, or say in which frames it is lit.

    Knobs per level:
        frames: number of frames.
        lamps: lamps in the row (the named one plus distractors that blink independently).
        p_toggle: chance a lamp flips between consecutive frames.
        free: (width, height): the lamp row is drawn at a random place in a frame of that size
            (the twin states the leftmost lamp's centre); without it, centred in a tight frame.
        queries: "count" (how many times the named lamp switches on; a number), "off" (how many
            times it switches off), "lit" (in how many frames it is lit) and "interval" (the named
            lamp is lit in one unbroken run of frames, never the whole video; answer its first and
            last frame as `[start, end]`, 1-based).
    """

    name = "event_count"
    modality = "video"
    description = "Video: count how many times a lamp switches on"
    tags = ("temporal", "counting")
    forms = ("image", "text", "mixed")
    levels = {
        1: {"frames": 4, "lamps": 1, "p_toggle": 0.5, "free": (112, 72)},
        2: {"frames": 6, "lamps": 2, "p_toggle": 0.5},
        3: {"frames": 8, "lamps": 3, "p_toggle": 0.5},
        4: {"frames": 10, "lamps": 4, "p_toggle": 0.5},
        5: {"frames": 12, "lamps": 5, "p_toggle": 0.6},
        6: {"frames": 12, "lamps": 4, "p_toggle": 0.5, "queries": ("interval", "count", "off", "lit")},
    }
    questions = {
        "count": {
            "direct": "How many times does the {color} lamp switch on (go from off in one frame to lit in the next)?",
            "imperative": "Count how many times the {color} lamp switches on (goes from off in one frame to lit in the next).",
            "polite": "Could you tell me how many times the {color} lamp switches on (goes from off in one frame to lit "
                      "in the next)?",
            "terse": "Switch-ons of the {color} lamp (off in one frame, lit in the next): how many?",
        },
        "off": {
            "direct": "How many times does the {color} lamp switch off (go from lit in one frame to off in the next)?",
            "imperative": "Count how many times the {color} lamp switches off (goes from lit in one frame to off in the next).",
            "polite": "Could you tell me how many times the {color} lamp switches off (goes from lit in one frame to off "
                      "in the next)?",
            "terse": "Switch-offs of the {color} lamp (lit in one frame, off in the next): how many?",
        },
        "lit": {
            "direct": "In how many frames is the {color} lamp lit?",
            "imperative": "Count the frames in which the {color} lamp is lit.",
            "polite": "Could you tell me in how many frames the {color} lamp is lit?",
            "terse": "Frames with the {color} lamp lit: how many?",
        },
        "interval": {
            "direct": "In which frames is the {color} lamp lit?",
            "imperative": "Name the frames in which the {color} lamp is lit.",
            "polite": "Could you tell me in which frames the {color} lamp is lit?",
            "terse": "Frames with the {color} lamp lit: which?",
        },
    }
    LAMP, PAD = 22, 6

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        F, n = cfg["frames"], cfg["lamps"]
        colors = rng.sample(LAMP_COLORS, n)
        states = []
        for _ in colors:
            s = [rng.random() < 0.5]
            for _ in range(F - 1):
                s.append(s[-1] != (rng.random() < cfg["p_toggle"]))
            states.append(s)
        k = rng.randrange(n)
        if self.query == "interval":
            return self._interval(rng, cfg, seed, level, colors, states, k)
        q = self.ask(color=colors[k]) + INSTRUCTION[self.query]
        if self.query == "lit":
            answer = str(sum(states[k]))
            lit = [t + 1 for t, v in enumerate(states[k]) if v]
            sol = (f"The {colors[k]} lamp goes " + ", ".join("lit" if v else "off" for v in states[k])
                   + f"; it is lit in {'frames ' + ', '.join(map(str, lit)) if lit else 'no frame'}. Answer: {answer}.")
        else:
            switch = "on" if self.query == "count" else "off"
            answer = str((switch_ons if switch == "on" else switch_offs)(states[k]))
            sol = sol_tail(states[k], colors[k], answer, switch)
        return self._finish(rng, cfg, seed, level, colors, states, k, q, answer, "number", sol)

    def _interval(self, rng, cfg, seed, level, colors, states, k) -> Sample:
        """The named lamp lit in frames start..end only (1-based, inclusive; not the whole video)."""
        F = cfg["frames"]
        start, end = 1, F
        while (start, end) == (1, F):
            start = rng.randint(1, F)
            end = rng.randint(start, F)
        states[k] = [start <= t + 1 <= end for t in range(F)]
        answer = f"[{start}, {end}]"
        q = self.ask(color=colors[k]) + INSTRUCTION["interval"]
        tail = (f"The {colors[k]} lamp goes " + ", ".join("lit" if v else "off" for v in states[k])
                + f"; it is lit from frame {start} to frame {end}. Answer: {answer}.")
        return self._finish(rng, cfg, seed, level, colors, states, k, q, answer, "interval", tail)

    def _finish(self, rng, cfg, seed, level, colors, states, k, q, answer, answer_type, sol) -> Sample:
        F, n = len(states[0]), len(colors)
        descs = ["; ".join(f"{c} lamp {'lit' if states[i][t] else 'off'}" for i, c in enumerate(colors)) for t in range(F)]
        row = n * (self.LAMP + self.PAD) + self.PAD
        context = f"Each frame shows a row of lamps ({', '.join(colors)} from left to right)."
        if "free" in cfg:  # the row anywhere in a bigger frame, its first lamp's centre stated
            width, height = cfg["free"]
            half = self.LAMP // 2 + 2
            x = rng.randint(half, width - half - (n - 1) * (self.LAMP + self.PAD))
            y = rng.randint(half, height - half)
            centers = [[x + i * (self.LAMP + self.PAD), y] for i in range(n)]
            context += (f" The frames are {width}×{height} pixels; the leftmost lamp is centred at ({x}, {y}) "
                        "(x from the left, y from the top).")
        else:
            width, height = max(64, row), self.LAMP + 4 * self.PAD
            x0 = (width - row) // 2 + self.PAD
            centers = [[x0 + i * (self.LAMP + self.PAD) + self.LAMP // 2, height // 2] for i in range(n)]
        def frame(t):  # drawn only for forms that show images
            img = canvas(width, height)
            d = ImageDraw.Draw(img)
            for i, c in enumerate(colors):
                x, y = centers[i][0] - self.LAMP // 2, centers[i][1] - self.LAMP // 2
                box = [x, y, x + self.LAMP, y + self.LAMP]
                d.ellipse(box, fill=rgb(c) if states[i][t] else OFF, outline=rgb(c), width=3)
            return img

        frames = [self.picture(frame, t) for t in range(F)]
        intro = f"These are the {F} frames of a short video, in order. Each shows a row of lamps ({', '.join(colors)} from left to right)."
        return self.sample(seed, level, prompt=self.image_prompt(f"{intro}\n{q}", F), images=tuple(frames), answer=answer,
                           answer_type=answer_type, text_twin=f"A short video has {F} frames. {context} {frames_text(descs)}\n{q}",
                           solution=sol, meta={"frame_texts": descs, "context": context, "question_text": q, "colors": colors, "states": states, "target": k, "centers": centers})

    def mixed(self, sample: Sample) -> Sample:
        """The first half of the frames told in words, the second half shown."""
        return mixed_video(sample)
