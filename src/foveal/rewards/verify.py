"""`verify(prediction, gold, answer_type)`: is a model's answer the gold answer?

One rule per answer type (see `foveal.sample.ANSWER_TYPES`):

* number: exact rational equality; `1,000` = `1000` = `1000.0`, `1/2` = `0.5` = `\\frac{1}{2}`,
  sign matters; one stated number counts (`12 apples`, `the answer is 12`, `x = 12`), two
  numbers, a hedge, a bound or a negation do not (`parse.parse_number`); percent and
  rounding readings as in `parse.numbers_equal`.
* choice: the one option named, by its label however written (`B`, `(b)`, `Option B`,
  `B. its text`) or by its text when `choices` is given (`parse.parse_choice`).
* text: case-insensitive, whitespace collapsed, trailing punctuation and a lead-in
  (`the answer is`) ignored.
* math: symbolic equivalence through math-verify in a killable worker process, after a
  screen (a hedge word, relation sign, `=` or list separator that the gold lacks makes
  it wrong) and a fast path that settles plain numbers, fractions and letters.
* box: `[x1, y1, x2, y2]`, right when IoU >= `threshold` (0.5).
* grid: the same cells in the same rows (`1 2\\n3 4` = `12\\n34` = `[[1,2],[3,4]]`).
* sequence: the same items in the same order (`[1, 2, 3]` = `1,2,3` = `1 2 3`).
* interval: the same first and last frame (`[3, 7]` = `3-7` = `frames 3 to 7`; `parse.parse_interval`);
  `tiou` gives the partial credit of the `tiou` reward.

Before any rule, the prediction is NFKC-normalised, and one holding zero-width, format
or control characters is wrong (`parse.has_invisible`).

The gold answer is trusted: one that does not parse as its type raises ValueError
naming the value and type (a dataset bug). The prediction is not: whatever it is,
`verify` returns False rather than raising, and returns within the time limits of
`foveal.rewards.limits`.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from threading import Lock

from foveal.rewards import limits
from foveal.rewards.extract import clean_answer, nfkc, raw_text
from foveal.rewards.parse import (
    Number,
    fit_grid_shape,
    has_invisible,
    normalise,
    normalise_text,
    numbers_equal,
    parse_box,
    parse_choice,
    parse_grid,
    parse_interval,
    parse_number,
    parse_sequence,
    plain,
    strip_leads,
    unit_word,
)
from foveal.sample import ANSWER_TYPES

BOX_IOU_THRESHOLD = 0.5


class BadGoldError(ValueError):
    """A gold answer that is not a valid answer of its declared type: a dataset bug."""


def verify(
    prediction: object,
    gold: object,
    answer_type: str,
    *,
    choices: Sequence[str] | None = None,
    threshold: float = BOX_IOU_THRESHOLD,
    timeout: float = limits.MATH_TIMEOUT_S,
) -> bool:
    """True when `prediction` states the same answer as `gold` under `answer_type`'s rule.

    Options: `choices` (option texts, A first) lets a `choice` prediction name its option
    by text; `threshold` is the IoU a `box` needs; `timeout` is the seconds allowed for
    one symbolic `math` comparison. `prediction` may be None (no answer: False).

    Raises ValueError when `answer_type` is unknown or `gold` is not a valid answer of
    that type. Never raises because of `prediction`.
    """
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"unknown answer_type {answer_type!r}; expected one of {ANSWER_TYPES}")
    choices_t = tuple(str(c) for c in choices) if choices else None
    gold_value = _gold(clean_answer(nfkc(_as_text(gold))), answer_type, choices_t)
    if prediction is None:
        return False
    try:
        pred = _as_text(prediction)
        cap = limits.MAX_STRUCTURED_CHARS if answer_type in ("grid", "sequence") else limits.MAX_ANSWER_CHARS
        if len(pred) > cap:
            limits.warn_once(
                "size", f"foveal.rewards: answer of {len(pred)} chars over the {cap}-char cap: wrong"
            )
            return False
        pred = clean_answer(nfkc(pred))
        if has_invisible(pred):
            return False
        if answer_type == "math":
            return _verify_math(pred, gold_value, timeout)
        return _MATCHERS[answer_type](pred, gold_value, choices_t, threshold)
    except BadGoldError:
        raise
    except Exception as e:  # noqa: BLE001 - a parser bug must not stop a training run
        limits.warn_once("error", f"foveal.rewards: verify({answer_type}) failed on a prediction: {e!r}")
        return False


def _as_text(value: object) -> str:
    """Dataset columns may hold numbers or (nested) lists; answers are compared as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(r, (list, tuple)) for r in value):
            return "\n".join(" ".join(str(c) for c in r) for r in value)
        return " ".join(str(v) for v in value)
    return str(value)


