"""Best-of-n at evaluation: pick one of a problem's K completions with a reranker that never sees
the gold answer, and score only the pick.

    best-of-K(reranker) = mean over problems of score(completion argmax_i value_i)

Rerankers (each writes one value per completion into the samples.jsonl row; the pick is the
largest value, ties to the first completion):

    logprob   `mean_logprob`: the completion's mean token log-probability under the model that
              sampled it (the backend's `Completion.logprobs`; hf always has them, an openai server
              when it returns logprobs). Sees only the model's own distribution.
    judge     `judge`: a rating 0–10 from a judge model behind any OpenAI-compatible endpoint
              (vLLM, `foveal serve`, an API), asked once per completion with the problem as the
              evaluated model saw it (images included) and that one completion (`judge_messages`).
              Sees the problem and the completion, never the gold answer nor the other completions.

Where a reranker has no value for any completion of a problem (no logprobs; a judge reply with
no number in it), the pick falls back to the first completion, an unbiased random draw of the K:
an uninformative reranker scores the accuracy in expectation, not zero.

Two bounds frame these numbers and are already in metrics.json: accuracy (= pass@1, a random pick)
below, and pass@K above: the oracle best-of-K, whose reranker is the exact verifier with the gold
answer. maj@K (majority vote) is the gold-free reranker by self-consistency.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from foveal.rollout.base import Backend, Group, Sampling
from foveal.sample import IMAGE_TOKEN, Sample

RERANKERS = {"logprob": "mean_logprob", "judge": "judge"}  # reranker -> its per-completion row field
JUDGE_SYSTEM = ("You grade solutions to problems. Read the problem and the proposed solution, decide whether "
                "its final answer is correct, and reply with one integer from 0 (certainly wrong) to 10 "
                "(certainly right), nothing else.")
JUDGE_ASK = "How likely is the final answer of this solution to be correct? Reply with one integer from 0 to 10."
JUDGE_SAMPLING = Sampling(temperature=0.0, max_new_tokens=16)
RATING = re.compile(r"(?<![\d.])(10|\d)(?![\d.])")


def pick(values: Sequence[float | None]) -> int | None:
    """Index of the largest value (ties: the first), None when no completion has one."""
    best = None
    for i, v in enumerate(values):
        if v is not None and (best is None or v > values[best]):
            best = i
    return best


def best_of_score(row: dict[str, Any], reranker: str) -> float | None:
    """The score of the completion `reranker` picks in `row`; the first completion's when none has a
    value; None when the row has no values for this reranker at all (run without it)."""
    values = row.get(RERANKERS[reranker])
    if values is None:
        return None
    i = pick(values)
    return row["scores"][0 if i is None else i]


def mean_logprob(logprobs: Sequence[float] | None) -> float | None:
    """Mean token log-probability of a completion: (1/T) Σ_t log p(y_t | y_<t, x); None without logprobs."""
    return sum(logprobs) / len(logprobs) if logprobs else None


def judge_messages(sample: Sample, completion: str) -> list[dict[str, Any]]:
    """The judge's chat: its instructions, then one user turn with the problem (text and images as the
    evaluated model saw them) and the one completion to grade. No gold answer, no other completion."""
    from foveal.rollout.openai import sample_messages

    problem = sample_messages(sample, system_prompt=None)[0]["content"]
    parts = problem if isinstance(problem, list) else [{"type": "text", "text": problem}]
    solution = completion.replace(IMAGE_TOKEN, "[image]")
    return [{"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": [{"type": "text", "text": "Problem:"}, *parts,
                                         {"type": "text", "text": f"Proposed solution:\n{solution}\n\n{JUDGE_ASK}"}]}]


def parse_rating(reply: str) -> float | None:
    """The judge's rating: the integer 0–10 in its <answer> tag if it has one, else the first in the
    reply, scaled to [0, 1]; None when there is none."""
    from foveal.rewards import extract_answer

    text = extract_answer(reply) or reply
    m = RATING.search(text)
    return int(m.group(1)) / 10 if m else None


def judge_groups(judge: Backend, samples: Sequence[Sample], groups: Sequence[Group],
                 sampling: Sampling = JUDGE_SAMPLING) -> list[list[float | None]]:
    """One rating per completion of each group, from one judge request per completion (greedy)."""
    prompts = [judge_messages(s, c.text) for s, g in zip(samples, groups, strict=True) for c in g.completions]
    replies = judge.generate(prompts, n=1, sampling=sampling) if prompts else []
    ratings = iter(parse_rating(r.completions[0].text) for r in replies)
    return [[next(ratings) for _ in g.completions] for g in groups]
