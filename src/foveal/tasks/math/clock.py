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


def hands_apart(hour_angle: float, minute_angle: float) -> float:
    """The smaller angle between the hands: min(|h − m| mod 360, 360 − |h − m| mod 360)."""
    t = abs(hour_angle - minute_angle) % 360
    return min(t, 360 - t)


def render(size: int, hour_angle: float | None, minute_angle: float, dial: str, minute_ticks: bool,
           centre: tuple[int, int], radius: int):
    im = D.canvas(size)
    d = ImageDraw.Draw(im)
    (cx, cy), R = centre, radius
    d.ellipse([cx - R, cy - R, cx + R, cy + R], outline=D.ink(), width=3, fill=(252, 250, 240))
    fs = font_px(radius)
    for k in range(60 if minute_ticks else 12):
        a = math.radians(k * (6 if minute_ticks else 30))
        big = not minute_ticks or k % 5 == 0
        r0 = R * (0.86 if big else 0.92)
        d.line([(cx + r0 * math.sin(a), cy - r0 * math.cos(a)),
                (cx + R * 0.97 * math.sin(a), cy - R * 0.97 * math.cos(a))], fill=D.ink(), width=3 if big else 1)
    if dial != "none":
        for k in range(12):
            a = math.radians(k * 30)
            mark = ROMAN[k] if dial == "roman" else str(k or 12)
            label(im, (cx + R * 0.7 * math.sin(a), cy - R * 0.7 * math.cos(a)), mark, size=fs)
    for ang, length, width, color in ((hour_angle, 0.5, 6, (20, 20, 20)), (minute_angle, 0.82, 3, (200, 30, 30))):
        if ang is None:
            continue
        a = math.radians(ang)
        d.line([(cx, cy), (cx + R * length * math.sin(a), cy - R * length * math.cos(a))], fill=color, width=width)
    d.ellipse([cx - 4, cy - 4, cx + 4, cy + 4], fill=(20, 20, 20))
    return im


def font_px(radius: int) -> int:
    """Dial numbers' size: 0.17 of the face's radius (never below the readability floor)."""
    return max(D.MIN_FONT_PX, int(radius * 0.17))