@lru_cache(maxsize=65_536)
def _gold(gold: str, answer_type: str, choices: tuple[str, ...] | None):
    """The parsed gold answer; ValueError naming value and type when it does not parse."""
    value = _GOLD_PARSERS[answer_type](gold, choices)
    if value is None:
        raise BadGoldError(f"gold answer {gold!r} is not a valid {answer_type!r} answer")
    return value


def _gold_math(gold: str, _choices) -> tuple[str, Number | str | None] | None:
    """Math gold: its cleaned text plus its fast-path value (a number or letter) when it has one."""
    text = normalise(gold)
    if not text:
        return None
    fast = parse_number(text) or (text.upper() if len(text) == 1 and text.isalpha() else None)
    return (text, fast)


_GOLD_PARSERS = {
    "number": lambda g, c: parse_number(g),
    "choice": lambda g, c: parse_choice(g, c),
    "text": lambda g, c: normalise_text(plain(g)) or None,
    "math": _gold_math,
    "box": lambda g, c: parse_box(g),
    "grid": lambda g, c: _rectangular(parse_grid(g)),
    "sequence": lambda g, c: parse_sequence(g),
    "interval": lambda g, c: parse_interval(g),
}


def _rectangular(grid):
    return grid if grid and len({len(r) for r in grid}) == 1 else None


def _match_number(pred: str, gold: Number, _choices, _threshold) -> bool:
    n = parse_number(pred, loose=True)
    return n is not None and numbers_equal(n, gold)


def _match_choice(pred: str, gold: str, choices, _threshold) -> bool:
    return parse_choice(pred, choices) == gold


def _match_text(pred: str, gold: str, _choices, _threshold) -> bool:
    return normalise_text(strip_leads(plain(pred))) == gold


def _match_box(pred: str, gold, _choices, threshold: float) -> bool:
    box = parse_box(pred)
    return box is not None and iou(box, gold) >= threshold


def _match_grid(pred: str, gold, _choices, _threshold) -> bool:
    text, shape = strip_leads(pred), (len(gold), len(gold[0]))
    tokens = text.split()
    if "\n" not in text.strip() and len(tokens) == shape[0] > 1 and all(len(t) == shape[1] for t in tokens):
        text = "\n".join(tokens)  # one token per row, read as rows before a token like 0011 reads as a number
    grid = parse_grid(text)
    return grid is not None and fit_grid_shape(grid, shape) == gold


def _match_sequence(pred: str, gold, _choices, _threshold) -> bool:
    t = strip_leads(plain(pred))
    return parse_sequence(t[:-1] if t.endswith(".") else t) == gold


def _match_interval(pred: str, gold, _choices, _threshold) -> bool:
    return parse_interval(pred) == gold


_MATCHERS = {
    "number": _match_number,
    "choice": _match_choice,
    "text": _match_text,
    "box": _match_box,
    "grid": _match_grid,
    "sequence": _match_sequence,
    "interval": _match_interval,
}


def iou(a: Sequence[float] | str, b: Sequence[float] | str) -> float:
    """Intersection over union of two boxes `[x1, y1, x2, y2]` (or strings holding them).

    IoU = area(a ∩ b) / area(a ∪ b), in [0, 1]; two identical boxes give 1 even when
    degenerate (zero area). ValueError if a box is not four ordered numbers.
    """
    boxes = []
    for box in (a, b):
        parsed = parse_box(box) if isinstance(box, str) else _box_tuple(box)
        if parsed is None:
            raise ValueError(f"not a box [x1, y1, x2, y2] with x1 <= x2, y1 <= y2: {box!r}")
        boxes.append(parsed)
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = boxes
    if boxes[0] == boxes[1]:
        return 1.0
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    return inter / union if union > 0 else 0.0


