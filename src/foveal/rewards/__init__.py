"""foveal.rewards: answer extraction, safe exact verifiers, R1 reward functions, adapters.

    >>> from foveal.rewards import extract_answer, verify, score, accuracy, to_trl
    >>> verify("\\frac{1}{2}", "0.5", "number")
    True
    >>> score("<think>2+2</think><answer>4</answer>", "4", "number")
    1.0
    >>> score("<think>2+2</think><answer>4 or 5</answer>", "4", "number")
    0.0

Answers are read under one of four formats (`ANSWER_FORMATS`): `r1` (the default,
`<think>…</think><answer>…</answer>`), `answer` (`<answer>…</answer>` alone), `raw`
(no tags; with answer type `math`, math-verify's own extraction) and `caption`
(`<caption>…</caption>` before an `r1` completion, Visionary-R1).

Modules, one idea each: `extract` (reading a completion), `parse` (reading an answer
as a typed value), `verify` (is it the gold answer?), `limits` (size caps and the
killable math-verify worker), `functions` (batched reward functions and their
registry), `perception` (caption and region rewards checked against scene metadata),
`adapters` (TRL and verl signatures).
"""

from foveal.rewards.adapters import completion_text, target_sample, to_trl, to_verl
from foveal.rewards.extract import (
    ANSWER_FORMATS,
    extract_answer,
    extract_caption,
    extract_think,
    is_r1_format,
    reasoning_conclusion,
)
from foveal.rewards.functions import (
    REWARDS,
    RewardFn,
    accuracy,
    call_reward,
    combine,
    consistency,
    dapo_overlong_penalty,
    format,  # noqa: F401 - public name, kept out of __all__
    format_reward,
    get_reward,
    iou_reward,
    length,
    register_reward,
    reward_role,
    score,
    target_length_penalty,
    tiou_reward,
)
from foveal.rewards.perception import (
    caption_reward,
    caption_score,
    reference_completion,
    region_reward,
    regions,
)
from foveal.rewards.verify import BadGoldError, iou, tiou, verify, verify_math_completion

__all__ = [
    "ANSWER_FORMATS",
    "REWARDS",
    "BadGoldError",
    "RewardFn",
    "accuracy",
    "call_reward",
    "caption_reward",
    "caption_score",
    "combine",
    "completion_text",
    "consistency",
    "dapo_overlong_penalty",
    "extract_answer",
    "extract_caption",
    "extract_think",
    "format_reward",  # also importable as `format`; left out of `*` so it never shadows the builtin
    "get_reward",
    "iou",
    "iou_reward",
    "is_r1_format",
    "length",
    "reasoning_conclusion",
    "reference_completion",
    "region_reward",
    "regions",
    "register_reward",
    "reward_role",
    "score",
    "target_length_penalty",
    "target_sample",
    "tiou",
    "tiou_reward",
    "to_trl",
    "to_verl",
    "verify",
    "verify_math_completion",
]
