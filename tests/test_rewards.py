"""foveal.rewards: extraction, per-type verification, reward functions, registry, adapters."""

from __future__ import annotations

import functools
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import foveal.rewards as R
from foveal.errors import FovealError
from foveal.rewards import (
    accuracy,
    combine,
    consistency,
    dapo_overlong_penalty,
    extract_answer,
    format_reward,
    get_reward,
    iou,
    iou_reward,
    length,
    score,
    to_trl,
    to_verl,
    verify,
)
from foveal.rewards.adapters import target_sample

# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "completion, answer_format, expected",
    [
        ("<think>x</think><answer>42</answer>", "r1", "42"),
        ("\n<think>x</think>\n\n<answer>\n42\n</answer>\n", "r1", "42"),
        ("<think>a</think><answer> $\\frac{1}{2}$ </answer>", "r1", "\\frac{1}{2}"),
        ("<think>a</think><answer>\\boxed{7}</answer>", "r1", "7"),
        ("<think>a</think><answer>４２</answer>", "r1", "42"),  # NFKC: full-width digits
        ("<answer>42</answer>", "r1", None),  # no reasoning block
        ("<think>x</think><answer>1</answer> then <answer> 2 </answer>", "r1", None),  # several answers
        ("<think>x</think><answer><answer>2</answer></answer>", "r1", None),  # nested
        ("<think>\\boxed{4}</think><answer>unclosed", "r1", None),  # never falls back to the box
        ("<think>\\boxed{4}</think>", "r1", None),
        ("<think>x</think><answer>4</answer> or 5", "r1", None),  # text after the block
        ("<think>x</think>so <answer>4</answer>", "r1", None),
        ("<think>x</think><answer> </answer>", "r1", None),
        ("<answer>\\boxed{7}</answer>", "answer", "7"),
        ("  <answer>B</answer>\n", "answer", "B"),
        ("<think>x</think><answer>7</answer>", "answer", None),
        ("<answer>B</answer> and later \\boxed{C}", "answer", None),
        ("<answer>unclosed", "answer", None),
        ("so it is \\boxed{\\frac{1}{2}}.", "raw", "\\frac{1}{2}"),
        ("\\boxed{3} and again \\boxed{ 3 }", "raw", "3"),
        ("\\boxed{3} or \\boxed{4}", "raw", None),  # two different boxed answers
        ("\\boxed{3} then \\boxed{unclosed", "raw", "3"),
        ("<think>maybe \\boxed{2}</think>It is \\boxed{4}", "raw", "4"),
        ("<think>unclosed \\boxed{2}", "raw", None),
        ("Adding up, the answer is 12.\nDone", "raw", "12"),
        ("42", "raw", "42"),
        ("<answer>42</answer>", "raw", None),  # tags: use the answer format
        ("no answer at all " * 30, "raw", None),
    ],
)
def test_extract_answer(completion, answer_format, expected):
    assert extract_answer(completion, answer_format) == expected


def test_extract_answer_unknown_format():
    with pytest.raises(ValueError, match="answer_format 'json'"):
        extract_answer("<answer>1</answer>", "json")


def test_extract_answer_rejects_non_strings():
    assert extract_answer(None) is None  # type: ignore[arg-type]
    assert extract_answer(["<answer>1</answer>"]) is None  # type: ignore[arg-type]


# ---------------------------------------------------------------- verify, per type

