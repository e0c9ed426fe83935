"""The answer formats shared by training, rollout and evaluation.

A completion in R1 format is `<think>reasoning</think><answer>final answer</answer>`; in the
answer-only format (VGRP-Bench's answer-only SFT, CLS-RL's no-thinking RL) it is
`<answer>final answer</answer>` alone. `sft_target(sample, fmt)` is a sample's SFT target in either
format and `SYSTEM_PROMPTS[fmt]` the matching instruction; `foveal.rewards.extract_answer` reads
both (`answer_format="r1"` / `"answer"`).
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
ANSWER_SYSTEM_PROMPT = "Give only the final answer inside <answer> </answer>, with no reasoning."

RUN_FORMATS = ("r1", "answer")
"""The formats a run trains and is evaluated in (`answer_format` of a recipe, `foveal eval --answer-format`)."""
SYSTEM_PROMPTS = {"r1": R1_SYSTEM_PROMPT, "answer": ANSWER_SYSTEM_PROMPT}


def r1_format(reasoning: str, answer: str) -> str:
    return f"{THINK_OPEN}{reasoning}{THINK_CLOSE}{ANSWER_OPEN}{answer}{ANSWER_CLOSE}"


def r1_target(sample: Sample) -> str:
    """The SFT target for a sample: its worked solution as reasoning, then its answer."""
    return r1_format(sample.solution, sample.answer)


def answer_target(sample: Sample) -> str:
    """The answer-only SFT target: `<answer>4</answer>`, no reasoning."""
    return f"{ANSWER_OPEN}{sample.answer}{ANSWER_CLOSE}"


def sft_target(sample: Sample, answer_format: str) -> str:
    """`sample`'s SFT target in `answer_format` (`r1` or `answer`); ValueError for another format."""
    if answer_format == "r1":
        return r1_target(sample)
    if answer_format == "answer":
        return answer_target(sample)
    raise ValueError(f"unknown answer format {answer_format!r}; expected one of {', '.join(RUN_FORMATS)}")
