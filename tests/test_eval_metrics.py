"""foveal.eval.metrics and foveal.eval.shuffle against hand-computed values."""

from fractions import Fraction
from math import comb

import pytest
from PIL import Image

from foveal.errors import FovealError
from foveal.eval import metrics as M
from foveal.eval.shuffle import shuffle_options, shuffled_copies
from foveal.sample import Sample


def test_wilson_interval_matches_hand_computation():
    # 7/10, z=1.96: centre (0.7 + 3.8415/20)/(1 + 3.8415/10) = 0.64449; half = 0.24772
    lo, hi = M.wilson_interval(7, 10)
    assert lo == pytest.approx(0.39677, abs=1e-4) and hi == pytest.approx(0.89220, abs=1e-4)
    lo, hi = M.wilson_interval(0, 20)  # never below 0, upper bound z²/(n+z²) = 3.8415/23.8415
    assert lo == 0.0 and hi == pytest.approx(0.16113, abs=1e-4)
    lo, hi = M.wilson_interval(20, 20)
    assert hi == 1.0 and lo == pytest.approx(1 - 0.16113, abs=1e-4)
    assert M.wilson_interval(0, 0) == (0.0, 1.0)


def test_pass_at_k_hand_values_and_exact_for_large_n():
    assert M.pass_at_k(5, 2, 2) == pytest.approx(1 - comb(3, 2) / comb(5, 2))  # 0.7
    assert M.pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert M.pass_at_k(10, 0, 5) == 0.0
    assert M.pass_at_k(4, 3, 2) == 1.0  # only one wrong sample: any 2 include a right one
    n, c, k = 400, 7, 150  # binomials of ~10^115: the product form stays exact to 1e-12
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert M.pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12)
    with pytest.raises(ValueError):
        M.pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        M.pass_at_k(3, 1, 4)


def test_majority_vote_uses_equivalence_and_breaks_ties_by_first():
    assert M.majority_vote(["3", "4", "4", None, "3", "4"]) == 1
    assert M.majority_vote(["3", "4"]) == 0  # tie: first cluster wins
    assert M.majority_vote([None, None]) is None
    same = lambda a, b: float(Fraction(a)) == float(Fraction(b))  # noqa: E731
    assert M.majority_vote(["1/2", "0.7", "0.5", "0.7", "2/4"], same) == 0  # 1/2 = 0.5 = 2/4
    assert M.answer_clusters(["A", " a", "B"]) == [[0, 1], [2]]


def test_agreement():
    assert M.agreement(["5"]) is None
    assert M.agreement(["5", "5 "]) is True
    assert M.agreement(["5", None]) is False
    assert M.agreement(["5", "6"]) is False


def test_default_ks():
    assert M.default_ks(1) == [1]
    assert M.default_ks(8) == [1, 2, 4, 8]
    assert M.default_ks(6) == [1, 2, 4, 6]


def row(id, task="count", level=1, form="image", scores=(1.0,), formats=None, n_tokens=None, maj=None,
        agree=None, **kw):
    scores = list(scores)
    return dict(id=id, base_id=id.removesuffix("/text"), task=task, level=level, form=form, scores=scores,
                formats=formats if formats is not None else [True] * len(scores),
                n_tokens=n_tokens if n_tokens is not None else [10] * len(scores),
                maj_score=maj if maj is not None else scores[0], agree=agree, **kw)


def test_core_on_hand_made_rows():
    rows = [row("a", scores=[1, 1, 0, 0], formats=[True, True, True, False], n_tokens=[10, 20, 30, 40], maj=1.0,
                agree=False),
            row("b", scores=[0, 0, 0, 0], formats=[True] * 4, n_tokens=[5] * 4, maj=0.0, agree=True)]
    m = M.core(rows)
    assert m["n"] == 2 and m["k"] == 4
    assert m["accuracy"] == pytest.approx(0.25)
    # pass@2: a: 1 - C(2,2)/C(4,2) = 5/6; b: 0 -> mean 5/12
    assert m["pass@k"] == {"1": pytest.approx(0.25), "2": pytest.approx(5 / 12), "4": pytest.approx(0.5)}
    assert m["maj@k"] == 0.5
    assert m["format_rate"] == pytest.approx(7 / 8)
    assert m["mean_tokens"] == pytest.approx((100 + 20) / 8)
    assert m["consistency"] == 0.5
    lo, hi = m["accuracy_ci95"]
    assert (lo, hi) == pytest.approx(M.wilson_interval(0.5, 2))