CASES = [
    # number
    ("1,000", "1000", "number", True),
    ("1000.0", "1000", "number", True),
    ("1/2", "0.5", "number", True),
    ("\\frac{1}{2}", "0.5", "number", True),
    ("\\dfrac12", "1/2", "number", True),
    ("0.50", "1/2", "number", True),
    ("-2", "2", "number", False),
    ("+2", "2", "number", True),
    ("12 apples", "12", "number", True),
    ("x = 7", "7", "number", True),
    ("seven", "7", "number", True),
    ("3 or 4", "4", "number", False),
    ("2^{3}", "2", "number", False),
    ("50%", "0.5", "number", True),
    ("50%", "50", "number", True),
    ("0.33", "1/3", "number", True),
    ("0.3", "1/3", "number", False),
    ("0.13", "0.125", "number", False),
    ("1e3", "1000", "number", True),
    ("", "3", "number", False),
    # choice
    ("B", "B", "choice", True),
    ("(B)", "B", "choice", True),
    ("b", "B", "choice", True),
    ("B. 12 apples", "B", "choice", True),
    ("Option B", "B", "choice", True),
    ("The answer is (b).", "B", "choice", True),
    ("\\text{B}", "B", "choice", True),
    ("C", "B", "choice", False),
    ("Bravo", "B", "choice", False),
    # text
    ("  Hello   World.", "hello world", "text", True),
    ('"Red"', "red", "text", True),
    ("red!", "Red", "text", True),
    ("blue", "red", "text", False),
    # math
    ("x^2+2x+1", "(x+1)^2", "math", True),
    ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}", "math", True),
    ("0.5", "\\frac{1}{2}", "math", True),
    ("x^2+2x+2", "(x+1)^2", "math", False),
    ("-1/2", "\\frac{1}{2}", "math", False),
    ("B", "b", "math", True),
    # box
    ("[0, 0, 10, 10]", "[0,0,10,9]", "box", True),
    ("(0,0),(10,10)", "[0,0,10,10]", "box", True),
    ("[0,0,10,10]", "[5,5,15,15]", "box", False),
    ("[10,10,0,0]", "[0,0,10,10]", "box", False),
    # grid
    ("1 2\n3 4", "12\n34", "grid", True),
    ("[[1,2],[3,4]]", "12\n34", "grid", True),
    ("| 1 | 2 |\n|---|---|\n| 3 | 4 |", "12\n34", "grid", True),
    ("\\begin{bmatrix}1 & 2 \\\\ 3 & 4\\end{bmatrix}", "12\n34", "grid", True),
    ("12 34", "12\n34", "grid", True),
    ("12\n43", "12\n34", "grid", False),
    ("12\n3", "12\n34", "grid", False),
    ("10 11\n12 13", "10 11\n12 13", "grid", True),
    # sequence
    ("[1, 2, 3]", "1 2 3", "sequence", True),
    ("1,2,3", "1 2 3", "sequence", True),
    ("1 -> 2 -> 3", "1 2 3", "sequence", True),
    ("1 3 2", "1 2 3", "sequence", False),
    ("1 2", "1 2 3", "sequence", False),
    ("red circle, blue square", "Red circle, blue square", "sequence", True),
]


@pytest.mark.parametrize("pred, gold, answer_type, expected", CASES)
def test_verify_table(pred, gold, answer_type, expected):
    assert verify(pred, gold, answer_type) is expected


def test_choice_by_option_text():
    options = ("left", "right", "above", "below")
    assert verify("Right", "B", "choice", choices=options)
    assert not verify("above", "B", "choice", choices=options)
    assert not verify("right", "B", "choice")  # without the options a word names no letter


def test_box_threshold_and_iou():
    assert iou([0, 0, 2, 2], [1, 1, 3, 3]) == pytest.approx(1 / 7)
    assert iou("[0,0,1,1]", "[2,2,3,3]") == 0.0
    assert iou([1, 1, 1, 1], [1, 1, 1, 1]) == 1.0
    assert verify("[0,0,2,2]", "[1,1,3,3]", "box", threshold=0.1)
    assert not verify("[0,0,2,2]", "[1,1,3,3]", "box")
    with pytest.raises(ValueError, match="not a box"):
        iou([0, 0, 1], [0, 0, 1, 1])


@pytest.mark.parametrize(
    "gold, answer_type",
    [
        ("abc", "number"),
        ("maybe", "choice"),
        ("", "text"),
        ("[1,2]", "box"),
        ("12\n3", "grid"),
        ("", "sequence"),
    ],
)
def test_bad_gold_raises_naming_value_and_type(gold, answer_type):
    with pytest.raises(ValueError) as err:
        verify("1", gold, answer_type)
    assert repr(gold) in str(err.value) and answer_type in str(err.value)


def test_bad_gold_math_and_unknown_type():
    with pytest.raises(ValueError, match="'math'"):
        verify("1", "\\\\\\", "math")
    with pytest.raises(ValueError, match="answer_type 'colour'"):
        verify("1", "1", "colour")


def test_gold_from_dataset_columns_may_be_numbers_or_lists():
    assert verify("7", 7, "number")
    assert verify("2 0 3 1", [2, 0, 3, 1], "sequence")
    assert verify("12\n34", [[1, 2], [3, 4]], "grid")
    assert not verify(None, "7", "number")


