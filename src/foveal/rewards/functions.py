"""Reward functions: batched scores for completions of samples, and their registry.

Every reward function has the signature

    fn(completions: list[str], samples: list[Sample], **options) -> list[float]

and is configured by keyword. **Calling one with keywords only returns the configured
function** (a plain function with the same `__name__`, options checked at once):

    >>> penalty = length(max_len=1024, cache_len=256)   # configure
    >>> penalty(["<think>…</think><answer>4</answer>"], [sample])   # score
    [0.0]

so `length(max_len=1024)` and `functools.partial(length, max_len=1024)` are the same
function. Recipes name rewards by string through `get_reward("length", max_len=1024)`,
and `combine({"accuracy": 1.0, "format": 0.5})` makes a weighted sum.

A reward function may take extra per-completion context by keyword; the one foveal
passes today is `lengths` (token counts of the completions), which `length` uses and
`call_reward` passes only to functions that accept it. Samples are `foveal.Sample`s;
any object with `answer`, `answer_type` and `choices` attributes works.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from foveal.registry import Registry
from foveal.rewards.extract import (
    check_format,
    extract_answer,
    extract_caption,
    extract_think,
    is_r1_format,
    reasoning_conclusion,
)
from foveal.rewards.parse import parse_box, parse_interval
from foveal.rewards.verify import BOX_IOU_THRESHOLD, iou, tiou, verify, verify_math_completion

RewardFn = Callable[..., list[float]]


def score(
    completion: str, gold: str, answer_type: str, *, answer_format: str = "r1", **options: Any
) -> float:
    """1.0 if the final answer of `completion` verifies against `gold`, else 0.0.

    The answer is read under `answer_format` (`r1`, `answer` or `raw`, see
    `extract_answer`) and checked by `verify`; `raw` with answer type `math` goes through
    math-verify's own extraction instead (`verify_math_completion`). `options` go to
    `verify` (`choices`, `threshold`, `timeout`). ValueError for a bad gold or format.
    """
    if check_format(answer_format) == "raw" and answer_type == "math":
        timeout = options.get("timeout")
        ok = verify_math_completion(completion, gold, **({"timeout": timeout} if timeout is not None else {}))
        return 1.0 if ok else 0.0
    return 1.0 if verify(extract_answer(completion, answer_format), gold, answer_type, **options) else 0.0


def _configurable(fn: Callable[..., list[float]]) -> RewardFn:
    """Let `fn(**options)` (no completions) return `fn` configured with `options`."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def reward(completions: Sequence[str] | None = None, samples: Sequence[Any] | None = None, **options):
        if completions is None and samples is None:
            return _configure(reward, fn, sig, options)
        if completions is None or samples is None or len(completions) != len(samples):
            raise ValueError(
                f"{fn.__name__}: need one sample per completion, got "
                f"{None if completions is None else len(completions)} completions and "
                f"{None if samples is None else len(samples)} samples"
            )
        return fn(list(completions), list(samples), **options)

    reward.configurable = True  # type: ignore[attr-defined]
    return reward


def _configure(reward: RewardFn, fn: Callable, sig: inspect.Signature, options: dict) -> RewardFn:
    try:
        sig.bind([], [], **options)
    except TypeError as e:
        raise TypeError(f"{fn.__name__}: {e}") from None
    fn([], [], **options)  # validates option values on an empty batch

    @functools.wraps(fn)
    def configured(completions: Sequence[str], samples: Sequence[Any], **more: Any) -> list[float]:
        return reward(completions, samples, **{**options, **more})

    configured.options = dict(options)  # type: ignore[attr-defined]
    return configured


def _text(completion: Any) -> str:
    return completion if isinstance(completion, str) else ""


@_configurable
def accuracy(
    completions: list[str],
    samples: list[Any],
    *,
    threshold: float = BOX_IOU_THRESHOLD,
    answer_format: str = "r1",
) -> list[float]:
    """1.0 when the completion's final answer verifies against the sample's answer, else 0.0.

    `score` with the sample's `answer_type` and `choices` (so a choice answer may name the
    option by its text): the answer is read under `answer_format` (`r1`: `<think>…</think>
    <answer>…</answer>`, `answer`: `<answer>…</answer>` alone, `raw`: no tags); `threshold`
    is the IoU a box answer needs.
    """
    check_format(answer_format)
    return [
        score(
            _text(c),
            s.answer,
            s.answer_type,
            answer_format=answer_format,
            choices=s.choices,
            threshold=threshold,
        )
        for c, s in zip(completions, samples, strict=True)
    ]


@_configurable
def format_reward(completions: list[str], samples: list[Any], *, answer_format: str = "r1") -> list[float]:
    """1.0 for a completion that keeps the tagged `answer_format` strictly, else 0.0.

    `r1` (default): `<think>…</think>` then `<answer>…</answer>`; `caption` (Visionary-R1):
    a non-empty `<caption>…</caption>` before those two; `answer`: `<answer>…</answer>` alone.
    Each tag exactly once, only whitespace around and between the blocks, a non-empty
    answer, nothing after. `raw` has no tags to keep: ValueError.
    """
    if check_format(answer_format) == "raw":
        raise ValueError("format: answer_format 'raw' has no tags to check; use r1, answer or caption")
    if answer_format == "r1":
        return [1.0 if is_r1_format(_text(c)) else 0.0 for c in completions]
    if answer_format == "caption":
        return [1.0 if extract_caption(_text(c)) is not None else 0.0 for c in completions]
    return [1.0 if extract_answer(_text(c), answer_format) is not None else 0.0 for c in completions]