def test_summarize_breakdowns_and_modality_gap():
    rows = [row("count/L1/s0", scores=[0]), row("count/L1/s0/text", form="text", scores=[1]),
            row("count/L2/s1", level=2, scores=[1]), row("count/L2/s1/text", level=2, form="text", scores=[1]),
            row("spatial/L1/s0", task="spatial", scores=[1]),
            row("spatial/L1/s0/text", task="spatial", form="text", scores=[0])]
    s = M.summarize(rows)
    assert s["overall"]["n"] == 6 and s["overall"]["accuracy"] == pytest.approx(4 / 6)
    assert s["by_task"]["count"]["accuracy"] == 0.75
    assert s["by_form"]["text"]["accuracy"] == pytest.approx(2 / 3)
    assert s["by_task_level"]["count"]["2"]["accuracy"] == 1.0
    g = s["modality_gap"]
    assert g["overall"]["gap"] == pytest.approx(2 / 3 - 2 / 3)
    assert g["by_task"]["count"] == {"n": 2, "image": 0.5, "text": 1.0, "gap": 0.5}
    assert g["by_task"]["spatial"]["gap"] == -1.0
    assert g["by_task_level"]["count"]["1"]["gap"] == 1.0 and g["by_task_level"]["count"]["2"]["gap"] == 0.0
    assert s["shuffled"] == {}


def test_summarize_option_consistency_excludes_copies_from_accuracy():
    rows = [row("q1", scores=[1], maj_option="left"), row("q1/shuf1", scores=[1], shuffle_of="q1", maj_option="left"),
            row("q2", scores=[1], maj_option="up"), row("q2/shuf1", scores=[0], shuffle_of="q2", maj_option="down"),
            row("q2/shuf2", scores=[0], shuffle_of="q2", maj_option=None)]
    s = M.summarize(rows)
    assert s["overall"]["n"] == 2 and s["overall"]["accuracy"] == 1.0
    assert s["shuffled"] == {"n": 2, "copies": 3, "option_consistency": 0.5,
                             "shuffled_accuracy": pytest.approx(1 / 3)}


def choice_sample(prompt_block="A. left\nB. right\nC. above\nD. below", answer="C"):
    return Sample(id="spatial/L1/s3", task="spatial", level=1, seed=3,
                  prompt=f"<image>\nWhere is the red circle?\n{prompt_block}\nAnswer with a letter.",
                  images=(Image.new("RGB", (8, 8)),), answer=answer, answer_type="choice",
                  choices=("left", "right", "above", "below"),
                  text_twin=f"The red circle is at (1, 1), the cat at (1, 5). Where is the red circle?\n{prompt_block}",
                  solution="It is above. The answer is C.")


def test_shuffle_options_rewrites_prompt_twin_and_answer():
    s = choice_sample()
    t = shuffle_options(s, [3, 2, 1, 0])  # options reversed: 'above' moves from C to B
    assert t.choices == ("below", "above", "right", "left") and t.answer == "B"
    assert "A. below\nB. above\nC. right\nD. left\nAnswer with a letter." in t.prompt
    assert t.text_twin.endswith("A. below\nB. above\nC. right\nD. left")
    assert t.id == "spatial/L1/s3/shuf1" and t.meta["shuffle_of"] == s.id and t.meta["perm"] == [3, 2, 1, 0]
    assert t.solution == "" and t.images == s.images


