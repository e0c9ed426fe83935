"""Grounding families (locate, gui_click, spot_difference) at variant scale: every query's answer
re-derived from the text twin by parsers written here, under every style and phrasing; boxes checked
against the plain pictures' pixels; geometry identical in every style; level-1 variety."""

from __future__ import annotations

import re

import numpy as np
import pytest

from _gym_checks import level1_distinct
from foveal.tasks import get
from foveal.tasks.draw import COLORS, letters
from foveal.tasks.style import STYLES
from foveal.tasks.variant import PHRASINGS

FAMILIES = ("locate", "gui_click", "spot_difference")
BOX = r"\[(\d+), (\d+), (\d+), (\d+)\]"


def question(s) -> str:
    """The twin's question line (the line after the scene description)."""
    return s.text_twin.split("\n")[1]


def letter(s, option: str) -> str:
    return letters(len(s.choices))[s.choices.index(option)]


# ---------------------------------------------------------------------------------------------
def solve_locate(s, query: str) -> str:
    objs = [(size, colour, shape, [int(v) for v in box]) for size, colour, shape, *box in
            re.findall(r"a (\w+) (\w+) (\w+) with box " + BOX, s.text_twin)]
    q = question(s)
    if query == "count":
        colour = next(c for c in COLORS if re.search(rf"\b{c}\b", q.lower()))
        return str(sum(o[1] == colour for o in objs))
    adjective = "|".join(["leftmost", "rightmost", "topmost", "bottommost", "small", "large", *COLORS])
    desc = re.search(rf"the ((?:(?:{adjective}) )+(?:object|circle|square|triangle|star))\b", q).group(1).split()
    extreme = {"leftmost": (0, min), "rightmost": (0, max), "topmost": (1, min), "bottommost": (1, max)}
    if desc[0] in extreme:
        axis, pick = extreme[desc[0]]
        group = [o for o in objs if (o[1], o[2]) == (desc[1], desc[2])]
        centre = lambda o: (o[3][axis] + o[3][axis + 2]) / 2  # noqa: E731
        target = pick(group, key=centre)
    else:
        (target,) = [o for o in objs if all(w in (o[0], o[1], o[2], "object") for w in desc)]
    x1, y1, x2, y2 = target[3]
    if query == "box":
        return f"[{x1}, {y1}, {x2}, {y2}]"
    if query == "shape":
        return letter(s, target[2])
    size = int(re.match(r"A (\d+)×", s.text_twin).group(1))
    cx, cy = s.meta["objects"][s.meta["target"]]["x"], s.meta["objects"][s.meta["target"]]["y"]
    assert x1 <= cx <= x2 and y1 <= cy <= y2  # the stated centre lies in the stated box
    return letter(s, f"{'bottom' if cy > size / 2 else 'top'} {'right' if cx > size / 2 else 'left'}")


def solve_gui(s, query: str) -> str:
    from foveal.tasks.grounding.gui_click import INTENTS  # the goal -> caption vocabulary

    buttons = []
    for title, body in re.findall(r"Window '([^']+)' has: (.*?)\.(?= Window|\n|$)", s.text_twin):
        for cap, badge, box in re.findall(r"button '([^']+)'(?: \(badge (\d+)\))?(?: with box (\[[\d, ]+\]))?", body):
            buttons.append({"window": title, "caption": cap, "badge": badge, "box": box})
    q = question(s)
    window = re.search(r"in the '([^']+)' window", q)
    here = [b for b in buttons if window is None or b["window"] == window.group(1)]
    if query == "click":
        goal = next(g for g in INTENTS if g in q)
        (b,) = [b for b in here if b["caption"] == INTENTS[goal]]
    elif query == "find":
        (b,) = [b for b in here if b["caption"] == re.search(r"'([^']+)' button", q).group(1)]
    else:
        ref = re.search(r"with (badge (\d+)|box (\[[\d, ]+\]))", q)
        (b,) = [b for b in here if b["badge"] == ref.group(2) or b["box"] == ref.group(3)]
        return letter(s, b["caption"])
    return b["box"] if s.answer_type == "box" else letter(s, f"element {b['badge']}")


def scene_of(text: str) -> dict[tuple[str, str], str]:
    return {(r, c): rest for r, c, rest in re.findall(r"row (\d+), column (\d+): ([a-z ]+?)(?=;|$)", text)}


def solve_spot(s, query: str) -> str:
    one, two = re.search(r"Picture 1: (.*?)\. Picture 2: (.*?)\.\n", s.text_twin).groups()
    a, b = scene_of(one), scene_of(two)
    if query == "count":
        return str(sum(a.get(k) != b.get(k) for k in a.keys() | b.keys()))
    if query == "objects":
        return str(len(b))
    r, c = re.search(r"(?i)row (\d+), column (\d+)", question(s)).groups()
    before, after = a.get((r, c)), b.get((r, c))
    assert before != after
    if before is None or after is None:
        return letter(s, "an object appears" if before is None else "an object disappears")
    (k,) = [k for k, (x, y) in enumerate(zip(before.split(), after.split(), strict=True)) if x != y]
    return letter(s, "an object changes " + ("size", "colour", "shape")[k])


