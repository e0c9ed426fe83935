"""`clock`: read the time on an analog clock face, or the time some hours and minutes later.

Hands are drawn from their angles, measured clockwise from 12 o'clock: the minute hand at 6°
per minute, the hour hand at 30° per hour plus 0.5° per minute. Times are 12-hour, written
"H:MM" (1:00 to 12:59).
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task

ROMAN = ("XII", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI")


def hand_angles(h: int, m: int) -> tuple[float, float]:
    """(hour-hand, minute-hand) angles in degrees clockwise from 12 for the time h:m."""
    return (h % 12) * 30 + m * 0.5, m * 6.0


def fmt(h: int, m: int) -> str:
    return f"{(h - 1) % 12 + 1}:{m:02d}"


def render(size: int, hour_angle: float | None, minute_angle: float, dial: str, minute_ticks: bool):
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    c = size / 2
    R = size / 2 - 4
    d.ellipse([c - R, c - R, c + R, c + R], outline=(20, 20, 20), width=3, fill=(252, 250, 240))
    fs = max(D.MIN_FONT_PX, int(size * 0.085))
    for k in range(60 if minute_ticks else 12):
        a = math.radians(k * (6 if minute_ticks else 30))
        big = not minute_ticks or k % 5 == 0
        r0 = R * (0.86 if big else 0.92)
        d.line([(c + r0 * math.sin(a), c - r0 * math.cos(a)), (c + R * 0.97 * math.sin(a), c - R * 0.97 * math.cos(a))],
               fill=(20, 20, 20), width=3 if big else 1)
    if dial != "none":
        for k in range(12):
            a = math.radians(k * 30)
            mark = ROMAN[k] if dial == "roman" else str(k or 12)
            label(im, (c + R * 0.7 * math.sin(a), c - R * 0.7 * math.cos(a)), mark, size=fs)
    for ang, length, width, color in ((hour_angle, 0.5, 6, (20, 20, 20)), (minute_angle, 0.82, 3, (200, 30, 30))):
        if ang is None:
            continue
        a = math.radians(ang)
        d.line([(c, c), (c + R * length * math.sin(a), c - R * length * math.cos(a))], fill=color, width=width)
    d.ellipse([c - 4, c - 4, c + 4, c + 4], fill=(20, 20, 20))
    return im


@register
class Clock(Task):
    """Read an analog clock: short black hour hand, long red minute hand.

    Level knobs:
        step: minutes are multiples of `step` (60 = on the hour).
        dial: "arabic" numbers, "roman" numerals or "none" (tick marks only).
        minute_ticks: draw all 60 minute ticks (else the 12 hour ticks).
        later: (min, max) minutes to add (0 = read the time shown); asks the time that much later.
        size: image side in pixels.

    Mixed form: the hour is stated in text and only the minute hand is drawn.
    """

    name = "clock"
    description = "Read the time on an analog clock, or the time a given span later (text H:MM)."
    tags = ("perception", "arithmetic", "temporal")
    forms = ("image", "text", "mixed")
    levels = {
        1: dict(step=60, dial="arabic", minute_ticks=False, later=(0, 0), size=128),
        2: dict(step=15, dial="arabic", minute_ticks=False, later=(0, 0), size=144),
        3: dict(step=5, dial="arabic", minute_ticks=True, later=(0, 0), size=160),
        4: dict(step=1, dial="arabic", minute_ticks=True, later=(0, 0), size=192),
        5: dict(step=5, dial="none", minute_ticks=True, later=(0, 0), size=192),
        6: dict(step=5, dial="roman", minute_ticks=True, later=(25, 250), size=192),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        h = rng.randint(1, 12)
        m = rng.randrange(0, 60, cfg["step"])
        ha, ma = hand_angles(h, m)
        shown = fmt(h, m)
        lo, hi = cfg["later"]
        add = rng.randrange(lo, hi + 1, 5) if hi else 0
        if add:
            total = (h % 12) * 60 + m + add
            answer = fmt(total // 60, total % 60)
            q = (f"What time will the clock show {add // 60} hour{'s' * (add // 60 != 1)} and {add % 60} minutes later? "
                 if add >= 60 else f"What time will the clock show {add} minutes later? ")
            sol = (f"The minute hand points at {m} minutes and the hour hand just past {h % 12 or 12}, so it is "
                   f"{shown}; adding {add // 60}:{add % 60:02d} gives {answer}. Answer: {answer}.")
        else:
            answer = shown
            q = "What time does the clock show? "
            sol = (f"The minute hand points at {m} minutes ({ma:g} degrees from 12) and the hour hand is at or just "
                   f"past {h % 12 or 12}, so the time is {answer}. Answer: {answer}.")
        q += "Answer as H:MM in 12-hour time, e.g. 3:05."
        twin = (f"An analog clock's hour hand points {ha:g} degrees and its minute hand {ma:g} degrees clockwise from "
                f"the 12 o'clock direction. {q}")
        return self.sample(seed, level, prompt=self.image_prompt(f"The short black hand is the hour hand, the long "
                                                                 f"red hand the minute hand. {q}"),
                           images=(self.picture(render, cfg["size"], ha, ma, cfg["dial"], cfg["minute_ticks"]),),
                           answer=answer, answer_type="text", text_twin=twin, solution=sol,
                           meta={"hour_angle": ha, "minute_angle": ma, "later": add, "size": cfg["size"],
                                 "dial": cfg["dial"], "minute_ticks": cfg["minute_ticks"], "question": q,
                                 "font_px": max(D.MIN_FONT_PX, int(cfg["size"] * 0.085))})

    def mixed(self, sample: Sample) -> Sample:
        """The hour is stated in words; the picture draws only the minute hand."""
        m = sample.meta
        hour = int(m["hour_angle"] // 30) or 12
        prompt = self.image_prompt(f"The hour is {hour} (the hour hand is not drawn); the red hand is the minute "
                                   f"hand. {m['question']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(m["size"], None, m["minute_angle"], m["dial"], m["minute_ticks"]),),
                       meta={**m, "described": "hour"})
