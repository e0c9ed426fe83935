"""The R1 answer format shared by training, rollout and evaluation.

A completion in R1 format is `<think>reasoning</think><answer>final answer</answer>`.
`r1_target(sample)` is the SFT target built from a sample's worked `solution`.
"""

from __future__ import annotations

from foveal.sample import Sample

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
CAPTION_OPEN, CAPTION_CLOSE = "<caption>", "</caption>"

R1_SYSTEM_PROMPT = (
    "Think step by step inside <think> </think>, then give only the final answer "
    "inside <answer> </answer>."
)


def r1_format(reasoning: str, answer: str) -> str:
    return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{ANSWER_OPEN}{answer}{ANSWER_CLOSE}"


def r1_target(sample: Sample) -> str:
    """The SFT target for a sample: its worked solution as reasoning, then its answer."""
    return r1_format(sample.solution, sample.answer)