def test_score():
    assert score("<think>2+2=4</think><answer>4</answer>", "4", "number") == 1.0
    assert score("<think>2+2=4</think><answer>5</answer>", "4", "number") == 0.0
    assert score("the answer is \\boxed{4}", "4", "number") == 0.0  # r1 by default: no answer block
    assert score("the answer is \\boxed{4}", "4", "number", answer_format="raw") == 1.0
    assert score("4", "4", "number", answer_format="raw") == 1.0
    assert score("<answer>4</answer>", "4", "number", answer_format="answer") == 1.0
    assert score("<think>I count 3 circles. The answer is 3.</think><answer>3</answer>", "3", "number") == 1.0


# ---------------------------------------------------------------- properties

numbers = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.fractions(max_denominator=1000).map(lambda f: f"{f.numerator}/{f.denominator}"),
    st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False).map(
        str
    ),
)
cells = st.integers(0, 9)
grids = st.integers(1, 6).flatmap(
    lambda c: st.lists(st.lists(cells, min_size=c, max_size=c), min_size=1, max_size=6)
)
sequences = st.lists(st.integers(0, 99), min_size=1, max_size=12)
boxes = st.tuples(*[st.integers(0, 500)] * 4).map(
    lambda b: (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3]))
)
texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(numbers)
def test_prop_number_self(x):
    assert verify(x, x, "number")
    assert verify(f"  {x} ", x, "number")
    assert verify(f"$ {x} $", x, "number")


@FAST
@given(st.fractions(max_denominator=1000))
def test_prop_number_forms_agree(f):
    forms = [f"{f.numerator}/{f.denominator}", f"\\frac{{{f.numerator}}}{{{f.denominator}}}"]
    if f.denominator == 1:
        forms += [str(f.numerator), f"{f.numerator}.0", f"{f.numerator:,}"]
    for a in forms:
        for b in forms:
            assert verify(a, b, "number"), (a, b)
    assert not verify(str(f + 1), forms[0], "number")


@FAST
@given(st.integers(0, 25), st.sampled_from(["{}", "({})", "{}.", "Option {}", "{}) words"]), st.booleans())
def test_prop_choice_forms(i, template, lower):
    letter = chr(65 + i)
    pred = template.format(letter.lower() if lower and template != "{}) words" else letter)
    assert verify(pred, letter, "choice")
    assert not verify(template.format(chr(65 + (i + 1) % 26)), letter, "choice")


@FAST
@given(texts)
def test_prop_text_self(x):
    assume(R.parse.normalise_text(R.parse.plain(R.extract.clean_answer(x))) and not R.parse.has_invisible(x))
    assert verify(x, x, "text")
    assert not verify(x + "\u200b", x, "text")  # a zero-width character: what is read is not what is seen
    assume("\\" not in x and x.upper().casefold() == x.casefold())
    assert verify("  " + x.upper() + "  ", x, "text")


@FAST
@given(grids)
def test_prop_grid_forms_agree(g):
    forms = [
        "\n".join(" ".join(map(str, r)) for r in g),
        "\n".join("".join(map(str, r)) for r in g),
        "[" + ", ".join("[" + ", ".join(map(str, r)) + "]" for r in g) + "]",
        "\n".join("| " + " | ".join(map(str, r)) + " |" for r in g),
    ]
    for a in forms:
        for b in forms:
            assert verify(a, b, "grid"), (a, b)
    changed = [list(r) for r in g]
    changed[0][0] = (changed[0][0] + 1) % 10
    assert not verify("\n".join(" ".join(map(str, r)) for r in changed), forms[0], "grid")


@FAST
@given(sequences)
def test_prop_sequence_forms_agree(s):
    forms = [
        " ".join(map(str, s)),
        ",".join(map(str, s)),
        "[" + ", ".join(map(str, s)) + "]",
        "(" + "; ".join(map(str, s)) + ")",
    ]
    for a in forms:
        for b in forms:
            assert verify(a, b, "sequence")
    if s != s[::-1]:
        assert not verify(" ".join(map(str, s[::-1])), forms[0], "sequence")


@FAST
@given(boxes)
def test_prop_box_self(b):
    x = f"[{b[0]}, {b[1]}, {b[2]}, {b[3]}]"
    assert verify(x, x, "box")
    assert verify(f"({b[0]},{b[1]}),({b[2]},{b[3]})", x, "box")


@settings(max_examples=25, deadline=None)
@given(st.integers(-9, 9), st.integers(1, 9), st.sampled_from("xyt"))
def test_prop_math_self_and_variants(a, b, v):
    expr = f"{a}{v}^2+\\frac{{{b}}}{{2}}"
    assert verify(expr, expr, "math")
    assert verify(f"  {a} {v}^{{2}} + \\frac{{{b}}}{{2}} ", expr, "math")
    assert verify(f"\\frac{{{2 * a}{v}^2+{b}}}{{2}}", expr, "math")


