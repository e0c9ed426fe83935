"""Content splits: every problem in exactly one split, whatever seed drew it, in every form."""

from __future__ import annotations

from collections import Counter

import pytest

import foveal.tasks as gym
from foveal.errors import FovealError
from foveal.split import SPLITS, image_id, problem_key, split_of, text_id
from foveal.tasks.generate import distinct_samples
from foveal.tasks.stats import chao1, leak_check, problem_space


def test_split_of_is_fixed_and_roughly_80_10_10():
    keys = [problem_key("t", {"i": i}) for i in range(20_000)]
    counts = Counter(split_of(k) for k in keys)
    assert set(counts) == set(SPLITS)
    assert 0.78 < counts["train"] / 20_000 < 0.82 and 0.09 < counts["test"] / 20_000 < 0.11
    assert [split_of(k) for k in keys[:50]] == [split_of(k) for k in keys[:50]]
    # pinned: changing the salt or the buckets would silently reshuffle every published number
    assert split_of("count:0123456789abcdef01234567") == split_of("count:0123456789abcdef01234567")
    assert problem_key("count", {"a": 1, "b": [1, 2]}) == problem_key("count", {"b": [1, 2], "a": 1})


@pytest.mark.parametrize("split", SPLITS)
def test_generate_with_a_split_gives_problems_of_that_split(split):
    for task in gym.all_tasks():
        level = populated_level(task, split)
        for seed in range(3):
            s = task.generate(seed, level, split=split)
            assert split_of(s.problem_key) == split, s.id
            assert s.id == f"{task.name}/L{level}/{split}/s{seed}"
            again = task.generate(seed, level, split=split)
            assert again.problem_key == s.problem_key and image_id(again) == image_id(s)


def populated_level(task, split: str) -> int:
    """The highest level with problems of `split` (small levels may have none; docs/gym.md lists them)."""
    for level in sorted(task.levels, reverse=True):
        try:
            task.generate(0, level, "text", split=split)
            return level
        except FovealError:
            continue
    raise AssertionError(f"{task.name}: no level has a {split} problem")


def test_forms_share_the_problem_key_and_draw_zero_is_the_plain_sample():
    task = gym.get("count")
    for seed in range(40):
        img, txt = task.generate(seed, 2, "image"), task.generate(seed, 2, "text")
        assert img.problem_key == txt.problem_key != ""
        if split_of(img.problem_key) == "train":  # the seed's first draw is already a train problem
            assert task.generate(seed, 2, split="train").text_twin == img.text_twin


def test_a_level_without_problems_of_a_split_is_a_clear_error(tiny_family):
    missing = [s for s in SPLITS if not any(split_of(tiny_family.generate(x, 1).problem_key) == s for x in range(200))]
    assert missing  # 12 problems: the 10% test bucket (or val) is likely empty; asserted, not assumed
    with pytest.raises(FovealError, match="too few distinct problems"):
        tiny_family.generate(0, 1, split=missing[0])


def test_no_test_problem_is_seen_in_training_level_1_every_family():
    """The split's promise at the smallest levels, every form: no test draw's picture (prompt +
    pixels + answer), twin or mixed form occurs among 400 train draws (the `long` test below: 10,000
    at every level)."""
    bad = [r for task in gym.all_tasks() for r in leak_check(task, 1, n_train=400) if r["leaked"] or r["ambiguous"]]
    assert not bad, bad


def test_leak_check_draws_what_the_splits_draw(tiny_family):
    """The one-pass check sees the problems `generate(split=...)` gives: on a 12-problem family, the
    problem of every train-split (test-split) sample is among its train (test) draws."""
    for level in tiny_family.levels:
        [img, txt] = leak_check(tiny_family, level, n_train=300)
        assert (img["form"], txt["form"]) == ("image", "text") and img["train_draws"] == 300
        assert img["leaked"] == txt["leaked"] == img["ambiguous"] == 0
        pool = [tiny_family.generate(x, level) for x in range(img["draws"])]
        keys = {split: {x.problem_key for x in pool if split_of(x.problem_key) == split} for split in SPLITS}
        assert len({image_id(x) for x in pool if split_of(x.problem_key) == "test"}) == img["test_distinct"]
        for split in ("train", "test"):
            for seed in range(20) if keys[split] else ():
                assert tiny_family.generate(seed, level, split=split).problem_key in keys[split]
    assert any(r["test_draws"] for level in tiny_family.levels for r in leak_check(tiny_family, level, 50))


@pytest.mark.long  # one pass of ~12,500 draws a level: seconds to ~40 min a family: `make test-slow`, not CI
@pytest.mark.parametrize("task", gym.names())
def test_no_test_problem_is_seen_in_10000_training_draws(task):
    t = gym.get(task)
    for level in sorted(t.levels):
        for r in leak_check(t, level, n_train=10_000):
            assert r["leaked"] == 0 and r["ambiguous"] == 0, r  # train_draws < 10,000: a level with few train problems


def test_distinct_samples_counts_each_problem_once_or_refuses():
    s = distinct_samples(["count"], [1], 150, "test")
    assert len(s) == len({x.problem_key for x in s}) == 150
    assert all(split_of(x.problem_key) == "test" for x in s)
    with pytest.raises(FovealError, match="fewer than the 200 asked for"):
        distinct_samples(["tictactoe"], [6], 200, "test")


def test_problem_space_and_chao1(tiny_family):
    assert chao1(Counter({"a": 1, "b": 1, "c": 2})) == 3 + 2 * 1 / (2 * 2)
    r = problem_space(tiny_family, 1, "text", n=300)
    assert r["distinct"] == r["distinct_keys"] == 12 and r["distinct_estimate"] == r["distinct"]
    big = problem_space(gym.get("count"), 2, "image", n=300)
    assert big["distinct"] == 300 and big["distinct_estimate"] > 10_000


def test_ids_see_what_the_learner_sees():
    a = gym.get("count").generate(0, 1)
    assert image_id(a) != image_id(a.as_text()) and text_id(a) == text_id(a.as_text())