def tiou(a: Sequence[int] | str, b: Sequence[int] | str) -> float:
    """Temporal IoU of two frame intervals `[start, end]` (1-based, inclusive; or strings holding them).

    Frames are counted, so [s, e] holds e - s + 1 of them:
        tIoU = |a ∩ b| / |a ∪ b|,  |a ∩ b| = max(0, min(e_a, e_b) - max(s_a, s_b) + 1),
        |a ∪ b| = |a| + |b| - |a ∩ b|,
    in [0, 1] (Temporal-R1's continuous temporal reward, on frames). ValueError if an interval
    is not two whole frame numbers 1 <= start <= end.
    """
    spans = []
    for span in (a, b):
        parsed = parse_interval(span) if isinstance(span, str) else _interval_tuple(span)
        if parsed is None:
            raise ValueError(f"not a frame interval [start, end] with 1 <= start <= end: {span!r}")
        spans.append(parsed)
    (sa, ea), (sb, eb) = spans
    inter = max(0, min(ea, eb) - max(sa, sb) + 1)
    return inter / ((ea - sa + 1) + (eb - sb + 1) - inter)


def _interval_tuple(span) -> tuple[int, int] | None:
    try:
        start, end = span
    except (TypeError, ValueError):
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        return None
    return (start, end) if 1 <= start <= end else None


def _box_tuple(box) -> tuple[float, float, float, float] | None:
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    return (x1, y1, x2, y2) if x1 <= x2 and y1 <= y2 else None


# ---------------------------------------------------------------- math

_MATH_CACHE: OrderedDict[tuple[str, str, str], bool | None] = OrderedDict()
_MATH_CACHE_SIZE = 65_536
_math_lock = Lock()


_HEDGES = frozenset(
    """or and not no nor maybe perhaps probably possibly likely approximately approx about around roughly
    nearly almost least most fewer less more than over under above below between either neither except
    unless wait guess think""".split()
)
_RELATION = re.compile(
    r"[<>\u2264\u2265\u2260\u2248]"
    r"|\\(?:le|leq|leqslant|ge|geq|geqslant|ne|neq|approx|sim|simeq|pm|mp|lt|gt|in|notin|subset|subseteq)(?![A-Za-z])"
)
_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_FUNCTIONS = frozenset(
    "sin cos tan cot sec csc log exp lim max min det gcd lcm mod arcsin arccos arctan sinh cosh tanh inf".split()
)
_UNITS_TAIL = re.compile(r"(.*?)((?:\s+[A-Za-z][A-Za-z'\-]+){1,4})\s*\.?")
_NAME = re.compile(r"\s*(?:[A-Za-z](?:_\{?\w+\}?)?|[A-Za-z]\w*\([A-Za-z]\))\s*")


def states_one_value(pred: str, gold: str) -> str | None:
    """`pred` reduced to the one value it states, or None when it hedges, bounds or lists.

    Judged against the gold's own text, so a gold that is itself a set, an interval, an
    equation or an inequality allows what it uses: a hedge word (`or`, `not`, `at least`,
    `approximately`, ...), a relation sign (`<`, `\\geq`, `\\pm`, ...), a list separator
    (`,` `;`, thousands separators aside) or an `=` that the gold lacks makes it None. One
    `name = value` (`x = 4`, `f(x) = 2x`) is read as its value. A lead-in (`the answer
    is`) and up to four unit words at the end (`2/3 of the circles`) are dropped; any other
    word of three or more letters that the gold lacks, or a `?`, makes it None.
    """
    gold_words = {w.lower() for w in _WORD.findall(_COMMAND.sub(" ", gold))}
    pred = strip_leads(pred)
    if any(
        w.lower() in _HEDGES and w.lower() not in gold_words for w in _WORD.findall(_COMMAND.sub(" ", pred))
    ):
        return None
    if "?" in pred and "?" not in gold:
        return None
    m = _UNITS_TAIL.fullmatch(pred)
    if (
        m
        and m.group(1).strip()
        and all(unit_word(w) and w.lower() not in gold_words for w in m.group(2).split())
    ):
        pred = m.group(1).strip()
    words = {w.lower() for w in _WORD.findall(_COMMAND.sub(" ", pred)) if len(w) >= 3}
    if words - gold_words - _FUNCTIONS:
        return None
    if set(_RELATION.findall(pred)) - set(_RELATION.findall(gold)):
        return None
    for sep in ",;":
        if _THOUSANDS.sub("", pred).count(sep) > _THOUSANDS.sub("", gold).count(sep):
            return None
    extra = pred.count("=") - gold.count("=")
    if extra > 0:
        lhs, _, rhs = pred.partition("=")
        if extra > 1 or pred.count("=") > 1 or not _NAME.fullmatch(lhs):
            return None
        return rhs.strip()
    return pred


