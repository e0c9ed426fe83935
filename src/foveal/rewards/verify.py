"""`verify(prediction, gold, answer_type)`: is a model's answer the gold answer?

One rule per answer type (see `foveal.sample.ANSWER_TYPES`):

* number: exact rational equality; `1,000` = `1000` = `1000.0`, `1/2` = `0.5` = `\\frac{1}{2}`,
  sign matters; the one number of a short phrase counts (`12 apples`); percent and rounding
  readings as in `parse.numbers_equal`.
* choice: the option letter, however written (`B`, `(b)`, `B. 12 apples`, `Option B`), or
  the option's text when `choices` is given.
* text: case-insensitive, whitespace collapsed, trailing punctuation ignored.
* math: symbolic equivalence through math-verify in a killable worker process, after a
  fast path that settles plain numbers, fractions and letters without parsing LaTeX.
* box: `[x1, y1, x2, y2]`, right when IoU >= `threshold` (0.5).
* grid: the same cells in the same rows (`1 2\\n3 4` = `12\\n34` = `[[1,2],[3,4]]`).
* sequence: the same items in the same order (`[1, 2, 3]` = `1,2,3` = `1 2 3`).

The gold answer is trusted: one that does not parse as its type raises ValueError
naming the value and type (a dataset bug). The prediction is not: whatever it is,
`verify` returns False rather than raising, and returns within the time limits of
`foveal.rewards.limits`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import lru_cache
from threading import Lock

from foveal.rewards import limits
from foveal.rewards.extract import clean_answer
from foveal.rewards.parse import (
    Number,
    fit_grid_shape,
    normalise,
    normalise_text,
    numbers_equal,
    parse_box,
    parse_choice,
    parse_grid,
    parse_number,
    parse_sequence,
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
    gold_value = _gold(clean_answer(_as_text(gold)), answer_type, choices_t)
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
        pred = clean_answer(pred)
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
    "text": lambda g, c: normalise_text(g) or None,
    "math": _gold_math,
    "box": lambda g, c: parse_box(g),
    "grid": lambda g, c: _rectangular(parse_grid(g)),
    "sequence": lambda g, c: parse_sequence(g),
}


def _rectangular(grid):
    return grid if grid and len({len(r) for r in grid}) == 1 else None


def _match_number(pred: str, gold: Number, _choices, _threshold) -> bool:
    n = parse_number(pred, loose=True)
    return n is not None and numbers_equal(n, gold)


def _match_choice(pred: str, gold: str, choices, _threshold) -> bool:
    return parse_choice(pred, choices) == gold


def _match_text(pred: str, gold: str, _choices, _threshold) -> bool:
    return normalise_text(pred) == gold


def _match_box(pred: str, gold, _choices, threshold: float) -> bool:
    box = parse_box(pred)
    return box is not None and iou(box, gold) >= threshold


def _match_grid(pred: str, gold, _choices, _threshold) -> bool:
    grid = parse_grid(pred)
    return grid is not None and fit_grid_shape(grid, (len(gold), len(gold[0]))) == gold


def _match_sequence(pred: str, gold, _choices, _threshold) -> bool:
    return parse_sequence(pred) == gold


_MATCHERS = {
    "number": _match_number,
    "choice": _match_choice,
    "text": _match_text,
    "box": _match_box,
    "grid": _match_grid,
    "sequence": _match_sequence,
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


def _box_tuple(box) -> tuple[float, float, float, float] | None:
    try:
        x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
        return None
    return (x1, y1, x2, y2) if x1 <= x2 and y1 <= y2 else None


# ---------------------------------------------------------------- math

_MATH_CACHE: OrderedDict[tuple[str, str], bool | None] = OrderedDict()
_MATH_CACHE_SIZE = 65_536
_math_lock = Lock()


def _verify_math(pred: str, gold: tuple[str, Number | str | None], timeout: float) -> bool:
    """Fast path (exact text, numbers, fractions, letters), then math-verify in a worker."""
    gold_text, gold_fast = gold
    text = normalise(pred)
    if not text:
        return False
    if "".join(text.split()) == "".join(gold_text.split()):
        return True
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


def _symbolic(pred: str, gold: str, timeout: float) -> bool:
    key = (pred, gold)
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
        reply = limits.POOL.call({"gold": gold, "pred": pred}, timeout)
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


__all__ = ["BOX_IOU_THRESHOLD", "BadGoldError", "iou", "verify"]