format = format_reward  # noqa: A001 - the public name the recipes use; `format_reward` avoids shadowing


def dapo_overlong_penalty(length: int, max_len: int, cache_len: int) -> float:
    """DAPO's soft overlong punishment for a response of `length` tokens.

        R(L) = 0                                  if L <= L_max - L_cache
             = ((L_max - L_cache) - L) / L_cache  if L_max - L_cache < L <= L_max
             = -1                                 if L > L_max

    It falls linearly from 0 to -1 across the last `cache_len` tokens before `max_len`
    (`cache_len = 0` gives a hard -1 beyond `max_len`). Yu et al., DAPO (2025), eq. 13.
    """
    if max_len <= 0 or not 0 <= cache_len <= max_len:
        raise ValueError(
            f"dapo_overlong_penalty: need max_len > 0 and 0 <= cache_len <= max_len, got {max_len}, {cache_len}"
        )
    free = max_len - cache_len
    if length <= free:
        return 0.0
    if length <= max_len:
        return (free - length) / cache_len
    return -1.0


def target_length_penalty(length: int, target_len: int) -> float:
    """Penalty for reasoning longer than a target: R(L) = -min(1, max(0, L - T) / T).

    0 up to the target T, falling linearly to -1 at twice the target (concise reasoning,
    with a per-sample T for difficulty-aware budgets).
    """
    if target_len <= 0:
        raise ValueError(f"target_length_penalty: target_len must be > 0, got {target_len}")
    return -min(1.0, max(0, length - target_len) / target_len)


