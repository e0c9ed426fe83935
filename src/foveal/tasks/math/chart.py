"""`chart`: read a bar or line chart and answer a value, comparison or arithmetic question.

Values are multiples of the chart's grid step, so every bar top or line point sits on a
grid line and can be read exactly from the labelled axis. Categories are named by distinct
letters drawn per problem (I and O left out), in alphabetical order left to right.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng

PALETTE = ("blue", "orange", "green", "purple", "red", "cyan")
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
NUMBER = " Answer with a number."


def answer_of(question: dict[str, Any], values: dict[str, int]) -> int:
    """The answer to a question over the chart's `values` (pure; also used by the tests)."""
    kind, keys = question["kind"], question["keys"]
    v = [values[k] for k in keys]
    if kind == "value":
        return v[0]
    if kind == "max":
        return max(values.values())
    if kind == "min":
        return min(values.values())
    if kind == "diff":
        return v[0] - v[1]
    if kind in ("sum", "total"):
        return sum(values.values()) if kind == "total" else sum(v)
    if kind == "range":
        return max(values.values()) - min(values.values())
    if kind == "above":
        return sum(x > question["threshold"] for x in values.values())
    raise ValueError(f"unknown chart question {kind!r}")


def working(question: dict[str, Any], values: dict[str, int], answer: int) -> str:
    """The short arithmetic of the worked solution."""
    kind, keys = question["kind"], question["keys"]
    if kind == "value":
        return f"Reading the chart, {keys[0]} = {answer}."
    if kind in ("max", "min"):
        k = (max if kind == "max" else min)(values, key=values.get)
        return f"The {'largest' if kind == 'max' else 'smallest'} value is {k} = {answer}."
    if kind == "diff":
        return f"{keys[0]} = {values[keys[0]]} and {keys[1]} = {values[keys[1]]}, so {values[keys[0]]} - " \
               f"{values[keys[1]]} = {answer}."
    if kind in ("sum", "total"):
        ks = list(values) if kind == "total" else keys
        return f"{', '.join(f'{k} = {values[k]}' for k in ks)}; the sum is {answer}."
    if kind == "range":
        hi, lo = max(values, key=values.get), min(values, key=values.get)
        return f"The largest is {hi} = {values[hi]} and the smallest {lo} = {values[lo]}, so {values[hi]} - " \
               f"{values[lo]} = {answer}."
    big = [k for k, x in values.items() if x > question["threshold"]]
    return f"The values above {question['threshold']} are {', '.join(big) or 'none'}: {answer} of them."


def render(meta: dict[str, Any]):
    """Draw the chart: labelled y axis with grid lines, bars or a line with markers."""
    w, h, vmax, step, label_every = meta["width"], meta["height"], meta["vmax"], meta["step"], meta["label_every"]
    values = meta["values"]
    im = D.canvas(w, h)
    d = ImageDraw.Draw(im)
    x0, x1, y0, y1 = 30, w - 6, 8, h - 18  # plot area
    py = lambda v: y1 - (y1 - y0) * v / vmax  # noqa: E731
    for t in range(0, vmax + 1, step):
        labelled = t % (step * label_every) == 0
        d.line([(x0, py(t)), (x1, py(t))], fill=(170, 170, 170) if labelled else (222, 222, 222))
        if labelled:
            label(im, (x0 - 3, py(t)), str(t), size=10, anchor="rm")
    d.line([(x0, y0), (x0, y1), (x1, y1)], fill=D.ink(), width=1)
    n = len(values)
    slot = (x1 - x0) / n
    colour = D.rgb(meta["color"])
    centres = [x0 + slot * (i + 0.5) for i in range(n)]
    for cx, (k, v) in zip(centres, values.items(), strict=True):
        label(im, (cx, y1 + 9), k, size=10)
        if meta["kind"] == "bar":
            half = slot * 0.3
            d.rectangle([cx - half, py(v), cx + half, y1], fill=colour, outline=(30, 30, 30))
    if meta["kind"] == "line":
        pts = [(cx, py(v)) for cx, v in zip(centres, values.values(), strict=True)]
        d.line(pts, fill=colour, width=2)
        for x, y in pts:
            d.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour, outline=(30, 30, 30))
    return im