@register
class Clock(Task):
    """Read an analog clock: short black hour hand, long red minute hand.

    Queries: `time` (the time shown), `later` / `earlier` (the time a given span later / earlier),
    `until` (minutes until a given time), `angle` (the smaller angle between the hands, in degrees).

    Level knobs:
        step: minutes are multiples of `step` (60 = on the hour).
        dial: "arabic" numbers, "roman" numerals or "none" (tick marks only).
        minute_ticks: draw all 60 minute ticks (else the 12 hour ticks).
        later: largest span for `later` / `earlier` (multiples of max(step, 5) minutes) and for `until`.
        size: image side in pixels.
        radius: (min, max) radius of the clock face in pixels; the face is placed anywhere it fits,
            and the twin states its centre and radius (so every level has >= 10,000 problems per query).

    Mixed form: the hour is stated in text and only the minute hand is drawn.
    """

    name = "clock"
    description = "Read an analog clock: the time, the time a span later, minutes until a time, the hands' angle."
    tags = ("perception", "arithmetic", "temporal")
    forms = ("image", "text", "mixed")
    FORMAT = "Answer as H:MM in 12-hour time, e.g. 3:05."
    questions = {
        "time": {
            "direct": f"What time does the clock show? {FORMAT}",
            "imperative": f"Read the time on the clock. {FORMAT}",
            "polite": f"Could you tell me what time the clock shows? {FORMAT}",
            "terse": f"Time shown? {FORMAT}",
        },
        "later": {
            "direct": f"What time will the clock show {{span}} later? {FORMAT}",
            "imperative": f"Give the time the clock will show {{span}} later. {FORMAT}",
            "polite": f"Could you tell me what time the clock will show {{span}} later? {FORMAT}",
            "terse": f"Time {{span}} later? {FORMAT}",
        },
        "earlier": {
            "direct": f"What time did the clock show {{span}} earlier? {FORMAT}",
            "imperative": f"Give the time the clock showed {{span}} earlier. {FORMAT}",
            "polite": f"Could you tell me what time the clock showed {{span}} earlier? {FORMAT}",
            "terse": f"Time {{span}} earlier? {FORMAT}",
        },
        "until": {
            "direct": "How many minutes from now until the clock next shows {target}? Answer with a number.",
            "imperative": "Count the minutes from now until the clock next shows {target}. Answer with a number.",
            "polite": "Could you tell me how many minutes it is until the clock next shows {target}? Answer with a "
                      "number.",
            "terse": "Minutes until {target}? Answer with a number.",
        },
        "angle": {
            "direct": "What is the smaller angle between the two hands, in degrees? Answer with a number.",
            "imperative": "Find the smaller angle between the two hands, in degrees. Answer with a number.",
            "polite": "Could you tell me the smaller angle between the two hands, in degrees? Answer with a number.",
            "terse": "Angle between the hands, in degrees? Answer with a number.",
        },
    }
    levels = {
        1: dict(step=60, dial="arabic", minute_ticks=False, later=660, size=128, radius=(44, 60)),
        2: dict(step=15, dial="arabic", minute_ticks=False, later=300, size=160, radius=(46, 66)),
        3: dict(step=5, dial="arabic", minute_ticks=True, later=300, size=176, radius=(52, 72)),
        4: dict(step=1, dial="arabic", minute_ticks=True, later=300, size=192, radius=(60, 84)),
        5: dict(step=5, dial="none", minute_ticks=True, later=300, size=192, radius=(60, 84)),
        6: dict(step=5, dial="roman", minute_ticks=True, later=600, size=192, radius=(60, 84)),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        h = rng.randint(1, 12)
        m = rng.randrange(0, 60, cfg["step"])
        ha, ma = hand_angles(h, m)
        shown = fmt(h, m)
        unit = max(cfg["step"], 5)
        add = unit * rng.randint(1, cfg["later"] // unit)  # the span of `later` and `until`
        now = (h % 12) * 60 + m
        read = f"the minute hand points at {m} minutes and the hour hand {'at' if m == 0 else 'just past'} {h % 12 or 12}"
        args: dict[str, Any] = {}
        if self.query in ("later", "earlier"):
            total = now + add if self.query == "later" else now - add + 720
            answer = fmt(total // 60, total % 60)
            args["span"] = (f"{add // 60} hour{'s' * (add // 60 != 1)}" + (f" and {add % 60} minutes" if add % 60 else "")
                            if add >= 60 else f"{add} minutes")
            sol = (f"{read[0].upper()}{read[1:]}, so it is {shown}; {'adding' if self.query == 'later' else 'taking away'}"
                   f" {add // 60}:{add % 60:02d} gives {answer}.")
        elif self.query == "until":
            total = now + add
            args["target"] = fmt(total // 60, total % 60)
            answer = str(add)
            sol = (f"{read[0].upper()}{read[1:]}, so it is {shown}; from {shown} to {args['target']} is "
                   f"{add // 60} h {add % 60} min = {add} minutes.")
        elif self.query == "angle":
            apart = hands_apart(ha, ma)
            answer = f"{apart:g}"
            sol = (f"The minute hand is at {m} x 6 = {ma:g} degrees and the hour hand at {h % 12} x 30 + {m} x 0.5 = "
                   f"{ha:g} degrees from 12, so the smaller angle between them is {answer} degrees.")
        else:
            answer = shown
            sol = (f"The minute hand points at {m} minutes ({ma:g} degrees from 12) and the hour hand is at or just "
                   f"past {h % 12 or 12}, so the time is {answer}.")
        q = self.ask(**args)
        size = cfg["size"]
        radius = rng.randint(*cfg["radius"])
        centre = (rng.randint(radius + 2, size - radius - 2), rng.randint(radius + 2, size - radius - 2))
        twin = (f"In a {size}x{size} picture, an analog clock face of radius {radius} px is centred at {centre}. Its "
                f"hour hand points {ha:g} degrees and its minute hand {ma:g} degrees clockwise from the 12 o'clock "
                f"direction. {q}")
        return self.sample(seed, level, prompt=self.image_prompt(f"The short black hand is the hour hand, the long "
                                                                 f"red hand the minute hand. {q}"),
                           images=(self.picture(render, size, ha, ma, cfg["dial"], cfg["minute_ticks"], centre,
                                                radius),),
                           answer=answer, answer_type="number" if self.query in ("until", "angle") else "text",
                           text_twin=twin, solution=f"{sol} Answer: {answer}.",
                           meta={"hour_angle": ha, "minute_angle": ma, "span": add, "size": size, "centre": list(centre),
                                 "radius": radius, "dial": cfg["dial"], "minute_ticks": cfg["minute_ticks"],
                                 "question": q, "font_px": font_px(radius)})

    def mixed(self, sample: Sample) -> Sample:
        """The hour is stated in words; the picture draws only the minute hand."""
        m = sample.meta
        hour = int(m["hour_angle"] // 30) or 12
        prompt = self.image_prompt(f"The hour is {hour} (the hour hand is not drawn); the red hand is the minute "
                                   f"hand. {m['question']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(m["size"], None, m["minute_angle"], m["dial"], m["minute_ticks"],
                                      tuple(m["centre"]), m["radius"]),),
                       meta={**m, "described": "hour"})