@_configurable
def length(
    completions: list[str],
    samples: list[Any],
    *,
    max_len: int | None = None,
    cache_len: int | None = None,
    target_len: int | Callable[[Any], int] | None = None,
    lengths: Sequence[int] | None = None,
) -> list[float]:
    """Length shaping: DAPO's soft overlong penalty and/or a target-length penalty.

    `max_len`/`cache_len`: `dapo_overlong_penalty` (cache_len defaults to max_len // 5,
    DAPO's 4096/20480). `target_len`: `target_length_penalty`, an int or a function of
    the sample (e.g. a budget by difficulty level). Both may be set; the penalties add.
    Lengths are the `lengths` passed in (token counts: the TRL adapter and the trainer
    pass them), else the completions' lengths in characters. Values are in [-2, 0].
    """
    if max_len is None and target_len is None:
        raise ValueError("length: set max_len (DAPO overlong penalty) and/or target_len (concise penalty)")
    cache = (max_len // 5 if cache_len is None else cache_len) if max_len is not None else 0
    if max_len is not None:
        dapo_overlong_penalty(0, max_len, cache)  # validates
    if lengths is not None and len(lengths) != len(completions):
        raise ValueError(f"length: {len(lengths)} lengths for {len(completions)} completions")
    out = []
    for i, (c, s) in enumerate(zip(completions, samples, strict=True)):
        n = int(lengths[i]) if lengths is not None else len(_text(c))
        r = dapo_overlong_penalty(n, max_len, cache) if max_len is not None else 0.0
        if target_len is not None:
            r += target_length_penalty(n, target_len(s) if callable(target_len) else target_len)
        out.append(r)
    return out


def _agree(a: str | None, b: str | None, sample: Any) -> bool:
    if a is None or b is None:
        return False
    try:
        return verify(a, b, sample.answer_type, choices=sample.choices)
    except ValueError:  # the final answer is not a valid answer of the type
        return False


@_configurable
def consistency(completions: list[str], samples: list[Any], *, answer_format: str = "r1") -> list[float]:
    """1.0 when the answer the reasoning reaches agrees with the final answer, else 0.0.

    The reasoning's conclusion (`reasoning_conclusion` of the `<think>` block: its last
    `\\boxed{}`, "the answer is X", or the last `= X`) and the final answer are compared
    with the sample's answer type, as in ACRE / GRPO-CARE's answer-consistency rewards.
    A completion with no reasoning conclusion or no final answer gets 0.0. Correctness
    is not checked here: combine with `accuracy`. The final answer is read under
    `answer_format` (`r1` or `raw`; `answer` has no reasoning, so it scores 0).
    """
    check_format(answer_format)
    out = []
    for c, s in zip(completions, samples, strict=True):
        think = extract_think(_text(c))
        concl = reasoning_conclusion(think) if think else None
        out.append(1.0 if _agree(concl, extract_answer(_text(c), answer_format), s) else 0.0)
    return out


@_configurable
def iou_reward(completions: list[str], samples: list[Any], *, answer_format: str = "r1") -> list[float]:
    """Continuous IoU in [0, 1] between the predicted box and a `box` sample's gold box.

    0.0 when the answer is not a box. Samples of other answer types get their 0/1
    `accuracy`, so one reward serves a mixed batch. The answer is read under `answer_format`.
    """
    return _overlap_rewards(completions, samples, answer_format, "box", parse_box, iou)


@_configurable
def tiou_reward(completions: list[str], samples: list[Any], *, answer_format: str = "r1") -> list[float]:
    """Continuous temporal IoU in [0, 1] between the stated and an `interval` sample's gold frames.

    Temporal-R1's continuous temporal reward: `tiou` of the answer's `[start, end]` (parsed
    strictly by `parse_interval`) with the gold interval; 0.0 when the answer is not one
    interval. Samples of other answer types get their 0/1 `accuracy` (a mixed batch).
    """
    return _overlap_rewards(completions, samples, answer_format, "interval", parse_interval, tiou)


def _overlap_rewards(completions: list[str], samples: list[Any], answer_format: str, answer_type: str,
                     parse: Callable[[str], Any], overlap: Callable[[Any, str], float]) -> list[float]:
    """`overlap(parse(answer), gold)` for samples of `answer_type` (0.0 when the answer does not parse),
    the 0/1 `score` for the others."""
    check_format(answer_format)
    out = []
    for c, s in zip(completions, samples, strict=True):
        if s.answer_type != answer_type:
            out.append(
                score(_text(c), s.answer, s.answer_type, answer_format=answer_format, choices=s.choices)
            )
            continue
        answer = extract_answer(_text(c), answer_format)
        parsed = parse(answer) if answer is not None and len(answer) < 10_000 else None
        out.append(overlap(parsed, s.answer) if parsed is not None else 0.0)
    return out


# ---------------------------------------------------------------- calling, combining, naming


def call_reward(
    fn: RewardFn, completions: Sequence[str], samples: Sequence[Any], **context: Any
) -> list[float]:
    """`fn(completions, samples, **context)`, passing only the context keywords `fn` accepts."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        params = {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        accepted = context
    else:
        accepted = {k: v for k, v in context.items() if k in params and v is not None}
    return [float(r) for r in fn(list(completions), list(samples), **accepted)]


def combine(weights: Mapping[str | RewardFn, float]) -> RewardFn:
    """The weighted sum of reward functions: sum_k w_k * r_k(completions, samples).

    Keys are registered names (`"accuracy"`) or reward functions (e.g. configured ones:
    `length(max_len=512)`). Context such as `lengths` reaches the functions that take it.
    """
    if not weights:
        raise ValueError("combine: give at least one {reward: weight}")
    parts: list[tuple[str, RewardFn, float]] = []
    for key, w in weights.items():
        fn = get_reward(key) if isinstance(key, str) else key
        if not callable(fn):
            raise TypeError(f"combine: {key!r} is neither a reward name nor a function")
        parts.append((getattr(fn, "__name__", repr(fn)), fn, float(w)))

    def combined(completions: Sequence[str], samples: Sequence[Any], lengths: Sequence[int] | None = None):
        total = [0.0] * len(completions)
        for _, fn, w in parts:
            for i, r in enumerate(call_reward(fn, completions, samples, lengths=lengths)):
                total[i] += w * r
        return total

    combined.__name__ = "combine(" + ", ".join(f"{n}*{w:g}" for n, _, w in parts) + ")"
    combined.parts = parts  # type: ignore[attr-defined]
    return combined


# A reward's role says what its scores mean to the trainer, whatever the reward is called:
# `correctness` (1 = the answer verifies) drives accuracy logging, DAPO's dynamic sampling and the
# step context's `correct`; `format` drives the format-rate log. Other rewards have no role.
CORRECTNESS = "correctness"
FORMAT = "format"

REWARDS = Registry("reward", reserved=("ctx", "lengths"))
REWARDS.add("accuracy", accuracy, role=CORRECTNESS)
REWARDS.add("format", format_reward, role=FORMAT)
REWARDS.add("length", length)
REWARDS.add("consistency", consistency)
REWARDS.add("iou", iou_reward)
REWARDS.add("tiou", tiou_reward)


def register_reward(name: str, role: str | None = None) -> Callable[[RewardFn], RewardFn]:
    """Decorator: make a reward function available to `get_reward(name)` and recipes; `role` is
    what its scores mean to the trainer (`correctness`, `format`, or None)."""
    return REWARDS.register(name, role=role)


def reward_role(name: str) -> str | None:
    """The role reward `name` was registered with (None if it has none)."""
    return REWARDS.flag(name, "role")


def get_reward(name: str, **options: Any) -> RewardFn:
    """The reward function registered as `name`, configured with `options`.

    FovealError naming the close matches when there is no such reward; TypeError for an
    option the function does not take.
    """
    fn = REWARDS.get(name)
    if not options:
        return fn
    if getattr(fn, "configurable", False):
        return fn(**options)

    @functools.wraps(fn)
    def configured(completions: Sequence[str], samples: Sequence[Any], **more: Any) -> list[float]:
        return fn(completions, samples, **{**options, **more})

    return configured
