"""Perception-grounded rewards, checked against the gym's scene metadata (`Sample.meta`).

Two rewards that score what a completion says it *sees*, not only its final answer, with no
judge model:

* `caption` (Visionary-R1's caption-reason-answer format): the facts the `<caption>` states
  (objects with their colours and counts, chart values, cube counts, shaded parts, item
  properties) are read with closed patterns and checked one by one against the scene.
  Score: the F1 of the checkable facts' precision and the recall of the scene's key facts,
  0 when half or more of the stated facts are false, 0 past a cap on how many it states.
* `region` (SATORI's region reward): the boxes `<box>[x1, y1, x2, y2]</box>` stated in the
  reasoning are matched one-to-one with the pixel boxes of the objects the question is about,
  scored by IoU; stating more or fewer boxes than there are objects costs.

Everything family-specific lives in two tables keyed by task name: `REGION_FAMILIES`
(sample -> the question's boxes) and `CAPTION_FAMILIES` (how to read, check and state facts).
A family not in a table gets 0.0 from that reward. `reference_caption` and `reference_completion`
write the generator's own caption-first completion (an SFT target; it scores 1 on every
reward here). docs/rewards.md has the tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from PIL import Image, ImageDraw

from foveal.prompts import ANSWER_CLOSE, ANSWER_OPEN, CAPTION_CLOSE, CAPTION_OPEN, THINK_CLOSE, THINK_OPEN
from foveal.rewards.extract import check_format, extract_answer, extract_caption, extract_think, nfkc
from foveal.rewards.functions import _configurable, _text, register_reward
from foveal.rewards.parse import parse_box
from foveal.rewards.verify import iou
from foveal.tasks.draw import COLORS, SHAPES
from foveal.tasks.draw import shape as draw_shape

Box = tuple[float, float, float, float]
MAX_BOXES = 64
"""A reasoning that states more `<box>` tags than this scores 0 on `region` (and is not read)."""
MAX_CAPTION_CHARS = 8_000
"""A caption longer than this scores 0 on `caption` (and is not read)."""


# ================================================================ regions (SATORI)


def drawn_box(kind: str, cx: float, cy: float, r: float) -> list[int]:
    """The inclusive pixel box [x1, y1, x2, y2] of `draw.shape(kind, cx, cy, r)` with its outline,
    found by drawing it on a small mask (exact, whatever the rasteriser rounds)."""
    pad = int(r) + 3
    fx, fy = cx - int(cx), cy - int(cy)
    mask = Image.new("L", (2 * pad + 2, 2 * pad + 2), 0)
    draw_shape(ImageDraw.Draw(mask), kind, pad + fx, pad + fy, r, 255, outline=255)
    x1, y1, x2, y2 = mask.getbbox()
    return [int(cx) - pad + x1, int(cy) - pad + y1, int(cx) - pad + x2 - 1, int(cy) - pad + y2 - 1]


def _letter_index(answer: str) -> int:
    """0 for a gold choice answer "A", 1 for "B", ..."""
    return ord(answer.strip().upper()) - ord("A")


def _object_box(o: dict[str, Any]) -> list[int]:
    return drawn_box(o["shape"], o["x"], o["y"], o["r"])


def _cell_box(c: int, r: int, cell: float, offset: float = 0.0) -> list[int]:
    """The pixel box of grid cell (column c, row r), 0-based, cells of side `cell` from `offset`."""
    return [round(offset + c * cell), round(offset + r * cell), round(offset + (c + 1) * cell), round(offset + (r + 1) * cell)]


def _count_regions(s: Any) -> list[list[int]]:
    """count: every object matching the queried colour and/or shape."""
    query = s.meta["query"]
    return [_object_box(o) for o in s.meta["objects"] if all(o[k] == v for k, v in query.items())]


def _spatial_regions(s: Any) -> list[list[int]]:
    """spatial: the two objects the question relates (its subject `a` and reference `b`)."""
    objs = s.meta["objects"]
    return [_object_box(objs[s.meta["a"]]), _object_box(objs[s.meta["b"]])]


def _about(s: Any) -> list[list[int]] | None:
    """The boxes a grounding family stores for its question (`meta["about"]`), if it does."""
    about = s.meta.get("about")
    return None if about is None else [list(b) for b in about]


def _locate_regions(s: Any) -> list[list[int]]:
    """locate: the objects the question is about (the described object's box for "box")."""
    about = _about(s)
    return [list(s.meta["box"])] if about is None else about


def _gui_regions(s: Any) -> list[list[int]]:
    """gui_click: the button the question is about (to click: its badge number in the choice mode, its
    box in the box mode)."""
    about = _about(s)
    if about is not None:
        return about
    elements = s.meta["elements"]
    if s.meta["mode"] == "choice":
        number = _letter_index(s.answer) + 1
        return [list(e["box"]) for e in elements if e["number"] == number]
    gold = parse_box(s.answer)
    return [list(e["box"]) for e in elements if tuple(float(v) for v in e["box"]) == gold]


def _spot_difference_regions(s: Any) -> list[list[int]]:
    """spot_difference: the grid cells the question is about (by default those that differ between the
    two pictures, same place in both)."""
    about = _about(s)
    if about is not None:
        return about
    m = s.meta
    first = {(r, c): tuple(rest) for r, c, *rest in m["first"]}
    second = {(r, c): tuple(rest) for r, c, *rest in m["second"]}
    cell = (m["size"] - 4) / m["g"]
    changed = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    return [_cell_box(c, r, cell, offset=2) for r, c in changed]


def _occlusion_regions(s: Any) -> list[list[int]]:
    """occlusion: the cell of the hidden ball in the last frame (behind the wall)."""
    m = s.meta
    ball = m["balls"][_letter_index(s.answer)]
    col = ball["x0"] + ball["v"] * (m["frames"] - 1)
    return [_cell_box(col, ball["row"], m["size"] / m["g"])]


REGION_FAMILIES: dict[str, Callable[[Any], list[list[int]]]] = {
    "count": _count_regions,
    "spatial": _spatial_regions,
    "locate": _locate_regions,
    "gui_click": _gui_regions,
    "spot_difference": _spot_difference_regions,
    "occlusion": _occlusion_regions,
}


def regions(sample: Any) -> list[list[int]] | None:
    """The pixel boxes [x1, y1, x2, y2] of the objects `sample`'s question is about, from its meta.

    None for a family without stored positions (not in `REGION_FAMILIES`); [] when the question
    is about no object on the picture (a count of 0, no differences).
    """
    fn = REGION_FAMILIES.get(getattr(sample, "task", None))
    return None if fn is None else fn(sample)


_BOX_TAG = re.compile(r"<box>(.{0,200}?)</box>", re.DOTALL)


def stated_boxes(text: str) -> list[Box | None] | None:
    """The boxes of the `<box>…</box>` tags in `text` (None for a tag that holds no box), or
    None when there are more than MAX_BOXES tags."""
    found = []
    for m in _BOX_TAG.finditer(text):
        if len(found) == MAX_BOXES:
            return None
        found.append(parse_box(m.group(1)))
    return found


def match_boxes(predicted: list[Box | None], gold: list[list[int]]) -> float:
    """One-to-one IoU matching of predicted to gold boxes:

        score = Σ_{(p, g) matched} IoU(p, g) / max(|P|, |G|),

    pairs matched greedily by IoU, highest first (each box used once; a None prediction matches
    nothing). 1 for identical sets; extra or missing boxes lower it. Both empty: 1.
    """
    if not predicted and not gold:
        return 1.0
    pairs = sorted(
        ((iou(p, g), i, j) for i, p in enumerate(predicted) if p is not None for j, g in enumerate(gold)),
        reverse=True,
    )
    used_p, used_g, total = set(), set(), 0.0
    for v, i, j in pairs:
        if v > 0 and i not in used_p and j not in used_g:
            used_p.add(i)
            used_g.add(j)
            total += v
    return total / max(len(predicted), len(gold))


def _reasoning(completion: str, answer_format: str) -> str | None:
    """The caption and think blocks of a well-formed completion (where boxes are stated), else None."""
    text = nfkc(completion)
    if extract_answer(text, answer_format) is None:
        return None
    think = extract_think(text) or ""
    return (extract_caption(text) or "") + "\n" + think if answer_format == "caption" else think


@_configurable
def region_reward(completions: list[str], samples: list[Any], *, answer_format: str = "r1") -> list[float]:
    """SATORI's region reward: how well the boxes stated in the reasoning cover the question's objects.

    The `<box>[x1, y1, x2, y2]</box>` tags (pixels) in the `<think>` block (and the `<caption>`
    under `answer_format="caption"`) of a well-formed completion, matched to `regions(sample)` by
    `match_boxes`. 0.0 for a completion that breaks its format, states more than MAX_BOXES boxes,
    or whose sample's family has no stored positions (`REGION_FAMILIES`).
    """
    if check_format(answer_format) not in ("r1", "caption"):
        raise ValueError(f"region: answer_format must be 'r1' or 'caption' (boxes sit in the reasoning), got {answer_format!r}")
    out = []
    for c, s in zip(completions, samples, strict=True):
        gold = regions(s)
        text = _reasoning(_text(c), answer_format) if gold is not None else None
        boxes = stated_boxes(text) if text is not None else None
        out.append(match_boxes(boxes, gold) if boxes is not None and gold is not None else 0.0)
    return out


# ================================================================ caption facts (Visionary-R1)

Key = tuple
Fact = tuple[Key, Any]

_NUMBER_WORDS = "zero one two three four five six seven eight nine ten eleven twelve".split()
NUM = r"(\d{1,4}|" + "|".join(_NUMBER_WORDS) + r")"
COLOUR_WORDS = {**{c: c for c in COLORS}, "grey": "gray"}
COLOUR = "(" + "|".join(sorted(COLOUR_WORDS, key=len, reverse=True)) + ")"
SHAPE = "(" + "|".join(SHAPES) + ")(?:e?s)?"


def number(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS.index(word)


def read_facts(text: str, rules: Iterable[tuple[str, Callable[[re.Match], Iterable[Fact]]]], flags=re.IGNORECASE) -> list[Fact]:
    """Facts from `text` by (pattern, handler) rules applied in order; each match is blanked out
    before the next rule runs, so a phrase is read once, by the most specific rule."""
    facts: list[Fact] = []
    for pattern, handler in rules:
        rx = re.compile(pattern, flags)
        for m in rx.finditer(text):
            facts.extend(handler(m))
        text = rx.sub(lambda m: " " * len(m.group()), text)
    return facts


@dataclass(frozen=True)
class CaptionFamily:
    """How a family's captions are read and checked.

    read(caption) -> stated facts [(key, value)]; truth(meta, key) -> the true value of a key,
    or None when the scene has no such thing (stating it is false); required(meta) -> the scene's
    key facts {key: value} (recall is measured on these); say(meta) -> the reference caption,
    which reads back as exactly the required facts.
    """

    read: Callable[[str], list[Fact]]
    truth: Callable[[dict, Key], Any]
    required: Callable[[dict], dict[Key, Any]]
    say: Callable[[dict], str]


# -- objects (count, spatial): "2 red circles", "3 circles", "2 red objects", "a blue star"

def _read_objects(text: str) -> list[Fact]:
    c = lambda m, i: COLOUR_WORDS[m.group(i).lower()] if m.group(i) else ""  # noqa: E731
    return read_facts(text.lower(), [
        (rf"\b{NUM}\s+(?:{COLOUR}\s+)?{SHAPE}\b", lambda m: [(("count", c(m, 2), m.group(3)), number(m.group(1)))]),
        (rf"\b{NUM}\s+{COLOUR}\s+(?:objects?|shapes?|things?)\b", lambda m: [(("count", c(m, 2), ""), number(m.group(1)))]),
        (rf"\b{NUM}\s+(?:objects?|shapes?|things?)\b", lambda m: [(("count", "", ""), number(m.group(1)))]),
        (rf"\ban?\s+{COLOUR}\s+{SHAPE}\b", lambda m: [(("some", c(m, 1), m.group(2)), True)]),
    ])


def _objects_truth(meta: dict, key: Key) -> Any:
    kind, colour, shape = key
    n = sum(1 for o in meta["objects"] if (not colour or o["color"] == colour) and (not shape or o["shape"] == shape))
    return n if kind == "count" else n > 0


def _objects_required(meta: dict) -> dict[Key, Any]:
    out: dict[Key, Any] = {}
    for o in meta["objects"]:
        key = ("count", o["color"], o["shape"])
        out[key] = out.get(key, 0) + 1
    return out


def _say_objects(meta: dict) -> str:
    parts = [f"{n} {c} {s}{'' if n == 1 else 'es' if s.endswith('x') else 's'}" for (_, c, s), n in _objects_required(meta).items()]
    listed = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
    return f"The picture shows {listed}."


OBJECTS = CaptionFamily(_read_objects, _objects_truth, _objects_required, _say_objects)


# -- chart: "a bar chart with red bars: A = 1, B = 2"

def _read_chart(text: str) -> list[Fact]:
    facts = read_facts(text, [
        (r"\b([A-Z])\s*(?:=|:|\bis\b)\s*(-?\d+(?:\.\d+)?)(?!\.?\d)", lambda m: [(("value", m.group(1)), Fraction(m.group(2)))]),
    ], flags=0)
    return facts + read_facts(text.lower(), [
        (r"\b(bar|line)\s+(?:chart|graph|plot)\b", lambda m: [(("kind",), m.group(1))]),
        (rf"\b{COLOUR}\s+(?:bars?|lines?)\b", lambda m: [(("colour",), COLOUR_WORDS[m.group(1)])]),
    ])


def _chart_truth(meta: dict, key: Key) -> Any:
    if key[0] == "value":
        v = meta["values"].get(key[1])
        return None if v is None else Fraction(v)
    return meta["kind"] if key[0] == "kind" else meta["color"]


def _chart_required(meta: dict) -> dict[Key, Any]:
    return {("kind",): meta["kind"], ("colour",): meta["color"], **{("value", k): Fraction(v) for k, v in meta["values"].items()}}


def _say_chart(meta: dict) -> str:
    mark = "bars" if meta["kind"] == "bar" else "line"
    values = ", ".join(f"{k} = {v}" for k, v in meta["values"].items())
    return f"The picture is a {meta['kind']} chart with {meta['color']} {mark}; its values are {values}."


CHART = CaptionFamily(_read_chart, _chart_truth, _chart_required, _say_chart)


# -- block_count: "5 cubes in 4 columns; the tallest column is 2 cubes high"

def _read_blocks(text: str) -> list[Fact]:
    return read_facts(text.lower(), [
        (rf"\btallest\s+(?:column|stack|tower)\s+(?:is|has|of)\s+{NUM}(?:\s+cubes?(?:\s+(?:high|tall))?)?",
         lambda m: [(("tallest",), number(m.group(1)))]),
        (rf"\b{NUM}\s+(?:columns?|stacks?|towers?)\b", lambda m: [(("columns",), number(m.group(1)))]),
        (rf"\b{NUM}\s+(?:unit\s+)?cubes?\b", lambda m: [(("cubes",), number(m.group(1)))]),
    ])


def _blocks_truth(meta: dict, key: Key) -> Any:
    return _blocks_required(meta)[key]


def _blocks_required(meta: dict) -> dict[Key, Any]:
    hs = [h for row in meta["heights"] for h in row]
    return {("cubes",): sum(hs), ("columns",): sum(1 for h in hs if h), ("tallest",): max(hs)}


def _say_blocks(meta: dict) -> str:
    f = _blocks_required(meta)
    return (f"The stack has {f[('cubes',)]} cubes in {f[('columns',)]} column{'' if f[('columns',)] == 1 else 's'}; "
            f"the tallest column is {f[('tallest',)]} cube{'' if f[('tallest',)] == 1 else 's'} high.")


BLOCKS = CaptionFamily(_read_blocks, _blocks_truth, _blocks_required, _say_blocks)


# -- fraction_shaded: "2 shapes with 8 equal parts in all; 3 of them are shaded"

_PART_UNITS = {"parts": "parts", "part": "parts", "pieces": "parts", "piece": "parts", "sections": "parts",
               "section": "parts", "slices": "parts", "slice": "parts", "segments": "parts", "segment": "parts",
               "half-squares": "half-squares", "half-square": "half-squares", "halves": "half-squares",
               "triangles": "half-squares", "triangle": "half-squares"}
_UNIT = "(" + "|".join(sorted(_PART_UNITS, key=len, reverse=True)) + ")"


def _read_fraction(text: str) -> list[Fact]:
    def of(m: re.Match) -> list[Fact]:
        facts: list[Fact] = [(("shaded",), number(m.group(1)))]
        if m.group(2):
            facts.append((("parts", _PART_UNITS[m.group(3)] if m.group(3) else "parts"), number(m.group(2))))
        return facts

    return read_facts(text.lower(), [
        (rf"\b{NUM}\s+of\s+(?:the|its|them|these|all)?\s*(?:{NUM}\s+)?(?:equal\s+)?(?:{_UNIT}\s+)?(?:are|is)\s+shaded\b", of),
        (rf"\b{NUM}\s+(?:equal\s+)?{_UNIT}\s+(?:are|is)\s+shaded\b", lambda m: [(("shaded",), number(m.group(1)))]),
        (rf"\b{NUM}\s+(?:equal\s+)?{_UNIT}\b", lambda m: [(("parts", _PART_UNITS[m.group(2)]), number(m.group(1)))]),
        (rf"\b{NUM}\s+(?:shapes?|figures?)\b", lambda m: [(("shapes",), number(m.group(1)))]),
    ])


def _fraction_required(meta: dict) -> dict[Key, Any]:
    pieces = meta["pieces"]
    unit = "parts" if all(a == 1 for a, _ in pieces) else "half-squares"
    return {("shapes",): meta["shapes"], ("parts", unit): sum(a for a, _ in pieces), ("shaded",): sum(s for _, s in pieces)}


def _fraction_truth(meta: dict, key: Key) -> Any:
    return _fraction_required(meta).get(key)


def _say_fraction(meta: dict) -> str:
    f = _fraction_required(meta)
    (unit, parts), = ((k[1], v) for k, v in f.items() if k[0] == "parts")
    shapes = f[("shapes",)]
    whole = "1 shape with" if shapes == 1 else f"{shapes} shapes with"
    verb = "is" if f[("shaded",)] == 1 else "are"
    equal = "equal " if unit == "parts" else ""
    return f"The figure is {whole} {parts} {equal}{unit} in all; {f[('shaded',)]} of them {verb} shaded."


FRACTION = CaptionFamily(_read_fraction, _fraction_truth, _fraction_required, _say_fraction)


# -- odd_one_out: "A: small hollow green star; B: ..."

_ITEM_WORDS = {
    **{c: ("color", v) for c, v in COLOUR_WORDS.items()},
    **{s: ("shape", s) for s in SHAPES}, **{s + "s": ("shape", s) for s in SHAPES},
    "small": ("size", "small"), "large": ("size", "large"), "big": ("size", "large"),
    "solid": ("fill", "solid"), "filled": ("fill", "solid"), "hollow": ("fill", "hollow"), "outlined": ("fill", "hollow"),
}
_ITEM = re.compile(r"^\s*(?:[Ii]tem\s+)?([A-L])\s*(?::|=|-|\bis\b)\s*(.*)$", re.DOTALL)


def _read_items(text: str) -> list[Fact]:
    facts: list[Fact] = []
    for clause in re.split(r"[;\n]|\.(?:\s|$)", text):
        m = _ITEM.match(clause)
        if m is None:
            continue
        for word in re.findall(r"[a-z]+", m.group(2).lower()):
            if word in _ITEM_WORDS:
                attr, value = _ITEM_WORDS[word]
                facts.append((("item", m.group(1), attr), value))
    return facts


def _items_required(meta: dict) -> dict[Key, Any]:
    return {("item", chr(65 + i), attr): v for i, it in enumerate(meta["items"]) for attr, v in it.items()}


def _items_truth(meta: dict, key: Key) -> Any:
    return _items_required(meta).get(key)


def _say_items(meta: dict) -> str:
    return "; ".join(f"{chr(65 + i)}: {it['size']} {it['fill']} {it['color']} {it['shape']}" for i, it in enumerate(meta["items"])) + "."


ITEMS = CaptionFamily(_read_items, _items_truth, _items_required, _say_items)


CAPTION_FAMILIES: dict[str, CaptionFamily] = {
    "count": OBJECTS,
    "spatial": OBJECTS,
    "chart": CHART,
    "block_count": BLOCKS,
    "fraction_shaded": FRACTION,
    "odd_one_out": ITEMS,
}


def caption_score(caption: str, sample: Any) -> float:
    """How truly and fully `caption` describes `sample`'s scene, in [0, 1].

    The caption's stated facts are read by its family's patterns (`CAPTION_FAMILIES`). With n
    distinct facts (keys) stated, c of them true, and R the scene's required facts (r of them
    stated truly):

        P = c / n,  Rec = r / |R|,  score = 2·P·Rec / (P + Rec)   (F1)
        score = 0 if n = 0, if P < 1/2 (false-heavy), if n > 3·|R| + 3 (listing everything),
                or if any key is stated with two different values (`3 circles ... 4 circles`: a hedge).

    So listing every colour or every number is false-heavy or a hedge, and a caption of one safe
    fact has little recall. 0.0 for a family not in the table or a caption over MAX_CAPTION_CHARS.
    """
    family = CAPTION_FAMILIES.get(getattr(sample, "task", None))
    if family is None or not isinstance(caption, str) or len(caption) > MAX_CAPTION_CHARS:
        return 0.0
    stated: dict[Key, set] = {}
    for key, value in family.read(nfkc(caption)):
        stated.setdefault(key, set()).add(value)
    required = family.required(sample.meta)
    n = len(stated)
    if n == 0 or n > 3 * len(required) + 3 or any(len(vs) > 1 for vs in stated.values()):
        return 0.0
    said = {k: next(iter(vs)) for k, vs in stated.items()}
    true = {k for k, v in said.items() if v == family.truth(sample.meta, k)}
    precision = len(true) / n
    recall = sum(1 for k, v in required.items() if k in true and said[k] == v) / len(required)
    if precision < 0.5 or recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


@_configurable
def caption_reward(completions: list[str], samples: list[Any]) -> list[float]:
    """Visionary-R1's caption reward: `caption_score` of the `<caption>` of a well-formed
    `<caption>…</caption><think>…</think><answer>…</answer>` completion; 0.0 for any other."""
    out = []
    for c, s in zip(completions, samples, strict=True):
        caption = extract_caption(_text(c))
        out.append(caption_score(caption, s) if caption is not None else 0.0)
    return out


def reference_caption(sample: Any) -> str:
    """The generator's own caption of `sample`'s scene: its family's required facts, stated; for a
    family without caption facts, the text twin (the whole problem in words)."""
    family = CAPTION_FAMILIES.get(sample.task)
    return family.say(sample.meta) if family is not None else sample.text_twin


def reference_completion(sample: Any) -> str:
    """The caption-first SFT target: `<caption>` (`reference_caption`), `<think>` (the boxes of `regions(sample)` as `<box>` tags, then the worked solution),
    `<answer>` (the answer)."""
    boxes = regions(sample) or []
    where = "".join(f"<box>[{', '.join(str(v) for v in b)}]</box> " for b in boxes)
    return (f"{CAPTION_OPEN}{reference_caption(sample)}{CAPTION_CLOSE}"
            f"{THINK_OPEN}{where}{sample.solution}{THINK_CLOSE}{ANSWER_OPEN}{sample.answer}{ANSWER_CLOSE}")


register_reward("caption")(caption_reward)
register_reward("region")(region_reward)

__all__ = [
    "CAPTION_FAMILIES",
    "REGION_FAMILIES",
    "CaptionFamily",
    "caption_reward",
    "caption_score",
    "drawn_box",
    "match_boxes",
    "reference_caption",
    "reference_completion",
    "region_reward",
    "regions",
    "stated_boxes",
]
