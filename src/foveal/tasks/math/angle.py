"""`angle`: find an unknown angle on a drawn figure from the labelled ones (We-Math / Math-PUMA style).

Every figure is drawn to scale from exact angles; `meta["points"]` holds the pixel coordinates
and `meta["target"]` the (A, V, B) triple of the asked angle, so the answer can be re-measured
from the drawing. Angles are whole degrees (multiples of 5). The points are named by random
distinct letters (I and O left out), so each figure comes in thousands of namings.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task

Point = tuple[float, float]
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
KINDS = ("acute", "right", "obtuse")
COMPARE = ("larger", "smaller", "equal")


def kind_of(degrees: int) -> str:
    return KINDS[(degrees >= 90) + (degrees > 90)]


def rename(text: str, names: dict[str, str]) -> str:
    """Every word made only of point letters (A, VC, CVA) with each letter renamed."""
    return re.sub(r"\b[A-Z]+\b", lambda m: "".join(names.get(c, c) for c in m.group(0))
                  if all(c in names for c in m.group(0)) else m.group(0), text)


def measure(a: Point, v: Point, b: Point) -> float:
    """The angle a-v-b in degrees (0-180)."""
    t = math.degrees(math.atan2(a[1] - v[1], a[0] - v[0]) - math.atan2(b[1] - v[1], b[0] - v[0])) % 360
    return min(t, 360 - t)


def polar(v: Point, deg: float, r: float) -> Point:
    """The point at distance r from v in direction `deg` (counter-clockwise from east, y up on screen)."""
    return v[0] + r * math.cos(math.radians(deg)), v[1] - r * math.sin(math.radians(deg))


def mark(d: ImageDraw.ImageDraw, a: Point, v: Point, b: Point, label: str, fs: int, right: bool = False) -> None:
    """Arc (or right-angle square) inside angle a-v-b, with `label` on its bisector."""
    da = math.degrees(math.atan2(-(a[1] - v[1]), a[0] - v[0]))
    db = math.degrees(math.atan2(-(b[1] - v[1]), b[0] - v[0]))
    span = (db - da) % 360
    start, span = (da, span) if span <= 180 else (db, 360 - span)
    mid = start + span / 2
    r = 16
    if right:
        p, q = polar(v, start, 11), polar(v, start + span, 11)
        corner = (p[0] + q[0] - v[0], p[1] + q[1] - v[1])
        d.line([p, corner, q], fill=(200, 30, 30), width=2)
    else:
        # PIL arcs run clockwise in screen coordinates from `start` to `end` degrees measured from east.
        d.arc([v[0] - r, v[1] - r, v[0] + r, v[1] + r], start=-(start + span), end=-start, fill=(200, 30, 30), width=2)
    if label:
        D.text(d, polar(v, mid, r + 6 + 0.45 * fs * len(label) / 2 + 4), label, size=fs, fill=(200, 30, 30))


def fit(points: dict[str, Point], size: int, margin: int) -> dict[str, Point]:
    """Scale and shift `points` to fill a size×size canvas with `margin` pixels left free."""
    xs, ys = [p[0] for p in points.values()], [p[1] for p in points.values()]
    s = (size - 2 * margin) / max(max(xs) - min(xs), max(ys) - min(ys), 1e-9)
    ox = (size - s * (max(xs) - min(xs))) / 2 - s * min(xs)
    oy = (size - s * (max(ys) - min(ys))) / 2 - s * min(ys)
    return {k: (ox + s * x, oy + s * y) for k, (x, y) in points.items()}


def triangle(a: int, b: int) -> dict[str, Point]:
    """Triangle ABC with angles a at A and b at B, AB horizontal (unit length), C above it."""
    c = 180 - a - b
    ac = math.sin(math.radians(b)) / math.sin(math.radians(c))
    return {"A": (0.0, 0.0), "B": (1.0, 0.0), "C": polar((0.0, 0.0), a, ac)}


@register
class Angle(Task):
    """Unknown angle on a figure drawn to scale, from labelled angles and angle facts.

    Queries: `unknown` (the size of the angle marked '?'), `supplement` (180 degrees minus it),
    `kind` (is it acute, right or obtuse: choice), `compare` (is it larger than, smaller than or equal to a labelled angle: choice).

    Level knobs:
        figure: "straight" (a ray on a straight line: angles sum to 180), "right" (a ray splits a marked
            right angle), "triangle" (two angles given: sum 180), "cross" (two crossing lines: vertical
            angles equal, neighbours sum to 180), "around" (rays around a point: sum 360), "isosceles"
            (apex angle given, equal sides marked: find a base angle).
        rays: number of rays for "around".
        size: image side in pixels.
        margin: pixels left free around the figure for labels (default 34).
        queries: the queries the level asks (not `kind` where the unknown angle is always acute).

    Mixed form: one labelled angle is stated in text and drawn without its label.
    """

    name = "angle"
    description = "Find an unknown angle on a drawn figure from labelled angles (number, degrees)."
    tags = ("arithmetic", "spatial", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "unknown": {
            "direct": "What is the size of angle {t} (marked '?') in degrees? Answer with a number.",
            "imperative": "Find the size of angle {t} (marked '?') in degrees. Answer with a number.",
            "polite": "Could you work out the size of angle {t} (marked '?') in degrees? Answer with a number.",
            "terse": "Angle {t} (marked '?'), in degrees? Answer with a number.",
        },
        "supplement": {
            "direct": "What is the supplement of angle {t} (marked '?'), that is 180 degrees minus it? Answer with a "
                      "number.",
            "imperative": "Find the supplement of angle {t} (marked '?'), that is 180 degrees minus it. Answer with a "
                          "number.",
            "polite": "Could you work out the supplement of angle {t} (marked '?'), that is 180 degrees minus it? "
                      "Answer with a number.",
            "terse": "Supplement of angle {t} (marked '?'), i.e. 180 minus it? Answer with a number.",
        },
        "kind": {
            "direct": "Is angle {t} (marked '?') acute, right or obtuse?\n{options}\nAnswer with the letter.",
            "imperative": "Say whether angle {t} (marked '?') is acute, right or obtuse.\n{options}\nAnswer with the "
                          "letter.",
            "polite": "Could you tell me whether angle {t} (marked '?') is acute, right or obtuse?\n{options}\nAnswer "
                      "with the letter.",
            "terse": "Angle {t} (marked '?'): acute, right or obtuse?\n{options}\nAnswer with the letter.",
        },
        "compare": {
            "direct": "Is angle {t} (marked '?') larger than, smaller than or equal to angle {other}?\n{options}\n"
                      "Answer with the letter.",
            "imperative": "Compare angle {t} (marked '?') with angle {other}: larger, smaller or equal?\n{options}\n"
                          "Answer with the letter.",
            "polite": "Could you tell me whether angle {t} (marked '?') is larger than, smaller than or equal to "
                      "angle {other}?\n{options}\nAnswer with the letter.",
            "terse": "Angle {t} (marked '?') vs angle {other}?\n{options}\nAnswer with the letter.",
        },
    }
    levels = {
        1: dict(figure="straight", rays=0, size=128, margin=20),  # one line and one ray: 128 px suffice
        2: dict(figure="right", rays=0, size=192, queries=("unknown", "supplement", "compare")),  # always acute
        3: dict(figure="triangle", rays=0, size=224),
        4: dict(figure="cross", rays=0, size=224),
        5: dict(figure="around", rays=4, size=224),
        6: dict(figure="isosceles", rays=0, size=224, queries=("unknown", "supplement", "compare")),  # base angles: acute
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        fig = cfg["figure"]
        labels: list[tuple[list[str], int]] = []  # ([A, V, B], degrees) drawn with a label
        segs: list[tuple[str, str]] = []
        extra: dict[str, Any] = {}
        if fig == "straight":
            x = rng.randrange(30, 155, 5)
            pts = {"A": (-1.0, 0.0), "B": (1.0, 0.0), "V": (0.0, 0.0), "C": polar((0.0, 0.0), x, 1.0)}
            segs = [("A", "B"), ("V", "C")]
            labels = [(["B", "V", "C"], x)]
            target, answer = ["C", "V", "A"], 180 - x
            facts = f"A, V and B lie on a straight line and ray VC makes angle BVC = {x} degrees."
            sol = f"Angles on a straight line add to 180 degrees, so angle CVA = 180 - {x} = {answer}."
        elif fig == "right":
            x = rng.randrange(15, 80, 5)
            pts = {"V": (0.0, 0.0), "A": (1.0, 0.0), "B": polar((0.0, 0.0), 90, 1.0), "C": polar((0.0, 0.0), x, 1.0)}
            segs = [("V", "A"), ("V", "B"), ("V", "C")]
            labels = [(["A", "V", "C"], x)]
            extra["right"] = ["A", "V", "B"]
            target, answer = ["C", "V", "B"], 90 - x
            facts = f"Angle AVB is a right angle and ray VC inside it makes angle AVC = {x} degrees."
            sol = f"The right angle is 90 degrees, so angle CVB = 90 - {x} = {answer}."
        elif fig == "triangle":
            while True:
                a, b = rng.randrange(30, 100, 5), rng.randrange(30, 100, 5)
                if 180 - a - b >= 25:
                    break
            pts = triangle(a, b)
            segs = [("A", "B"), ("B", "C"), ("C", "A")]
            labels = [(["B", "A", "C"], a), (["A", "B", "C"], b)]
            target, answer = ["A", "C", "B"], 180 - a - b
            facts = f"Triangle ABC has angle A = {a} degrees and angle B = {b} degrees."
            sol = f"The angles of a triangle add to 180 degrees, so angle C = 180 - {a} - {b} = {answer}."
        elif fig == "cross":
            x = rng.randrange(35, 150, 5)
            tilt = rng.randrange(-20, 25, 5)
            pts = {"V": (0.0, 0.0), "A": polar((0, 0), tilt, 1), "B": polar((0, 0), tilt + 180, 1),
                   "C": polar((0, 0), tilt + x, 1), "E": polar((0, 0), tilt + x + 180, 1)}
            segs = [("A", "B"), ("C", "E")]
            labels = [(["A", "V", "C"], x)]
            if rng.random() < 0.5:
                target, answer = ["B", "V", "E"], x
                sol = f"Angle BVE is vertically opposite angle AVC, so it is also {x} degrees."
            else:
                target, answer = ["C", "V", "B"], 180 - x
                sol = f"Angles CVB and AVC lie on the straight line AB, so angle CVB = 180 - {x} = {answer}."
            facts = f"Straight lines AB and CE cross at V, and angle AVC = {x} degrees."
        elif fig == "around":
            n = cfg["rays"]
            while True:
                cuts = sorted(rng.sample(range(8, 64), n - 1))
                parts = [b - a for a, b in zip([0, *cuts], [*cuts, 72], strict=True)]
                if min(parts) >= 8 and max(parts) <= 35:  # 40-175 degrees each
                    break
            parts = [5 * p for p in parts]
            start = rng.randrange(0, 90, 5)
            names = "ABCDEFG"[:n]
            pts = {"V": (0.0, 0.0)}
            ang = start
            for k, p in enumerate(parts):
                pts[names[k]] = polar((0.0, 0.0), ang, 1.0)
                ang += p
            segs = [("V", nm) for nm in names]
            hidden = rng.randrange(n)
            trip = [[names[k], "V", names[(k + 1) % n]] for k in range(n)]
            labels = [(trip[k], parts[k]) for k in range(n) if k != hidden]
            target, answer = trip[hidden], parts[hidden]
            known = " + ".join(str(parts[k]) for k in range(n) if k != hidden)
            facts = (f"Rays VA{''.join(', V' + c for c in names[1:])} leave point V in counter-clockwise order; "
                     + ", ".join(f"angle {t[0]}V{t[2]} = {v} degrees" for t, v in labels) + ".")
            sol = f"The angles around a point add to 360 degrees, so the unknown one is 360 - ({known}) = {answer}."
        else:  # isosceles
            apex = rng.randrange(20, 140, 10)
            base = (180 - apex) // 2
            pts = triangle(base, base)
            segs = [("A", "B"), ("B", "C"), ("C", "A")]
            labels = [(["A", "C", "B"], apex)]
            extra["ticks"] = [["C", "A"], ["C", "B"]]
            target, answer = ["C", "A", "B"], base
            facts = f"Triangle ABC has CA = CB and angle C = {apex} degrees."
            sol = f"The base angles of an isosceles triangle are equal, so angle A = (180 - {apex}) / 2 = {answer}."
        size = cfg["size"]
        pts = fit({k: (x, y) for k, (x, y) in pts.items()}, size, cfg.get("margin", 34))
        names = dict(zip(pts, rng.sample(LETTERS, len(pts)), strict=True))
        ren = lambda tri: [names[k] for k in tri]  # noqa: E731
        target, labels = ren(target), [(ren(t), v) for t, v in labels]
        tname = "".join(target)
        choices: tuple[str, ...] = ()
        if self.query == "unknown":
            shown, q = str(answer), self.ask(t=tname)
        elif self.query == "supplement":
            shown, q = str(180 - answer), self.ask(t=tname)
            sol += f" Its supplement is 180 - {answer} = {shown}."
        else:
            choices = KINDS if self.query == "kind" else COMPARE
            slots = {"t": tname, "options": D.choice_block(list(choices))}
            if self.query == "kind":
                word = kind_of(answer)
                sol += f" An angle of {answer} degrees is {word}."
            else:
                other, v = labels[rng.randrange(len(labels))]
                slots["other"] = "".join(other)
                word = COMPARE[(answer < v) + 2 * (answer == v)]
                sol += f" Angle {''.join(other)} is {v} degrees, so angle {tname} is {word}" + \
                       (" than it." if word != "equal" else " to it.")
            shown, q = D.letters(3)[choices.index(word)], self.ask(**slots)
        facts, sol = rename(facts, names), rename(sol, names)
        twin = f"{facts} {q}"
        prompt = self.image_prompt(f"The figure is drawn to scale with some angles labelled in degrees. {q}")
        fs = max(D.MIN_FONT_PX, 13)
        meta = {"figure": fig, "points": {names[k]: list(v) for k, v in pts.items()},
                "segments": [ren(s) for s in segs], "labels": [[t, v] for t, v in labels], "target": target,
                "size": size, "font_px": fs, "question": q, **{k: [ren(x) for x in v] if k == "ticks" else ren(v)
                                                                for k, v in extra.items()}}
        return self.sample(seed, level, prompt=prompt, images=(self.picture(render, meta, ()),), answer=shown,
                           answer_type="choice" if choices else "number", choices=choices or None,
                           text_twin=twin, solution=f"{sol} Answer: {shown}.", meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        """The first labelled angle is stated in text and drawn without its number."""
        m = sample.meta
        t, v = m["labels"][0]
        prompt = self.image_prompt(f"The figure is drawn to scale; some angles are labelled in degrees, and angle "
                                   f"{''.join(t)} (not labelled) is {v} degrees. {m['question']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       images=(render(m, (0,)),), meta={**m, "described": 0})


def render(meta: dict[str, Any], hide) -> Any:
    im = D.canvas(meta["size"])
    d = ImageDraw.Draw(im)
    p = {k: tuple(v) for k, v in meta["points"].items()}
    for a, b in meta["segments"]:
        d.line([p[a], p[b]], fill=D.ink(), width=2)
    fs = meta["font_px"]
    for k, (t, v) in enumerate(meta["labels"]):
        mark(d, p[t[0]], p[t[1]], p[t[2]], "" if k in hide else f"{v}°", fs)
    if "right" in meta:
        a, v, b = meta["right"]
        mark(d, p[a], p[v], p[b], "", fs, right=True)
    t = meta["target"]
    mark(d, p[t[0]], p[t[1]], p[t[2]], "?", fs + 2)
    for a, b in meta.get("ticks", []):
        (x1, y1), (x2, y2) = p[a], p[b]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        L = math.hypot(x2 - x1, y2 - y1)
        nx, ny = -(y2 - y1) / L * 6, (x2 - x1) / L * 6
        d.line([(mx - nx, my - ny), (mx + nx, my + ny)], fill=D.ink(), width=2)
    for k, (x, y) in p.items():  # each point's letter goes into the widest gap between its lines
        ends = [b for a, b in meta["segments"] if a == k] + [a for a, b in meta["segments"] if b == k]
        ends += [e for a, b in meta["segments"] if k not in (a, b) and on_segment(p[k], p[a], p[b]) for e in (a, b)]
        dirs = sorted(math.atan2(p[e][1] - y, p[e][0] - x) for e in ends)
        gap, start = max(((dirs[(i + 1) % len(dirs)] - dirs[i]) % (2 * math.pi) or 2 * math.pi, dirs[i])
                         for i in range(len(dirs)))
        a = start + gap / 2
        xy = (x + 13 * math.cos(a), y + 13 * math.sin(a))
        d.rectangle(d.textbbox(xy, k, font=D.font(fs), anchor="mm"), fill=S.current().background)
        label(im, xy, k, size=fs, fill=(30, 60, 200))
    return im


def on_segment(q: Point, a: Point, b: Point) -> bool:
    """Whether q lies on segment ab (within a pixel)."""
    cross = (b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0])
    L = math.hypot(b[0] - a[0], b[1] - a[1])
    t = ((q[0] - a[0]) * (b[0] - a[0]) + (q[1] - a[1]) * (b[1] - a[1])) / (L * L)
    return abs(cross) / L < 1.0 and 0 < t < 1
