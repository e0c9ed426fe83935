"""Perception-grounded rewards: the caption-first format, caption facts, regions, frame intervals and tIoU.

Hand-computed values on small scenes, then the gym: the generator's own caption-first completion
scores 1 on every reward, a wrong fact or box scores less, and hacks (listing every colour, number
or cell; boxes outside the reasoning; a broken format) score 0.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from foveal import tasks
from foveal.rewards import (
    ANSWER_FORMATS,
    caption_score,
    combine,
    extract_answer,
    extract_caption,
    get_reward,
    reference_completion,
    regions,
    tiou,
    verify,
)
from foveal.rewards.parse import parse_interval
from foveal.rewards.perception import CAPTION_FAMILIES, REGION_FAMILIES, match_boxes, reference_caption
from foveal.tasks.draw import COLORS, SHAPES

CAP = "<caption>two red circles</caption><think>2 + 0</think><answer>2</answer>"


def levels_and_seeds(name: str, seeds: int = 3):
    """The family's first question, plain style (the region checks read exact palette pixels)."""
    t = tasks.get(name)
    return [t.generate(seed, level, query=t.level_queries(level)[0], phrasing="direct", style="plain")
            for level in t.levels for seed in range(seeds)]


# ---------------------------------------------------------------- the caption-first format


def test_caption_format_reads_the_answer_and_the_caption():
    assert "caption" in ANSWER_FORMATS
    assert extract_answer(CAP, "caption") == "2" and extract_caption(CAP) == "two red circles"
    assert extract_answer("  " + CAP.replace("</caption>", "</caption>\n") + "\n", "caption") == "2"
    assert extract_answer(CAP, "r1") is None, "a caption before <think> breaks the r1 format"


@pytest.mark.parametrize("broken", [
    "<think>2</think><answer>2</answer>",                                   # no caption
    "<caption> </caption><think>2</think><answer>2</answer>",               # empty caption
    "<think>2</think><caption>c</caption><answer>2</answer>",               # caption after think
    "<caption>c</caption><caption>d</caption><think>2</think><answer>2</answer>",
    "<caption>c<think>2</think><answer>2</answer>",                         # unclosed caption
    "<caption>c</caption><think>2</think><answer>2</answer> more",          # text after the answer
    "<caption>c</caption><think>2</think><answer></answer>",                # empty answer
    "<caption>c</caption><think>2 <answer>2</answer></think>",              # answer inside think
    "x <caption>c</caption><think>2</think><answer>2</answer>",             # text before the caption
])
def test_a_broken_caption_format_has_no_answer_and_no_caption(broken):
    assert extract_answer(broken, "caption") is None and extract_caption(broken) is None
    assert get_reward("format", answer_format="caption")([broken], [None]) == [0.0]


