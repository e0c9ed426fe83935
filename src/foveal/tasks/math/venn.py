"""`venn`: read the counts in the regions of a two- or three-set Venn diagram and combine them.

`meta["regions"]` maps a membership key to its count: for sets A, B(, C) the key has one character
per set, "1" inside and "0" outside ("10" = in A only, "000" = in none). `meta["query"]` names
which regions the question adds up, so the answer can be recomputed by summing them.
"""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import product
from typing import Any

from PIL import ImageDraw

from foveal.sample import Sample
from foveal.tasks import draw as D
from foveal.tasks import register
from foveal.tasks import style as S
from foveal.tasks._glyphs import label
from foveal.tasks.base import Task, task_rng

TOPICS = (("play football", "play chess", "play piano"), ("like tea", "like coffee", "like juice"),
          ("have a cat", "have a dog", "have a bird"), ("speak French", "speak Spanish", "speak German"),
          ("read comics", "read novels", "read poems"), ("ride a bike", "ride a horse", "ride a scooter"),
          ("grow roses", "grow tulips", "grow daisies"), ("play guitar", "play drums", "play violin"))
RING = ((220, 60, 60), (40, 90, 220), (40, 160, 60))

# query -> (who it asks about, with {A},{B},{C},{ALL} slots; predicate on the membership tuple)
QUERIES: dict[str, tuple[str, Any]] = {
    "in_a": ("{A}", lambda m: m[0]),
    "only_a": ("{A} but do not {B}", lambda m: m[0] and not m[1]),
    "both": ("both {A} and {B}", lambda m: m[0] and m[1]),
    "either": ("{A} or {B} (or both)", lambda m: m[0] or m[1]),
    "neither": ("do not {A} and do not {B}", lambda m: not m[0] and not m[1]),
    "exactly_one": ("do exactly one of these: {ALL}", lambda m: sum(m) == 1),
    "exactly_two": ("do exactly two of these: {ALL}", lambda m: sum(m) == 2),
    "both_not_c": ("{A} and {B} but do not {C}", lambda m: m[0] and m[1] and not m[2]),
    "total": ("do at least one of these: {ALL}", lambda m: any(m)),
}
NUMBER = "Answer with a number."


def wordings(who: str) -> dict[str, str]:
    """One question about the people who `who`, in every register."""
    return {"direct": f"How many people {who}? {NUMBER}", "imperative": f"Count the people who {who}. {NUMBER}",
            "polite": f"Could you tell me how many people {who}? {NUMBER}",
            "terse": f"People who {who}: how many? {NUMBER}"}


def region_sum(regions: dict[str, int], kind: str) -> int:
    pred = QUERIES[kind][1]
    return sum(v for k, v in regions.items() if pred(tuple(int(ch) for ch in k)))


@register
class Venn(Task):
    """Counts in a Venn diagram of two or three groups of people; combine regions to answer.

    Level knobs:
        sets: 2 or 3 circles.
        outside: whether a count of people in no group is drawn outside the circles.
        queries: the queries the level asks (see QUERIES: "in_a", "only_a", "both", "either",
            "neither", "exactly_one", "exactly_two", "both_not_c", "total"; A, B, C are the groups in
            the order the picture labels them).
        vmax: region counts are 0..vmax (1..vmax inside the circles).
        size: image width in pixels.

    Mixed form: one region's count is stated in text and shown as "?".
    """

    name = "venn"
    description = "Venn diagram counts: in a set, only one, both, either, neither, exactly k (number)."
    tags = ("counting", "arithmetic", "logic")
    forms = ("image", "text", "mixed")
    questions = {name: wordings(who) for name, (who, _) in QUERIES.items()}
    levels = {
        1: dict(sets=2, outside=False, queries=("in_a", "only_a", "both"), vmax=12, size=224),
        2: dict(sets=2, outside=False, queries=("either", "both", "exactly_one", "only_a"), vmax=15, size=224),
        3: dict(sets=2, outside=True, queries=("neither", "either", "total", "exactly_one"), vmax=20, size=224),
        4: dict(sets=3, outside=False, queries=("in_a", "only_a", "both", "total"), vmax=12, size=240),
        5: dict(sets=3, outside=True, queries=("exactly_two", "exactly_one", "both_not_c", "neither"), vmax=15,
                size=240),
        6: dict(sets=3, outside=True, queries=("either", "neither", "exactly_two", "total", "exactly_one"), vmax=20,
                size=240),
    }

    def make(self, rng: random.Random, cfg: dict[str, Any], seed: int, level: int) -> Sample:
        k = cfg["sets"]
        topic = rng.choice(TOPICS)[:k]
        order = rng.sample(range(k), k)
        names = [topic[i] for i in order]
        regions = {}
        for m in product("10", repeat=k):
            key = "".join(m)
            inside = "1" in key
            regions[key] = rng.randint(1, cfg["vmax"]) if inside else (rng.randint(0, cfg["vmax"]) if cfg["outside"] else 0)
        kind = self.query
        q = self.ask(A=names[0], B=names[1], C=names[-1], ALL=", ".join(names))
        answer = region_sum(regions, kind)
        terms = [(key, v) for key, v in regions.items() if QUERIES[kind][1](tuple(int(ch) for ch in key))]
        sol = (f"The regions that count are {', '.join(describe(key, names) for key, _ in terms)}: "
               f"{' + '.join(str(v) for _, v in terms)} = {answer}.")
        facts = (f"A survey asked people which of these they do: {', '.join(names)}. Counts by group: "
                 + "; ".join(f"{describe(key, names)}: {v}" for key, v in regions.items()
                             if "1" in key or cfg["outside"]) + ".")
        meta = {"sets": k, "names": names, "regions": regions, "query": kind, "size": cfg["size"],
                "outside": cfg["outside"], "font_px": 14, "ask": q}
        head = ("The Venn diagram shows how many people " + " / ".join(names)
                + (" (the number inside the box but outside the circles counts people in none of the groups)." if cfg["outside"] else "."))
        meta["head"] = head
        return self.sample(seed, level, prompt=self.image_prompt(f"{head}\n{q}"), images=(self.picture(render, meta, None),),
                           answer=str(answer), answer_type="number", text_twin=f"{facts}\n{q}",
                           solution=f"{sol} Answer: {answer}.", meta=meta)

    def mixed(self, sample: Sample) -> Sample:
        m = sample.meta
        rng = task_rng(f"{self.name}/mixed", sample.seed, sample.level)
        key = rng.choice([key for key in m["regions"] if "1" in key])
        prompt = self.image_prompt(f"{m['head']} The region marked '?' ({describe(key, m['names'])}) holds "
                                   f"{m['regions'][key]} people.\n{m['ask']}")
        return replace(sample, id=f"{sample.id}/mixed", form="mixed", prompt=prompt, images=(render(m, key),),
                       meta={**m, "described": key})