SOLVERS = {"locate": solve_locate, "gui_click": solve_gui, "spot_difference": solve_spot}


@pytest.mark.parametrize("name", FAMILIES)
def test_every_query_rederived_under_every_style(name):
    task = get(name)
    for level in task.levels:
        for query in task.level_queries(level):
            for k, style in enumerate(STYLES):
                s = task.generate(k, level, "text", query=query, style=style)
                assert s.meta["variant"]["query"] == query and s.meta["variant"]["style"] == style
                assert SOLVERS[name](s, query) == s.answer, (level, query, style)
                assert s.solution.endswith(f"{s.answer}.")


@pytest.mark.parametrize("name", FAMILIES)
def test_geometry_does_not_depend_on_the_style(name):
    task = get(name)
    for level in (1, 3):
        for query in task.level_queries(level):
            plain = task.generate(4, level, query=query, style="plain")
            for style in STYLES:
                s = task.generate(4, level, query=query, style=style, phrasing="direct")
                assert (s.answer, s.meta["about"], s.problem_key) == (plain.answer, plain.meta["about"], plain.problem_key)
                assert [im.size for im in s.images] == [im.size for im in plain.images]


def test_locate_boxes_match_the_plain_pixels():
    task = get("locate")
    for level in task.levels:
        for query in task.level_queries(level):
            for seed in range(3):
                s = task.generate(seed, level, query=query, style="plain")
                im = np.asarray(s.images[0])
                boxes = [[int(v) for v in b] for b in s.meta["about"]]
                if query == "box":
                    assert boxes == [[int(v) for v in re.findall(r"\d+", s.answer)]]
                for x1, y1, x2, y2 in boxes:  # each box is exactly the extent of one object's colour there
                    window = im[max(0, y1 - 3):y2 + 4, max(0, x1 - 3):x2 + 4]
                    fills = [c for c, rgb in COLORS.items() if (window == rgb).all(-1).sum() > 5]
                    ys, xs = np.nonzero((window == COLORS[fills[0]]).all(-1))
                    assert [xs.min() + max(0, x1 - 3), ys.min() + max(0, y1 - 3),
                            xs.max() + max(0, x1 - 3), ys.max() + max(0, y1 - 3)] == [x1, y1, x2, y2]


def test_gui_boxes_are_drawn_buttons_in_the_plain_pixels():
    from foveal.tasks.grounding.gui_click import BTN_EDGE

    task = get("gui_click")
    for level in task.levels:
        for query in task.level_queries(level):
            s = task.generate(1, level, query=query, style="plain")
            im = np.asarray(s.images[0])
            (x1, y1, x2, y2), = s.meta["about"]
            k = 8 if s.meta["mode"] == "choice" else 0  # a number badge covers the top-left corner
            edge = np.concatenate([im[y1, x1 + k:x2 + 1], im[y2, x1:x2 + 1], im[y1 + k:y2 + 1, x1], im[y1:y2 + 1, x2]])
            assert (edge == BTN_EDGE).all()
            if s.answer_type == "box":
                assert [int(v) for v in re.findall(r"\d+", s.answer)] == [x1, y1, x2, y2]


def test_spot_difference_cells_hold_the_plain_pixel_changes():
    task = get("spot_difference")
    for level in task.levels:
        for query in ("count", "kind"):
            s = task.generate(2, level, query=query, style="plain")
            a, b = (np.asarray(im).astype(int) for im in s.images)
            differ = (a != b).any(-1)
            for x1, y1, x2, y2 in s.meta["about"]:
                assert differ[y1:y2, x1:x2].any()
            if query == "count":
                covered = np.zeros_like(differ)
                for x1, y1, x2, y2 in s.meta["about"]:
                    covered[y1:y2, x1:x2] = True
                assert not (differ & ~covered).any() and len(s.meta["about"]) == int(s.answer)


@pytest.mark.parametrize("name", FAMILIES)
def test_phrasings_ask_one_question(name):
    task = get(name)
    for query in task.queries:
        got = [task.generate(6, 1, "text", query=query, phrasing=p) for p in PHRASINGS]
        assert len({s.answer for s in got}) == 1 and len({s.problem_key for s in got}) == 1
        assert len({question(s) for s in got}) == len(PHRASINGS)
        for p, s in zip(PHRASINGS, got, strict=True):
            img = task.generate(6, 1, query=query, phrasing=p, style="plain")
            assert img.prompt.split("\n")[2] == question(s)  # the picture's prompt asks what the twin asks


@pytest.mark.parametrize("name", FAMILIES)
def test_level1_distinct_per_query_and_form(name):
    for query in get(name).level_queries(1):
        texts, images = level1_distinct(name, query)
        assert texts >= 950 and images >= 950, (query, texts, images)