def test_format_reward_checks_the_named_format():
    fmt = {f: get_reward("format", answer_format=f) for f in ("r1", "caption", "answer")}
    r1 = "<think>2</think><answer>2</answer>"
    assert [fmt[f]([CAP, r1, "<answer>2</answer>"], [None] * 3) for f in ("r1", "caption", "answer")] == [
        [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    assert get_reward("format")([r1], [None]) == [1.0], "the default stays r1"
    with pytest.raises(ValueError, match="raw"):
        get_reward("format", answer_format="raw")


# ---------------------------------------------------------------- frame intervals and tIoU


@pytest.mark.parametrize("text,want", [
    ("[3, 7]", (3, 7)), ("3-7", (3, 7)), ("3 – 7", (3, 7)), ("frames 3 to 7", (3, 7)),
    ("from frame 3 to frame 7", (3, 7)), ("(3, 7)", (3, 7)), ("**[3, 7]**", (3, 7)), ("\\boxed{[3, 7]}", (3, 7)),
    ("The answer is [3, 7].", (3, 7)), ("[5, 5]", (5, 5)),
    ("37", None), ("3 7", None), ("[3, 7] or [4, 8]", None), ("not [3, 7]", None), ("[7, 3]", None),
    ("[0, 2]", None), ("[3.5, 7]", None), ("[3, 7], [8, 9]", None), ("about [3, 7]", None), ("[-3, 7]", None),
])
def test_parse_interval_is_strict(text, want):
    assert parse_interval(text) == want
    assert verify(text, "[3, 7]", "interval") == (want == (3, 7))


def test_tiou_counts_frames():
    assert tiou([3, 7], [5, 9]) == pytest.approx(3 / 7)      # frames 5-7 shared, 3-9 in all
    assert tiou([2, 5], [3, 4]) == 0.5 and tiou("[1, 1]", "[1, 1]") == 1.0 and tiou([1, 2], [4, 5]) == 0.0
    assert tiou([1, 2], [3, 4]) == 0.0, "adjacent runs share no frame"
    with pytest.raises(ValueError, match="interval"):
        tiou([4, 2], [1, 2])


def test_event_count_asks_for_an_interval_and_tiou_scores_it():
    samples = [tasks.get("event_count").generate(seed, 6, query="interval") for seed in range(20)]
    assert {s.answer_type for s in samples} == {"interval"} and len({s.answer for s in samples}) >= 8
    reward = get_reward("tiou")
    for s in samples:
        a, b = parse_interval(s.answer)
        frames = len(s.images)
        assert 1 <= a <= b <= frames and (a, b) != (1, frames)
        right = f"<think>{s.solution}</think><answer>{s.answer}</answer>"
        late = f"<think>x</think><answer>[{a + 1}, {b + 1}]</answer>"
        hedge = f"<think>x</think><answer>{s.answer} or [{a}, {b + 1}]</answer>"
        leak = f"<think>{s.answer}</think><answer>[1, {frames}] maybe</answer>"
        got = reward([right, late, hedge, leak], [s] * 4)
        n = b - a + 1
        assert got == [1.0, pytest.approx((n - 1) / (n + 1)), 0.0, 0.0]  # shifted by one frame: n-1 shared of n+1
        assert get_reward("accuracy")([right, late], [s, s]) == [1.0, 0.0], "accuracy needs the exact frames"
    count = tasks.get("event_count").generate(0, 2)
    assert reward([f"<think>x</think><answer>{count.answer}</answer>"], [count]) == [1.0], "other types: accuracy"


# ---------------------------------------------------------------- regions


def test_match_boxes_by_hand():
    g = [[0, 0, 10, 10]]
    assert match_boxes([(0, 0, 10, 5)], g) == 0.5
    assert match_boxes([(0, 0, 10, 10), (20, 20, 30, 30)], g) == 0.5, "an extra box halves it"
    assert match_boxes([(0, 0, 10, 10)], [*g, [20, 20, 30, 30]]) == 0.5, "a missing box halves it"
    assert match_boxes([(20, 20, 30, 30), (0, 0, 10, 10)], [*g, [20, 20, 30, 30]]) == 1.0, "order does not matter"
    assert match_boxes([None], g) == 0.0 and match_boxes([], []) == 1.0 and match_boxes([], g) == 0.0


def test_region_families_cover_the_question_objects_in_the_pixels():
    assert len(REGION_FAMILIES) >= 5
    for s in levels_and_seeds("count", 2) + levels_and_seeds("spatial", 2):
        img = np.asarray(s.images[0]).astype(int)
        for x1, y1, x2, y2 in regions(s):
            window = img[max(0, y1 - 3):y2 + 4, max(0, x1 - 3):x2 + 4]
            fill = [c for c, rgb in COLORS.items() if (window == rgb).all(-1).sum() > 5]
            ys, xs = np.nonzero((window == COLORS[fill[0]]).all(-1))
            fx1, fy1 = xs.min() + max(0, x1 - 3), ys.min() + max(0, y1 - 3)
            fx2, fy2 = xs.max() + max(0, x1 - 3), ys.max() + max(0, y1 - 3)
            assert x1 <= fx1 <= x1 + 2 and y1 <= fy1 <= y1 + 2 and x2 - 2 <= fx2 <= x2 and y2 - 2 <= fy2 <= y2, s.id
    for s in levels_and_seeds("count", 3):
        q = s.meta["query"]
        assert len(regions(s)) == int(s.answer), "one box per counted object"
        assert all(all(o[k] == v for k, v in q.items()) for o in s.meta["objects"]) or len(regions(s)) < len(s.meta["objects"])
    for s in levels_and_seeds("spot_difference", 4):
        a, b = (np.asarray(im).astype(int) for im in s.images)
        differ, covered = (a != b).any(-1), np.zeros(a.shape[:2], bool)
        for x1, y1, x2, y2 in regions(s):
            covered[y1:y2, x1:x2] = True
            assert differ[y1:y2, x1:x2].any(), "every box holds a difference"
        assert not (differ & ~covered).any(), "every difference lies in a box"
        assert len(regions(s)) == int(s.answer)
    for s in levels_and_seeds("occlusion", 3):
        (x1, y1, x2, y2), = regions(s)
        last = np.asarray(s.images[-1]).astype(int)[y1 + 1:y2 - 1, x1 + 1:x2 - 1]
        assert (last == 150).all(-1).mean() > 0.95, "the hidden ball's cell is behind the grey wall"
    for s in levels_and_seeds("gui_click", 3) + levels_and_seeds("locate", 2):
        (box,) = regions(s)
        if s.answer_type == "box":
            assert verify(str(box), s.answer, "box", threshold=1.0)
        else:
            assert [e["number"] for e in s.meta["elements"] if e["box"] == box] == ["ABCDEFGH".index(s.answer) + 1]


@pytest.mark.parametrize("name", sorted(REGION_FAMILIES))
def test_region_reward_on_gym_samples(name):
    reward = get_reward("region")
    for s in levels_and_seeds(name, 2):
        gold = regions(s)
        boxes = "".join(f"<box>{b}</box>" for b in gold)
        right = f"<think>{boxes} {s.solution}</think><answer>{s.answer}</answer>"
        assert reward([right], [s]) == [1.0]
        assert get_reward("region", answer_format="caption")([reference_completion(s)], [s]) == [1.0]
        if not gold:
            assert reward([f"<think><box>[0, 0, 5, 5]</box></think><answer>{s.answer}</answer>"], [s]) == [0.0]
            continue
        x1, y1, x2, y2 = gold[0]
        w = x2 - x1
        shifted = "".join(f"<box>{b}</box>" for b in [[x1 + w // 2, y1, x2 + w // 2, y2], *gold[1:]])
        hacks = [
            f"<think>{shifted}</think><answer>{s.answer}</answer>",                       # half a box off
            f"<think>{s.solution}</think><answer>{s.answer}</answer>",                    # no box
            f"<think>x</think><answer>{boxes}{s.answer}</answer>",                        # boxes in the answer
            f"<think>{boxes}</think><answer>{s.answer}</answer> trailing",                # broken format
            f"<think>{''.join(f'<box>{b}</box>' for b in gold * 65)}</think><answer>{s.answer}</answer>",  # flood
        ]
        got = reward(hacks, [s] * len(hacks))
        assert 0 < got[0] < 1 and got[1:] == [0.0] * 4, (s.id, got)


def test_listing_every_box_is_not_rewarded():
    """Every cell of a spot_difference grid, every object of a count scene: the surplus costs."""
    reward = get_reward("region")
    for s in levels_and_seeds("spot_difference", 4):
        g, size = s.meta["g"], s.meta["size"]
        cell = (size - 4) / g
        every = "".join(f"<box>[{round(2 + c * cell)}, {round(2 + r * cell)}, {round(2 + (c + 1) * cell)}, "
                        f"{round(2 + (r + 1) * cell)}]</box>" for r in range(g) for c in range(g))
        got = reward([f"<think>{every}</think><answer>{s.answer}</answer>"], [s])[0]
        assert got == pytest.approx(len(regions(s)) / g ** 2), s.id    # each difference matched, g² stated
    for s in levels_and_seeds("count", 3):
        from foveal.rewards.perception import drawn_box
        every = "".join(f"<box>{drawn_box(o['shape'], o['x'], o['y'], o['r'])}</box>" for o in s.meta["objects"])
        got = reward([f"<think>{every}</think><answer>{s.answer}</answer>"], [s])[0]
        assert got == pytest.approx(len(regions(s)) / len(s.meta["objects"])), s.id


def test_region_reward_is_zero_without_stored_positions_and_refuses_raw():
    s = tasks.get("chart").generate(0, 1)
    assert regions(s) is None
    assert get_reward("region")([f"<think><box>[0, 0, 9, 9]</box></think><answer>{s.answer}</answer>"], [s]) == [0.0]
    with pytest.raises(ValueError, match="answer_format"):
        get_reward("region", answer_format="raw")


# ---------------------------------------------------------------- captions


def scene(*objects):
    """A count sample stand-in: only `task` and `meta` are read."""
    objs = [{"color": c, "shape": sh, "x": 10, "y": 10, "r": 5} for c, sh in objects]
    return SimpleNamespace(task="count", meta={"objects": objs, "query": {"shape": "circle"}})


def test_caption_score_by_hand():
    s = scene(("red", "circle"), ("red", "circle"), ("blue", "square"))   # required: 2 red circles, 1 blue square
    assert caption_score("Two red circles and 1 blue square.", s) == 1.0
    assert caption_score("2 red circles.", s) == pytest.approx(2 / 3)                  # P 1, R 1/2
    assert caption_score("2 red circles, 1 blue square, 1 green star.", s) == pytest.approx(0.8)  # P 2/3, R 1
    assert caption_score("2 red circles and 2 blue squares.", s) == 0.5                # P 1/2, R 1/2
    assert caption_score("3 red circles and 2 blue squares.", s) == 0.0                # all false
    assert caption_score("2 red circles, 3 red circles, 1 blue square.", s) == 0.0     # two values for one fact: a hedge
    assert caption_score("3 objects: 2 circles and a blue square.", s) == 0.0, "true but not the key facts: recall 0"
    assert caption_score("3 objects: 2 red circles and a blue square.", s) == pytest.approx(2 * 0.5 / 1.5)  # P 1, R 1/2
    assert caption_score("A picture with some shapes.", s) == 0.0


def one_fact_wrong(caption: str) -> str:
    """The caption with its first number raised by one, or (no number) its first colour changed."""
    if re.search(r"\d", caption):
        return re.sub(r"\d+", lambda m: str(int(m.group()) + 1), caption, count=1)
    first = re.search("|".join(COLORS), caption).group()
    return caption.replace(first, "cyan" if first != "cyan" else "brown", 1)


def hack_captions(s) -> list[str]:
    """Captions that list every colour, number or value of the family's vocabulary."""
    nums = range(0, 13)
    name = s.task
    if name in ("count", "spatial"):
        return [", ".join(f"1 {c} {sh}" for c in COLORS for sh in SHAPES),
                ", ".join(f"{n} {c} {sh}s" for n in nums for c in list(COLORS)[:3] for sh in SHAPES)]
    if name == "chart":
        return [", ".join(f"{k} = {v}" for k in s.meta["values"] for v in range(0, s.meta["vmax"] + 1, s.meta["step"])),
                "a bar chart, a line chart, " + ", ".join(f"{c} bars" for c in COLORS)]
    if name == "block_count":
        return [", ".join(f"{n} cubes" for n in range(1, 40)), ", ".join(f"{n} columns, tallest column is {n}" for n in nums)]
    if name == "fraction_shaded":
        return ["; ".join(f"{n} equal parts, {n} of them are shaded" for n in nums)]
    if name == "odd_one_out":
        words = " ".join([*COLORS, *SHAPES, "small", "large", "solid", "hollow"])
        return ["; ".join(f"{chr(65 + i)}: {words}" for i in range(len(s.meta["items"])))]
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(CAPTION_FAMILIES))
def test_caption_reward_on_gym_samples(name):
    reward = get_reward("caption")
    for s in levels_and_seeds(name, 2):
        ref = reference_caption(s)
        completion = reference_completion(s)
        assert reward([completion], [s]) == [1.0], (s.id, ref)
        assert get_reward("accuracy", answer_format="caption")([completion], [s]) == [1.0]
        several = len(CAPTION_FAMILIES[name].required(s.meta)) >= 2
        assert (0 if several else -1) < caption_score(one_fact_wrong(ref), s) < 1.0, (s.id, one_fact_wrong(ref))
        for hack in hack_captions(s):
            assert caption_score(hack, s) == 0.0, (s.id, hack[:80])
            assert caption_score(ref + " " + hack, s) == 0.0, "true facts do not cover a listing"
        assert reward([f"<think>{ref}</think><answer>{s.answer}</answer>"], [s]) == [0.0], "no caption block"
        assert reward([completion + " extra"], [s]) == [0.0], "broken format"


def test_caption_reward_is_zero_for_families_without_facts_and_combines():
    s = tasks.get("locate").generate(0, 1)
    assert get_reward("caption")([reference_completion(s)], [s]) == [0.0]
    c = tasks.get("count").generate(1, 3)
    caption_first = combine({"caption": 0.5, get_reward("region", answer_format="caption"): 0.5,
                             get_reward("format", answer_format="caption"): 1.0})
    assert caption_first([reference_completion(c)], [c]) == [2.0]
    r1_defaults = combine({"caption": 0.5, "region": 0.5, "format": 1.0})
    assert r1_defaults([reference_completion(c)], [c]) == [0.5], "region and format default to r1, which a caption breaks"