def describe(key: str, names: list[str]) -> str:
    ins = [n for n, ch in zip(names, key, strict=True) if ch == "1"]
    outs = [n for n, ch in zip(names, key, strict=True) if ch == "0"]
    if not ins:
        return "none of them"
    s = " and ".join(ins) + (" only" if len(ins) == 1 and outs else "")
    if len(ins) > 1 and outs:
        s += " but not " + " or ".join(outs)
    return s


def render(meta: dict[str, Any], hide: str | None) -> Any:
    k, size, names = meta["sets"], meta["size"], meta["names"]
    h = size + 6 if k == 3 else int(size * 0.72)
    im = D.canvas(size, h + 22)
    d = ImageDraw.Draw(im)
    fs = meta["font_px"]
    r = size * (0.24 if k == 3 else 0.27)
    if k == 2:
        cs = [(size / 2 - r * 0.55, h / 2 + 18), (size / 2 + r * 0.55, h / 2 + 18)]
    else:
        cy = h / 2 + 26
        cs = [(size / 2 - r * 0.55, cy - r * 0.35), (size / 2 + r * 0.55, cy - r * 0.35), (size / 2, cy + r * 0.6)]
    if meta["outside"]:
        d.rectangle([2, 2, size - 3, h + 19], outline=(90, 90, 90), width=1)
    for (x, y), col in zip(cs, RING, strict=False):
        d.ellipse([x - r, y - r, x + r, y + r], outline=S.tint(col), width=D.width(3))
    # circle names: above the top circles, below the third
    for i, ((x, y), col) in enumerate(zip(cs, RING, strict=False)):
        if i < 2:
            label(im, (x + (-1 if i == 0 else 1) * r * 0.35, y - r - 9), names[i], size=fs - 2, fill=S.tint(col))
        else:
            label(im, (x + r * 0.9, y + r + 6), names[i], size=fs - 2, fill=S.tint(col))
    # region label positions
    if k == 2:
        (x1, y1), (x2, _) = cs
        spots = {"10": (x1 - r * 0.5, y1), "01": (x2 + r * 0.5, y1), "11": ((x1 + x2) / 2, y1), "00": (12, h + 4)}
    else:
        (xa, ya), (xb, yb), (xc, yc) = cs
        gx, gy = (xa + xb + xc) / 3, (ya + yb + yc) / 3
        spots = {"100": (xa - r * 0.45, ya - r * 0.2), "010": (xb + r * 0.45, yb - r * 0.2),
                 "001": (xc, yc + r * 0.5), "110": ((xa + xb) / 2, ya - r * 0.45),
                 "101": ((xa + xc) / 2 - r * 0.25, (ya + yc) / 2 + r * 0.15),
                 "011": ((xb + xc) / 2 + r * 0.25, (yb + yc) / 2 + r * 0.15), "111": (gx, gy), "000": (12, h + 4)}
    for key, v in meta["regions"].items():
        if "1" not in key and not meta["outside"]:
            continue
        s = "?" if key == hide else str(v)
        label(im, spots[key], s, size=fs, anchor="mm" if "1" in key else "lm")
    return im