@register
class Chart(Task):
    """Read a bar or line chart; answer a value, comparison or arithmetic question (number).

    Queries: `value` (of one category), `max`, `min`, `diff` (how much larger one value is than
    another), `sum` (of two or three categories), `total`, `range` (largest minus smallest),
    `above` (how many categories exceed a threshold).

    Level knobs:
        width, height: image size in pixels.
        categories: number of bars / points (labelled by letters, alphabetical left to right).
        vmax: top of the y axis; step: grid step (every value is a multiple of it);
        label_every: a tick label every this many grid lines.
        kinds: chart kinds to pick from ("bar", "line").
        sum_of: how many categories `sum` adds.
        queries: the queries the level asks.

    Every (query, level) has >= 10,000 problems (values x category letters).

    Mixed form: the values of all but one of the categories the question needs are given in
    text; the remaining one must be read from the chart.
    """

    name = "chart"
    modality = "image"
    description = "Read a bar or line chart: a value, a comparison or arithmetic over values (number)."
    tags = ("arithmetic", "perception")
    forms = ("image", "text", "mixed")
    questions = {
        "value": {
            "direct": "What is the value of {a}?" + NUMBER,
            "imperative": "Read the value of {a} from the chart." + NUMBER,
            "polite": "Could you tell me the value of {a}?" + NUMBER,
            "terse": "Value of {a}?" + NUMBER,
        },
        "max": {
            "direct": "What is the largest value in the chart?" + NUMBER,
            "imperative": "Give the largest value in the chart." + NUMBER,
            "polite": "Could you tell me the largest value in the chart?" + NUMBER,
            "terse": "Largest value?" + NUMBER,
        },
        "min": {
            "direct": "What is the smallest value in the chart?" + NUMBER,
            "imperative": "Give the smallest value in the chart." + NUMBER,
            "polite": "Could you tell me the smallest value in the chart?" + NUMBER,
            "terse": "Smallest value?" + NUMBER,
        },
        "diff": {
            "direct": "How much larger is the value of {a} than the value of {b}?" + NUMBER,
            "imperative": "Work out how much larger the value of {a} is than the value of {b}." + NUMBER,
            "polite": "Could you tell me how much larger the value of {a} is than the value of {b}?" + NUMBER,
            "terse": "{a} minus {b}?" + NUMBER,
        },
        "sum": {
            "direct": "What is the sum of the values of {keys}?" + NUMBER,
            "imperative": "Add up the values of {keys}." + NUMBER,
            "polite": "Could you tell me the sum of the values of {keys}?" + NUMBER,
            "terse": "Sum of {keys}?" + NUMBER,
        },
        "total": {
            "direct": "What is the total of all the values?" + NUMBER,
            "imperative": "Add up all the values in the chart." + NUMBER,
            "polite": "Could you tell me the total of all the values?" + NUMBER,
            "terse": "Total of all values?" + NUMBER,
        },
        "range": {
            "direct": "What is the difference between the largest and the smallest value?" + NUMBER,
            "imperative": "Subtract the smallest value from the largest value." + NUMBER,
            "polite": "Could you tell me the difference between the largest and the smallest value?" + NUMBER,
            "terse": "Largest minus smallest?" + NUMBER,
        },
        "above": {
            "direct": "How many categories have a value greater than {threshold}?" + NUMBER,
            "imperative": "Count the categories with a value greater than {threshold}." + NUMBER,
            "polite": "Could you tell me how many categories have a value greater than {threshold}?" + NUMBER,
            "terse": "Categories above {threshold}: how many?" + NUMBER,
        },
    }
    levels = {
        1: dict(width=112, height=112, categories=3, vmax=5, step=1, label_every=1, kinds=("bar",), sum_of=2,
                queries=("value", "max", "min", "diff", "sum")),
        2: dict(width=128, height=128, categories=4, vmax=10, step=1, label_every=2, kinds=("bar",), sum_of=2,
                queries=("value", "max", "min", "diff", "sum", "total")),
        3: dict(width=160, height=144, categories=5, vmax=20, step=2, label_every=2, kinds=("bar", "line"), sum_of=2,
                queries=("value", "diff", "sum", "total", "range")),
        4: dict(width=192, height=160, categories=6, vmax=50, step=5, label_every=2, kinds=("bar", "line"), sum_of=2,
                queries=("value", "diff", "sum", "range", "above")),
        5: dict(width=224, height=176, categories=7, vmax=100, step=5, label_every=4, kinds=("bar", "line"),
                sum_of=3, queries=("value", "diff", "sum", "total", "range", "above")),
        6: dict(width=256, height=192, categories=8, vmax=100, step=5, label_every=4, kinds=("line",), sum_of=3,
                queries=("value", "max", "sum", "total", "range", "above")),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        cats = sorted(rng.sample(LETTERS, cfg["categories"]))
        step, vmax = cfg["step"], cfg["vmax"]
        values = {k: step * rng.randint(1, vmax // step) for k in cats}
        kind = self.query
        keys = rng.sample(cats, {"value": 1, "diff": 2, "sum": cfg["sum_of"]}.get(kind, 0))
        if kind == "diff":
            while values[keys[0]] == values[keys[1]]:
                values[keys[0]] = step * rng.randint(1, vmax // step)
            keys.sort(key=values.get, reverse=True)
        else:
            keys.sort()
        question = {"kind": kind, "keys": keys}
        slots: dict[str, Any] = {"a": keys[0] if keys else "", "b": keys[1] if len(keys) > 1 else "",
                                 "keys": ", ".join(keys[:-1]) + f" and {keys[-1]}" if keys else ""}
        if kind == "above":
            question["threshold"] = slots["threshold"] = step * rng.randint(1, vmax // step - 1) + step // 2 * (step > 1)
        answer = answer_of(question, values)
        chart = rng.choice(cfg["kinds"])
        q = self.ask(**slots)
        meta = {"width": cfg["width"], "height": cfg["height"], "vmax": vmax, "step": step,
                "label_every": cfg["label_every"], "kind": chart, "color": rng.choice(PALETTE),
                "values": values, "question": question, "ask": q}
        twin = f"A {chart} chart shows these values: {', '.join(f'{k} = {v}' for k, v in values.items())}. {q}"
        return self.sample(
            seed, level, prompt=self.image_prompt(q), images=(self.picture(render, meta),), answer=str(answer),
            answer_type="number", text_twin=twin,
            solution=f"{working(question, values, answer)} The answer is {answer}.", meta=meta,
        )

    def mixed(self, sample: Sample) -> Sample:
        """State every value in text except one the question needs, which is left to the chart."""
        m = sample.meta
        values, needed = m["values"], m["question"]["keys"] or list(m["values"])
        hidden = task_rng(f"{self.name}/mixed", sample.seed, sample.level).choice(needed)
        told = ", ".join(f"{k} = {v}" for k, v in values.items() if k != hidden)
        prompt = self.image_prompt(f"In this {m['kind']} chart, {told}; read the value of {hidden} from the "
                                   f"image. {m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt,
                       meta={**m, "hidden": hidden})