def test_shuffle_keeps_other_layouts():
    s = choice_sample("(A) left\n(B) right\n(C) above\n(D) below")
    t = shuffle_options(s, [2, 0, 1, 3])
    assert "(A) above\n(B) left\n(C) right\n(D) below" in t.prompt and t.answer == "A"
    s = choice_sample("A: left\nB: right\nC: above\nD: below", answer="B")
    t = shuffle_options(s, [1, 0, 2, 3])
    assert "A: right\nB: left\n" in t.prompt and t.answer == "A"


def test_shuffle_refuses_what_it_cannot_rewrite():
    s = choice_sample("")
    with pytest.raises(FovealError, match="cannot shuffle options"):
        shuffle_options(s, [1, 0, 2, 3])
    with pytest.raises(FovealError, match="permutation"):
        shuffle_options(choice_sample(), [0, 0, 1, 2])


def test_shuffled_copies_are_distinct_deterministic_and_capped():
    s = choice_sample()
    a, b = shuffled_copies(s, 3, seed=1), shuffled_copies(s, 3, seed=1)
    assert [c.meta["perm"] for c in a] == [c.meta["perm"] for c in b]
    perms = {tuple(c.meta["perm"]) for c in a}
    assert len(perms) == 3 and (0, 1, 2, 3) not in perms
    for c in a:  # the gold letter still names the gold option
        assert c.choices["ABCD".index(c.answer)] == "above"
    two = Sample(id="x", task="t", level=1, seed=0, prompt="Yes or no?\nA. yes\nB. no", images=(), answer="A",
                 answer_type="choice", choices=("yes", "no"))
    assert len(shuffled_copies(two, 5)) == 1


def test_paired_difference_hand_computed():
    a = [row("p1", scores=[0, 0]), row("p2", scores=[1, 0]), row("p3", scores=[1, 1]), row("only-a", scores=[1])]
    b = [row("p1", scores=[1, 1]), row("p2", scores=[1, 1]), row("p3", scores=[1, 0]), row("only-b", scores=[0])]
    p = M.paired_difference(a, b)
    # d = [1, 0.5, -0.5]: mean 1/3, sd = sqrt(((2/3)^2 + (1/6)^2 + (5/6)^2) / 2) = sqrt(7/12)
    half = M.Z95 * (7 / 12) ** 0.5 / 3 ** 0.5
    assert p["n"] == 3 and p["delta"] == pytest.approx(1 / 3)
    assert p["ci95"] == pytest.approx([1 / 3 - half, 1 / 3 + half]) and p["significant"] is False
    same = [row(f"q{i}", scores=[1]) for i in range(30)]
    worse = [row(f"q{i}", scores=[0 if i < 20 else 1]) for i in range(30)]
    assert M.paired_difference(same, worse)["significant"] is True
    assert M.paired_difference(a, [row("x")]) == {"n": 0}


def test_by_tag_breakdown():
    rows = [row("a", scores=[1], tags=["counting"]), row("b", scores=[0], tags=["counting", "spatial"])]
    s = M.summarize(rows)
    assert s["by_tag"]["counting"]["accuracy"] == 0.5 and s["by_tag"]["spatial"]["accuracy"] == 0.0


def test_by_variant_splits_accuracy_by_phrasing_style_and_query():
    rows = [row("a", scores=[1.0], query="sum", phrasing="direct", style="plain"),
            row("b", scores=[0.0], query="sum", phrasing="terse", style="noisy"),
            row("c", scores=[1.0], query="max", phrasing="terse", style="plain"),
            row("d", task="chart", scores=[0.0], query="value", phrasing="direct", style="noisy"),
            row("e", scores=[1.0])]  # a benchmark row: no variant, left out of by_variant only
    v = M.summarize(rows)["by_variant"]
    assert {p: g["accuracy"] for p, g in v["phrasing"].items()} == {"direct": 0.5, "terse": 0.5}
    assert {s: g["accuracy"] for s, g in v["style"].items()} == {"noisy": 0.0, "plain": 1.0}
    assert {q: g["accuracy"] for q, g in v["query"]["count"].items()} == {"max": 1.0, "sum": 0.5}
    assert v["query"]["chart"]["value"]["n"] == 1
    assert M.summarize([row("e")])["by_variant"] == {}