def test_math_fast_path_is_exact_on_numbers():
    assert verify("\\frac{2}{4}", "0.5", "math")
    assert not verify("0.5000001", "1/2", "math")
    assert verify(str(Fraction(1, 3).limit_denominator()), "\\frac{1}{3}", "math")


# ---------------------------------------------------------------- reward functions


def _sample(answer, answer_type="number", choices=None, level=1):
    return target_sample(answer, answer_type, choices=choices, level=level)


def test_accuracy_and_format():
    s = _sample("4")
    good = "<think>2+2</think>\n<answer>4</answer>\n"
    assert accuracy([good, "<answer>5</answer>", "nothing"], [s, s, s]) == [1.0, 0.0, 0.0]
    assert format_reward(
        [
            good,
            "<answer>4</answer>",
            "<think>a</think><answer>4</answer>tail",
            "<think>a</think>x<answer>4</answer>",
            "<think>a</think><answer> </answer>",
            "<think><think>a</think><answer>4</answer>",
        ],
        [s] * 6,
    ) == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert R.format is format_reward
    assert accuracy(
        [good.replace("4</answer>", "Right</answer>")], [_sample("B", "choice", ("left", "right"))]
    ) == [1.0]


def test_reward_batch_mismatch_is_an_error():
    with pytest.raises(ValueError, match="one sample per completion"):
        accuracy(["a", "b"], [_sample("1")])


def test_dapo_overlong_penalty_equation():
    # L_max = 100, L_cache = 20: 0 up to 80, linear to -1 at 100, -1 beyond
    assert dapo_overlong_penalty(80, 100, 20) == 0.0
    assert dapo_overlong_penalty(90, 100, 20) == pytest.approx(-0.5)
    assert dapo_overlong_penalty(100, 100, 20) == pytest.approx(-1.0)
    assert dapo_overlong_penalty(101, 100, 20) == -1.0
    assert dapo_overlong_penalty(101, 100, 0) == -1.0 and dapo_overlong_penalty(100, 100, 0) == 0.0
    with pytest.raises(ValueError, match="cache_len"):
        dapo_overlong_penalty(1, 10, 20)


def test_length_is_configured_by_keyword():
    s = _sample("1")
    fn = length(max_len=100, cache_len=20)
    assert fn.__name__ == "length"
    assert fn(["a" * 85, "a" * 50, "a" * 200], [s] * 3) == [pytest.approx(-0.25), 0.0, -1.0]
    assert fn(["a"], [s], lengths=[90]) == [pytest.approx(-0.5)]  # token counts override characters
    assert functools.partial(length, max_len=100, cache_len=20)(["a" * 85], [s]) == fn(["a" * 85], [s])
    concise = length(target_len=lambda smp: 10 * smp.level)
    assert concise(["a" * 10, "a" * 15, "a" * 40], [s] * 3) == [0.0, -0.5, -1.0]
    both = length(max_len=100, cache_len=20, target_len=50)
    assert both(["a" * 90], [s]) == [pytest.approx(-0.5 - 0.8)]
    with pytest.raises(ValueError, match="max_len"):
        length()
    with pytest.raises(TypeError, match="cach_len"):
        length(max_len=10, cach_len=2)
    with pytest.raises(ValueError):
        length(max_len=10, cache_len=20)


def test_consistency():
    s = _sample("5")
    assert consistency(
        [
            "<think>3+2 = 5</think><answer>5</answer>",
            "<think>so the answer is 4.</think><answer>5</answer>",
            "<think>I think \\boxed{5}</think><answer>five</answer>",
            "<think>no idea</think><answer>5</answer>",
            "<think>the answer is 5</think>",
        ],
        [s] * 5,
    ) == [1.0, 0.0, 1.0, 0.0, 0.0]
    c = _sample("B", "choice")
    assert consistency(["<think>Therefore the answer is (B).</think><answer>B</answer>"], [c]) == [1.0]


def test_iou_reward_continuous_and_mixed_batch():
    box = _sample("[0,0,2,2]", "box")
    num = _sample("3")
    out = iou_reward(
        ["<answer>[1,1,3,3]</answer>", "<answer>no box</answer>", "<answer>3</answer>"], [box, box, num],
        answer_format="answer",
    )
    assert out == [pytest.approx(1 / 7), 0.0, 1.0]


