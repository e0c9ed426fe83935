"""ACRE, Answer-Consistent REinforcement learning: after a completion's reasoning and answer, shuffle
the options, ask the model again with the same reasoning, and reward agreement as well as correctness.

Source: the abstract (seed 001 "Answer-Consistent Chain-of-thought Reinforcement Learning For
Multi-modal Large Langauge Models") fixes the procedure and the ordering of the rewards ("a high
reward only if both the original and the post-shuffle answers agree and are correct; otherwise, a
lower reward is assigned accordingly"); the paper's reward values could not be read from here, so
foveal's defaults are its choice, one per case of (correct c, agree s):

    r = both (1.0) if c and s;  correct_only (0.5) if c, not s;  agree_only (0.0) if s, not c;
        neither (0.0) otherwise

so a correct answer the reasoning does not pin down earns half. The re-answer prompt is the sample
with its option lines permuted (`foveal.tasks.shuffle`, prompt and text twin alike) followed by the
first completion's `<think>` block and a request for the letter alone; it is decoded greedily
through the step's rollout backend (`ctx.backend.generate`), so any backend (hf, vLLM, OpenAI) works.
Agreement means both answers name the same option *text*. Samples whose options cannot be shuffled
(not multiple choice, or options drawn in the picture) count as agreeing: their reward is accuracy.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor

from foveal.errors import FovealError
from foveal.sample import Sample
from foveal.tasks import shuffle as options

REANSWER = ("\n\nThe options above are listed in a new order. This reasoning was already done for the question:\n"
            "<think>{reasoning}</think>\nFollowing it, give only the letter of the answer as <answer>letter</answer>.")


def shuffle_options(sample: Sample, rng: random.Random) -> tuple[Sample, tuple[int, ...]]:
    """(copy of `sample` whose option i is the original's option perm[i], perm), perm a non-identity
    permutation drawn with `rng`. FovealError if the sample is not a choice question with >= 2 options
    listed one per line in its prompt (see `foveal.tasks.shuffle`)."""
    k = len(sample.choices or ())
    if sample.answer_type != "choice" or k < 2:
        raise FovealError(f"sample {sample.id}: only choice samples with >= 2 options can be option-shuffled")
    identity = tuple(range(k))
    perm = identity
    while perm == identity:
        perm = tuple(rng.sample(range(k), k))
    return options.shuffle_options(sample, perm), perm


def option_index(answer: str | None, choices: Sequence[str]) -> int | None:
    """The index of the option that `answer` names (by letter or by its text), or None."""
    from foveal.rewards import verify

    for i, letter in enumerate(options.letters(len(choices))):
        if verify(answer, letter, "choice", choices=choices):
            return i
    return None


def reanswer_sample(sample: Sample, reasoning: str, rng: random.Random) -> tuple[Sample, tuple[int, ...]]:
    """The re-answer prompt: `sample` with its options shuffled (`shuffle_options`) and REANSWER (the
    reasoning and the request) appended to its prompt and text twin. -> (Sample, perm)."""
    shuffled, perm = shuffle_options(sample, rng)
    note = REANSWER.format(reasoning=reasoning.strip())
    twin = shuffled.text_twin + note if shuffled.text_twin else ""
    return replace(shuffled, id=f"{shuffled.id}/reanswer", prompt=shuffled.prompt + note, text_twin=twin), perm


def acre_reward(correct: Tensor, agrees: Tensor, *, both: float = 1.0, correct_only: float = 0.5,
                agree_only: float = 0.0, neither: float = 0.0) -> Tensor:
    """ACRE's four-case reward (module docstring) from `correct` [N] and `agrees` [N] (bool or 0/1). -> [N]."""
    if correct.shape != agrees.shape or correct.dim() != 1:
        raise ValueError(f"acre_reward: correct and agrees must both be [N], got {tuple(correct.shape)}, {tuple(agrees.shape)}")
    c, s = correct.float() > 0.5, agrees.bool()
    table = torch.tensor([[neither, agree_only], [correct_only, both]])
    return table[c.long(), s.long()]


def acre(completions: Sequence[str], samples: Sequence[Any], *, ctx, max_new_tokens: int = 32, seed: int = 0,
         answer_format: str = "r1", both: float = 1.0, correct_only: float = 0.5, agree_only: float = 0.0,
         neither: float = 0.0) -> list[float]:
    """Reward `acre`: shuffle, re-answer from the same reasoning through `ctx.backend`, and score
    `acre_reward(correct, agrees)`. Correctness is `foveal.rewards.accuracy` under `answer_format`.
    The permutation of completion i is drawn from random.Random(f"{seed}/{ctx.step}/{i}") (reruns
    repeat it). The re-answers are one greedy `generate` call of at most `max_new_tokens` tokens each."""
    from foveal.rewards import accuracy, extract_answer, extract_think
    from foveal.rollout import Sampling

    if ctx.backend is None:
        raise ValueError("acre: needs the step's rollout backend (ctx.backend) to re-answer")
    if max_new_tokens < 1:
        raise ValueError(f"acre: max_new_tokens must be >= 1, got {max_new_tokens}")
    completions, samples = list(completions), list(samples)
    correct = torch.tensor(accuracy(completions, samples, answer_format=answer_format))
    agrees = torch.ones(len(completions), dtype=torch.bool)  # unshufflable samples: reward = accuracy
    asks: list[tuple[int, Sample, tuple[int, ...], int | None]] = []
    for i, (text, sample) in enumerate(zip(completions, samples, strict=True)):
        if sample.answer_type != "choice" or len(sample.choices or ()) < 2:
            continue
        rng = random.Random(f"{seed}/{ctx.step}/{i}")
        try:
            ask, perm = reanswer_sample(sample, extract_think(text) or "", rng)
        except FovealError:  # options drawn in the picture: nothing to shuffle
            continue
        asks.append((i, ask, perm, option_index(extract_answer(text, answer_format), sample.choices)))
    if asks:
        groups = ctx.backend.generate([a[1] for a in asks], n=1, sampling=Sampling(
            temperature=0.0, max_new_tokens=max_new_tokens, stop=("</answer>",), seed=seed))
        for (i, ask, perm, first), group in zip(asks, groups, strict=True):
            reply = group.completions[0].text
            second = option_index(extract_answer(reply, "answer") or extract_answer(reply, "r1"), ask.choices)
            agrees[i] = first is not None and second is not None and perm[second] == first
    return acre_reward(correct, agrees, both=both, correct_only=correct_only, agree_only=agree_only,
                       neither=neither).tolist()
