"""The rollout protocol: every generation backend (hf, vllm, openai) returns `Group`s.

    backend.generate(prompts, n, sampling) -> list[Group]

`prompts` are `Sample`s (the backend formats them with the model's chat template,
images included; a text-only model gets the text twin) or ready chat `messages`
(lists of {"role", "content"} dicts). One `Group` per prompt, holding `n` completions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from foveal.sample import Sample

Messages = list[dict[str, Any]]
Prompt = Sample | Messages


@dataclass(frozen=True)
class Sampling:
    """Sampling parameters. temperature 0 means greedy decoding."""

    temperature: float = 1.0
    top_p: float = 1.0
    max_new_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int = 0


@dataclass
class Completion:
    """One sampled continuation.

    token_ids: the generated token ids (no prompt, no padding; stop/eos token included if produced).
    logprobs: per generated token log p(token | prefix) under the sampling model at temperature 1
        unless the backend documents otherwise; None where the backend cannot provide them.
    finish_reason: "stop" (eos or stop string) or "length" (hit max_new_tokens).
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] | None = None
    finish_reason: str = "stop"

    @property
    def truncated(self) -> bool:
        """Whether generation stopped at max_new_tokens."""
        return self.finish_reason == "length"


@dataclass
class Group:
    """The `n` completions of one prompt. `prompt_id` is the Sample id (or the prompt's index)."""

    prompt_id: str
    completions: list[Completion]
    prompt_token_ids: list[int] | None = None


@runtime_checkable
class Backend(Protocol):
    def generate(self, prompts: list[Prompt], n: int, sampling: Sampling) -> list[Group]: ...