def test_combine_and_registry():
    s = _sample("4")
    good = "<think>2+2</think><answer>4</answer>"
    fn = combine({"accuracy": 1.0, "format": 0.5, length(max_len=10, cache_len=0): 0.25})
    assert fn([good, "<answer>4</answer>"], [s, s]) == [pytest.approx(1.5 - 0.25), pytest.approx(-0.25)]
    answer_only = combine({accuracy(answer_format="answer"): 1.0})
    assert answer_only(["<answer>4</answer>", good], [s, s]) == [1.0, 0.0]
    assert fn([good], [s], lengths=[3]) == [pytest.approx(1.5)]  # lengths reach `length` only
    assert "accuracy*1" in fn.__name__
    assert get_reward("accuracy") is accuracy
    assert get_reward("length", max_len=10)(["a" * 11], [s]) == [-1.0]
    with pytest.raises(FovealError, match="did you mean accuracy"):
        get_reward("acuracy")
    with pytest.raises(ValueError):
        combine({})

    @R.register_reward("always_half")
    def half(completions, samples, value=0.5):
        return [value] * len(completions)

    try:
        assert get_reward("always_half", value=0.25)(["x"], [s]) == [0.25]
        assert combine({"always_half": 2.0})(["x"], [s]) == [1.0]
    finally:
        R.REWARDS.pop("always_half")


# ---------------------------------------------------------------- adapters


def test_to_trl_standard_and_conversational():
    fn = to_trl(accuracy(answer_format="answer"))
    assert fn.__name__ == "accuracy"
    cols = dict(
        answer=["4", "B", "12\n34"],
        answer_type=["number", "choice", "grid"],
        choices=[None, ["x", "y"], None],
    )
    plain = ["<answer>4</answer>", "<answer>y</answer>", "<answer>1 2\n3 4</answer>"]
    assert (
        fn(prompts=["p"] * 3, completions=plain, completion_ids=[[1]] * 3, trainer_state=None, **cols)
        == [1.0] * 3
    )
    conv = [[{"role": "assistant", "content": c}] for c in plain]
    conv[2] = [{"role": "assistant", "content": [{"type": "text", "text": plain[2]}]}]
    assert fn(prompts=[[{"role": "user", "content": "q"}]] * 3, completions=conv, **cols) == [1.0] * 3


def test_to_trl_passes_token_lengths_and_names_missing_columns():
    fn = to_trl(length(max_len=10, cache_len=0), answer_type="number")
    assert fn(prompts=["p"], completions=["short"], completion_ids=[list(range(11))], answer=["1"]) == [-1.0]
    with pytest.raises(ValueError, match="'answer' column"):
        to_trl(accuracy)(prompts=["p"], completions=["x"], solution=["1"], answer_type=["number"])
    with pytest.raises(ValueError, match="'answer_type' column"):
        to_trl(accuracy)(prompts=["p"], completions=["x"], answer=["1"])


def test_to_verl_signature():
    compute_score = to_verl(accuracy)
    assert compute_score("count", "<think>a</think><answer>3</answer>", "3", {"answer_type": "number"}) == 1.0
    assert compute_score("count", "<think>b</think><answer>(b)</answer>", "B", extra_info={"answer_type": "choice"}) == 1.0
    assert compute_score(data_source="math", solution_str="\\boxed{\\frac{1}{2}}", ground_truth="0.5") == 0.0  # r1
    raw = to_verl(accuracy(answer_format="raw"))
    assert raw(data_source="math", solution_str="So the answer is \\boxed{\\frac{1}{2}}.", ground_truth="0.5") == 1.0
    assert compute_score("count", "<answer>4</answer>", "3", {"answer_type": "number"}, extra_kw=1) == 0.0


def test_several_answer_blocks_are_no_answer():
    s = _sample("3")
    for fmt in ("r1", "answer"):
        assert accuracy(
            ["<think>x</think><answer>2</answer>lu 3</answer>", "<think>x</think><answer>1</answer><answer>3</answer>",
             "<answer>1</answer> then <answer>3</answer>"], [s] * 3, answer_format=fmt
        ) == [0.0, 0.0, 0.0]


def test_a_binary_grid_on_one_line_keeps_its_leading_zeros():
    gold = "0011\n0110\n1100\n1001"
    assert verify("0011 0110 1100 1001", gold, "grid")
    assert not verify("0011 0110 1100 1000", gold, "grid")
    assert not verify("11 110 1100 1001", gold, "grid")  # the zeros are part of the answer