def _verify_math(pred: str, gold: tuple[str, Number | str | None], timeout: float) -> bool:
    """Screen (`states_one_value`), fast path (exact text, numbers, fractions, letters), then
    math-verify in a worker."""
    gold_text, gold_fast = gold
    text = plain(pred) if "`" in pred or "**" in pred else normalise(pred)
    if not text:
        return False
    if "".join(text.split()) == "".join(gold_text.split()):
        return True
    text = states_one_value(text, gold_text)
    if not text:
        return False
    if isinstance(gold_fast, Number):
        n = parse_number(text)
        if n is not None:
            return numbers_equal(n, gold_fast)
    elif isinstance(gold_fast, str):
        letter = parse_choice(text)
        if letter is not None:
            return letter == gold_fast
    if (
        len(text) > limits.MAX_MATH_CHARS
        or limits.brace_depth(text) > limits.MAX_BRACE_DEPTH
        or limits.too_costly(text)
    ):
        limits.warn_once("math-size", "foveal.rewards: math answer too long, too nested or too costly: wrong")
        return False
    return _symbolic(text, gold_text, timeout)


def verify_math_completion(completion: str, gold: str, timeout: float = limits.MATH_TIMEOUT_S) -> bool:
    """The `raw` format with answer type `math`: is the answer of a free completion `gold`?

    The completion (NFKC-normalised, its closed `<think>` block skipped, its last
    MAX_RAW_MATH_CHARS characters) goes to math-verify as its documentation says: `parse`
    with `LatexExtractionConfig(boxed_match_priority=0)` and `ExprExtractionConfig()`
    (boxed answers first, then "final answer is", "answer:", the last LaTeX or number;
    several boxed answers are one set), then `verify` against the gold parsed the same way
    (a gold that only parses inside `$…$` is read so). A gold that parses to nothing raises
    BadGoldError; the completion never raises.
    """
    gold_text = _as_text(gold).strip()
    if not gold_text:
        raise BadGoldError(f"gold answer {gold!r} is not a valid 'math' answer")
    if not isinstance(completion, str):
        return False
    body = raw_text(nfkc(completion))
    if body is None or not body.strip():
        return False
    body = body[-limits.MAX_RAW_MATH_CHARS :]
    gold_clean = clean_answer(gold_text)
    pred_clean = clean_answer(body)
    n, g = parse_number(pred_clean), parse_number(gold_clean)
    if n is not None and g is not None and not n.percent and not g.percent:
        return n.value == g.value  # both plain numbers: math-verify would compare the same two values
    if limits.brace_depth(body) > limits.MAX_BRACE_DEPTH or limits.too_costly(body):
        limits.warn_once("math-size", "foveal.rewards: math answer too nested or too costly: wrong")
        return False
    return _symbolic(body, gold_text, timeout, mode="raw")


def _symbolic(pred: str, gold: str, timeout: float, mode: str = "answer") -> bool:
    key = (pred, gold, mode)
    with _math_lock:
        if key in _MATH_CACHE:
            _MATH_CACHE.move_to_end(key)
            hit = _MATH_CACHE[key]
            if hit is None:
                raise BadGoldError(
                    f"gold answer {gold!r} is not a valid 'math' answer (math-verify parses nothing)"
                )
            return hit
    try:
        reply = limits.POOL.call({"gold": gold, "pred": pred, "mode": mode}, timeout)
    except limits.WorkerTimeout:
        limits.warn_once(
            "timeout",
            f"foveal.rewards: math comparison exceeded {timeout:g} s; counted wrong (worker restarted)",
        )
        reply = {"ok": False}  # cached below: the same pair is not retried in this process
    result = None if reply.get("bad_gold") else bool(reply.get("ok"))
    with _math_lock:
        _MATH_CACHE[key] = result
        if len(_MATH_CACHE) > _MATH_CACHE_SIZE:
            _MATH_CACHE.popitem(last=False)
    if result is None:
        raise BadGoldError(f"gold answer {gold!r} is not a valid 'math' answer (math-verify parses nothing)")
    return result


__all__ = ["BOX_IOU_THRESHOLD", "BadGoldError", "iou", "states_one_value", "tiou", "verify", "verify_math_completion"]
